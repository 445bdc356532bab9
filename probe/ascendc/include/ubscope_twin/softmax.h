// ubscope CPU twin: the high-level softmax APIs SoftMax, SimpleSoftMax and
// SoftmaxFlashV2, ND format, Atlas A2 training / 800I A2 inference (910B).
//
// Written from the public Ascend C API reference (the pages of SoftMax,
// SimpleSoftMax, SoftmaxFlashV2 and SoftMax/SimpleSoftMax Tiling: prototypes,
// parameter tables, constraints, the Python formulas and the step lists of
// "implementation principle"), not from Huawei's headers. What the pages say:
// - The source is [m, k] (m the product of the non-last axes), reduced along
//   each row (ND). SoftMax: max = rowmax(x), e = exp(x - max), sum = rowsum(e),
//   dst = e / sum. SimpleSoftMax: dst = exp(x - inMax) / inSum, max and sum
//   given. SoftmaxFlashV2, isUpdate false: max = rowmax(x), dst = exp(x -
//   max) (not divided), expSum = rowsum(dst); isUpdate true: max =
//   max(inMax, rowmax(x)), dst = exp(x - max), expMax = exp(inMax - max),
//   expSum = expMax x inExpSum + rowsum(dst) (expMax is not written when
//   isUpdate is false: the formula returns None for it).
// - sum, max, expMax and their inputs hold one 32 B datablock a row, every
//   element of it the row's value (8 floats or 16 halves); their rows are the
//   source's m. The forms "of different types" take half data with float
//   sum / max (and a half expMax).
// - SoftMaxShapeInfo{srcM, srcK, oriSrcM, oriSrcK}: srcK must be whole 32 B;
//   with oriSrcK < srcK (or oriSrcM < srcM) the kernel pads the data, the
//   padding "takes part in some of the computation" and the result overwrites
//   dst at the padded places. src and dst may be the same tensor (and for
//   SoftmaxFlashV2 max / inMax and expSum / inExpSum); sharedTmpBuffer must
//   not overlap the source or destination (both checked: one line).
// - SoftmaxConfig{isCheckTiling, oriSrcM, oriSrcK, mode}: oriSrcM / oriSrcK
//   make the shape a compile-time constant; mode is reserved on Atlas A2.
//   isReuseSource is reserved; isBasicBlock only makes the device faster.
//
// Where the pages are silent, the twin's choices:
// - Precision: the pages describe the float path only. The twin computes in
//   float for half and float alike (half widened; the mixed forms' float
//   sum / max suggest the device does too) and rounds once per output: max is
//   exact, e = expf(x - max) and the sum (in row order) in float, dst = e /
//   sum with the float sum (not the sum rounded to half), each result rounded
//   once to its tensor's type.
// - The shape comes from softmaxShapeInfo; when it is {} (srcM or srcK 0) from
//   config.oriSrcM / oriSrcK if those are set. The twin has no per-tensor
//   ShapeInfo and does not read the tiling, so without either the run stops
//   with one line asking for a SoftMaxShapeInfo. oriSrcM / oriSrcK of 0 mean
//   srcM / srcK. With oriSrcK < srcK the row's max and sum take its first
//   oriSrcK elements; every one of the srcK elements is written (the padded
//   ones with exp(x - max) / sum of their own x); padded rows are rows.
// - A block's value is read from its first element (the pages say all are
//   equal).
// - isDataFormatNZ = true, config.mode SOFTMAX_OUTPUT_WITHOUT_BRC and the
//   SoftmaxFlashV2 forms that output ReduceMax (which need that mode) are
//   not covered: the first two stop the run with one line, the last does not
//   compile.
// - SoftMaxTiling: the host fills it with SoftMaxTilingFunc, which the twin
//   does not run; the pages name none of its fields, so the twin's type has
//   none: a tiling struct can nest it (TILING_DATA_FIELD_DEF_STRUCT) and
//   --tiling gives it nothing. Its split sizes are not needed: the twin
//   computes from the shape.
//
// Events, each through record_vector, named after the API, one a destination
// in the order dst, sum (expSum), max, expMax:
// - dst: sources the sharedTmpBuffer when passed (first, 0 B counted, never
//   written, as CumSum's), then src (m x k elements), then the inputs read
//   per row (SimpleSoftMax: inSum, inMax; SoftmaxFlashV2 with isUpdate:
//   inMax), m x 32 B each. Operations per element: the page's element-wise
//   steps, SoftMax 5 (reducemax, sub, exp, reducesum, div), SimpleSoftMax 3
//   (sub, exp, div), SoftmaxFlashV2 4 (reducemax, sub, exp, reducesum).
// - sum / max / expMax: m x 32 B written, one operation per element (the
//   broadcast); source src with 0 B counted (its bytes were counted in the
//   dst event; the source keeps the dependency), SoftmaxFlashV2's expSum with
//   isUpdate also inExpSum (m x 32 B), its expMax inMax (0 B).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/tensor.h"
#include "ubscope_twin/tiling.h"
#include "ubscope_twin/vector.h"

