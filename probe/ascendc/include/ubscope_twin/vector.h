// ubscope CPU twin: vector instructions on on-chip tensors (count form).
//
// As ubscope.probe.memory.vector.apply: each call computes its result in the
// operands' type (16-bit floats through float), writes the destination's
// bytes and records one COMPUTE event; operands are checked for alignment,
// the destination for the red zone and for partial overlap with a source.
#pragma once

#include <cmath>
#include <initializer_list>
#include <span>

#include "ubscope_twin/tensor.h"
#include "ubscope_twin/vector_repeat.h"

namespace ubscope_twin {

// ``scratch``: a reduction's work tensor. The device keeps its intermediate
// results there, so it comes first among the operands, the event's first
// source, with the reduced tensor second (a buffer used only as that scratch
// is used); its bytes are not counted, as the twin computes without it.
//
// vector_op, binary, unary and record_vector are forced inline: each instruction
// then records with its operand count and sizes known at compile time. g++ -O2
// stopped inlining the chain by itself when record_vector learned the third
// source, and a loop of Adds ran 11 % more instructions per event (callgrind:
// 2.28 G before, 2.53 G, now 2.26 G for 2 M events).
template <typename T, typename Work>
[[gnu::always_inline]] inline void vector_op(const char* op, const AscendC::LocalTensor<T>& dst,
                                             std::initializer_list<AscendC::LocalTensor<T>> sources,
                                             int64_t count, int64_t out_count, int64_t ops_per_element,
                                             const Where& where, Work work, int64_t dst_alignment = 0,
                                             const AscendC::LocalTensor<T>* scratch = nullptr) {
    if (count < 0) {
        fail(where, std::string(op) + ": negative count");
    }
    const int64_t out_bytes = out_count * static_cast<int64_t>(sizeof(T));
    T* out = dst.data(out_count, where);
    std::array<Touch, 4> reads{};
    size_t nreads = 0;
    if (scratch != nullptr) {
        reads[nreads++] = touch(*scratch, 0, where);
    }
    for (const auto& src : sources) {
        reads[nreads++] = touch(src, count * static_cast<int64_t>(sizeof(T)), where);
    }
    work(out);
    record_vector(op, {dst.space(), dst.addr(), out_bytes, dst.key()},
                  std::span<const Touch>(reads.data(), nreads), count, sizeof(T), ops_per_element, where,
                  dst_alignment);
}

template <typename T, typename Fn>
[[gnu::always_inline]] inline void binary(const char* op, const AscendC::LocalTensor<T>& dst,
                                          const AscendC::LocalTensor<T>& a, const AscendC::LocalTensor<T>& b,
                                          int32_t count, const Where& where, Fn fn) {
    vector_op(op, dst, {a, b}, count, count, 1, where, [&](T* out) {
        const T* x = a.data(count, where);
        const T* y = b.data(count, where);
        for (int32_t i = 0; i < count; ++i) {
            out[i] = T(fn(x[i], y[i]));
        }
    });
}

template <typename T, typename Fn>
[[gnu::always_inline]] inline void unary(const char* op, const AscendC::LocalTensor<T>& dst,
                                         const AscendC::LocalTensor<T>& a, int32_t count, int64_t ops_per_element,
                                         const Where& where, Fn fn) {
    vector_op(op, dst, {a}, count, count, ops_per_element, where, [&](T* out) {
        const T* x = a.data(count, where);
        for (int32_t i = 0; i < count; ++i) {
            out[i] = T(fn(x[i]));
        }
    });
}

// Arithmetic in the element type: float for 16-bit floats, else T itself.
template <typename T>
using Wide = std::conditional_t<std::is_same_v<T, half> || std::is_same_v<T, bfloat16_t>, float, T>;

template <typename T, typename Fn>
void reduce(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
            const AscendC::LocalTensor<T>& scratch, int32_t count, const Where& where, Fn fold) {
    vector_op(op, dst, {src}, count, 1, 1, where, [&](T* out) {
        const T* x = src.data(count, where);
        Wide<T> acc = count ? Wide<T>(x[0]) : Wide<T>(0);
        for (int32_t i = 1; i < count; ++i) {
            acc = fold(acc, Wide<T>(x[i]));
        }
        out[0] = T(acc);
    }, sizeof(T), &scratch);
}

}  // namespace ubscope_twin

