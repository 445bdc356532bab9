// ubscope CPU twin: the element-wise high-level math and activation APIs
// that LLM kernels use. Activations: Sigmoid, Silu, Swish, Gelu, FasterGelu,
// SwiGLU; math library: Tanh, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh,
// Erf, Erfc, Power, Floor, Ceil, Trunc, Frac, Sign, Xor.
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
// The functions are the C++ library's, not the device's approximations
// (Sin's and Asin's polynomials, Erfc's rational R(z) / S(z), ...): a result
// can differ from the device's in its last bits, and where the documentation
// bounds the input (Asin and Acos in [-1, 1], Tan in (-65504, 65504)) the
// twin computes outside the bounds as the library does (NaN for Asin(2)).
// The integer types are exact: Xor (int16_t, uint16_t) and Power on int32_t.
//
// Time and FLOPs: one operation per element for every API here. The
// documentation gives no instruction counts for these functions, so the twin
// does not guess one (Exp in vector.h keeps its own figure).
//
// The forms without a count ("all elements of the source take part") use the
// source's GetSize() (SwiGLU, Xor and Power: the first tensor operand's). The
// 950-only `config` template parameter of Sin, Cos, Erf, Tanh and Atan, and
// the one Power has in the newer documentation, are not taken.
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
UBSCOPE_TWIN_MATH_FN(Tan, std::tan(x))
UBSCOPE_TWIN_MATH_FN(Asin, std::asin(x))
UBSCOPE_TWIN_MATH_FN(Acos, std::acos(x))
UBSCOPE_TWIN_MATH_FN(Atan, std::atan(x))
UBSCOPE_TWIN_MATH_FN(Sinh, std::sinh(x))
UBSCOPE_TWIN_MATH_FN(Cosh, std::cosh(x))
UBSCOPE_TWIN_MATH_FN(Erf, std::erf(x))
// erfc itself, not 1 - erf(x): that would cancel to 0 where erfc(x) is tiny.
UBSCOPE_TWIN_MATH_FN(Erfc, std::erfc(x))
UBSCOPE_TWIN_MATH_FN(Floor, std::floor(x))
UBSCOPE_TWIN_MATH_FN(Ceil, std::ceil(x))
UBSCOPE_TWIN_MATH_FN(Trunc, std::trunc(x))
// The fraction keeps the sign of x: Frac(-258.41888) is -0.41888...
UBSCOPE_TWIN_MATH_FN(Frac, x - std::trunc(x))
// 1, -1, or x itself for +-0 (0) and NaN (the documentation does not say).
UBSCOPE_TWIN_MATH_FN(Sign, x > W(0) ? W(1) : (x < W(0) ? W(-1) : x))
#undef UBSCOPE_TWIN_MATH_FN

// base^exponent. On int32_t exactly, by repeated squaring in uint32_t (no
// signed overflow): a result beyond int32_t wraps modulo 2^32, and a negative
// exponent gives 1 / base^-exponent truncated toward zero (1 or -1 for a base
// of 1 or -1, else 0, a zero base included). The documentation lists int32_t
// without saying what either case gives.
struct Power {
    template <typename W>
    W operator()(W base, W exponent) const {
        if constexpr (std::is_integral_v<W>) {
            if (exponent < 0) {
                return base == 1 ? W(1) : (base == -1 ? W(exponent % 2 == 0 ? 1 : -1) : W(0));
            }
            uint32_t result = 1;
            uint32_t square = static_cast<uint32_t>(base);
            for (uint32_t e = static_cast<uint32_t>(exponent); e != 0; e >>= 1) {
                if (e & 1u) {
                    result *= square;
                }
                square *= square;
            }
            return static_cast<W>(result);
        } else {
            return std::pow(base, exponent);
        }
    }
};

// The tensor^scalar and scalar^tensor forms: the scalar (of the tensor's
// type) bound, widened as the tensor's elements are.
template <typename S>
struct PowerOfScalarExponent {
    S exponent;
    template <typename W>
    W operator()(W base) const {
        return Power{}(base, W(exponent));
    }
};

template <typename S>
struct PowerOfScalarBase {
    S base;
    template <typename W>
    W operator()(W exponent) const {
        return Power{}(W(base), exponent);
    }
};

// Bit by bit, as documented (3 ^ 5 = 6), not a logical XOR of zero and
// non-zero elements.
struct Xor {
    template <typename W>
    W operator()(W a, W b) const {
        return W(a ^ b);
    }
};

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