namespace AscendC {

struct SoftMaxShapeInfo {
    uint32_t srcM;     // product of the non-last axes
    uint32_t srcK;     // last axis, whole 32 B
    uint32_t oriSrcM;  // before padding
    uint32_t oriSrcK;  // before padding
};

enum class SoftmaxMode {
    SOFTMAX_NORMAL = 0,
    SOFTMAX_OUTPUT_WITHOUT_BRC = 1,
};

struct SoftmaxConfig {
    bool isCheckTiling = true;  // the twin computes from the shape: no tiling to check
    uint32_t oriSrcM = 0;
    uint32_t oriSrcK = 0;
    SoftmaxMode mode = SoftmaxMode::SOFTMAX_NORMAL;
};

inline constexpr SoftmaxConfig SOFTMAX_DEFAULT_CFG = {true, 0, 0, SoftmaxMode::SOFTMAX_NORMAL};

}  // namespace AscendC

// The kernel side's SoftMaxTiling, as the pages name it (unqualified; the host
// has optiling::SoftMaxTiling). No fields: see above.
struct SoftMaxTiling : ubscope_twin::HostFilledTiling<SoftMaxTiling> {};

namespace optiling {
using ::SoftMaxTiling;
}

namespace AscendC {
using ::SoftMaxTiling;
}

