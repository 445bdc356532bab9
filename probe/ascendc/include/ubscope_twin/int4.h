// ubscope CPU twin: int4b_t, Ascend C's signed 4-bit integer, stored two to a
// byte: element 2i in the low nibble of byte i, element 2i + 1 in the high
// nibble, each 4-bit two's complement (-8..7). The host has no int4 type, so a
// kernel copies packed bytes in as int8_t/uint8_t and views them with
// ReinterpretCast<int4b_t>(); LocalTensor's sizes and offsets then count
// 4-bit elements (an offset must be even to start on a byte).
#pragma once

#include <cstdint>
#include <type_traits>

namespace AscendC {

struct int4b_t {
    uint8_t storage;  // the byte holding this element and its neighbour
};

}  // namespace AscendC

namespace ubscope_twin {

template <typename T>
constexpr bool is_int4 = std::is_same_v<T, AscendC::int4b_t>;

// Bytes taken by ``count`` elements of T.
template <typename T>
constexpr int64_t bytes_of(int64_t count) {
    if constexpr (is_int4<T>) {
        return count / 2;
    } else {
        return count * static_cast<int64_t>(sizeof(T));
    }
}

// Elements of T in ``nbytes`` bytes.
template <typename T>
constexpr int64_t elements_in(int64_t nbytes) {
    if constexpr (is_int4<T>) {
        return nbytes * 2;
    } else {
        return nbytes / static_cast<int64_t>(sizeof(T));
    }
}

// Element ``index`` of packed int4 ``bytes``.
inline int8_t int4_at(const uint8_t* bytes, int64_t index) {
    const int nibble = (bytes[index / 2] >> (4 * (index % 2))) & 0xF;
    return static_cast<int8_t>((nibble ^ 8) - 8);
}

}  // namespace ubscope_twin
