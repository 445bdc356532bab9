// ubscope CPU twin: the high-level LayerNorm of Atlas A2 / A3 (910B) in its
// [A, R] form (outputs y, mean and rstd), with LayerNormPara, LayerNormConfig
// and the tiling structs the kernel passes; DeepNorm, GroupNorm and BatchNorm
// declared so that a call stops the build saying why they are not covered.
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
// Not covered, and why: the [B, S, H] form (outputVariance, LayerNormTiling)
// and RmsNorm take their shape only from a tiling struct that the host fills
// and whose fields the pages tell users not to read ("no need to care about
// the struct's specific information"), so the twin cannot learn the shape
// from the call. The [B, S, H] form is declared so that a call stops the build
// with one line saying so; RmsNorm stays in unsupported.h.
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

namespace optiling {
using ::BatchNormTiling;
using ::DeepNormTiling;
using ::GroupNormTiling;
using ::LayerNormSeparateTiling;
using ::LayerNormTiling;
}  // namespace optiling

namespace AscendC {
using ::BatchNormTiling;
using ::DeepNormTiling;
using ::GroupNormTiling;
using ::LayerNormSeparateTiling;
using ::LayerNormTiling;
}  // namespace AscendC

namespace ubscope_twin {

template <typename V>
void norm_holds(const char* name, const AscendC::LocalTensor<V>& tensor, int64_t count, const std::string& what,
                const Where& where) {
    if (count > int64_t{tensor.GetSize()}) {
        fail(where, std::string("LayerNorm: ") + what + " (" + std::to_string(count) + " elements) is beyond " +
                        name + "'s " + std::to_string(tensor.GetSize()) + " elements");
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
    norm_holds("inputX", input, n, shape, where);
    norm_holds("output", output, n, shape, where);
    norm_holds("outputMean", out_mean, a, "aLength " + std::to_string(a), where);
    norm_holds("outputRstd", out_rstd, a, "aLength " + std::to_string(a), where);
    const std::string row = "rLengthWithPadding " + std::to_string(rp);
    if (!config.isNoGamma) {
        norm_holds("gamma", gamma, rp, row, where);
    }
    if (!config.isNoBeta) {
        norm_holds("beta", beta, rp, row, where);
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