namespace ubscope_twin {

struct SoftmaxShape {
    int64_t m, k;          // srcM, srcK
    int64_t ori_m, ori_k;  // the rows and columns of the original data
};

template <typename T, typename S>
SoftmaxShape softmax_shape(const char* op, const AscendC::SoftMaxShapeInfo& info, const AscendC::SoftmaxConfig& config,
                           bool nz, const Where& where) {
    if (nz) {
        fail(where, std::string(op) + ": isDataFormatNZ: the twin does not cover the NZ format yet (ND only)");
    }
    if (config.mode != AscendC::SoftmaxMode::SOFTMAX_NORMAL) {
        fail(where, std::string(op) + ": config.mode SOFTMAX_OUTPUT_WITHOUT_BRC is not covered by the twin");
    }
    SoftmaxShape s{info.srcM, info.srcK, info.oriSrcM, info.oriSrcK};
    if (s.m == 0 || s.k == 0) {
        if (config.oriSrcM == 0 || config.oriSrcK == 0) {
            fail(where, std::string(op) + ": softmaxShapeInfo srcM " + std::to_string(s.m) + ", srcK " +
                            std::to_string(s.k) +
                            ": the twin takes the shape from SoftMaxShapeInfo{srcM, srcK, oriSrcM, oriSrcK} "
                            "(it has no tensor ShapeInfo and does not read the tiling)");
        }
        s = {config.oriSrcM, config.oriSrcK, config.oriSrcM, config.oriSrcK};
    }
    s.ori_m = s.ori_m == 0 ? s.m : s.ori_m;
    s.ori_k = s.ori_k == 0 ? s.k : s.ori_k;
    if (s.k * int64_t{sizeof(T)} % 32 != 0) {
        fail(where, std::string(op) + ": softmaxShapeInfo.srcK " + std::to_string(s.k) + " x " +
                        std::to_string(sizeof(T)) + " B is not a multiple of 32 B");
    }
    if (s.ori_k > s.k || s.ori_m > s.m) {
        fail(where, std::string(op) + ": softmaxShapeInfo oriSrcM " + std::to_string(s.ori_m) + ", oriSrcK " +
                        std::to_string(s.ori_k) + " beyond srcM " + std::to_string(s.m) + ", srcK " +
                        std::to_string(s.k));
    }
    return s;
}

// A tensor must hold ``count`` elements of the call's shape.
template <typename U>
void softmax_holds(const char* op, const char* name, const AscendC::LocalTensor<U>& tensor, int64_t count,
                   const std::string& what, const Where& where) {
    if (count > int64_t{tensor.GetSize()}) {
        fail(where, std::string(op) + ": " + what + " (" + std::to_string(count) + " elements) is beyond " + name +
                        "'s " + std::to_string(tensor.GetSize()) + " elements");
    }
}

template <typename S>
constexpr int64_t block_elements() {
    return 32 / int64_t{sizeof(S)};
}

// A [m, 32 B] tensor of per-row values: holds m blocks.
template <typename S>
void softmax_holds_rows(const char* op, const char* name, const AscendC::LocalTensor<S>& tensor, int64_t m,
                        const Where& where) {
    softmax_holds(op, name, tensor, m * block_elements<S>(), "srcM " + std::to_string(m) + " x 32 B", where);
}

// The sharedTmpBuffer must not overlap the operands (documented).
inline void softmax_tmp_apart(const char* op, const AscendC::LocalTensor<uint8_t>* tmp, const Touch& operand,
                              const char* name, const Where& where) {
    if (tmp == nullptr || tmp->space() != operand.space) {
        return;
    }
    const int64_t begin = tmp->addr();
    const int64_t end = begin + int64_t{tmp->GetSize()};
    if (begin < operand.addr + operand.bytes && operand.addr < end) {
        fail(where, std::string(op) + ": sharedTmpBuffer overlaps " + name);
    }
}

// The value of row r of a [m, 32 B] tensor, widened.
template <typename S>
float row_value(const S* values, int64_t row) {
    return float(values[row * block_elements<S>()]);
}

// Writes row values, each repeated over its row's block, and records the event.
template <typename S>
void write_rows(const char* op, const AscendC::LocalTensor<S>& out, const std::vector<float>& values,
                std::span<const Touch> sources, const Where& where) {
    const int64_t per = block_elements<S>();
    const int64_t m = static_cast<int64_t>(values.size());
    const Touch to = touch(out, m * 32, where);
    S* at = out.data(m * per, where);
    for (int64_t r = 0; r < m; ++r) {
        const S v = S(values[r]);
        for (int64_t j = 0; j < per; ++j) {
            at[r * per + j] = v;
        }
    }
    record_vector(op, to, sources, m * per, sizeof(S), 1, where);
}

// The per-row statistics of the first ``ori_k`` elements of each row of x.
struct RowStats {
    std::vector<float> max, sum;
};

inline float row_max(const std::vector<float>& x, int64_t r, const SoftmaxShape& s) {
    float mx = x[r * s.k];
    for (int64_t j = 1; j < s.ori_k; ++j) {
        mx = std::max(mx, x[r * s.k + j]);
    }
    return mx;
}

template <typename T>
std::vector<float> widen(const AscendC::LocalTensor<T>& src, int64_t n, const Where& where) {
    const T* in = src.data(n, where);
    std::vector<float> x(n);
    for (int64_t i = 0; i < n; ++i) {
        x[i] = float(in[i]);
    }
    return x;
}

template <typename T>
void store_row_major(const AscendC::LocalTensor<T>& dst, const std::vector<float>& values, const Where& where) {
    T* out = dst.data(static_cast<int64_t>(values.size()), where);
    for (size_t i = 0; i < values.size(); ++i) {
        out[i] = T(values[i]);
    }
}

// SoftMax; sum / max nullptr for the form without them.
template <typename T, typename S>
void softmax(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<S>* sum,
             const AscendC::LocalTensor<S>* max, const AscendC::LocalTensor<T>& src,
             const AscendC::LocalTensor<uint8_t>* tmp, const AscendC::SoftMaxShapeInfo& info,
             const AscendC::SoftmaxConfig& config, bool nz, const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "SoftMax: T is half or float");
    const char* op = "SoftMax";
    const SoftmaxShape s = softmax_shape<T, S>(op, info, config, nz, where);
    const int64_t n = s.m * s.k;
    const std::string shape = "srcM x srcK " + std::to_string(s.m) + " x " + std::to_string(s.k);
    softmax_holds(op, "srcTensor", src, n, shape, where);
    softmax_holds(op, "dstTensor", dst, n, shape, where);
    if (sum != nullptr) {
        softmax_holds_rows(op, "sumTensor", *sum, s.m, where);
        softmax_holds_rows(op, "maxTensor", *max, s.m, where);
    }
    const Touch out = touch(dst, n * int64_t{sizeof(T)}, where);
    std::array<Touch, 2> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    ins[nins++] = touch(src, n * int64_t{sizeof(T)}, where);
    softmax_tmp_apart(op, tmp, out, "dstTensor", where);
    softmax_tmp_apart(op, tmp, ins[nins - 1], "srcTensor", where);

