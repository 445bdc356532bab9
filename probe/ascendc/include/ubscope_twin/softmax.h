// ubscope CPU twin: the high-level softmax APIs SoftMax, SimpleSoftMax,
// SoftmaxFlashV2, LogSoftMax, SoftmaxGrad and the deprecated SoftmaxFlash, ND
// format, Atlas A2 training / 800I A2 inference (910B).
//
// Written from the public Ascend C API reference (the pages of SoftMax,
// SimpleSoftMax, SoftmaxFlashV2, LogSoftMax, SoftmaxGrad, SoftmaxFlash and
// SoftMax/SimpleSoftMax and LogSoftMax Tiling: prototypes, parameter tables,
// constraints, the Python formulas and the step lists of "implementation
// principle"), not from Huawei's headers. What the pages say:
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
// - LogSoftMax(dst, sum, max, src, sharedTmpBuffer, LogSoftMaxTiling, shape),
//   <T, isReuseSource, isDataFormatNZ>, one form (the buffer is required,
//   sum / max of type T): the steps of SoftMax, then "log": the current pages
//   (CANN 8.5, 9.0; Chinese and English) write np.log10 in the formula and
//   "log10" in the step list; the 8.0 and 8.1 pages wrote np.log. The twin
//   follows the current pages: dst = log10(exp(x - max) / sum). src and dst
//   must not overlap (checked: one line); the input must lie in
//   [-2147483647, 2147483647], else "the result is invalid".
// - SoftmaxGrad(dst, grad, src[, sharedTmpBuffer], SoftMaxTiling, isFront =
//   false, shape), <T, isReuseSource, isDataFormatNZ>: sum = rowsum(grad x
//   src); with isFront dst is sum, one 32 B block a row ([m, 8] floats /
//   [m, 16] halves), else dst = (grad - sum) x src, [m, k]. src and dst may be
//   the same tensor.
// - SoftmaxFlash(dst, sum, max, src, expMax, inSum, inMax[, sharedTmpBuffer],
//   SoftMaxTiling, isUpdate = false, shape), <T, isReuseSource, isBasicBlock>,
//   same types or half data with float sum / max / inSum / inMax (and a half
//   expMax): without update it is SoftMax; with update max = max(inMax,
//   rowmax(x)), e = exp(x - max), sum = exp(inMax - max) x inSum + rowsum(e),
//   expMax = exp(inMax - max) x inSum / sum, dst = e / sum (expMax is not
//   written without update). src and dst, sum and inSum, max and inMax may be
//   the same tensor. It has no NZ form and no SoftmaxConfig.
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
//   computes from the shape. LogSoftMaxTiling likewise (its page names
//   "reduceSize, splitSize, ..." without a layout: the twin reads none).
// - LogSoftMax, SoftmaxGrad and SoftmaxFlash have no SoftmaxConfig: their
//   shape is softmaxShapeInfo alone ({} stops the run with the line above).
// - LogSoftMax follows the page's steps (exp, div, then log10; no log-sum-exp
//   rewrite): an element whose exp(x - max) underflows float gives -inf, as
//   the formula. Its range check covers the original oriSrcM x oriSrcK
//   elements (the padding only changes padded results); NaN and inf are out.
// - SoftmaxGrad: the products and their row sum in float (row order, the first
//   oriSrcK elements); dst = (grad - sum) x src for all srcK elements. grad
//   may overlap dst too (the twin reads both inputs first); sharedTmpBuffer
//   must not overlap dst, grad or src (checked).
// - SoftmaxFlash with update: exp(inMax - max) x inSum once in float, used
//   for both sum and expMax; dst divided by the float sum.
//
// Events, each through record_vector, named after the API, one a destination
// in the order dst, sum (expSum), max, expMax:
// - dst: sources the sharedTmpBuffer when passed (first, 0 B counted, never
//   written, as CumSum's), then src (m x k elements; SoftmaxGrad: grad, then
//   src), then the inputs read per row (SimpleSoftMax and SoftmaxFlash with
//   isUpdate: inSum, inMax; SoftmaxFlashV2 with isUpdate: inMax), m x 32 B
//   each. Operations per element: the page's element-wise steps, SoftMax 5
//   (reducemax, sub, exp, reducesum, div), SimpleSoftMax 3 (sub, exp, div),
//   SoftmaxFlashV2 4 (reducemax, sub, exp, reducesum), LogSoftMax 6 (SoftMax's
//   and log), SoftmaxGrad 4 (mul, reducesum, sub, mul), SoftmaxFlash 5 (its
//   formula's: SoftMax's). SoftmaxGrad with isFront writes m x 32 B and counts
//   the m x k elements with 2 operations each (mul, reducesum).
// - sum / max / expMax: m x 32 B written, one operation per element (the
//   broadcast); source src with 0 B counted (its bytes were counted in the
//   dst event; the source keeps the dependency), SoftmaxFlashV2's expSum with
//   isUpdate also inExpSum (m x 32 B), its expMax inMax (0 B); SoftmaxFlash's
//   with isUpdate also inSum and inMax (sum, expMax) or inMax (max), 0 B.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
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
// LogSoftMax's, filled by the host's LogSoftMaxTilingFunc; no fields either.
struct LogSoftMaxTiling : ubscope_twin::HostFilledTiling<LogSoftMaxTiling> {};

