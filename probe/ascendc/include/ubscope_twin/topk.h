// ubscope CPU twin: the high-level TopK of Atlas A2 / A3 (910B), its TopKInfo,
// TopKMode and the TopkTiling it takes.
//
// Written from the public Ascend C API reference (the TopK page: prototypes,
// parameter tables, constraints and its two worked examples), not from
// Huawei's headers. What the page says:
// - TopK<T, isInitIndex, isHasfinish, isReuseSrc, topkMode>(dstValueLocal,
//   dstIndexLocal, srcLocal, srcIndexLocal, finishLocal[, tmpLocal], k,
//   tiling, topKInfo, isLargest = true): per row of srcLocal, an
//   [outter, inner] tensor, the k largest values (isLargest false: the k
//   smallest) in order, with their int32_t indices. T half or float.
// - inner is the row length padded up to a multiple of 32, n its valid
//   length: 1 <= n <= inner, 1 <= k <= n; Normal mode takes inner up to 4096,
//   Small mode (TOPK_NSMALL) exactly 32 and isHasfinish false only.
// - The device sorts all inner elements of a row; the user pads the tail so
//   that it "does not affect the sort" (the Small example pads with -inf).
// - Indices: with isInitIndex, srcIndexLocal gives them: one row of inner
//   shared by all rows in Normal mode, outter x inner in Small mode. Without
//   it the page's algorithm generates 0 .. inner - 1 (the current page also
//   says the output indices are then "not usable"; older pages, "generated
//   inside the API").
// - isHasfinish: finishLocal holds one bool a row; a true row's k indices are
//   all n (its values are still the sorted ones, as in the example).
// - Output rows: Normal mode k_pad values apart (k rounded up to 32 B of T)
//   and kpad_index = k rounded up to 8 indices apart; Small mode k apart.
//   Elements k .. k_pad - 1 of a row are "not filled".
// - Equal values: "if i > j, srcLocal[j] is selected first" (the earlier
//   element first, whichever the order); inf is the largest value; NaN comes
//   first, descending or ascending.
// - isReuseSrc is reserved; the tiling comes from the host's TopKTilingFunc.
// The twin's choices where the page is silent:
// - It computes the result directly from topKInfo, k and isLargest, as the
//   device's stable sort would (all inner elements, ties by position), and
//   never reads the tiling: TopkTiling registers no field (tiling.h's
//   HostFilledTiling), so `--tiling` leaves it at zero.
// - Padding that would reach a row's top k (an element past n ranking within
//   the first k) stops the run with one line: the page's padding rule broken.
// - Ties rank by position in the row even with isInitIndex (the device sorts
//   (value, index) pairs stably by position, not by the given index).
// - Without isInitIndex the indices written are the positions 0 .. inner - 1.
// - outter below 1 stops the run; the tails k .. k_pad - 1 are left unwritten.
//
// Events, through record_vector, both named "TopK", one per destination (an
// event has one destination), as Extract's: first the values (destination the
// span of dstValueLocal written, from row 0's first value to the last row's
// k-th; outter x inner elements of sizeof(T); 1 operation an element in Small
// mode, in Normal mode one more per four-way merge round of its inner / 32
// sorted runs, ceil(log4(inner / 32)), as Sort's), then the indices
// (destination the span of dstIndexLocal written; outter x k elements of 4 B,
// 1 operation each). Both read the same sources: tmpLocal first when passed
// (0 B counted, recorded as used: the twin sorts without it), srcLocal's
// outter x inner values, srcIndexLocal's indices with isInitIndex (inner, or
// outter x inner in Small mode) and finishLocal's outter bools with
// isHasfinish.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "ubscope_twin/tiling.h"
#include "ubscope_twin/vector.h"
#include "ubscope_twin/vector_extra.h"
#include "ubscope_twin/vector_sort.h"

// The kernel side's TopkTiling (global, as a TilingData struct in namespace
// optiling names it unqualified).
struct TopkTiling : ubscope_twin::HostFilledTiling<TopkTiling> {};

namespace optiling {
using ::TopkTiling;  // the host's name for it
}

