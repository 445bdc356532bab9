// ubscope CPU twin: the high-level LayerNorm of Atlas A2 / A3 (910B) in its
// [A, R] form (outputs y, mean and rstd), with LayerNormPara, LayerNormConfig
// and the tiling structs the kernel passes; RmsNorm with its RmsNormTiling;
// DeepNorm, GroupNorm and BatchNorm declared so that a call stops the build
// saying why they are not covered.
//
// Written from the public Ascend C API reference (the LayerNorm page:
// prototypes, parameter tables, the "implementation principle" steps,
// constraints and its call examples; the LayerNorm Tiling and RmsNorm /
// RmsNorm Tiling pages; the DeepNorm, GroupNorm and BatchNorm pages and their
// Tiling pages), not from Huawei's headers. What the pages say:
// - [A, R] form: per row of inputX, mean = sum(x) / R, variance =
//   sum((x - mean)^2) / R, rstd = 1 / sqrt(variance + epsilon) (the page:
//   "variance plus epsilon, through Rsqrt"), y = (x - mean) * rstd * gamma +
//   beta. outputMean and outputRstd are float, shape [A]; gamma and beta are
//   U, shape [R], "precision not lower than the source's" (U float with T
//   half, or U = T); epsilon is a float.
// - LayerNormPara{aLength, rLength, rLengthWithPadding}: A, the R elements of
//   a row to process, and the row's length padded to whole 32 B.
// - LayerNormConfig{isNoBeta, isNoGamma, isOnlyOutput}: without beta (gamma)
//   the terms with it are left out; isOnlyOutput supports only false.
// - src and dst may not share space; the R axis is not split; isReuseSource
//   is reserved.
//
// Where the pages are silent, the twin's choices:
// - Precision: the pages describe the float path. The twin computes in float
//   for half too (x, gamma, beta widened): the row sums in row order, mean and
//   variance divided by rLength, rstd = 1 / sqrtf(variance + epsilon), y in
//   float, each output rounded once to its type.
// - Padding: mean and rstd take a row's first rLength elements; all
//   rLengthWithPadding elements of every row of output are written with the
//   row's mean and rstd (the padded ones from their own x and gamma / beta at
//   those places, which the page's example allocates at rLengthWithPadding).
// - LayerNormSeparateTiling: the host fills it (GetLayerNormNDTilingInfo),
//   which the twin does not run; the twin computes from para and never reads
//   it, so its type has no fields (tiling.h's HostFilledTiling).
//
// RmsNorm (the RmsNorm and RmsNorm Tiling pages; Atlas A2 / A3). What the
// pages say:
// - RmsNorm<T, isBasicBlock = false>(dstLocal, srcLocal, gammaLocal
//   [, sharedTmpBuffer], T epsilon, const RmsNormTiling& tiling), T half or
//   float: per row of srcLocal as [B, S, H], y = x / sqrt(mean(x^2) +
//   epsilon) * gamma, gamma of shape [H], dstLocal of srcLocal's shape; H
//   whole 32 B; isBasicBlock only when H is a multiple of 64 below 2048 and
//   B x S a multiple of 8. The temporary space's minimum comes from the host's
//   GetRmsNormMaxMinTmpSize; the pages give no formula for it.
// - RmsNormTiling { bLength, sLength, hLength, originalHLength (uint32_t),
//   reciprocalOfHLength (float), mainBshLength, mainBsLength,
//   mainBsLengthAlign, loopRound, inputTailPos, tailBshLength, tailBsLength
//   (uint32_t) }, filled by the host's GetRmsNormTilingInfo(srcShape,
//   originSrcShape, stackBufferByteSize, typeSize, tiling, isBasicBlock).
//
// Where the pages are silent, the twin's choices:
// - Shape: B = bLength, S = sLength, H = hLength (the padded row, srcShape's
//   H), originalHLength the row's real elements (originSrcShape's H). The
//   mean of squares is taken over a row's first originalHLength elements and
//   divided by originalHLength, so zero padding does not shrink it. The twin
//   computes from these four fields and does not read the others: the
//   main / tail split and loopRound partition the B x S rows into rounds that
//   fit the temporary space (the result does not depend on it), and
//   reciprocalOfHLength is the host's 1 / H, which the twin divides by
//   itself.
// - Precision: the pages give none. As LayerNorm, in float for half too: the
//   squares summed in row order, rstd = 1 / sqrtf(sum / originalHLength +
//   epsilon), y = x * rstd * gamma in float, rounded once to T.
// - Padding: all H elements of a row are written with the row's rstd (the
//   padded ones from their own x and gamma).
// - Temporary space: without a documented minimum its size is not checked;
//   sharedTmpBuffer is recorded as used, 0 B, never written (the twin
//   computes without it).
// - Overlap: the pages read say nothing of srcLocal and dstLocal sharing
//   space; the twin reads all of srcLocal before writing, so an in-place call
//   computes as on separate tensors, and a partial overlap is flagged
//   (PARTIAL_OVERLAP) as for the basic vector instructions.
// - Checks that stop the run with one line at the call: hLength, B x S or
//   originalHLength 0, originalHLength beyond hLength, H x sizeof(T) not whole
//   32 B, B x S x H beyond srcLocal or dstLocal, H beyond gammaLocal, and
//   isBasicBlock with a shape outside its documented bounds.
// - RmsNormTiling is declared with the twin's BEGIN_TILING_DATA_DEF, so it
//   nests in tiling data (TILING_DATA_FIELD_DEF_STRUCT(RmsNormTiling, name):
//   --tiling name.bLength=..., a case file's nested mapping), is read whole
//   with GET_TILING_DATA_WITH_STRUCT, and is a plain aggregate
//   (RmsNormTiling{2, 4, 16, 13, ...}) in a kernel that fills its own.
// Event, through record_vector: one compute "RmsNorm", destination dstLocal
// (B x S x H elements); sources the sharedTmpBuffer when passed (first, 0 B),
// then srcLocal (B x S x H) and gammaLocal (H); 4 operations an element (square,
// add to the row's sum, multiply by rstd, multiply by gamma; the per-row rstd
// is not counted). Alignment of each operand (MISALIGNED) and the red zone as
// the other vector instructions.
//
// Not covered, and why: the [B, S, H] form (outputVariance, LayerNormTiling)
// takes its shape only from a tiling struct that the host fills and whose
// fields the pages tell users not to read ("no need to care about the
// struct's specific information"), so the twin cannot learn the shape from
// the call. It is declared so that a call stops the build with one line
// saying so. (RmsNorm's tiling page lists RmsNormTiling's fields by name and
// type, B, S, H and the unpadded H among them, which the twin reads: see
// RmsNorm below.)
//
// DeepNorm, GroupNorm and BatchNorm are not covered for the same reason: each
// takes its shape only from a host-filled tiling struct whose Tiling page
// lists the fields but defines none of them, saying users need not care about
// its contents (all three for Atlas A2 / A3, T half or float). What the pages
// say of each, and where the shape would have to come from:
// - DeepNorm<T, isReuseSrc = false, isBasicBlock = false>(dstLocal,
//   meanLocal, rstdLocal, srcLocal, gxLocal, betaLocal, gammaLocal
//   [, sharedTmpBuffer], T alpha, T epsilon, DeepNormTiling&): LayerNorm of
//   alpha * x + gx (gx the sublayer's output) along H of [B, S, H] data, with
//   mean and variance of shape [B, S]; H is padded to whole 32 B with zeros.
//   B, S, the padded H and the unpadded H reach the host's
//   GetDeepNormTilingInfo (srcShape [B, S, H], originSrcShape [B, S,
//   originH]) and the kernel only inside DeepNormTiling (bLength, sLength,
//   hLength, originalHLength among its 26 fields). The DeepNorm page's example
//   reads tiling.bLength, sLength and hLength to size its buffers, but no page
//   says which field is the H the mean and variance are taken over.
// - GroupNorm<T, isReuseSource = false>(output, outputMean, outputVariance,
//   inputX, gamma, beta[, sharedTmpBuffer], T epsilon, GroupNormTiling&):
//   [N, C, H, W] data, each sample's C split into groupNum groups normalised
//   apart, gamma / beta [C], mean and variance [N, groupNum]. groupNum is an
//   argument of the host's GetGroupNormNDTilingInfo only; N, C, H x W and the
//   group count reach the kernel only inside GroupNormTiling.
// - BatchNorm<T, isReuseSource = false, isBasicBlock = false>(output,
//   outputMean, outputVariance, inputX, gamm, beta[, sharedTmpBuffer],
//   T epsilon, BatchNormTiling&): [B, S, H] data normalised over B for each of
//   the S x H features, gamm / beta [B], mean and variance [S, H]; S x H whole
//   32 B. BatchNormTiling has originalBLength but no field naming S or H.
// Each documented form is declared so that a call stops the build with one
// line saying why; their tiling structs nest with no fields (tiling.h's
// HostFilledTiling), so a kernel whose tiling data holds one builds up to that
// call rather than failing at the struct.
//
// Events, through record_vector, named "LayerNorm", one a destination in the
// order output, outputMean, outputRstd:
// - output: A x rLengthWithPadding elements written; sources the
//   sharedTmpBuffer when passed (first, 0 B counted, never written), then
//   inputX (A x rLengthWithPadding), gamma (rLengthWithPadding) unless
//   isNoGamma, beta (rLengthWithPadding) unless isNoBeta; operations an
//   element: the page's element-wise steps, mean 2 (scale, add), variance 3
//   (sub, mul, add), output 4 (sub, mul by rstd, mul by gamma, add beta), one
//   fewer each without gamma or beta.
// - outputMean, outputRstd: A floats written, one operation an element; source
//   inputX with 0 B counted (its bytes are in the output event).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/tensor.h"
#include "ubscope_twin/tiling.h"
#include "ubscope_twin/vector.h"

