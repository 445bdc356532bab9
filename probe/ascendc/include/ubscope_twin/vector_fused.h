// ubscope CPU twin: the fused and bitwise vector instructions (AddRelu,
// SubRelu, FusedMulAdd, MulAddDst, FusedMulAddRelu, Axpy; And, Or, Not), in
// the count form and, but for Axpy, the two repeat forms.
//
// A fused instruction is one pass of the vector unit: its time and FLOPs are
// one operation per element, as for Add. The ones that read their destination
// (FusedMulAdd, MulAddDst, FusedMulAddRelu, Axpy) list it as a source too, so
// it is checked for alignment and counted among the bytes read.
#pragma once

#include <algorithm>
#include <array>
#include <type_traits>

#include "ubscope_twin/vector.h"
#include "ubscope_twin/vector_repeat.h"

namespace ubscope_twin {

// dst = fn(src0, src1, dst) element by element, in W.
template <typename T, typename Fn>
void read_dst_binary(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& a,
                     const AscendC::LocalTensor<T>& b, int32_t count, const Where& where, Fn fn) {
    using W = Wide<T>;
    vector_op(op, dst, {a, b, dst}, count, count, 1, where, [&](T* out) {
        const T* x = a.data(count, where);
        const T* y = b.data(count, where);
        for (int32_t i = 0; i < count; ++i) {
            out[i] = T(fn(W(x[i]), W(y[i]), W(out[i])));
        }
    });
}

// Axpy: dst = src * scalar + dst, computed in float when either type is a
// 16-bit float (the mixed form reads half and accumulates into float).
// ``scratch``: the high-level form's shared temporary buffer, recorded as its
// first source.
template <typename D, typename S>
void axpy(const AscendC::LocalTensor<D>& dst, const AscendC::LocalTensor<S>& src, S scalar, int64_t count,
          const Where& where, const AscendC::LocalTensor<uint8_t>* scratch = nullptr) {
    if (count < 0) {
        fail(where, "Axpy: negative count");
    }
    using W = std::conditional_t<std::is_same_v<Wide<D>, D> && std::is_same_v<Wide<S>, S>, D, float>;
    const Touch out = touch(dst, count * static_cast<int64_t>(sizeof(D)), where);
    std::array<Touch, 3> ins{};
    size_t nins = 0;
    if (scratch != nullptr) {
        ins[nins++] = touch(*scratch, 0, where);
    }
    ins[nins++] = touch(src, count * static_cast<int64_t>(sizeof(S)), where);
    ins[nins++] = out;
    const S* x = src.data(count, where);
    D* y = dst.data(count, where);
    const W factor = W(scalar);
    for (int64_t i = 0; i < count; ++i) {
        y[i] = D(W(x[i]) * factor + W(y[i]));
    }
    record_vector("Axpy", out, std::span<const Touch>(ins.data(), nins), count,
                  std::max(sizeof(D), sizeof(S)), 1, where);
}

}  // namespace ubscope_twin

// The repeat forms of an instruction that reads its destination: the
// destination is also the last of the lambda's operands, with its own strides.
#define UBSCOPE_TWIN_READ_DST_REPEAT(NAME, EXPR)                                                 \
    UBSCOPE_TWIN_BOTH_MASKS(                                                                     \
        NAME, 1, (const LocalTensor<T>& src0, const LocalTensor<T>& src1, ), BinaryRepeatParams, \
        (ubscope_twin::Stride{p.dstBlkStride, p.dstRepStride}),                                  \
        [](W x, W y, W d) { return EXPR; },                                                      \
        ubscope_twin::Strided<T>{src0, {p.src0BlkStride, p.src0RepStride}},                      \
        ubscope_twin::Strided<T>{src1, {p.src1BlkStride, p.src1RepStride}},                      \
        ubscope_twin::Strided<T>{dst, {p.dstBlkStride, p.dstRepStride}})

namespace AscendC {

UBSCOPE_TWIN_BINARY(AddRelu, x + y > W(0) ? x + y : W(0))
UBSCOPE_TWIN_BINARY(SubRelu, x - y > W(0) ? x - y : W(0))
// int16_t / uint16_t only, as on the device
UBSCOPE_TWIN_BINARY(And, x & y)
UBSCOPE_TWIN_BINARY(Or, x | y)
#undef UBSCOPE_TWIN_BINARY

#define UBSCOPE_TWIN_READ_DST(NAME, EXPR)                                                      \
    template <typename T>                                                                      \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, \
              const int32_t& count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) { \
        using W = ubscope_twin::Wide<T>;                                                       \
        ubscope_twin::read_dst_binary(#NAME, dst, src0, src1, count, where,                    \
                                      [](W x, W y, W d) { return EXPR; });                     \
    }                                                                                      \
    UBSCOPE_TWIN_READ_DST_REPEAT(NAME, EXPR)

UBSCOPE_TWIN_READ_DST(FusedMulAdd, x * d + y)
UBSCOPE_TWIN_READ_DST(MulAddDst, x * y + d)
UBSCOPE_TWIN_READ_DST(FusedMulAddRelu, x * d + y > W(0) ? x * d + y : W(0))
#undef UBSCOPE_TWIN_READ_DST

// Not: int16_t / uint16_t only, as on the device.
template <typename T>
void Not(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count,
         const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using W = ubscope_twin::Wide<T>;
    ubscope_twin::unary("Not", dst, src, count, 1, where, [](W x) { return ~x; });
}
UBSCOPE_TWIN_UNARY_REPEAT(Not, 1, ~x)

// Axpy(dst, src, scalar, count): dst = src * scalar + dst; dst float and src
// half is the mixed-precision form.
template <typename T, typename U>
void Axpy(const LocalTensor<T>& dst, const LocalTensor<U>& src, const std::type_identity_t<U>& scalarValue,
          const int32_t& count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::axpy(dst, src, U(scalarValue), count, where);
}

// The high-level Axpy with a shared temporary buffer (the device computes it
// as Muls then Add in it): the same result, the buffer recorded as used.
template <typename T, typename U, bool isReuseSource = false>
void Axpy(const LocalTensor<T>& dst, const LocalTensor<U>& src, const std::type_identity_t<U> scalarValue,
          const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t count,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::axpy(dst, src, U(scalarValue), count, where, &sharedTmpBuffer);
}

}  // namespace AscendC
