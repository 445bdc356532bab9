// ubscope CPU twin: the host's tiling API header, as a tiling header includes
// it for TCubeTiling (the twin has only the struct: the values are given to
// `ubscope run`, the host's MatmulApiTiling does not run).
#pragma once

#include "ubscope_twin/cube_tiling.h"
