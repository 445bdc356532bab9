// ubscope CPU twin: PairReduceSum and RepeatReduceSum, the per-pair and
// per-repeat sums of the repeat forms, and the high-level CumSum.
//
// Written from the public Ascend C API reference (the functions' pages:
// prototypes, parameter tables, constraints and worked examples), not from
// Huawei's headers. What the pages say:
// - PairReduceSum(dst, src, repeatTime, mask, dstRepStride, srcBlkStride,
//   srcRepStride): repeat r's lanes 2j and 2j + 1 sum into its result j;
//   a repeat's results are contiguous, repeats dstRepStride x 128 B apart
//   (128 B: a repeat's 256 B halved). A pair with neither lane in the mask
//   leaves its result unchanged (Atlas A2 / A3 and the inference AI Core; the
//   200I/500 A2 write 0 there, which the twin does not model). With one lane
//   of a pair in the mask the result is that lane alone: the page says only
//   that lanes outside the mask take no part. The sum is rounded once to T.
// - RepeatReduceSum(dst, src, repeatTime, mask, dstBlkStride, srcBlkStride,
//   dstRepStride, srcRepStride): one sum per repeat of its first mask lanes
//   (a count only: the page has no bit-mask form; with isSetMask = false the
//   lanes come from the mask register, as for every repeat form), repeat r's
//   at dst element r x dstRepStride; dstBlkStride is ignored ("any value");
//   dst needs only sizeof(T) alignment. The page describes the device's
//   order: a binary tree of pairwise sums (lanes 0+1, 2+3, ..., then the sums
//   pairwise), each rounded to T, a half sum over 65504 kept as 65504 (its
//   example: 60000 + 60000 gives 65504, and with -30000 + 100 the result is
//   35604). The twin sums in that order, lanes outside the mask as 0 (adding
//   0 changes no sum), and clamps half sums to [-65504, 65504] (the page
//   names the positive bound only; NaN passes through).
// - CumSum<T, config>(dst, lastRow, src[, sharedTmpBuffer], cumSumInfo): a
//   running sum over a 2-D [outter, inner] tensor, along each row
//   (config.isLastAxis, "last axis": [[0, 1, 2], [3, 4, 5]] gives
//   [[0, 1, 3], [3, 7, 12]]) or down each column (the first axis: [[0, 1, 2],
//   [3, 5, 7]]); with config.outputLastRow, lastRow also receives the
//   result's last row (inner elements). The page's constraints: outter and
//   inner above 0, inner x sizeof(T) a multiple of 32 B (both stop the run
//   with one line here); outter x inner within dst and src, inner within
//   lastRow (left, as every count is, to the red zone and arena checks).
//   Types half and float (not enforced, as elsewhere).
//
// PairReduceSum and RepeatReduceSum record one COMPUTE event each through
// record_vector: the destination is the span of results written, the source
// the span of lanes read (as WholeReduceSum's); one operation per lane of
// every repeat. CumSum records the sum, and a second event for the copy when
// it outputs the last row: see cumsum below.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/vector.h"
#include "ubscope_twin/vector_extra.h"

namespace ubscope_twin {

// One pairwise sum as the device rounds it: to T, half kept within ±65504.
template <typename T>
Wide<T> device_sum(Wide<T> a, Wide<T> b) {
    Wide<T> sum = a + b;
    if constexpr (std::is_same_v<T, half>) {
        constexpr float most = 65504.0f;
        sum = sum > most ? most : sum < -most ? -most : sum;
    }
    return Wide<T>(T(sum));
}

template <typename T>
void pair_reduce(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src, const Lanes& lanes,
                 int32_t repeats, int32_t dst_rep_stride, Stride src_stride, const Where& where) {
    using W = Wide<T>;
    constexpr int64_t per_repeat = REPEAT_BYTES / sizeof(T);
    constexpr int64_t results_bytes = REPEAT_BYTES / 2;
    const int64_t highest = lanes.highest();
    const int64_t out_bytes =
        repeats > 0 && highest >= 0
            ? int64_t{repeats - 1} * dst_rep_stride * results_bytes + (highest / 2 + 1) * int64_t{sizeof(T)}
            : 0;
    const Touch out = touch(dst, out_bytes, where);
    const std::array<Touch, 1> ins{touch(src, lane_span(lanes, repeats, sizeof(T), src_stride), where)};
    // Every sum read before any is written: dst may be src itself.
    std::vector<std::pair<int64_t, T>> results;
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t pair = 0; pair < per_repeat / 2; ++pair) {
            W sum = 0;
            bool any = false;
            for (int64_t lane : {2 * pair, 2 * pair + 1}) {
                if (lanes.on(lane)) {
                    sum += W(load(src, lane_offset(lane, repeat, sizeof(T), src_stride), where));
                    any = true;
                }
            }
            if (any) {
                results.emplace_back((repeat * dst_rep_stride * results_bytes) + pair * int64_t{sizeof(T)}, T(sum));
            }
        }
    }
    for (const auto& [offset, value] : results) {
        store(dst, offset, value, where);
    }
    record_vector("PairReduceSum", out, ins, repeats * per_repeat, sizeof(T), 1, where);
}

