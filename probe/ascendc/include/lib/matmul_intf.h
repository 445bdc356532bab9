// ubscope CPU twin: the Matmul high-level API's header, as kernels include it.
#pragma once

#include "kernel_operator.h"
#include "ubscope_twin/matmul.h"
