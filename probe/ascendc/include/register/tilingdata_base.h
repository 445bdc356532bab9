// ubscope CPU twin: the host tiling header's macros (BEGIN_TILING_DATA_DEF...)
// come from the twin's tiling support, so a sample's tiling header compiles
// with the kernel and registers its fields.
#pragma once

#include "ubscope_twin/tiling.h"