namespace AscendC {

enum class TopKMode {
    TOPK_NORMAL,  // Normal mode
    TOPK_NSMALL,  // Small mode: inner 32
};

struct TopKInfo {
    int32_t outter = 1;  // rows, as documented (spelling included)
    int32_t inner;       // a row's length, a multiple of 32
    int32_t n;           // a row's valid elements, 1..inner
};

}  // namespace AscendC

namespace ubscope_twin {

// Whether value a ranks before value b: NaN first either way, then the
// larger (the smaller without isLargest).
inline bool topk_before(float a, float b, bool largest) {
    const bool a_nan = std::isnan(a);
    const bool b_nan = std::isnan(b);
    if (a_nan || b_nan) {
        return a_nan && !b_nan;
    }
    return largest ? a > b : a < b;
}

template <typename T, bool init_index, bool has_finish, bool small>
void topk(const AscendC::LocalTensor<T>& dst_value, const AscendC::LocalTensor<int32_t>& dst_index,
          const AscendC::LocalTensor<T>& src, const AscendC::LocalTensor<int32_t>& src_index,
          const AscendC::LocalTensor<bool>& finish, const AscendC::LocalTensor<uint8_t>* tmp, int32_t k,
          const AscendC::TopKInfo& info, bool largest, const Where& where) {
    static_assert(sortable<T>, "TopK takes half or float, as documented for Atlas A2 / A3");
    const std::string mode = small ? "Small mode (TOPK_NSMALL)" : "Normal mode";
    if (small && has_finish) {
        fail(where, "TopK: isHasfinish must be false in " + mode);
    }
    if (info.outter < 1) {
        fail(where, "TopK: topKInfo.outter " + std::to_string(info.outter) + " is below 1");
    }
    if (info.inner < 32 || info.inner % 32 != 0) {
        fail(where, "TopK: topKInfo.inner " + std::to_string(info.inner) + " is not a positive multiple of 32");
    }
    if (small && info.inner != 32) {
        fail(where, "TopK: topKInfo.inner " + std::to_string(info.inner) + " must be 32 in " + mode);
    }
    if (!small && info.inner > 4096) {
        fail(where, "TopK: topKInfo.inner " + std::to_string(info.inner) + " above 4096, the " + mode +
                        " maximum");
    }
    if (info.n < 1 || info.n > info.inner) {
        fail(where, "TopK: topKInfo.n " + std::to_string(info.n) + " outside 1..inner (" +
                        std::to_string(info.inner) + ")");
    }
    if (k < 1 || k > info.n) {
        fail(where, "TopK: k " + std::to_string(k) + " outside 1..topKInfo.n (" + std::to_string(info.n) + ")");
    }
    const int64_t rows = info.outter;
    const int64_t inner = info.inner;
    const int64_t n = info.n;
    constexpr int64_t per_block = 32 / sizeof(T);
    const int64_t value_stride = small ? k : (k + per_block - 1) / per_block * per_block;
    const int64_t index_stride = small ? k : (k + 7) / 8 * 8;

    std::array<Touch, 4> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    ins[nins++] = touch(src, rows * inner * int64_t{sizeof(T)}, where);
    const int64_t given_indices = small ? rows * inner : inner;
    if constexpr (init_index) {
        ins[nins++] = touch(src_index, given_indices * int64_t{sizeof(int32_t)}, where);
    }
    if constexpr (has_finish) {
        ins[nins++] = touch(finish, rows * int64_t{sizeof(bool)}, where);
    }
    // Everything read before anything is written.
    std::vector<T> values(rows * inner);
    std::memcpy(values.data(), arena_bytes(src.space(), src.addr(), rows * inner * int64_t{sizeof(T)}, where),
                values.size() * sizeof(T));
    std::vector<int32_t> indices(init_index ? given_indices : 0);
    if constexpr (init_index) {
        std::memcpy(indices.data(),
                    arena_bytes(src_index.space(), src_index.addr(), given_indices * int64_t{sizeof(int32_t)}, where),
                    indices.size() * sizeof(int32_t));
    }
    std::vector<uint8_t> finished(rows, 0);
    if constexpr (has_finish) {
        std::memcpy(finished.data(), arena_bytes(finish.space(), finish.addr(), rows, where), rows);
    }

    std::vector<T> out_values(rows * k);
    std::vector<int32_t> out_indices(rows * k);
    std::vector<int64_t> order(inner);
    for (int64_t r = 0; r < rows; ++r) {
        const T* row = values.data() + r * inner;
        std::iota(order.begin(), order.end(), int64_t{0});
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
            return topk_before(static_cast<float>(row[a]), static_cast<float>(row[b]), largest);
        });
        for (int64_t j = 0; j < k; ++j) {
            const int64_t at = order[j];
            if (at >= n) {
                fail(where, "TopK: row " + std::to_string(r) + "'s padding element " + std::to_string(at) +
                                " (value " + std::to_string(static_cast<float>(row[at])) + ", past topKInfo.n " +
                                std::to_string(n) + ") ranks among its top " + std::to_string(k) +
                                ": pad with values that do not affect the sort (" +
                                (largest ? "-inf" : "+inf") + ")");
            }
            out_values[r * k + j] = row[at];
            const int32_t index = init_index ? indices[(small ? r * inner : 0) + at] : static_cast<int32_t>(at);
            out_indices[r * k + j] = finished[r] != 0 ? static_cast<int32_t>(n) : index;
        }
    }

    const Touch value_out = touch(dst_value, ((rows - 1) * value_stride + k) * int64_t{sizeof(T)}, where);
    const Touch index_out = touch(dst_index, ((rows - 1) * index_stride + k) * int64_t{sizeof(int32_t)}, where);
    uint8_t* value_to = arena_bytes(value_out.space, value_out.addr, value_out.bytes, where);
    uint8_t* index_to = arena_bytes(index_out.space, index_out.addr, index_out.bytes, where);
    for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(value_to + r * value_stride * int64_t{sizeof(T)}, out_values.data() + r * k, k * sizeof(T));
        std::memcpy(index_to + r * index_stride * int64_t{sizeof(int32_t)}, out_indices.data() + r * k,
                    k * sizeof(int32_t));
    }
    int64_t ops = 1;
    if (!small) {
        for (int64_t runs = inner / SORT_GROUP; runs > 1; runs = (runs + 3) / 4) {
            ++ops;
        }
    }
    const std::span<const Touch> sources(ins.data(), nins);
    record_vector("TopK", value_out, sources, rows * inner, sizeof(T), ops, where);
    record_vector("TopK", index_out, sources, rows * k, sizeof(int32_t), 1, where);
}

}  // namespace ubscope_twin