namespace AscendC {

struct LayerNormPara {
    uint32_t aLength;
    uint32_t rLength;
    uint32_t rLengthWithPadding;
};

struct LayerNormConfig {
    bool isNoBeta = false;
    bool isNoGamma = false;
    bool isOnlyOutput = false;
};

inline constexpr LayerNormConfig LNCFG_NORM = {false, false, false};

}  // namespace AscendC

// The kernel side's tiling structs, as the pages name them (unqualified; the
// host has optiling::). No fields: see above.
struct LayerNormSeparateTiling : ubscope_twin::HostFilledTiling<LayerNormSeparateTiling> {};
struct LayerNormTiling : ubscope_twin::HostFilledTiling<LayerNormTiling> {};
struct DeepNormTiling : ubscope_twin::HostFilledTiling<DeepNormTiling> {};
struct GroupNormTiling : ubscope_twin::HostFilledTiling<GroupNormTiling> {};
struct BatchNormTiling : ubscope_twin::HostFilledTiling<BatchNormTiling> {};

// RmsNorm's tiling, with the page's fields in its order: each registers for
// --tiling (see tiling.h).
BEGIN_TILING_DATA_DEF(RmsNormTiling)
TILING_DATA_FIELD_DEF(uint32_t, bLength);
TILING_DATA_FIELD_DEF(uint32_t, sLength);
TILING_DATA_FIELD_DEF(uint32_t, hLength);
TILING_DATA_FIELD_DEF(uint32_t, originalHLength);
TILING_DATA_FIELD_DEF(float, reciprocalOfHLength);
TILING_DATA_FIELD_DEF(uint32_t, mainBshLength);
TILING_DATA_FIELD_DEF(uint32_t, mainBsLength);
TILING_DATA_FIELD_DEF(uint32_t, mainBsLengthAlign);
TILING_DATA_FIELD_DEF(uint32_t, loopRound);
TILING_DATA_FIELD_DEF(uint32_t, inputTailPos);
TILING_DATA_FIELD_DEF(uint32_t, tailBshLength);
TILING_DATA_FIELD_DEF(uint32_t, tailBsLength);
END_TILING_DATA_DEF;
static_assert(std::is_standard_layout_v<RmsNormTiling> && std::is_trivially_copyable_v<RmsNormTiling> &&
                  sizeof(RmsNormTiling) == 48,
              "RmsNormTiling: twelve 4-byte fields, a plain struct as the host's");

