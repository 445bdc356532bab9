// ubscope CPU twin: Gather by byte offsets, CreateVecIndex and the logical
// shifts (count forms).
//
// CreateVecIndex(dst, firstValue, count): dst[i] = firstValue + i.
// Gather(dst, src, srcOffset, srcBaseAddr, count): dst[i] is the element of
// src at byte srcBaseAddr + srcOffset[i] (offsets are uint32_t bytes, a whole
// number of elements). ShiftLeft / ShiftRight(dst, src, scalar, count): each
// element's bits moved by ``scalar``, zeros shifted in (logical, also for
// signed types). Each call records one COMPUTE event through record_vector.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ubscope_twin/vector.h"

namespace AscendC {

template <typename T>
void Gather(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<uint32_t>& srcOffset,
            const uint32_t srcBaseAddr, const uint32_t count,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    // The source is read where the offsets point: up to count elements of it.
    const uint32_t read = std::min(count, src.GetSize());
    const Touch out = touch(dst, count * sizeof(T), where);
    const std::array<Touch, 2> ins{touch(src, read * sizeof(T), where),
                                   touch(srcOffset, count * sizeof(uint32_t), where)};
    const uint32_t* offsets = srcOffset.data(count, where);
    const T* table = src.data(src.GetSize(), where);
    std::vector<T> result(count);
    for (uint32_t i = 0; i < count; ++i) {
        const uint64_t byte = uint64_t{srcBaseAddr} + offsets[i];
        if (byte % sizeof(T) || byte / sizeof(T) >= src.GetSize()) {
            fail(where, "Gather: offset " + std::to_string(byte) + " B of element " + std::to_string(i) +
                            " is not an element of the source tensor (" +
                            std::to_string(src.GetSize() * sizeof(T)) + " B)");
        }
        result[i] = table[byte / sizeof(T)];
    }
    std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), result.data(), out.bytes);
    record_vector("Gather", out, ins, count, sizeof(T), 2, where);
}

template <typename T>
void CreateVecIndex(const LocalTensor<T>& dst, const std::type_identity_t<T>& firstValue, const uint32_t calCount,
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using W = ubscope_twin::Wide<T>;
    ubscope_twin::vector_op("CreateVecIndex", dst, {}, calCount, calCount, 1, where, [&](T* out) {
        for (uint32_t i = 0; i < calCount; ++i) {
            out[i] = T(W(firstValue) + W(i));
        }
    });
}

// Logical shifts: the bits as unsigned, so zeros come in for signed types too.
#define UBSCOPE_TWIN_SHIFT(NAME, OP)                                                           \
    template <typename T>                                                                      \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src,                            \
              const std::type_identity_t<T>& scalarValue, const int32_t& calCount,             \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {             \
        static_assert(std::is_integral_v<T>, #NAME " takes integer tensors");                  \
        using Bits = std::make_unsigned_t<T>;                                                  \
        const unsigned by = static_cast<unsigned>(scalarValue);                                \
        ubscope_twin::vector_op(#NAME, dst, {src}, calCount, calCount, 1, where, [&](T* out) { \
            const T* x = src.data(calCount, where);                                            \
            for (int32_t i = 0; i < calCount; ++i) {                                           \
                out[i] = static_cast<T>(by >= sizeof(T) * 8 ? Bits{0} : Bits(Bits(x[i]) OP by)); \
            }                                                                                  \
        });                                                                                    \
    }

UBSCOPE_TWIN_SHIFT(ShiftLeft, <<)
UBSCOPE_TWIN_SHIFT(ShiftRight, >>)
#undef UBSCOPE_TWIN_SHIFT

}  // namespace AscendC
