// ubscope CPU twin of the Ascend C kernel API (written from the public API
// documentation; not Huawei's headers). A kernel translation unit compiles
// against it unchanged with g++ -std=c++20; every call records its memory
// behaviour for ubscope. See docs/ascendc-twin.md.
#pragma once

#include "ubscope_twin/tensor.h"
#include "ubscope_twin/datacopy.h"
#include "ubscope_twin/datacopy_pad.h"
#include "ubscope_twin/vector.h"
#include "ubscope_twin/vector_extra.h"
#include "ubscope_twin/vector_fused.h"
#include "ubscope_twin/vector_math.h"
#include "ubscope_twin/vector_extra_repeat.h"
#include "ubscope_twin/vector_gather.h"
#include "ubscope_twin/vector_select.h"
#include "ubscope_twin/vector_reduce.h"
#include "ubscope_twin/vector_sort.h"
#include "ubscope_twin/topk.h"
#include "ubscope_twin/norm.h"
#include "ubscope_twin/quant.h"
#include "ubscope_twin/softmax.h"
#include "ubscope_twin/cube.h"
#include "ubscope_twin/cores.h"
#include "ubscope_twin/tiling.h"
#include "ubscope_twin/transpose.h"
#include "ubscope_twin/debug_print.h"
#include "ubscope_twin/unsupported.h"