namespace optiling {
using ::BatchNormTiling;
using ::DeepNormTiling;
using ::GroupNormTiling;
using ::LayerNormSeparateTiling;
using ::LayerNormTiling;
using ::RmsNormTiling;
}  // namespace optiling

namespace AscendC {
using ::BatchNormTiling;
using ::DeepNormTiling;
using ::GroupNormTiling;
using ::LayerNormSeparateTiling;
using ::LayerNormTiling;
using ::RmsNormTiling;
}  // namespace AscendC

namespace ubscope_twin {

template <typename V>
void norm_holds(const char* op, const char* name, const AscendC::LocalTensor<V>& tensor, int64_t count,
                const std::string& what, const Where& where) {
    if (count > int64_t{tensor.GetSize()}) {
        fail(where, std::string(op) + ": " + what + " (" + std::to_string(count) + " elements) is beyond " + name +
                        "'s " + std::to_string(tensor.GetSize()) + " elements");
    }
}

inline bool norm_overlap(const Touch& a, const Touch& b) {
    return a.space == b.space && a.addr < b.addr + b.bytes && b.addr < a.addr + a.bytes;
}

template <typename U, typename T>
void layer_norm_rstd(const AscendC::LocalTensor<T>& output, const AscendC::LocalTensor<float>& out_mean,
                     const AscendC::LocalTensor<float>& out_rstd, const AscendC::LocalTensor<T>& input,
                     const AscendC::LocalTensor<U>& gamma, const AscendC::LocalTensor<U>& beta, float epsilon,
                     const AscendC::LocalTensor<uint8_t>* tmp, const AscendC::LayerNormPara& para,
                     const AscendC::LayerNormConfig& config, const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "LayerNorm: T is half or float");
    static_assert(std::is_same_v<U, half> || std::is_same_v<U, float>, "LayerNorm: U is half or float");
    const char* op = "LayerNorm";
    if constexpr (sizeof(U) < sizeof(T)) {
        fail(where, "LayerNorm: gamma and beta (U half) must not be less precise than inputX (T float)");
    }
    if (config.isOnlyOutput) {
        fail(where, "LayerNorm: config.isOnlyOutput supports only false (y, mean and rstd all output)");
    }
    const int64_t a = para.aLength, r = para.rLength, rp = para.rLengthWithPadding;
    if (a == 0 || r == 0) {
        fail(where, "LayerNorm: para aLength " + std::to_string(a) + ", rLength " + std::to_string(r) +
                        ": both must be at least 1");
    }
    if (rp * int64_t{sizeof(T)} % 32 != 0) {
        fail(where, "LayerNorm: para.rLengthWithPadding " + std::to_string(rp) + " x " + std::to_string(sizeof(T)) +
                        " B is not a multiple of 32 B");
    }
    if (r > rp) {
        fail(where, "LayerNorm: para.rLength " + std::to_string(r) + " is beyond rLengthWithPadding " +
                        std::to_string(rp));
    }
    const int64_t n = a * rp;
    const std::string shape = "aLength x rLengthWithPadding " + std::to_string(a) + " x " + std::to_string(rp);
    norm_holds(op, "inputX", input, n, shape, where);
    norm_holds(op, "output", output, n, shape, where);
    norm_holds(op, "outputMean", out_mean, a, "aLength " + std::to_string(a), where);
    norm_holds(op, "outputRstd", out_rstd, a, "aLength " + std::to_string(a), where);
    const std::string row = "rLengthWithPadding " + std::to_string(rp);
    if (!config.isNoGamma) {
        norm_holds(op, "gamma", gamma, rp, row, where);
    }
    if (!config.isNoBeta) {
        norm_holds(op, "beta", beta, rp, row, where);
    }

