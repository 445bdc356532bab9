// ubscope CPU twin: the element-wise high-level math and activation APIs
// that LLM kernels use. Activations: Sigmoid, Silu, Swish, Gelu, FasterGelu,
// SwiGLU; math library: Tanh, Sin, Cos, Erf, Floor, Ceil, Trunc, Frac, Sign.
//
// Written from the public Ascend C API reference (each function's page: its
// prototypes and parameter tables) and, where a page shows its formula only as
// an image, the public samples' READMEs (Gelu, SwiGLU) and MindSpore's
// documented FastGelu (FasterGelu); not from Huawei's headers. Each call computes in float (16-bit floats widened, as
// Wide<T> in vector.h), writes the destination and records one COMPUTE event
// through vector_op, so sizes, alignment, red zone, partial overlap and the
// count checks are those of the basic vector instructions. The shared
// temporary buffer of a form that takes one is recorded as the event's first
// source, used but not written (the twin computes without it), as Axpy's.
//
// Time and FLOPs: one operation per element for every API here. The
// documentation gives no instruction counts for these functions, so the twin
// does not guess one (Exp in vector.h keeps its own figure).
//
// The forms without a count ("all elements of the source take part") use the
// source's GetSize() (SwiGLU: srcTensor0's). The 950-only `config` template
// parameter of Sin, Cos, Erf and Tanh is not taken.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ubscope_twin/tensor.h"
#include "ubscope_twin/vector.h"

namespace ubscope_twin {

// dst[i] = fn(sources[i]...) in W for the first ``count`` elements; one
// helper for the one-input and the two-input (SwiGLU) forms. ``shared_tmp``:
// the sharedTmpBuffer, or nullptr for the forms that let the framework
// reserve it.
//
// The documented count is a uint32_t; it is read as the int32_t the basic
// instructions take, so a negative int passed to it stops the run with the
// "NAME: negative count" line that Add gives for the same value (a count of
// 2^31 elements or more is beyond any on-chip buffer either way), and one too
// large for the destination with the same "reaches beyond the red zone" line.
template <typename T, typename Fn, typename... Sources>
void math_op(const char* op, const AscendC::LocalTensor<T>& dst,
             const AscendC::LocalTensor<uint8_t>* shared_tmp, uint32_t count, const Where& where,
             Fn fn, const Sources&... sources) {
    using W = Wide<T>;
    const int64_t n = static_cast<int32_t>(count);
    // vector_op records its scratch operand (0 bytes, first source) by its
    // place, whatever its element type: the uint8_t buffer viewed as T.
    AscendC::LocalTensor<T> scratch;
    if (shared_tmp != nullptr) {
        scratch = shared_tmp->template ReinterpretCast<T>();
    }
    vector_op(
        op, dst, {sources...}, n, n, 1, where,
        [&](T* out) {
            [&](const auto*... in) {
                for (int64_t i = 0; i < n; ++i) {
                    out[i] = T(fn(W(in[i])...));
                }
            }(static_cast<const T*>(sources.data(n, where))...);
        },
        0, shared_tmp != nullptr ? &scratch : nullptr);
}

// The formulas, in float (W is float for half and float).
namespace math {

// 1 / (1 + e^-x)
struct Sigmoid {
    template <typename W>
    W operator()(W x) const {
        return W(1) / (W(1) + std::exp(-x));
    }
};

// x / (1 + e^(-beta x)); Silu is beta = 1.
struct Swish {
    float beta = 1.0f;
    template <typename W>
    W operator()(W x) const {
        return x / (W(1) + std::exp(-W(beta) * x));
    }
};

// GELU's tanh approximation, 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))),
// in the equal form the documentation also gives, x / (1 + e^(-2 sqrt(2 / pi)
// (x + 0.044715 x^3))): it loses nothing to cancellation where x < 0.
struct Gelu {
    template <typename W>
    W operator()(W x) const {
        const W two_sqrt_2_over_pi = W(1.5957691216057308);
        return x / (W(1) + std::exp(-two_sqrt_2_over_pi * (x + W(0.044715) * x * x * x)));
    }
};

// FasterGelu is documented as FastGelu simplified. FastGelu(x) =
// x / (1 + e^(-1.702 |x|)) * e^(0.851 (x - |x|)) (MindSpore's definition) is
// x / (1 + e^(-1.702 x)) for either sign of x: that form is computed.
struct FasterGelu {
    template <typename W>
    W operator()(W x) const {
        return x / (W(1) + std::exp(W(-1.702) * x));
    }
};

// SwiGLU: srcTensor0 times Swish(srcTensor1): the second input is gated, as
// the SwiGLU sample's README writes the formula.
struct SwiGLU {
    float beta = 1.0f;
    template <typename W>
    W operator()(W a, W b) const {
        return a * Swish{beta}(b);
    }
};

#define UBSCOPE_TWIN_MATH_FN(NAME, EXPR)    \
    struct NAME {                           \
        template <typename W>               \
        W operator()(W x) const {           \
            return EXPR;                    \
        }                                   \
    };

UBSCOPE_TWIN_MATH_FN(Tanh, std::tanh(x))
UBSCOPE_TWIN_MATH_FN(Sin, std::sin(x))
UBSCOPE_TWIN_MATH_FN(Cos, std::cos(x))
UBSCOPE_TWIN_MATH_FN(Erf, std::erf(x))
UBSCOPE_TWIN_MATH_FN(Floor, std::floor(x))
UBSCOPE_TWIN_MATH_FN(Ceil, std::ceil(x))
UBSCOPE_TWIN_MATH_FN(Trunc, std::trunc(x))
// The fraction keeps the sign of x: Frac(-258.41888) is -0.41888...
UBSCOPE_TWIN_MATH_FN(Frac, x - std::trunc(x))
// 1, -1, or x itself for +-0 (0) and NaN (the documentation does not say).
UBSCOPE_TWIN_MATH_FN(Sign, x > W(0) ? W(1) : (x < W(0) ? W(-1) : x))
#undef UBSCOPE_TWIN_MATH_FN

}  // namespace math
}  // namespace ubscope_twin