    // Every element read before any is written: dst may be src itself.
    std::vector<float> x = widen(src, n, where);
    RowStats stats{std::vector<float>(s.m), std::vector<float>(s.m)};
    for (int64_t r = 0; r < s.m; ++r) {
        const float mx = row_max(x, r, s);
        float total = 0.0f;
        for (int64_t j = 0; j < s.k; ++j) {
            float& e = x[r * s.k + j];
            e = std::exp(e - mx);
            if (j < s.ori_k) {
                total += e;
            }
        }
        for (int64_t j = 0; j < s.k; ++j) {
            x[r * s.k + j] /= total;
        }
        stats.max[r] = mx;
        stats.sum[r] = total;
    }
    store_row_major(dst, x, where);
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), n, sizeof(T), 5, where);
    if (sum != nullptr) {
        const std::array<Touch, 1> from{touch(src, 0, where)};
        write_rows(op, *sum, stats.sum, from, where);
        write_rows(op, *max, stats.max, from, where);
    }
}

template <typename T, typename S>
void simple_softmax(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<S>& in_sum,
                    const AscendC::LocalTensor<S>& in_max, const AscendC::LocalTensor<T>& src,
                    const AscendC::LocalTensor<uint8_t>* tmp, const AscendC::SoftMaxShapeInfo& info,
                    const AscendC::SoftmaxConfig& config, bool nz, const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "SimpleSoftMax: T is half or float");
    const char* op = "SimpleSoftMax";
    const SoftmaxShape s = softmax_shape<T, S>(op, info, config, nz, where);
    const int64_t n = s.m * s.k;
    const std::string shape = "srcM x srcK " + std::to_string(s.m) + " x " + std::to_string(s.k);
    softmax_holds(op, "srcTensor", src, n, shape, where);
    softmax_holds(op, "dstTensor", dst, n, shape, where);
    softmax_holds_rows(op, "inSumTensor", in_sum, s.m, where);
    softmax_holds_rows(op, "inMaxTensor", in_max, s.m, where);
    const Touch out = touch(dst, n * int64_t{sizeof(T)}, where);
    std::array<Touch, 4> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    ins[nins++] = touch(src, n * int64_t{sizeof(T)}, where);
    softmax_tmp_apart(op, tmp, out, "dstTensor", where);
    softmax_tmp_apart(op, tmp, ins[nins - 1], "srcTensor", where);
    ins[nins++] = touch(in_sum, s.m * 32, where);
    ins[nins++] = touch(in_max, s.m * 32, where);

    std::vector<float> x = widen(src, n, where);
    const S* sums = in_sum.data(s.m * block_elements<S>(), where);
    const S* maxes = in_max.data(s.m * block_elements<S>(), where);
    for (int64_t r = 0; r < s.m; ++r) {
        const float mx = row_value(maxes, r);
        const float total = row_value(sums, r);
        for (int64_t j = 0; j < s.k; ++j) {
            float& e = x[r * s.k + j];
            e = std::exp(e - mx) / total;
        }
    }
    store_row_major(dst, x, where);
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), n, sizeof(T), 3, where);
}