    const Touch out = touch(output, n * int64_t{sizeof(T)}, where);
    std::array<Touch, 4> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    const Touch in = touch(input, n * int64_t{sizeof(T)}, where);
    ins[nins++] = in;
    if (norm_overlap(out, in)) {
        fail(where, "LayerNorm: output overlaps inputX (src and dst may not share space)");
    }
    if (!config.isNoGamma) {
        ins[nins++] = touch(gamma, rp * int64_t{sizeof(U)}, where);
    }
    if (!config.isNoBeta) {
        ins[nins++] = touch(beta, rp * int64_t{sizeof(U)}, where);
    }

    const T* x = input.data(n, where);
    const U* g = config.isNoGamma ? nullptr : gamma.data(rp, where);
    const U* b = config.isNoBeta ? nullptr : beta.data(rp, where);
    std::vector<float> y(n), means(a), rstds(a);
    for (int64_t i = 0; i < a; ++i) {
        const T* xr = x + i * rp;
        float total = 0.0f;
        for (int64_t j = 0; j < r; ++j) {
            total += float(xr[j]);
        }
        const float mean = total / float(r);
        float squares = 0.0f;
        for (int64_t j = 0; j < r; ++j) {
            const float d = float(xr[j]) - mean;
            squares += d * d;
        }
        const float rstd = 1.0f / std::sqrt(squares / float(r) + epsilon);
        for (int64_t j = 0; j < rp; ++j) {
            float v = (float(xr[j]) - mean) * rstd;
            if (g != nullptr) {
                v *= float(g[j]);
            }
            if (b != nullptr) {
                v += float(b[j]);
            }
            y[i * rp + j] = v;
        }
        means[i] = mean;
        rstds[i] = rstd;
    }
    T* at = output.data(n, where);
    for (int64_t k = 0; k < n; ++k) {
        at[k] = T(y[k]);
    }
    const int64_t steps = 9 - (config.isNoGamma ? 1 : 0) - (config.isNoBeta ? 1 : 0);
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), n, sizeof(T), steps, where);
    const std::array<Touch, 1> from{touch(input, 0, where)};
    for (auto [tensor, values] : {std::pair{&out_mean, &means}, std::pair{&out_rstd, &rstds}}) {
        const Touch to = touch(*tensor, a * 4, where);
        float* dst = tensor->data(a, where);
        for (int64_t i = 0; i < a; ++i) {
            dst[i] = (*values)[i];
        }
        record_vector(op, to, from, a, sizeof(float), 1, where);
    }
}