// The two forms with a count: with the sharedTmpBuffer and without it.
// TPARAMS: the template parameters after T, parenthesised (opened by
// vector_repeat.h's UBSCOPE_TWIN_UNPAREN).
#define UBSCOPE_TWIN_MATH_COUNTED(NAME, TPARAMS)                                                    \
    template <typename T, UBSCOPE_TWIN_UNPAREN TPARAMS>                                             \
    void NAME(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor,                     \
              const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t calCount,                 \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, &sharedTmpBuffer, calCount, where,                  \
                              ubscope_twin::math::NAME{}, srcTensor);                               \
    }                                                                                               \
    template <typename T, UBSCOPE_TWIN_UNPAREN TPARAMS>                                             \
    void NAME(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor, const uint32_t calCount, \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, nullptr, calCount, where, ubscope_twin::math::NAME{}, \
                              srcTensor);                                                           \
    }

// The two forms over the whole source (count = srcTensor.GetSize()), besides
// the counted ones; template <typename T, bool isReuseSource = false>.
#define UBSCOPE_TWIN_MATH_ALL_FORMS(NAME)                                                           \
    UBSCOPE_TWIN_MATH_COUNTED(NAME, (bool isReuseSource = false))                                   \
    template <typename T, bool isReuseSource = false>                                               \
    void NAME(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor,                     \
              const LocalTensor<uint8_t>& sharedTmpBuffer,                                          \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, &sharedTmpBuffer, srcTensor.GetSize(), where,       \
                              ubscope_twin::math::NAME{}, srcTensor);                               \
    }                                                                                               \
    template <typename T, bool isReuseSource = false>                                               \
    void NAME(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor,                     \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, nullptr, srcTensor.GetSize(), where,                \
                              ubscope_twin::math::NAME{}, srcTensor);                               \
    }