namespace AscendC {

// The tiling is the host's and not read (see the header's comment);
// isReuseSrc is reserved, as documented.
template <typename T, bool isInitIndex = false, bool isHasfinish = false, bool isReuseSrc = false,
          TopKMode topkMode = TopKMode::TOPK_NORMAL>
void TopK(const LocalTensor<T>& dstValueLocal, const LocalTensor<int32_t>& dstIndexLocal,
          const LocalTensor<T>& srcLocal, const LocalTensor<int32_t>& srcIndexLocal,
          const LocalTensor<bool>& finishLocal, const int32_t k, const TopkTiling& tilling,
          const TopKInfo& topKInfo, const bool isLargest = true,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tilling;
    ubscope_twin::topk<T, isInitIndex, isHasfinish, topkMode == TopKMode::TOPK_NSMALL>(
        dstValueLocal, dstIndexLocal, srcLocal, srcIndexLocal, finishLocal,
        static_cast<const LocalTensor<uint8_t>*>(nullptr), k, topKInfo, isLargest, where);
}

template <typename T, bool isInitIndex = false, bool isHasfinish = false, bool isReuseSrc = false,
          TopKMode topkMode = TopKMode::TOPK_NORMAL>
void TopK(const LocalTensor<T>& dstValueLocal, const LocalTensor<int32_t>& dstIndexLocal,
          const LocalTensor<T>& srcLocal, const LocalTensor<int32_t>& srcIndexLocal,
          const LocalTensor<bool>& finishLocal, const LocalTensor<uint8_t>& tmpLocal, const int32_t k,
          const TopkTiling& tilling, const TopKInfo& topKInfo, const bool isLargest = true,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tilling;
    ubscope_twin::topk<T, isInitIndex, isHasfinish, topkMode == TopKMode::TOPK_NSMALL>(
        dstValueLocal, dstIndexLocal, srcLocal, srcIndexLocal, finishLocal, &tmpLocal, k, topKInfo, isLargest,
        where);
}

}  // namespace AscendC
