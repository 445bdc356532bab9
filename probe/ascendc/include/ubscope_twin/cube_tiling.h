// ubscope CPU twin: TCubeTiling, the tiling of the Matmul high-level API,
// written from the public "TCubeTiling structure" page (every field is an int
// there). It is declared with BEGIN_TILING_DATA_DEF, so a tiling data struct
// nests it (TILING_DATA_FIELD_DEF_STRUCT(TCubeTiling, cubeTilingData)) and
// `--tiling` / a case file's `tiling:` fill each field by name
// (cubeTilingData.baseM=...); it is also a plain struct a kernel may fill
// itself. The host's MatmulApiTiling::GetTiling does not run: the values are
// given. The BSNGD layout fields (ALayoutInfoB ...) and the MX fields are not
// declared: the twin has no layout modes. ubscope_twin/matmul.h reads it.
#pragma once

#include "ubscope_twin/tiling.h"

BEGIN_TILING_DATA_DEF(TCubeTiling)
  TILING_DATA_FIELD_DEF(int32_t, usedCoreNum);
  TILING_DATA_FIELD_DEF(int32_t, M);
  TILING_DATA_FIELD_DEF(int32_t, N);
  TILING_DATA_FIELD_DEF(int32_t, Ka);
  TILING_DATA_FIELD_DEF(int32_t, Kb);
  TILING_DATA_FIELD_DEF(int32_t, singleCoreM);
  TILING_DATA_FIELD_DEF(int32_t, singleCoreN);
  TILING_DATA_FIELD_DEF(int32_t, singleCoreK);
  TILING_DATA_FIELD_DEF(int32_t, baseM);
  TILING_DATA_FIELD_DEF(int32_t, baseN);
  TILING_DATA_FIELD_DEF(int32_t, baseK);
  TILING_DATA_FIELD_DEF(int32_t, depthA1);
  TILING_DATA_FIELD_DEF(int32_t, depthB1);
  TILING_DATA_FIELD_DEF(int32_t, stepM);
  TILING_DATA_FIELD_DEF(int32_t, stepN);
  TILING_DATA_FIELD_DEF(int32_t, isBias);
  TILING_DATA_FIELD_DEF(int32_t, transLength);
  TILING_DATA_FIELD_DEF(int32_t, iterateOrder);
  TILING_DATA_FIELD_DEF(int32_t, shareMode);
  TILING_DATA_FIELD_DEF(int32_t, shareL1Size);
  TILING_DATA_FIELD_DEF(int32_t, shareL0CSize);
  TILING_DATA_FIELD_DEF(int32_t, shareUbSize);
  TILING_DATA_FIELD_DEF(int32_t, batchM);
  TILING_DATA_FIELD_DEF(int32_t, batchN);
  TILING_DATA_FIELD_DEF(int32_t, singleBatchM);
  TILING_DATA_FIELD_DEF(int32_t, singleBatchN);
  TILING_DATA_FIELD_DEF(int32_t, stepKa);
  TILING_DATA_FIELD_DEF(int32_t, stepKb);
  TILING_DATA_FIELD_DEF(int32_t, depthAL1CacheUB);
  TILING_DATA_FIELD_DEF(int32_t, depthBL1CacheUB);
  TILING_DATA_FIELD_DEF(int32_t, dbL0A);
  TILING_DATA_FIELD_DEF(int32_t, dbL0B);
  TILING_DATA_FIELD_DEF(int32_t, dbL0C);
END_TILING_DATA_DEF;

namespace optiling {
using ::TCubeTiling;
}
namespace AscendC {
using ::TCubeTiling;
}