namespace AscendC {

// Sigmoid, Tanh, Sin, Cos, Erf, Trunc, Frac, Sign: four forms each,
// (dst, src, sharedTmpBuffer, calCount), (dst, src, sharedTmpBuffer),
// (dst, src, calCount), (dst, src).
UBSCOPE_TWIN_MATH_ALL_FORMS(Sigmoid)
UBSCOPE_TWIN_MATH_ALL_FORMS(Tanh)
UBSCOPE_TWIN_MATH_ALL_FORMS(Sin)
UBSCOPE_TWIN_MATH_ALL_FORMS(Cos)
UBSCOPE_TWIN_MATH_ALL_FORMS(Erf)
UBSCOPE_TWIN_MATH_ALL_FORMS(Trunc)
UBSCOPE_TWIN_MATH_ALL_FORMS(Frac)
UBSCOPE_TWIN_MATH_ALL_FORMS(Sign)

// Floor, Ceil: the two counted forms only.
UBSCOPE_TWIN_MATH_COUNTED(Floor, (bool isReuseSource = false))
UBSCOPE_TWIN_MATH_COUNTED(Ceil, (bool isReuseSource = false))

// Gelu, FasterGelu (dst, src[, sharedTmpBuffer], dataSize). highPrecision and
// highPerformance choose the device's algorithm; the twin computes the
// formula in float whatever they are.
UBSCOPE_TWIN_MATH_COUNTED(Gelu, (bool highPrecision = false, bool highPerformance = false))
UBSCOPE_TWIN_MATH_COUNTED(FasterGelu, (bool highPrecision = false, bool highPerformance = false))

#undef UBSCOPE_TWIN_MATH_ALL_FORMS
#undef UBSCOPE_TWIN_MATH_COUNTED

// Silu(dst, src, dataSize): x / (1 + e^-x); no sharedTmpBuffer form.
template <typename T, bool isReuseSource = false>
void Silu(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, uint32_t dataSize,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::math_op("Silu", dstLocal, nullptr, dataSize, where, ubscope_twin::math::Swish{}, srcLocal);
}

// Swish(dst, src, dataSize, beta): x / (1 + e^(-beta x)); the count comes
// before the scalar, as documented.
template <typename T, bool isReuseSource = false>
void Swish(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, uint32_t dataSize,
           const std::type_identity_t<T>& scalarValue,
           const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    const float beta = static_cast<float>(scalarValue);
    ubscope_twin::math_op("Swish", dstLocal, nullptr, dataSize, where, ubscope_twin::math::Swish{beta},
                          srcLocal);
}

// SwiGLU(dst, src0, src1, beta[, sharedTmpBuffer][, calCount]):
// src0 * Swish(src1) with Swish's beta; without a count, all of srcTensor0.
template <typename T, bool isReuseSource = false>
void SwiGLU(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor0, const LocalTensor<T>& srcTensor1,
            const float& scalarValue, const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t calCount,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::math_op("SwiGLU", dstTensor, &sharedTmpBuffer, calCount, where,
                          ubscope_twin::math::SwiGLU{scalarValue}, srcTensor0, srcTensor1);
}

template <typename T, bool isReuseSource = false>
void SwiGLU(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor0, const LocalTensor<T>& srcTensor1,
            const float& scalarValue, const LocalTensor<uint8_t>& sharedTmpBuffer,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::math_op("SwiGLU", dstTensor, &sharedTmpBuffer, srcTensor0.GetSize(), where,
                          ubscope_twin::math::SwiGLU{scalarValue}, srcTensor0, srcTensor1);
}

template <typename T, bool isReuseSource = false>
void SwiGLU(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor0, const LocalTensor<T>& srcTensor1,
            const float& scalarValue, const uint32_t calCount,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::math_op("SwiGLU", dstTensor, nullptr, calCount, where, ubscope_twin::math::SwiGLU{scalarValue},
                          srcTensor0, srcTensor1);
}

template <typename T, bool isReuseSource = false>
void SwiGLU(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor0, const LocalTensor<T>& srcTensor1,
            const float& scalarValue, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::math_op("SwiGLU", dstTensor, nullptr, srcTensor0.GetSize(), where,
                          ubscope_twin::math::SwiGLU{scalarValue}, srcTensor0, srcTensor1);
}

}  // namespace AscendC