template <typename T>
void repeat_reduce(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src, const Lanes& lanes,
                   int32_t repeats, int32_t dst_rep_stride, Stride src_stride, const Where& where) {
    using W = Wide<T>;
    constexpr int64_t per_repeat = REPEAT_BYTES / sizeof(T);
    const int64_t out_bytes = repeats > 0 ? (int64_t{repeats - 1} * dst_rep_stride + 1) * int64_t{sizeof(T)} : 0;
    const Touch out = touch(dst, out_bytes, where);
    const std::array<Touch, 1> ins{touch(src, lane_span(lanes, repeats, sizeof(T), src_stride), where)};
    std::vector<T> sums(std::max(repeats, 0));
    std::array<W, per_repeat> level{};
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t lane = 0; lane < per_repeat; ++lane) {
            level[lane] = lanes.on(lane) ? W(load(src, lane_offset(lane, repeat, sizeof(T), src_stride), where)) : W(0);
        }
        for (int64_t n = per_repeat; n > 1; n /= 2) {
            for (int64_t i = 0; i < n / 2; ++i) {
                level[i] = device_sum<T>(level[2 * i], level[2 * i + 1]);
            }
        }
        sums[repeat] = T(level[0]);
    }
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        store(dst, repeat * dst_rep_stride * int64_t{sizeof(T)}, sums[repeat], where);
    }
    record_vector("RepeatReduceSum", out, ins, repeats * per_repeat, sizeof(T), 1, where, sizeof(T));
}

}  // namespace ubscope_twin

namespace AscendC {

#define UBSCOPE_TWIN_PAIR_REDUCE(MASK)                                                                    \
    template <typename T, bool isSetMask = true>                                                          \
    void PairReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTime,    \
                       MASK, const int32_t dstRepStride, const int32_t srcBlkStride,                      \
                       const int32_t srcRepStride,                                                        \
                       const ubscope_twin::Where& where = ubscope_twin::Where::current()) {               \
        ubscope_twin::pair_reduce(dst, src, ubscope_twin::lanes_of<isSetMask>(sizeof(T), mask, where),    \
                                  repeatTime, dstRepStride, {srcBlkStride, srcRepStride}, where);         \
    }
UBSCOPE_TWIN_PAIR_REDUCE(const int32_t mask)
UBSCOPE_TWIN_PAIR_REDUCE(const uint64_t mask[])
#undef UBSCOPE_TWIN_PAIR_REDUCE

template <typename T, bool isSetMask = true>
void RepeatReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTime,
                     const int32_t mask, const int32_t dstBlkStride, const int32_t srcBlkStride,
                     const int32_t dstRepStride, const int32_t srcRepStride,
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)dstBlkStride;  // documented as ignored
    ubscope_twin::repeat_reduce(dst, src, ubscope_twin::lanes_of<isSetMask>(sizeof(T), mask, where), repeatTime,
                                dstRepStride, {srcBlkStride, srcRepStride}, where);
}

}  // namespace AscendC