namespace optiling {
using ::LogSoftMaxTiling;
using ::SoftMaxTiling;
}

namespace AscendC {
using ::LogSoftMaxTiling;
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

// Two operands a page keeps apart must not share a byte (documented).
inline void softmax_apart(const char* op, const Touch& a, const char* a_name, const Touch& b, const char* b_name,
                          const Where& where) {
    if (a.space == b.space && a.addr < b.addr + b.bytes && b.addr < a.addr + a.bytes) {
        fail(where, std::string(op) + ": " + a_name + " overlaps " + b_name);
    }
}

// The sharedTmpBuffer must not overlap the operands (documented).
inline void softmax_tmp_apart(const char* op, const AscendC::LocalTensor<uint8_t>* tmp, const Touch& operand,
                              const char* name, const Where& where) {
    if (tmp != nullptr) {
        const Touch whole{tmp->space(), tmp->addr(), int64_t{tmp->GetSize()}, tmp->key()};
        softmax_apart(op, whole, "sharedTmpBuffer", operand, name, where);
    }
}

// The value of row r of a [m, 32 B] tensor, widened.
template <typename S>
float row_value(const S* values, int64_t row) {
    return float(values[row * block_elements<S>()]);
}

// Writes row values, each repeated over its row's block, and records the event:
// by default the broadcast, one operation a written element; ``elements`` /
// ``ops`` for an event that is the whole computation (SoftmaxGrad's isFront).
template <typename S>
void write_rows(const char* op, const AscendC::LocalTensor<S>& out, const std::vector<float>& values,
                std::span<const Touch> sources, const Where& where, int64_t elements = 0, int64_t ops = 1) {
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
    record_vector(op, to, sources, elements == 0 ? m * per : elements, sizeof(S), ops, where);
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

// Replaces row r of x by exp(x - mx), all srcK elements; returns the sum (in
// row order, float) of its first oriSrcK.
inline float exp_row(std::vector<float>& x, int64_t r, const SoftmaxShape& s, float mx) {
    float total = 0.0f;
    for (int64_t j = 0; j < s.k; ++j) {
        float& e = x[r * s.k + j];
        e = std::exp(e - mx);
        if (j < s.ori_k) {
            total += e;
        }
    }
    return total;
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
        const float total = exp_row(x, r, s, mx);
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

// What SoftmaxFlash and SoftmaxFlashV2 share: the shape, every tensor
// checked to hold it, and the sources of dst's event (sharedTmpBuffer, src,
// then with update the row inputs the data step reads: ``update_reads``).
struct FlashOperands {
    SoftmaxShape s;
    int64_t n;
    Touch out;
    std::array<Touch, 4> ins;
    size_t nins;

    std::span<const Touch> sources() const { return {ins.data(), nins}; }
};

template <typename T, typename S, size_t Reads>
FlashOperands flash_operands(const char* op, const char* sum_name, const char* in_sum_name,
                             const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<S>& sum,
                             const AscendC::LocalTensor<S>& max, const AscendC::LocalTensor<T>& src,
                             const AscendC::LocalTensor<T>& exp_max, const AscendC::LocalTensor<S>& in_sum,
                             const AscendC::LocalTensor<S>& in_max, const AscendC::LocalTensor<uint8_t>* tmp,
                             bool update, const std::array<const AscendC::LocalTensor<S>*, Reads>& update_reads,
                             const AscendC::SoftMaxShapeInfo& info, const AscendC::SoftmaxConfig& config, bool nz,
                             const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "SoftmaxFlash: T is half or float");
    FlashOperands call{softmax_shape<T, S>(op, info, config, nz, where), 0, {}, {}, 0};
    const SoftmaxShape& s = call.s;
    call.n = s.m * s.k;
    const std::string shape = "srcM x srcK " + std::to_string(s.m) + " x " + std::to_string(s.k);
    softmax_holds(op, "srcTensor", src, call.n, shape, where);
    softmax_holds(op, "dstTensor", dst, call.n, shape, where);
    softmax_holds_rows(op, sum_name, sum, s.m, where);
    softmax_holds_rows(op, "maxTensor", max, s.m, where);
    if (update) {
        softmax_holds_rows(op, "expMaxTensor", exp_max, s.m, where);
        softmax_holds_rows(op, in_sum_name, in_sum, s.m, where);
        softmax_holds_rows(op, "inMaxTensor", in_max, s.m, where);
    }
    call.out = touch(dst, call.n * int64_t{sizeof(T)}, where);
    if (tmp != nullptr) {
        call.ins[call.nins++] = touch(*tmp, 0, where);
    }
    call.ins[call.nins++] = touch(src, call.n * int64_t{sizeof(T)}, where);
    softmax_tmp_apart(op, tmp, call.out, "dstTensor", where);
    softmax_tmp_apart(op, tmp, call.ins[call.nins - 1], "srcTensor", where);
    if (update) {
        for (const AscendC::LocalTensor<S>* row_input : update_reads) {
            call.ins[call.nins++] = touch(*row_input, s.m * 32, where);
        }
    }
    return call;
}

// Per row of x: the max (with update, of the row and inMax), x made exp(x -
// max) in place, and the sum of the exps (with update, plus the carried part
// scale x inSum, scale = exp(inMax - max)). Every input is read before any
// output is written: the pages' examples pass max as inMax and sum as inSum.
struct FlashRows {
    std::vector<float> max, sum, scale;
};

template <typename S>
FlashRows flash_rows(std::vector<float>& x, const SoftmaxShape& s, const AscendC::LocalTensor<S>& in_sum,
                     const AscendC::LocalTensor<S>& in_max, bool update, const Where& where) {
    FlashRows rows{std::vector<float>(s.m), std::vector<float>(s.m), std::vector<float>(update ? s.m : 0)};
    const S* in_sums = update ? in_sum.data(s.m * block_elements<S>(), where) : nullptr;
    const S* in_maxes = update ? in_max.data(s.m * block_elements<S>(), where) : nullptr;
    for (int64_t r = 0; r < s.m; ++r) {
        float mx = row_max(x, r, s);
        if (update) {
            mx = std::max(mx, row_value(in_maxes, r));
        }
        float total = exp_row(x, r, s, mx);
        if (update) {
            rows.scale[r] = std::exp(row_value(in_maxes, r) - mx);
            total = rows.scale[r] * row_value(in_sums, r) + total;
        }
        rows.max[r] = mx;
        rows.sum[r] = total;
    }
    return rows;
}

// SoftmaxFlashV2 (the forms without ReduceMax); expMax has the data's type T.
template <typename T, typename S>
void softmax_flash_v2(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<S>& exp_sum,
                      const AscendC::LocalTensor<S>& max, const AscendC::LocalTensor<T>& src,
                      const AscendC::LocalTensor<T>& exp_max, const AscendC::LocalTensor<S>& in_exp_sum,
                      const AscendC::LocalTensor<S>& in_max, const AscendC::LocalTensor<uint8_t>* tmp, bool update,
                      const AscendC::SoftMaxShapeInfo& info, const AscendC::SoftmaxConfig& config, bool nz,
                      const Where& where) {
    const char* op = "SoftmaxFlashV2";
    const FlashOperands call =
        flash_operands<T, S, 1>(op, "expSumTensor", "inExpSumTensor", dst, exp_sum, max, src, exp_max, in_exp_sum,
                                in_max, tmp, update, {&in_max}, info, config, nz, where);
    const SoftmaxShape& s = call.s;
    std::vector<float> x = widen(src, call.n, where);
    const FlashRows rows = flash_rows(x, s, in_exp_sum, in_max, update, where);
    store_row_major(dst, x, where);
    record_vector(op, call.out, call.sources(), call.n, sizeof(T), 4, where);
    const Touch from_src = touch(src, 0, where);
    if (update) {
        const std::array<Touch, 2> from{from_src, touch(in_exp_sum, s.m * 32, where)};
        write_rows(op, exp_sum, rows.sum, from, where);
    } else {
        write_rows(op, exp_sum, rows.sum, std::span<const Touch>(&from_src, 1), where);
    }
    write_rows(op, max, rows.max, std::span<const Touch>(&from_src, 1), where);
    if (update) {
        const std::array<Touch, 1> from{touch(in_max, 0, where)};
        write_rows(op, exp_max, rows.scale, from, where);
    }
}

// LogSoftMax: sum and max have the data's type (the page has no mixed form).
template <typename T>
void log_softmax(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& sum,
                 const AscendC::LocalTensor<T>& max, const AscendC::LocalTensor<T>& src,
                 const AscendC::LocalTensor<uint8_t>& tmp, const AscendC::SoftMaxShapeInfo& info, bool nz,
                 const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "LogSoftMax: T is half or float");
    const char* op = "LogSoftMax";
    const SoftmaxShape s = softmax_shape<T, T>(op, info, AscendC::SOFTMAX_DEFAULT_CFG, nz, where);
    const int64_t n = s.m * s.k;
    const std::string shape = "srcM x srcK " + std::to_string(s.m) + " x " + std::to_string(s.k);
    softmax_holds(op, "src", src, n, shape, where);
    softmax_holds(op, "dst", dst, n, shape, where);
    softmax_holds_rows(op, "sum", sum, s.m, where);
    softmax_holds_rows(op, "max", max, s.m, where);
    const Touch out = touch(dst, n * int64_t{sizeof(T)}, where);
    const std::array<Touch, 2> ins{touch(tmp, 0, where), touch(src, n * int64_t{sizeof(T)}, where)};
    softmax_apart(op, out, "dst", ins[1], "src", where);
    softmax_tmp_apart(op, &tmp, out, "dst", where);
    softmax_tmp_apart(op, &tmp, ins[1], "src", where);

    std::vector<float> x = widen(src, n, where);
    constexpr double limit = 2147483647.0;  // the page's range of the input
    for (int64_t r = 0; r < s.ori_m; ++r) {
        for (int64_t j = 0; j < s.ori_k; ++j) {
            const double v = x[r * s.k + j];
            if (!(std::fabs(v) <= limit)) {
                char value[32];
                std::snprintf(value, sizeof value, "%g", v);
                fail(where, std::string(op) + ": src[" + std::to_string(r) + ", " + std::to_string(j) + "] = " +
                                value + " is outside [-2147483647, 2147483647], where the result is valid");
            }
        }
    }
    RowStats stats{std::vector<float>(s.m), std::vector<float>(s.m)};
    for (int64_t r = 0; r < s.m; ++r) {
        const float mx = row_max(x, r, s);
        const float total = exp_row(x, r, s, mx);
        for (int64_t j = 0; j < s.k; ++j) {
            float& e = x[r * s.k + j];
            e = std::log10(e / total);
        }
        stats.max[r] = mx;
        stats.sum[r] = total;
    }
    store_row_major(dst, x, where);
    record_vector(op, out, ins, n, sizeof(T), 6, where);
    const std::array<Touch, 1> from{touch(src, 0, where)};
    write_rows(op, sum, stats.sum, from, where);
    write_rows(op, max, stats.max, from, where);
}

// SoftmaxGrad: dst = (grad - rowsum(grad x src)) x src, or with isFront the
// row sums, one 32 B block a row.
template <typename T>
void softmax_grad(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& grad,
                  const AscendC::LocalTensor<T>& src, const AscendC::LocalTensor<uint8_t>* tmp, bool front,
                  const AscendC::SoftMaxShapeInfo& info, bool nz, const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "SoftmaxGrad: T is half or float");
    const char* op = "SoftmaxGrad";
    const SoftmaxShape s = softmax_shape<T, T>(op, info, AscendC::SOFTMAX_DEFAULT_CFG, nz, where);
    const int64_t n = s.m * s.k;
    const std::string shape = "srcM x srcK " + std::to_string(s.m) + " x " + std::to_string(s.k);
    softmax_holds(op, "gradTensor", grad, n, shape, where);
    softmax_holds(op, "srcTensor", src, n, shape, where);
    if (front) {
        softmax_holds_rows(op, "dstTensor", dst, s.m, where);
    } else {
        softmax_holds(op, "dstTensor", dst, n, shape, where);
    }
    const Touch out = touch(dst, front ? s.m * 32 : n * int64_t{sizeof(T)}, where);
    std::array<Touch, 3> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    ins[nins++] = touch(grad, n * int64_t{sizeof(T)}, where);
    ins[nins++] = touch(src, n * int64_t{sizeof(T)}, where);
    softmax_tmp_apart(op, tmp, out, "dstTensor", where);
    softmax_tmp_apart(op, tmp, ins[nins - 2], "gradTensor", where);
    softmax_tmp_apart(op, tmp, ins[nins - 1], "srcTensor", where);
    const std::span<const Touch> sources(ins.data(), nins);