// SoftmaxFlashV2 (the forms without ReduceMax); expMax has the data's type T.
template <typename T, typename S>
void softmax_flash_v2(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<S>& exp_sum,
                      const AscendC::LocalTensor<S>& max, const AscendC::LocalTensor<T>& src,
                      const AscendC::LocalTensor<T>& exp_max, const AscendC::LocalTensor<S>& in_exp_sum,
                      const AscendC::LocalTensor<S>& in_max, const AscendC::LocalTensor<uint8_t>* tmp, bool update,
                      const AscendC::SoftMaxShapeInfo& info, const AscendC::SoftmaxConfig& config, bool nz,
                      const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "SoftmaxFlashV2: T is half or float");
    const char* op = "SoftmaxFlashV2";
    const SoftmaxShape s = softmax_shape<T, S>(op, info, config, nz, where);
    const int64_t n = s.m * s.k;
    const std::string shape = "srcM x srcK " + std::to_string(s.m) + " x " + std::to_string(s.k);
    softmax_holds(op, "srcTensor", src, n, shape, where);
    softmax_holds(op, "dstTensor", dst, n, shape, where);
    softmax_holds_rows(op, "expSumTensor", exp_sum, s.m, where);
    softmax_holds_rows(op, "maxTensor", max, s.m, where);
    if (update) {
        softmax_holds_rows(op, "expMaxTensor", exp_max, s.m, where);
        softmax_holds_rows(op, "inExpSumTensor", in_exp_sum, s.m, where);
        softmax_holds_rows(op, "inMaxTensor", in_max, s.m, where);
    }
    const Touch out = touch(dst, n * int64_t{sizeof(T)}, where);
    std::array<Touch, 3> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    ins[nins++] = touch(src, n * int64_t{sizeof(T)}, where);
    softmax_tmp_apart(op, tmp, out, "dstTensor", where);
    softmax_tmp_apart(op, tmp, ins[nins - 1], "srcTensor", where);
    if (update) {
        ins[nins++] = touch(in_max, s.m * 32, where);
    }

    // Every input read before any output is written: max may be inMax and
    // expSum inExpSum (as the page's example passes them).
    std::vector<float> x = widen(src, n, where);
    std::vector<float> new_max(s.m), new_sum(s.m), exp_maxes(update ? s.m : 0);
    const S* in_sums = update ? in_exp_sum.data(s.m * block_elements<S>(), where) : nullptr;
    const S* in_maxes = update ? in_max.data(s.m * block_elements<S>(), where) : nullptr;
    for (int64_t r = 0; r < s.m; ++r) {
        float mx = row_max(x, r, s);
        if (update) {
            mx = std::max(mx, row_value(in_maxes, r));
        }
        float total = 0.0f;
        for (int64_t j = 0; j < s.k; ++j) {
            float& e = x[r * s.k + j];
            e = std::exp(e - mx);
            if (j < s.ori_k) {
                total += e;
            }
        }
        if (update) {
            const float scale = std::exp(row_value(in_maxes, r) - mx);
            exp_maxes[r] = scale;
            total = scale * row_value(in_sums, r) + total;
        }
        new_max[r] = mx;
        new_sum[r] = total;
    }
    store_row_major(dst, x, where);
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), n, sizeof(T), 4, where);
    const Touch from_src = touch(src, 0, where);
    if (update) {
        const std::array<Touch, 2> from{from_src, touch(in_exp_sum, s.m * 32, where)};
        write_rows(op, exp_sum, new_sum, from, where);
    } else {
        write_rows(op, exp_sum, new_sum, std::span<const Touch>(&from_src, 1), where);
    }
    write_rows(op, max, new_max, std::span<const Touch>(&from_src, 1), where);
    if (update) {
        const std::array<Touch, 1> from{touch(in_max, 0, where)};
        write_rows(op, exp_max, exp_maxes, from, where);
    }
}

}  // namespace ubscope_twin

