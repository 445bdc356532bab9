// ubscope CPU twin: the 16-bit floating-point types of the Ascend C kernel frame.
// `half` is IEEE 754 binary16 and `bfloat16_t` is the upper half of a binary32;
// both convert to and from float with round-to-nearest-even, and arithmetic
// happens in float (as the vector unit's results are rounded back on store).
#pragma once

#include <cstdint>
#include <cstring>

namespace ubscope_twin {

inline uint32_t float_bits(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

inline float bits_float(uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

inline uint16_t float_to_half_bits(float value) {
    const uint32_t bits = float_bits(value);
    const uint32_t sign = (bits >> 16) & 0x8000u;
    const uint32_t abs = bits & 0x7fffffffu;
    if (abs >= 0x7f800000u) {  // inf or NaN (NaN keeps a quiet payload bit)
        return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    }
    if (abs >= 0x477ff000u) {  // rounds to a magnitude of 65520 or more: overflow
        return static_cast<uint16_t>(sign | 0x7c00u);
    }
    if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
        if (abs < 0x33000000u) {  // under half of the smallest subnormal
            return static_cast<uint16_t>(sign);
        }
        const uint32_t exponent = abs >> 23;
        const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - exponent;  // value * 2^24 = mantissa >> shift
        uint32_t result = mantissa >> shift;
        const uint32_t rest = mantissa & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (result & 1u))) {
            ++result;
        }
        return static_cast<uint16_t>(sign | result);
    }
    uint32_t result = ((abs - 0x38000000u) >> 13);
    const uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (result & 1u))) {
        ++result;
    }
    return static_cast<uint16_t>(sign | result);
}

inline float half_bits_to_float(uint16_t bits) {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    if (exponent == 0x1fu) {
        return bits_float(sign | 0x7f800000u | (mantissa << 13));
    }
    if (exponent == 0) {
        if (mantissa == 0) {
            return bits_float(sign);
        }
        exponent = 113;  // normalise the subnormal
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        mantissa &= 0x3ffu;
        return bits_float(sign | (exponent << 23) | (mantissa << 13));
    }
    return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

inline uint16_t float_to_bf16_bits(float value) {
    const uint32_t bits = float_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return static_cast<uint16_t>((bits >> 16) | 0x40u);
    }
    const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>((bits + rounding) >> 16);
}

// Arithmetic on a 16-bit float happens in float and rounds back on assignment.
template <class Derived>
struct Float16Ops {
    friend Derived operator+(Derived a, Derived b) { return Derived(float(a) + float(b)); }
    friend Derived operator-(Derived a, Derived b) { return Derived(float(a) - float(b)); }
    friend Derived operator*(Derived a, Derived b) { return Derived(float(a) * float(b)); }
    friend Derived operator/(Derived a, Derived b) { return Derived(float(a) / float(b)); }
    friend Derived operator-(Derived a) { return Derived(-float(a)); }
    friend bool operator==(Derived a, Derived b) { return float(a) == float(b); }
    friend bool operator<(Derived a, Derived b) { return float(a) < float(b); }
    friend bool operator>(Derived a, Derived b) { return float(a) > float(b); }
    friend bool operator<=(Derived a, Derived b) { return float(a) <= float(b); }
    friend bool operator>=(Derived a, Derived b) { return float(a) >= float(b); }
    Derived& operator+=(Derived b) { return self() = self() + b; }
    Derived& operator-=(Derived b) { return self() = self() - b; }
    Derived& operator*=(Derived b) { return self() = self() * b; }
    Derived& operator/=(Derived b) { return self() = self() / b; }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace ubscope_twin

struct half : ubscope_twin::Float16Ops<half> {
    uint16_t bits = 0;
    half() = default;
    half(float value) : bits(ubscope_twin::float_to_half_bits(value)) {}
    half(double value) : half(static_cast<float>(value)) {}
    half(int value) : half(static_cast<float>(value)) {}
    half(unsigned value) : half(static_cast<float>(value)) {}
    half(long value) : half(static_cast<float>(value)) {}
    half(unsigned long value) : half(static_cast<float>(value)) {}
    operator float() const { return ubscope_twin::half_bits_to_float(bits); }
    static half from_bits(uint16_t raw) {
        half value;
        value.bits = raw;
        return value;
    }
};

struct bfloat16_t : ubscope_twin::Float16Ops<bfloat16_t> {
    uint16_t bits = 0;
    bfloat16_t() = default;
    bfloat16_t(float value) : bits(ubscope_twin::float_to_bf16_bits(value)) {}
    bfloat16_t(double value) : bfloat16_t(static_cast<float>(value)) {}
    bfloat16_t(int value) : bfloat16_t(static_cast<float>(value)) {}
    operator float() const { return ubscope_twin::bits_float(static_cast<uint32_t>(bits) << 16); }
};

static_assert(sizeof(half) == 2 && sizeof(bfloat16_t) == 2);