// The four forms of a two-operand API: (dst, OPERANDS, sharedTmpBuffer,
// calCount), (dst, OPERANDS, sharedTmpBuffer), (dst, OPERANDS, calCount),
// (dst, OPERANDS); without a count, WHOLE elements. OPERANDS: the two
// operands' parameters, parenthesised; after WHOLE, the formula and the
// tensors it reads, as math_op takes them.
#define UBSCOPE_TWIN_MATH_TWO_OPERANDS(NAME, OPERANDS, WHOLE, ...)                                  \
    template <typename T, bool isReuseSource = false>                                               \
    void NAME(const LocalTensor<T>& dstTensor, UBSCOPE_TWIN_UNPAREN OPERANDS,                       \
              const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t calCount,                 \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, &sharedTmpBuffer, calCount, where, __VA_ARGS__);    \
    }                                                                                               \
    template <typename T, bool isReuseSource = false>                                               \
    void NAME(const LocalTensor<T>& dstTensor, UBSCOPE_TWIN_UNPAREN OPERANDS,                       \
              const LocalTensor<uint8_t>& sharedTmpBuffer,                                          \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, &sharedTmpBuffer, WHOLE, where, __VA_ARGS__);       \
    }                                                                                               \
    template <typename T, bool isReuseSource = false>                                               \
    void NAME(const LocalTensor<T>& dstTensor, UBSCOPE_TWIN_UNPAREN OPERANDS, const uint32_t calCount, \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, nullptr, calCount, where, __VA_ARGS__);             \
    }                                                                                               \
    template <typename T, bool isReuseSource = false>                                               \
    void NAME(const LocalTensor<T>& dstTensor, UBSCOPE_TWIN_UNPAREN OPERANDS,                       \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                  \
        ubscope_twin::math_op(#NAME, dstTensor, nullptr, WHOLE, where, __VA_ARGS__);                \
    }

namespace AscendC {

// Sigmoid, Tanh, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Erf, Erfc,
// Trunc, Frac, Sign: four forms each, (dst, src, sharedTmpBuffer, calCount),
// (dst, src, sharedTmpBuffer), (dst, src, calCount), (dst, src).
UBSCOPE_TWIN_MATH_ALL_FORMS(Sigmoid)
UBSCOPE_TWIN_MATH_ALL_FORMS(Tanh)
UBSCOPE_TWIN_MATH_ALL_FORMS(Sin)
UBSCOPE_TWIN_MATH_ALL_FORMS(Cos)
UBSCOPE_TWIN_MATH_ALL_FORMS(Tan)
UBSCOPE_TWIN_MATH_ALL_FORMS(Asin)
UBSCOPE_TWIN_MATH_ALL_FORMS(Acos)
UBSCOPE_TWIN_MATH_ALL_FORMS(Atan)
UBSCOPE_TWIN_MATH_ALL_FORMS(Sinh)
UBSCOPE_TWIN_MATH_ALL_FORMS(Cosh)
UBSCOPE_TWIN_MATH_ALL_FORMS(Erf)
UBSCOPE_TWIN_MATH_ALL_FORMS(Erfc)
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

// Power: base^exponent in three kinds, each in the four forms, sources in
// operand order: tensor^tensor (dst, src0Tensor, src1Tensor, ...), over all of
// src0Tensor without a count; tensor^scalar (dst, src0Tensor, src1Scalar, ...);
// scalar^tensor (dst, src0Scalar, src1Tensor, ...), over all of src1Tensor.
// The scalar is documented as a const T&; T is deduced from the tensors only,
// as Swish's scalar, so a float literal also serves a half tensor.
UBSCOPE_TWIN_MATH_TWO_OPERANDS(Power, (const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor),
                               src0Tensor.GetSize(), ubscope_twin::math::Power{}, src0Tensor, src1Tensor)
UBSCOPE_TWIN_MATH_TWO_OPERANDS(Power,
                               (const LocalTensor<T>& src0Tensor, const std::type_identity_t<T>& src1Scalar),
                               src0Tensor.GetSize(), ubscope_twin::math::PowerOfScalarExponent<T>{src1Scalar},
                               src0Tensor)
UBSCOPE_TWIN_MATH_TWO_OPERANDS(Power,
                               (const std::type_identity_t<T>& src0Scalar, const LocalTensor<T>& src1Tensor),
                               src1Tensor.GetSize(), ubscope_twin::math::PowerOfScalarBase<T>{src0Scalar},
                               src1Tensor)

// Xor (int16_t, uint16_t): src0 ^ src1, sources src0 then src1; without a
// count, all of src0Tensor.
UBSCOPE_TWIN_MATH_TWO_OPERANDS(Xor, (const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor),
                               src0Tensor.GetSize(), ubscope_twin::math::Xor{}, src0Tensor, src1Tensor)

#undef UBSCOPE_TWIN_MATH_ALL_FORMS
#undef UBSCOPE_TWIN_MATH_COUNTED
#undef UBSCOPE_TWIN_MATH_TWO_OPERANDS

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