namespace AscendC {

#define UBSCOPE_TWIN_BINARY(NAME, EXPR)                                                        \
    template <typename T>                                                                      \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, \
              const int32_t& count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) { \
        using W = ubscope_twin::Wide<T>;                                                       \
        ubscope_twin::binary(#NAME, dst, src0, src1, count, where,                             \
                             [](W x, W y) { return EXPR; });                                   \
    }                                                                                      \
    UBSCOPE_TWIN_BINARY_REPEAT(NAME, EXPR)

UBSCOPE_TWIN_BINARY(Add, x + y)
UBSCOPE_TWIN_BINARY(Sub, x - y)
UBSCOPE_TWIN_BINARY(Mul, x * y)
UBSCOPE_TWIN_BINARY(Div, x / y)
UBSCOPE_TWIN_BINARY(Max, x > y ? x : y)
UBSCOPE_TWIN_BINARY(Min, x < y ? x : y)
// UBSCOPE_TWIN_BINARY stays defined for vector_fused.h (AddRelu, And...), which undefines it.

#define UBSCOPE_TWIN_SCALAR(NAME, EXPR)                                                        \
    template <typename T>                                                                      \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src,                            \
              const std::type_identity_t<T>& scalar, const int32_t& count,                     \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {             \
        using W = ubscope_twin::Wide<T>;                                                       \
        const W s = W(scalar);                                                                 \
        ubscope_twin::unary(#NAME, dst, src, count, 1, where, [s](W x) { return EXPR; });      \
    }                                                                                      \
    UBSCOPE_TWIN_SCALAR_REPEAT(NAME, EXPR)

UBSCOPE_TWIN_SCALAR(Adds, x + s)
UBSCOPE_TWIN_SCALAR(Muls, x * s)
UBSCOPE_TWIN_SCALAR(Maxs, x > s ? x : s)
UBSCOPE_TWIN_SCALAR(Mins, x < s ? x : s)
UBSCOPE_TWIN_SCALAR(LeakyRelu, x >= W(0) ? x : x * s)
#undef UBSCOPE_TWIN_SCALAR

#define UBSCOPE_TWIN_UNARY(NAME, OPS, EXPR)                                                    \
    template <typename T>                                                                      \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count,      \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {             \
        using W = ubscope_twin::Wide<T>;                                                       \
        ubscope_twin::unary(#NAME, dst, src, count, OPS, where, [](W x) { return EXPR; });     \
    }                                                                                      \
    UBSCOPE_TWIN_UNARY_REPEAT(NAME, OPS, EXPR)

UBSCOPE_TWIN_UNARY(Exp, 4, std::exp(x))
UBSCOPE_TWIN_UNARY(Ln, 4, std::log(x))
UBSCOPE_TWIN_UNARY(Abs, 1, x < W(0) ? -x : x)
UBSCOPE_TWIN_UNARY(Sqrt, 4, std::sqrt(x))
UBSCOPE_TWIN_UNARY(Rsqrt, 4, W(1) / std::sqrt(x))
UBSCOPE_TWIN_UNARY(Reciprocal, 2, W(1) / x)
UBSCOPE_TWIN_UNARY(Relu, 1, x > W(0) ? x : W(0))
#undef UBSCOPE_TWIN_UNARY

template <typename T>
void Duplicate(const LocalTensor<T>& dst, const std::type_identity_t<T>& scalar, const int32_t& count,
               const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::vector_op("Duplicate", dst, {}, count, count, 1, where, [&](T* out) {
        for (int32_t i = 0; i < count; ++i) {
            out[i] = scalar;
        }
    });
}

// ReduceSum/ReduceMax/ReduceMin(dst, src, work, count): the result in dst[0];
// ``work`` is the scratch the device needs: recorded as used, not written.
#define UBSCOPE_TWIN_REDUCE(NAME, EXPR)                                                        \
    template <typename T>                                                                      \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& work, \
              const int32_t count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) { \
        using W = ubscope_twin::Wide<T>;                                                       \
        ubscope_twin::reduce(#NAME, dst, src, work, count, where,                              \
                             [](W acc, W x) { return EXPR; });                                 \
    }

UBSCOPE_TWIN_REDUCE(ReduceSum, acc + x)
UBSCOPE_TWIN_REDUCE(ReduceMax, acc > x ? acc : x)
UBSCOPE_TWIN_REDUCE(ReduceMin, acc < x ? acc : x)
#undef UBSCOPE_TWIN_REDUCE

}  // namespace AscendC