    // Both inputs read before dst is written: dst may be srcTensor (documented).
    std::vector<float> g = widen(grad, n, where);
    const std::vector<float> x = widen(src, n, where);
    std::vector<float> sums(s.m);
    for (int64_t r = 0; r < s.m; ++r) {
        float total = 0.0f;
        for (int64_t j = 0; j < s.ori_k; ++j) {
            const float product = g[r * s.k + j] * x[r * s.k + j];
            total += product;
        }
        sums[r] = total;
    }
    if (front) {
        write_rows(op, dst, sums, sources, where, n, 2);
        return;
    }
    for (int64_t r = 0; r < s.m; ++r) {
        for (int64_t j = 0; j < s.k; ++j) {
            float& e = g[r * s.k + j];
            e = (e - sums[r]) * x[r * s.k + j];
        }
    }
    store_row_major(dst, g, where);
    record_vector(op, out, sources, n, sizeof(T), 4, where);
}

// SoftmaxFlash (deprecated): without update SoftMax; with update the max and
// sum of the rows seen so far, dst divided by the new sum, expMax = exp(inMax -
// max) x inSum / sum. expMax has the data's type T.
template <typename T, typename S>
void softmax_flash(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<S>& sum,
                   const AscendC::LocalTensor<S>& max, const AscendC::LocalTensor<T>& src,
                   const AscendC::LocalTensor<T>& exp_max, const AscendC::LocalTensor<S>& in_sum,
                   const AscendC::LocalTensor<S>& in_max, const AscendC::LocalTensor<uint8_t>* tmp, bool update,
                   const AscendC::SoftMaxShapeInfo& info, const Where& where) {
    const char* op = "SoftmaxFlash";
    const FlashOperands call =
        flash_operands<T, S, 2>(op, "sumTensor", "inSumTensor", dst, sum, max, src, exp_max, in_sum, in_max, tmp,
                                update, {&in_sum, &in_max}, info, AscendC::SOFTMAX_DEFAULT_CFG, false, where);
    const SoftmaxShape& s = call.s;
    std::vector<float> x = widen(src, call.n, where);
    const FlashRows rows = flash_rows(x, s, in_sum, in_max, update, where);
    std::vector<float> exp_maxes(update ? s.m : 0);
    const S* in_sums = update ? in_sum.data(s.m * block_elements<S>(), where) : nullptr;
    for (int64_t r = 0; r < s.m; ++r) {
        for (int64_t j = 0; j < s.k; ++j) {
            x[r * s.k + j] /= rows.sum[r];
        }
        if (update) {
            exp_maxes[r] = rows.scale[r] * row_value(in_sums, r) / rows.sum[r];
        }
    }
    store_row_major(dst, x, where);
    record_vector(op, call.out, call.sources(), call.n, sizeof(T), 5, where);
    // The statistics' sources, their bytes counted in the dst event: src, and
    // with update inSum and inMax (the max: inMax).
    const Touch from_src = touch(src, 0, where);
    if (update) {
        const std::array<Touch, 3> from{from_src, touch(in_sum, 0, where), touch(in_max, 0, where)};
        const std::array<Touch, 2> from_max{from_src, from[2]};
        write_rows(op, sum, rows.sum, from, where);
        write_rows(op, max, rows.max, from_max, where);
        write_rows(op, exp_max, exp_maxes, from, where);
    } else {
        write_rows(op, sum, rows.sum, std::span<const Touch>(&from_src, 1), where);
        write_rows(op, max, rows.max, std::span<const Touch>(&from_src, 1), where);
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

// --------------------------------------------------------------- LogSoftMax

template <typename T, bool isReuseSource = false, bool isDataFormatNZ = false>
void LogSoftMax(const LocalTensor<T>& dst, const LocalTensor<T>& sum, const LocalTensor<T>& max,
                const LocalTensor<T>& src, const LocalTensor<uint8_t>& sharedTmpBuffer, const LogSoftMaxTiling& tiling,
                const SoftMaxShapeInfo& softmaxShapeInfo = {},
                const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::log_softmax<T>(dst, sum, max, src, sharedTmpBuffer, softmaxShapeInfo, isDataFormatNZ, where);
}

// -------------------------------------------------------------- SoftmaxGrad

template <typename T, bool isReuseSource = false, bool isDataFormatNZ = false>
void SoftmaxGrad(const LocalTensor<T>& dstTensor, const LocalTensor<T>& gradTensor, const LocalTensor<T>& srcTensor,
                 const SoftMaxTiling& tiling, bool isFront = false, const SoftMaxShapeInfo& softmaxShapeInfo = {},
                 const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_grad<T>(dstTensor, gradTensor, srcTensor, nullptr, isFront, softmaxShapeInfo,
                                  isDataFormatNZ, where);
}

template <typename T, bool isReuseSource = false, bool isDataFormatNZ = false>
void SoftmaxGrad(const LocalTensor<T>& dstTensor, const LocalTensor<T>& gradTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling, bool isFront = false,
                 const SoftMaxShapeInfo& softmaxShapeInfo = {},
                 const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_grad<T>(dstTensor, gradTensor, srcTensor, &sharedTmpBuffer, isFront, softmaxShapeInfo,
                                  isDataFormatNZ, where);
}

// ------------------------------------------------------------- SoftmaxFlash

template <typename T, bool isReuseSource = false, bool isBasicBlock = false>
void SoftmaxFlash(const LocalTensor<T>& dstTensor, const LocalTensor<T>& sumTensor, const LocalTensor<T>& maxTensor,
                  const LocalTensor<T>& srcTensor, const LocalTensor<T>& expMaxTensor,
                  const LocalTensor<T>& inSumTensor, const LocalTensor<T>& inMaxTensor, const SoftMaxTiling& tiling,
                  bool isUpdate = false, const SoftMaxShapeInfo& softmaxShapeInfo = {},
                  const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash<T, T>(dstTensor, sumTensor, maxTensor, srcTensor, expMaxTensor, inSumTensor,
                                      inMaxTensor, nullptr, isUpdate, softmaxShapeInfo, where);
}

template <typename T, bool isReuseSource = false, bool isBasicBlock = false>
void SoftmaxFlash(const LocalTensor<half>& dstTensor, const LocalTensor<float>& sumTensor,
                  const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor,
                  const LocalTensor<half>& expMaxTensor, const LocalTensor<float>& inSumTensor,
                  const LocalTensor<float>& inMaxTensor, const SoftMaxTiling& tiling, bool isUpdate = false,
                  const SoftMaxShapeInfo& softmaxShapeInfo = {},
                  const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash<half, float>(dstTensor, sumTensor, maxTensor, srcTensor, expMaxTensor, inSumTensor,
                                             inMaxTensor, nullptr, isUpdate, softmaxShapeInfo, where);
}

template <typename T, bool isReuseSource = false, bool isBasicBlock = false>
void SoftmaxFlash(const LocalTensor<T>& dstTensor, const LocalTensor<T>& sumTensor, const LocalTensor<T>& maxTensor,
                  const LocalTensor<T>& srcTensor, const LocalTensor<T>& expMaxTensor,
                  const LocalTensor<T>& inSumTensor, const LocalTensor<T>& inMaxTensor,
                  const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling, bool isUpdate = false,
                  const SoftMaxShapeInfo& softmaxShapeInfo = {},
                  const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash<T, T>(dstTensor, sumTensor, maxTensor, srcTensor, expMaxTensor, inSumTensor,
                                      inMaxTensor, &sharedTmpBuffer, isUpdate, softmaxShapeInfo, where);
}

template <typename T, bool isReuseSource = false, bool isBasicBlock = false>
void SoftmaxFlash(const LocalTensor<half>& dstTensor, const LocalTensor<float>& sumTensor,
                  const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor,
                  const LocalTensor<half>& expMaxTensor, const LocalTensor<float>& inSumTensor,
                  const LocalTensor<float>& inMaxTensor, const LocalTensor<uint8_t>& sharedTmpBuffer,
                  const SoftMaxTiling& tiling, bool isUpdate = false, const SoftMaxShapeInfo& softmaxShapeInfo = {},
                  const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::softmax_flash<half, float>(dstTensor, sumTensor, maxTensor, srcTensor, expMaxTensor, inSumTensor,
                                             inMaxTensor, &sharedTmpBuffer, isUpdate, softmaxShapeInfo, where);
}

}  // namespace AscendC