template <typename T, bool isBasicBlock>
void rms_norm(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
              const AscendC::LocalTensor<T>& gamma, const AscendC::LocalTensor<uint8_t>* tmp, T epsilon,
              const RmsNormTiling& tiling, const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>, "RmsNorm: T is half or float");
    const char* op = "RmsNorm";
    const int64_t rows = int64_t{tiling.bLength} * tiling.sLength, h = tiling.hLength, real = tiling.originalHLength;
    const std::string shape = "bLength x sLength x hLength " + std::to_string(tiling.bLength) + " x " +
                              std::to_string(tiling.sLength) + " x " + std::to_string(h);
    if (rows == 0 || h == 0 || real == 0) {
        fail(where, "RmsNorm: tiling " + shape + ", originalHLength " + std::to_string(real) +
                        ": each must be at least 1");
    }
    if (real > h) {
        fail(where, "RmsNorm: tiling.originalHLength " + std::to_string(real) + " is beyond hLength " +
                        std::to_string(h));
    }
    if (h * int64_t{sizeof(T)} % 32 != 0) {
        fail(where, "RmsNorm: tiling.hLength " + std::to_string(h) + " x " + std::to_string(sizeof(T)) +
                        " B is not a multiple of 32 B");
    }
    if (isBasicBlock && (h % 64 != 0 || h >= 2048 || rows % 8 != 0)) {
        fail(where, "RmsNorm: isBasicBlock needs hLength a multiple of 64 below 2048 and bLength x sLength a "
                    "multiple of 8, not " + std::to_string(h) + " and " + std::to_string(rows));
    }
    const int64_t n = rows * h;
    norm_holds(op, "srcLocal", src, n, shape, where);
    norm_holds(op, "dstLocal", dst, n, shape, where);
    norm_holds(op, "gammaLocal", gamma, h, "hLength " + std::to_string(h), where);

    const Touch out = touch(dst, n * int64_t{sizeof(T)}, where);
    std::array<Touch, 3> ins{};
    size_t nins = 0;
    if (tmp != nullptr) {
        ins[nins++] = touch(*tmp, 0, where);
    }
    ins[nins++] = touch(src, n * int64_t{sizeof(T)}, where);
    ins[nins++] = touch(gamma, h * int64_t{sizeof(T)}, where);

    const T* x = src.data(n, where);
    const T* g = gamma.data(h, where);
    std::vector<float> y(n);
    for (int64_t i = 0; i < rows; ++i) {
        const T* xr = x + i * h;
        float squares = 0.0f;
        for (int64_t j = 0; j < real; ++j) {
            squares += float(xr[j]) * float(xr[j]);
        }
        const float rstd = 1.0f / std::sqrt(squares / float(real) + float(epsilon));
        for (int64_t j = 0; j < h; ++j) {
            y[i * h + j] = float(xr[j]) * rstd * float(g[j]);
        }
    }
    T* at = dst.data(n, where);
    for (int64_t k = 0; k < n; ++k) {
        at[k] = T(y[k]);
    }
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), n, sizeof(T), 4, where);
}

}  // namespace ubscope_twin