namespace AscendC {

// ------------------------------------------------------------------ SoftMax

#define UBSCOPE_TWIN_SOFTMAX_TEMPLATE                                                                           \
    template <typename T, bool isReuseSource = false, bool isBasicBlock = false, bool isDataFormatNZ = false, \
              const SoftmaxConfig& config = SOFTMAX_DEFAULT_CFG>

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& sumTensor, const LocalTensor<T>& maxTensor,
             const LocalTensor<T>& srcTensor, const SoftMaxTiling& tiling, const SoftMaxShapeInfo& softmaxShapeInfo = {},
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax<T, T>(dstTensor, &sumTensor, &maxTensor, srcTensor, nullptr, softmaxShapeInfo, config,
                                isDataFormatNZ, where);
}

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SoftMax(const LocalTensor<half>& dstTensor, const LocalTensor<float>& sumTensor,
             const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor, const SoftMaxTiling& tiling,
             const SoftMaxShapeInfo& softmaxShapeInfo = {},
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax<half, float>(dstTensor, &sumTensor, &maxTensor, srcTensor, nullptr, softmaxShapeInfo,
                                       config, isDataFormatNZ, where);
}

template <typename T, bool isReuseSource = false, bool isBasicBlock = false,
          const SoftmaxConfig& config = SOFTMAX_DEFAULT_CFG>
void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor, const SoftMaxTiling& tiling,
             const SoftMaxShapeInfo& softmaxShapeInfo = {},
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax<T, T>(dstTensor, nullptr, nullptr, srcTensor, nullptr, softmaxShapeInfo, config, false,
                                where);
}

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& sumTensor, const LocalTensor<T>& maxTensor,
             const LocalTensor<T>& srcTensor, const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
             const SoftMaxShapeInfo& softmaxShapeInfo = {},
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax<T, T>(dstTensor, &sumTensor, &maxTensor, srcTensor, &sharedTmpBuffer, softmaxShapeInfo,
                                config, isDataFormatNZ, where);
}

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SoftMax(const LocalTensor<half>& dstTensor, const LocalTensor<float>& sumTensor,
             const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor,
             const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
             const SoftMaxShapeInfo& softmaxShapeInfo = {},
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax<half, float>(dstTensor, &sumTensor, &maxTensor, srcTensor, &sharedTmpBuffer,
                                       softmaxShapeInfo, config, isDataFormatNZ, where);
}

template <typename T, bool isReuseSource = false, bool isBasicBlock = false,
          const SoftmaxConfig& config = SOFTMAX_DEFAULT_CFG>
void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor,
             const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
             const SoftMaxShapeInfo& softmaxShapeInfo = {},
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax<T, T>(dstTensor, nullptr, nullptr, srcTensor, &sharedTmpBuffer, softmaxShapeInfo, config,
                                false, where);
}

// ------------------------------------------------------------ SimpleSoftMax

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SimpleSoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& inSumTensor,
                   const LocalTensor<T>& inMaxTensor, const LocalTensor<T>& srcTensor, const SoftMaxTiling& tiling,
                   const SoftMaxShapeInfo& softmaxShapeInfo = {},
                   const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::simple_softmax<T, T>(dstTensor, inSumTensor, inMaxTensor, srcTensor, nullptr, softmaxShapeInfo,
                                       config, isDataFormatNZ, where);
}

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SimpleSoftMax(const LocalTensor<half>& dstTensor, const LocalTensor<float>& inSumTensor,
                   const LocalTensor<float>& inMaxTensor, const LocalTensor<half>& srcTensor,
                   const SoftMaxTiling& tiling, const SoftMaxShapeInfo& softmaxShapeInfo = {},
                   const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::simple_softmax<half, float>(dstTensor, inSumTensor, inMaxTensor, srcTensor, nullptr,
                                              softmaxShapeInfo, config, isDataFormatNZ, where);
}

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SimpleSoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& inSumTensor,
                   const LocalTensor<T>& inMaxTensor, const LocalTensor<T>& srcTensor,
                   const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
                   const SoftMaxShapeInfo& softmaxShapeInfo = {},
                   const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::simple_softmax<T, T>(dstTensor, inSumTensor, inMaxTensor, srcTensor, &sharedTmpBuffer,
                                       softmaxShapeInfo, config, isDataFormatNZ, where);
}