namespace ubscope_twin {

// CumSum over [rows, cols], rows the outer axis. The page says the internal
// implementation converts precision (its reason for the temporary buffer), so
// half is summed in float: each running sum widened, accumulated in float in
// order (element 0, then 1, ...: the page's line-by-line algorithm) and
// rounded once per output. float sums in float, in the same order.
//
// Events, each through record_vector, both named "CumSum":
// - the sum: destination the rows x cols results, sources the sharedTmpBuffer
//   when passed (first, 0 B counted, never written: the twin computes without
//   it, as the math APIs' in vector_math.h), then src (rows x cols read); one
//   operation per element.
// - with output_last_row, the copy: destination lastRow's cols elements,
//   source the last row of dst it copies; one operation per element of it.
//   A trace event has one destination, so the copy is its own event, after
//   the sum it reads.
template <typename T>
void cumsum(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& last_row,
            const AscendC::LocalTensor<T>& src, const AscendC::LocalTensor<uint8_t>* shared_tmp, uint32_t outter,
            uint32_t inner, bool last_axis, bool output_last_row, const Where& where) {
    using W = Wide<T>;
    if (outter == 0 || inner == 0) {
        fail(where, "CumSum: cumSumInfo.outter " + std::to_string(outter) + " and inner " + std::to_string(inner) +
                        " must both be above 0");
    }
    if (inner * sizeof(T) % 32 != 0) {
        fail(where, "CumSum: cumSumInfo.inner " + std::to_string(inner) + " x " + std::to_string(sizeof(T)) +
                        " B is not a multiple of 32 B");
    }
    const int64_t rows = outter;
    const int64_t cols = inner;
    const int64_t n = rows * cols;
    AscendC::LocalTensor<T> scratch;
    if (shared_tmp != nullptr) {
        scratch = shared_tmp->template ReinterpretCast<T>();
    }
    vector_op(
        "CumSum", dst, {src}, n, n, 1, where,
        [&](T* out) {
            // Every element read before any is written: dst may be src itself.
            const T* in = src.data(n, where);
            std::vector<T> result(n);
            std::vector<W> running(last_axis ? 1 : cols, W(0));
            for (int64_t r = 0; r < rows; ++r) {
                if (last_axis) {
                    running[0] = W(0);
                }
                for (int64_t c = 0; c < cols; ++c) {
                    W& sum = running[last_axis ? 0 : c];
                    sum += W(in[r * cols + c]);
                    result[r * cols + c] = T(sum);
                }
            }
            std::copy(result.begin(), result.end(), out);
        },
        0, shared_tmp != nullptr ? &scratch : nullptr);
    if (!output_last_row) {
        return;
    }
    const int64_t row_bytes = cols * int64_t{sizeof(T)};
    const AscendC::LocalTensor<T> last = dst[static_cast<uint32_t>((rows - 1) * cols)];
    const Touch out = touch(last_row, row_bytes, where);
    const std::array<Touch, 1> ins{touch(last, row_bytes, where)};
    std::memmove(last_row.data(cols, where), last.data(cols, where), row_bytes);
    record_vector("CumSum", out, ins, cols, sizeof(T), 1, where);
}

}  // namespace ubscope_twin

namespace AscendC {

// The struct's defaults are the current page's: outputLastRow true (the pages
// of CANN 8.0 showed false). The page names defaultCumSumConfig as the
// template argument's default without spelling it out: the twin takes the
// struct's defaults. The 950-only `algorithm` member of the newer pages (the
// Sklansky prefix sum) is not taken.
struct CumSumConfig {
    bool isLastAxis{true};
    bool isReuseSource{false};  // reserved, as documented: changes nothing here
    bool outputLastRow{true};
};

struct CumSumInfo {
    uint32_t outter{0};  // rows (the outer axis), as documented, spelling included
    uint32_t inner{0};   // elements a row; inner x sizeof(T) a multiple of 32 B
};

inline constexpr CumSumConfig defaultCumSumConfig{};

template <typename T, const CumSumConfig& config = defaultCumSumConfig>
void CumSum(const LocalTensor<T>& dstTensor, const LocalTensor<T>& lastRowTensor, const LocalTensor<T>& srcTensor,
            const LocalTensor<uint8_t>& sharedTmpBuffer, const CumSumInfo& cumSumInfo,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::cumsum(dstTensor, lastRowTensor, srcTensor, &sharedTmpBuffer, cumSumInfo.outter, cumSumInfo.inner,
                         config.isLastAxis, config.outputLastRow, where);
}

template <typename T, const CumSumConfig& config = defaultCumSumConfig>
void CumSum(const LocalTensor<T>& dstTensor, const LocalTensor<T>& lastRowTensor, const LocalTensor<T>& srcTensor,
            const CumSumInfo& cumSumInfo, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::cumsum(dstTensor, lastRowTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr),
                         cumSumInfo.outter, cumSumInfo.inner, config.isLastAxis, config.outputLastRow, where);
}

}  // namespace AscendC