namespace AscendC {

template <typename U, typename T, bool isReuseSource = false, const LayerNormConfig& config = LNCFG_NORM>
void LayerNorm(const LocalTensor<T>& output, const LocalTensor<float>& outputMean,
               const LocalTensor<float>& outputRstd, const LocalTensor<T>& inputX, const LocalTensor<U>& gamma,
               const LocalTensor<U>& beta, const float epsilon, const LocalTensor<uint8_t>& sharedTmpBuffer,
               const LayerNormPara& para, const LayerNormSeparateTiling& tiling,
               const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::layer_norm_rstd<U, T>(output, outputMean, outputRstd, inputX, gamma, beta, epsilon,
                                        &sharedTmpBuffer, para, config, where);
}

template <typename U, typename T, bool isReuseSource = false, const LayerNormConfig& config = LNCFG_NORM>
void LayerNorm(const LocalTensor<T>& output, const LocalTensor<float>& outputMean,
               const LocalTensor<float>& outputRstd, const LocalTensor<T>& inputX, const LocalTensor<U>& gamma,
               const LocalTensor<U>& beta, const float epsilon, const LayerNormPara& para,
               const LayerNormSeparateTiling& tiling,
               const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    (void)tiling;
    ubscope_twin::layer_norm_rstd<U, T>(output, outputMean, outputRstd, inputX, gamma, beta, epsilon, nullptr,
                                        para, config, where);
}

template <typename T, bool isBasicBlock = false>
void RmsNorm(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const LocalTensor<T>& gammaLocal,
             const LocalTensor<uint8_t>& sharedTmpBuffer, const std::type_identity_t<T> epsilon,
             const RmsNormTiling& tiling, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::rms_norm<T, isBasicBlock>(dstLocal, srcLocal, gammaLocal, &sharedTmpBuffer, epsilon, tiling, where);
}

template <typename T, bool isBasicBlock = false>
void RmsNorm(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const LocalTensor<T>& gammaLocal,
             const std::type_identity_t<T> epsilon, const RmsNormTiling& tiling,
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::rms_norm<T, isBasicBlock>(dstLocal, srcLocal, gammaLocal, nullptr, epsilon, tiling, where);
}

// The [B, S, H] form: its shape is only in the host-filled LayerNormTiling.
#define UBSCOPE_TWIN_LAYERNORM_BSH_MESSAGE                                                                  \
    "ubscope twin: AscendC::LayerNorm's [B, S, H] form (outputVariance, LayerNormTiling) is not "          \
    "implemented: its shape is only in the host-filled tiling (see docs/ascendc-twin.md; the [A, R] form " \
    "with LayerNormPara is)"

template <typename T, bool isReuseSource = false>
__attribute__((error(UBSCOPE_TWIN_LAYERNORM_BSH_MESSAGE))) void LayerNorm(
    const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
    const LocalTensor<T>& inputX, const LocalTensor<T>& gamma, const LocalTensor<T>& beta,
    const LocalTensor<uint8_t>& sharedTmpBuffer, const T epsilon, LayerNormTiling& tiling);

template <typename T, bool isReuseSource = false>
__attribute__((error(UBSCOPE_TWIN_LAYERNORM_BSH_MESSAGE))) void LayerNorm(
    const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
    const LocalTensor<T>& inputX, const LocalTensor<T>& gamma, const LocalTensor<T>& beta, const T epsilon,
    LayerNormTiling& tiling);

#undef UBSCOPE_TWIN_LAYERNORM_BSH_MESSAGE

// DeepNorm, GroupNorm and BatchNorm: their shape is only in the host-filled
// tiling (see above).
#define UBSCOPE_TWIN_TILING_ONLY_MESSAGE(NAME, SHAPE, TILING)                                   \
    "ubscope twin: AscendC::" NAME " is not implemented: its shape (" SHAPE ") is only in the " \
    "host-filled " TILING ", whose fields the pages do not define (see docs/ascendc-twin.md)"
#define UBSCOPE_TWIN_DEEPNORM_MESSAGE \
    UBSCOPE_TWIN_TILING_ONLY_MESSAGE("DeepNorm", "B, S, H and the unpadded H", "DeepNormTiling")
#define UBSCOPE_TWIN_GROUPNORM_MESSAGE \
    UBSCOPE_TWIN_TILING_ONLY_MESSAGE("GroupNorm", "N, C, H x W and groupNum", "GroupNormTiling")
#define UBSCOPE_TWIN_BATCHNORM_MESSAGE \
    UBSCOPE_TWIN_TILING_ONLY_MESSAGE("BatchNorm", "B, S and H", "BatchNormTiling")

template <typename T, bool isReuseSrc = false, bool isBasicBlock = false>
__attribute__((error(UBSCOPE_TWIN_DEEPNORM_MESSAGE))) void DeepNorm(
    const LocalTensor<T>& dstLocal, const LocalTensor<T>& meanLocal, const LocalTensor<T>& rstdLocal,
    const LocalTensor<T>& srcLocal, const LocalTensor<T>& gxLocal, const LocalTensor<T>& betaLocal,
    const LocalTensor<T>& gammaLocal, const LocalTensor<uint8_t>& sharedTmpBuffer, const T alpha, const T epsilon,
    DeepNormTiling& tiling);

template <typename T, bool isReuseSrc = false, bool isBasicBlock = false>
__attribute__((error(UBSCOPE_TWIN_DEEPNORM_MESSAGE))) void DeepNorm(
    const LocalTensor<T>& dstLocal, const LocalTensor<T>& meanLocal, const LocalTensor<T>& rstdLocal,
    const LocalTensor<T>& srcLocal, const LocalTensor<T>& gxLocal, const LocalTensor<T>& betaLocal,
    const LocalTensor<T>& gammaLocal, const T alpha, const T epsilon, DeepNormTiling& tiling);

template <typename T, bool isReuseSource = false>
__attribute__((error(UBSCOPE_TWIN_GROUPNORM_MESSAGE))) void GroupNorm(
    const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
    const LocalTensor<T>& inputX, const LocalTensor<T>& gamma, const LocalTensor<T>& beta, const T epsilon,
    GroupNormTiling& tiling);

template <typename T, bool isReuseSource = false>
__attribute__((error(UBSCOPE_TWIN_GROUPNORM_MESSAGE))) void GroupNorm(
    const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
    const LocalTensor<T>& inputX, const LocalTensor<T>& gamma, const LocalTensor<T>& beta,
    const LocalTensor<uint8_t>& sharedTmpBuffer, const T epsilon, GroupNormTiling& tiling);

template <typename T, bool isReuseSource = false, bool isBasicBlock = false>
__attribute__((error(UBSCOPE_TWIN_BATCHNORM_MESSAGE))) void BatchNorm(
    const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
    const LocalTensor<T>& inputX, const LocalTensor<T>& gamm, const LocalTensor<T>& beta, const T epsilon,
    BatchNormTiling& tiling);

template <typename T, bool isReuseSource = false, bool isBasicBlock = false>
__attribute__((error(UBSCOPE_TWIN_BATCHNORM_MESSAGE))) void BatchNorm(
    const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
    const LocalTensor<T>& inputX, const LocalTensor<T>& gamm, const LocalTensor<T>& beta,
    const LocalTensor<uint8_t>& sharedTmpBuffer, const T epsilon, BatchNormTiling& tiling);

#undef UBSCOPE_TWIN_BATCHNORM_MESSAGE
#undef UBSCOPE_TWIN_GROUPNORM_MESSAGE
#undef UBSCOPE_TWIN_DEEPNORM_MESSAGE
#undef UBSCOPE_TWIN_TILING_ONLY_MESSAGE

}  // namespace AscendC