UBSCOPE_TWIN_SOFTMAX_TEMPLATE
void SimpleSoftMax(const LocalTensor<half>& dstTensor, const LocalTensor<float>& inSumTensor,
                   const LocalTensor<float>& inMaxTensor, const LocalTensor<half>& srcTensor,
                   const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
                   const SoftMaxShapeInfo& softmaxShapeInfo = {},
                   const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::simple_softmax<half, float>(dstTensor, inSumTensor, inMaxTensor, srcTensor, &sharedTmpBuffer,
                                              softmaxShapeInfo, config, isDataFormatNZ, where);
}

#undef UBSCOPE_TWIN_SOFTMAX_TEMPLATE

// ----------------------------------------------------------- SoftmaxFlashV2

#define UBSCOPE_TWIN_FLASH_V2_TEMPLATE                                                                   \
    template <typename T, bool isUpdate = false, bool isReuseSource = false, bool isBasicBlock = false, \
              bool isDataFormatNZ = false, const SoftmaxConfig& config = SOFTMAX_DEFAULT_CFG>

UBSCOPE_TWIN_FLASH_V2_TEMPLATE
void SoftmaxFlashV2(const LocalTensor<T>& dstTensor, const LocalTensor<T>& expSumTensor,
                    const LocalTensor<T>& maxTensor, const LocalTensor<T>& srcTensor,
                    const LocalTensor<T>& expMaxTensor, const LocalTensor<T>& inExpSumTensor,
                    const LocalTensor<T>& inMaxTensor, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {},
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash_v2<T, T>(dstTensor, expSumTensor, maxTensor, srcTensor, expMaxTensor, inExpSumTensor,
                                         inMaxTensor, nullptr, isUpdate, softmaxShapeInfo, config, isDataFormatNZ,
                                         where);
}

UBSCOPE_TWIN_FLASH_V2_TEMPLATE
void SoftmaxFlashV2(const LocalTensor<half>& dstTensor, const LocalTensor<float>& expSumTensor,
                    const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor,
                    const LocalTensor<half>& expMaxTensor, const LocalTensor<float>& inExpSumTensor,
                    const LocalTensor<float>& inMaxTensor, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {},
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash_v2<half, float>(dstTensor, expSumTensor, maxTensor, srcTensor, expMaxTensor,
                                                inExpSumTensor, inMaxTensor, nullptr, isUpdate, softmaxShapeInfo,
                                                config, isDataFormatNZ, where);
}

UBSCOPE_TWIN_FLASH_V2_TEMPLATE
void SoftmaxFlashV2(const LocalTensor<T>& dstTensor, const LocalTensor<T>& outExpSum, const LocalTensor<T>& outMax,
                    const LocalTensor<T>& srcTensor, const LocalTensor<T>& outExpMax,
                    const LocalTensor<T>& inExpSum, const LocalTensor<T>& inMax,
                    const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {},
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash_v2<T, T>(dstTensor, outExpSum, outMax, srcTensor, outExpMax, inExpSum, inMax,
                                         &sharedTmpBuffer, isUpdate, softmaxShapeInfo, config, isDataFormatNZ,
                                         where);
}

UBSCOPE_TWIN_FLASH_V2_TEMPLATE
void SoftmaxFlashV2(const LocalTensor<half>& dstTensor, const LocalTensor<float>& expSumTensor,
                    const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor,
                    const LocalTensor<half>& expMaxTensor, const LocalTensor<float>& inExpSumTensor,
                    const LocalTensor<float>& inMaxTensor, const LocalTensor<uint8_t>& sharedTmpBuffer,
                    const SoftMaxTiling& tiling, const SoftMaxShapeInfo& softmaxShapeInfo = {},
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash_v2<half, float>(dstTensor, expSumTensor, maxTensor, srcTensor, expMaxTensor,
                                                inExpSumTensor, inMaxTensor, &sharedTmpBuffer, isUpdate,
                                                softmaxShapeInfo, config, isDataFormatNZ, where);
}

#undef UBSCOPE_TWIN_FLASH_V2_TEMPLATE

}  // namespace AscendC
