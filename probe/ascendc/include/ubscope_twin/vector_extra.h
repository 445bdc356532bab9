// ubscope CPU twin: Cast with its round modes, Compare/Compares/Select with
// bit masks, the per-repeat and per-block reductions and Brcb.
//
// Each call writes the destination's bytes and records one COMPUTE event
// through record_vector (vector_repeat.h): sizes are the byte spans touched.
#pragma once

#include <cfenv>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ubscope_twin/vector_repeat.h"

namespace AscendC {

enum class RoundMode {
    CAST_NONE = 0,  // round to nearest even where the conversion loses precision
    CAST_RINT,      // to nearest, ties to even
    CAST_FLOOR,     // toward -inf
    CAST_CEIL,      // toward +inf
    CAST_ROUND,     // to nearest, ties away from zero
    CAST_TRUNC,     // toward zero
    CAST_ODD,       // von Neumann: inexact results get an odd last bit
};

enum class CMPMODE : uint8_t { LT = 0, GT, EQ, LE, GE, NE };

enum class SELMODE : uint8_t { VSEL_CMPMASK_SPR = 0, VSEL_TENSOR_SCALAR_MODE, VSEL_TENSOR_TENSOR_MODE };

enum class ReduceOrder { ORDER_VALUE_INDEX = 0, ORDER_INDEX_VALUE, ORDER_ONLY_VALUE, ORDER_ONLY_INDEX };

struct BrcbRepeatParams {
    uint16_t dstBlkStride = 1;
    uint16_t dstRepStride = 8;
};

}  // namespace AscendC

namespace ubscope_twin {

template <typename T>
constexpr bool is_float16 = std::is_same_v<T, half> || std::is_same_v<T, bfloat16_t>;

template <typename T>
double as_double(T value) {
    if constexpr (is_float16<T>) {
        return static_cast<double>(static_cast<float>(value));
    } else {
        return static_cast<double>(value);
    }
}

// The next representable value of a floating type toward +inf (up) or -inf.
template <typename T>
T next_value(T value, bool up) {
    if constexpr (is_float16<T>) {
        // Sign-magnitude bits: moving away from zero is +1 on the magnitude.
        const bool negative = value.bits & 0x8000u;
        const uint16_t magnitude = value.bits & 0x7fffu;
        T result = value;
        if (magnitude == 0) {
            result.bits = up ? 0x0001u : 0x8001u;
        } else {
            result.bits = static_cast<uint16_t>(value.bits + (up != negative ? 1 : -1));
        }
        return result;
    } else {
        return std::nextafter(value, up ? std::numeric_limits<T>::infinity()
                                        : -std::numeric_limits<T>::infinity());
    }
}

template <typename T>
bool last_bit_odd(T value) {
    if constexpr (is_float16<T>) {
        return value.bits & 1u;
    } else {
        uint32_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        return bits & 1u;
    }
}

// x rounded to the floating type D as the round mode says.
template <typename D>
D round_to_float(double x, AscendC::RoundMode mode) {
    using AscendC::RoundMode;
    const D nearest = D(static_cast<float>(x));  // ties to even (float first: exact for 16-bit)
    const double got = as_double(nearest);
    if (mode == RoundMode::CAST_NONE || mode == RoundMode::CAST_RINT || std::isnan(x) || got == x ||
        std::isinf(got)) {
        return nearest;
    }
    const D below = got < x ? nearest : next_value(nearest, false);
    const D above = got < x ? next_value(nearest, true) : nearest;
    switch (mode) {
        case RoundMode::CAST_FLOOR: return below;
        case RoundMode::CAST_CEIL: return above;
        case RoundMode::CAST_TRUNC: return x > 0 ? below : above;
        case RoundMode::CAST_ROUND:
            if (x - as_double(below) == as_double(above) - x) {
                return x > 0 ? above : below;
            }
            return nearest;
        case RoundMode::CAST_ODD: return last_bit_odd(below) ? below : above;
        default: return nearest;
    }
}

// x rounded to an integer as the round mode says, saturated to D's range.
template <typename D>
D round_to_integer(double x, AscendC::RoundMode mode) {
    using AscendC::RoundMode;
    if (std::isnan(x)) {
        return D(0);
    }
    double r;
    switch (mode) {
        case RoundMode::CAST_FLOOR: r = std::floor(x); break;
        case RoundMode::CAST_CEIL: r = std::ceil(x); break;
        case RoundMode::CAST_TRUNC: r = std::trunc(x); break;
        case RoundMode::CAST_ROUND: r = std::round(x); break;
        case RoundMode::CAST_ODD:
            r = std::trunc(x);
            if (r != x && std::fmod(r, 2.0) == 0.0) {
                r += x > 0 ? 1.0 : -1.0;
            }
            break;
        default: r = std::nearbyint(x); break;  // the default FE_TONEAREST: ties to even
    }
    const double lo = static_cast<double>(std::numeric_limits<D>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<D>::max());
    return static_cast<D>(std::clamp(r, lo, hi));
}

template <typename D, typename S>
D convert(S value, AscendC::RoundMode mode) {
    const double x = as_double(value);
    if constexpr (std::is_integral_v<D>) {
        return round_to_integer<D>(x, mode);
    } else {
        return round_to_float<D>(x, mode);
    }
}

template <typename T>
bool compare(double a, double b, AscendC::CMPMODE mode) {
    using AscendC::CMPMODE;
    switch (mode) {
        case CMPMODE::LT: return a < b;
        case CMPMODE::GT: return a > b;
        case CMPMODE::EQ: return a == b;
        case CMPMODE::LE: return a <= b;
        case CMPMODE::GE: return a >= b;
        default: return a != b;
    }
}

template <typename T>
T load(const AscendC::LocalTensor<T>& tensor, int64_t byte_offset, const Where& where) {
    T value;
    std::memcpy(&value, arena_bytes(tensor.space(), tensor.addr() + byte_offset, sizeof(T), where),
                sizeof(T));
    return value;
}

template <typename T>
void store(const AscendC::LocalTensor<T>& tensor, int64_t byte_offset, T value, const Where& where) {
    std::memcpy(arena_bytes(tensor.space(), tensor.addr() + byte_offset, sizeof(T), where), &value,
                sizeof(T));
}

// Compare and Compares: bit i of the destination (byte i / 8, bit i % 8) is
// the comparison of element i.
template <typename U, typename T, typename Rhs>
void compare_bits(const char* op, const AscendC::LocalTensor<U>& dst, const AscendC::LocalTensor<T>& src0,
                  std::span<const Touch> more, AscendC::CMPMODE mode, uint32_t count, const Where& where,
                  Rhs rhs) {
    const int64_t out_bytes = (count + 7) / 8;
    const Touch out = touch(dst, out_bytes, where);
    std::array<Touch, 2> ins{touch(src0, count * sizeof(T), where)};
    size_t nins = 1;
    for (const Touch& t : more) {
        ins[nins++] = t;
    }
    auto* bits = reinterpret_cast<uint8_t*>(arena_bytes(out.space, out.addr, out_bytes, where));
    std::fill(bits, bits + out_bytes, uint8_t{0});
    for (uint32_t i = 0; i < count; ++i) {
        if (compare<T>(as_double(load(src0, i * sizeof(T), where)), rhs(i), mode)) {
            bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
        }
    }
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), count, sizeof(T), 1, where);
}

// Select: element i from src0 where bit i of the mask is set, else from rhs(i).
template <typename T, typename U, typename Rhs>
void select_bits(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<U>& sel_mask,
                 const AscendC::LocalTensor<T>& src0, std::span<const Touch> more, uint32_t count,
                 const Where& where, Rhs rhs) {
    const Touch out = touch(dst, count * sizeof(T), where);
    std::array<Touch, 3> ins{touch(sel_mask, (count + 7) / 8, where), touch(src0, count * sizeof(T), where)};
    size_t nins = 2;
    for (const Touch& t : more) {
        ins[nins++] = t;
    }
    const auto* bits = reinterpret_cast<const uint8_t*>(
        arena_bytes(sel_mask.space(), sel_mask.addr(), (count + 7) / 8, where));
    std::vector<T> result(count);
    for (uint32_t i = 0; i < count; ++i) {
        result[i] = (bits[i / 8] >> (i % 8)) & 1u ? load(src0, i * sizeof(T), where) : rhs(i);
    }
    std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), result.data(), out.bytes);
    record_vector("Select", out, std::span<const Touch>(ins.data(), nins), count, sizeof(T), 1, where);
}

// What a reduction of one repeat's lanes (or one block's) yields.
struct Reduced {
    double value;
    int64_t index;  // the lane of the first maximum / minimum
};

enum class Fold { SUM, MAX, MIN };

template <typename T>
Reduced fold_lanes(const AscendC::LocalTensor<T>& src, const Lanes& lanes, int64_t first, int64_t last,
                   int64_t repeat, Stride stride, Fold fold, const Where& where) {
    Reduced acc{fold == Fold::SUM ? 0.0 : std::nan(""), -1};
    for (int64_t lane = first; lane < last; ++lane) {
        if (!lanes.on(lane)) {
            continue;
        }
        const double x = as_double(load(src, lane_offset(lane, repeat, sizeof(T), stride), where));
        if (fold == Fold::SUM) {
            acc.value += x;
        } else if (acc.index < 0 || (fold == Fold::MAX ? x > acc.value : x < acc.value)) {
            acc = {x, lane};
        }
    }
    return acc;
}

// WholeReduceSum/Max/Min: one result per repeat, repeats dstRepStride results
// apart. A Max/Min result is the (value, index) pair (the index, the lane in
// the repeat, as an integer of the value's width), the value alone, or the
// index alone as a uint32_t, as ``order`` says.
template <typename T>
void whole_reduce(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
                  const Lanes& lanes, int32_t repeats, int32_t dst_rep_stride, Stride src_stride, Fold fold,
                  AscendC::ReduceOrder order, const Where& where) {
    using AscendC::ReduceOrder;
    using Index = std::conditional_t<sizeof(T) == 2, uint16_t, uint32_t>;
    const int64_t value_bytes = sizeof(T);
    const int64_t result_bytes = order == ReduceOrder::ORDER_ONLY_VALUE  ? value_bytes
                                 : order == ReduceOrder::ORDER_ONLY_INDEX ? int64_t{4}
                                                                          : 2 * value_bytes;
    const int64_t out_bytes = repeats > 0 ? ((repeats - 1) * dst_rep_stride + 1) * result_bytes : 0;
    const Touch out = touch(dst, out_bytes, where);
    const std::array<Touch, 1> ins{touch(src, lane_span(lanes, repeats, sizeof(T), src_stride), where)};
    const int64_t lanes_per_repeat = REPEAT_BYTES / value_bytes;
    uint8_t* base = arena_bytes(out.space, out.addr, out.bytes, where);
    for (int32_t repeat = 0; repeat < repeats; ++repeat) {
        const Reduced r = fold_lanes(src, lanes, 0, lanes_per_repeat, repeat, src_stride, fold, where);
        const T value = T(static_cast<Wide<T>>(r.value));
        const auto index = static_cast<uint32_t>(std::max<int64_t>(0, r.index));
        const auto narrow_index = static_cast<Index>(index);
        uint8_t* at = base + static_cast<int64_t>(repeat) * dst_rep_stride * result_bytes;
        switch (order) {
            case ReduceOrder::ORDER_ONLY_VALUE: std::memcpy(at, &value, value_bytes); break;
            case ReduceOrder::ORDER_ONLY_INDEX: std::memcpy(at, &index, sizeof index); break;
            case ReduceOrder::ORDER_INDEX_VALUE:
                std::memcpy(at, &narrow_index, value_bytes);
                std::memcpy(at + value_bytes, &value, value_bytes);
                break;
            default:
                std::memcpy(at, &value, value_bytes);
                std::memcpy(at + value_bytes, &narrow_index, value_bytes);
        }
    }
    record_vector(op, out, ins, repeats * lanes_per_repeat, value_bytes, 1, where);
}

// BlockReduceSum/Max/Min: one result per 32 B block, 8 per repeat, repeats
// dstRepStride x 8 results apart; a block with no lane in the mask writes nothing.
template <typename T>
void block_reduce(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src,
                  const Lanes& lanes, int32_t repeats, int32_t dst_rep_stride, Stride src_stride, Fold fold,
                  const Where& where) {
    constexpr int64_t per_block = BLOCK_BYTES / sizeof(T);
    const int64_t out_bytes = repeats > 0 ? ((repeats - 1) * dst_rep_stride * 8 + 8) * sizeof(T) : 0;
    const Touch out = touch(dst, out_bytes, where);
    const std::array<Touch, 1> ins{touch(src, lane_span(lanes, repeats, sizeof(T), src_stride), where)};
    for (int32_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t block = 0; block < 8; ++block) {
            const Reduced r = fold_lanes(src, lanes, block * per_block, (block + 1) * per_block, repeat,
                                         src_stride, fold, where);
            if (fold == Fold::SUM ? lanes.count() > 0 : r.index >= 0) {
                store(dst, (static_cast<int64_t>(repeat) * dst_rep_stride * 8 + block) * sizeof(T),
                      T(static_cast<Wide<T>>(r.value)), where);
            }
        }
    }
    record_vector(op, out, ins, repeats * 8 * per_block, sizeof(T), 1, where);
}

// Cast from int4b_t (Atlas A2/A3 convert it to half only; every value is exact
// in half, so the round mode does not matter). Two elements share a byte, so
// the count must be even.
template <typename D>
void cast_int4(const AscendC::LocalTensor<D>& dst, const AscendC::LocalTensor<AscendC::int4b_t>& src,
               uint32_t count, const Where& where) {
    static_assert(std::is_same_v<D, half>, "Cast from int4b_t: the device converts it to half only");
    if (count % 2) {
        fail(where, "Cast from int4b_t: count " + std::to_string(count) + " is odd (two elements a byte)");
    }
    const Touch out = touch(dst, count * sizeof(D), where);
    const std::array<Touch, 1> ins{touch(src, bytes_of<AscendC::int4b_t>(count), where)};
    const uint8_t* packed = arena_bytes(src.space(), src.addr(), ins[0].bytes, where);
    std::vector<D> result(count);
    for (uint32_t i = 0; i < count; ++i) {
        result[i] = D(static_cast<float>(int4_at(packed, i)));
    }
    std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), result.data(), out.bytes);
    record_vector("Cast", out, ins, count, sizeof(D), 1, where);
}

}  // namespace ubscope_twin

namespace AscendC {

// Cast(dst, src, roundMode, count): element i of src converted to dst's type.
template <typename D, typename S>
void Cast(const LocalTensor<D>& dst, const LocalTensor<S>& src, const RoundMode& round_mode, const uint32_t count,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if constexpr (is_int4<S>) {
        cast_int4(dst, src, count, where);
    } else {
        const Touch out = touch(dst, count * sizeof(D), where);
        const std::array<Touch, 1> ins{touch(src, count * sizeof(S), where)};
        std::vector<D> result(count);
        for (uint32_t i = 0; i < count; ++i) {
            result[i] = convert<D>(load(src, i * sizeof(S), where), round_mode);
        }
        std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), result.data(), out.bytes);
        record_vector("Cast", out, ins, count, std::max(sizeof(D), sizeof(S)), 1, where);
    }
}

template <typename T, typename U>
void Compare(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode,
             uint32_t count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const std::array<Touch, 1> rhs{touch(src1, count * sizeof(T), where)};
    compare_bits("Compare", dst, src0, rhs, cmpMode, count, where,
                 [&](uint32_t i) { return as_double(load(src1, i * sizeof(T), where)); });
}

template <typename T, typename U>
void Compares(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const std::type_identity_t<T> src1Scalar,
              CMPMODE cmpMode, uint32_t count, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const double scalar = as_double(src1Scalar);
    compare_bits("Compares", dst, src0, {}, cmpMode, count, where, [scalar](uint32_t) { return scalar; });
}

// Select(dst, selMask, src0, src1, selMode, count) (VSEL_TENSOR_TENSOR_MODE).
template <typename T, typename U>
void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
            const LocalTensor<T>& src1, SELMODE selMode, uint32_t count,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (selMode != SELMODE::VSEL_TENSOR_TENSOR_MODE) {
        fail(where, "Select with a second tensor needs SELMODE::VSEL_TENSOR_TENSOR_MODE");
    }
    const std::array<Touch, 1> rhs{touch(src1, count * sizeof(T), where)};
    select_bits(dst, selMask, src0, rhs, count, where,
                [&](uint32_t i) { return load(src1, i * sizeof(T), where); });
}

// Select(dst, selMask, src0, scalar, selMode, count) (VSEL_TENSOR_SCALAR_MODE).
template <typename T, typename U>
void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
            std::type_identity_t<T> src1Scalar, SELMODE selMode, uint32_t count,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (selMode != SELMODE::VSEL_TENSOR_SCALAR_MODE) {
        fail(where, "Select with a scalar needs SELMODE::VSEL_TENSOR_SCALAR_MODE");
    }
    select_bits(dst, selMask, src0, {}, count, where, [src1Scalar](uint32_t) { return T(src1Scalar); });
}

#define UBSCOPE_TWIN_WHOLE_REDUCE(NAME, FOLD, MASK, ORDER_PARAM, ORDER)                                       \
    template <typename T, bool isSetMask = true>                                                              \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, MASK, const int32_t repeatTimes,         \
              const int32_t dstRepStride, const int32_t srcBlkStride, const int32_t srcRepStride ORDER_PARAM, \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                            \
        ubscope_twin::whole_reduce(#NAME, dst, src, ubscope_twin::lanes_of<isSetMask>(sizeof(T), mask, where), \
                                   repeatTimes, dstRepStride, {srcBlkStride, srcRepStride},                   \
                                   ubscope_twin::Fold::FOLD, ORDER, where);                                   \
    }
#define UBSCOPE_TWIN_ORDER , const ReduceOrder order = ReduceOrder::ORDER_VALUE_INDEX
UBSCOPE_TWIN_WHOLE_REDUCE(WholeReduceSum, SUM, const int32_t mask, , ReduceOrder::ORDER_ONLY_VALUE)
UBSCOPE_TWIN_WHOLE_REDUCE(WholeReduceSum, SUM, const uint64_t mask[], , ReduceOrder::ORDER_ONLY_VALUE)
UBSCOPE_TWIN_WHOLE_REDUCE(WholeReduceMax, MAX, const int32_t mask, UBSCOPE_TWIN_ORDER, order)
UBSCOPE_TWIN_WHOLE_REDUCE(WholeReduceMax, MAX, const uint64_t mask[], UBSCOPE_TWIN_ORDER, order)
UBSCOPE_TWIN_WHOLE_REDUCE(WholeReduceMin, MIN, const int32_t mask, UBSCOPE_TWIN_ORDER, order)
UBSCOPE_TWIN_WHOLE_REDUCE(WholeReduceMin, MIN, const uint64_t mask[], UBSCOPE_TWIN_ORDER, order)
#undef UBSCOPE_TWIN_ORDER
#undef UBSCOPE_TWIN_WHOLE_REDUCE

#define UBSCOPE_TWIN_BLOCK_REDUCE(NAME, FOLD, MASK)                                                       \
    template <typename T, bool isSetMask = true>                                                          \
    void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTimes, MASK,     \
              const int32_t dstRepStride, const int32_t srcBlkStride, const int32_t srcRepStride,         \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {                        \
        ubscope_twin::block_reduce(#NAME, dst, src, ubscope_twin::lanes_of<isSetMask>(sizeof(T), mask, where), \
                                   repeatTimes, dstRepStride, {srcBlkStride, srcRepStride},               \
                                   ubscope_twin::Fold::FOLD, where);                                      \
    }
UBSCOPE_TWIN_BLOCK_REDUCE(BlockReduceSum, SUM, const int32_t mask)
UBSCOPE_TWIN_BLOCK_REDUCE(BlockReduceSum, SUM, const uint64_t mask[])
UBSCOPE_TWIN_BLOCK_REDUCE(BlockReduceMax, MAX, const int32_t mask)
UBSCOPE_TWIN_BLOCK_REDUCE(BlockReduceMax, MAX, const uint64_t mask[])
UBSCOPE_TWIN_BLOCK_REDUCE(BlockReduceMin, MIN, const int32_t mask)
UBSCOPE_TWIN_BLOCK_REDUCE(BlockReduceMin, MIN, const uint64_t mask[])
#undef UBSCOPE_TWIN_BLOCK_REDUCE

// Brcb(dst, src, repeatTime, params): each repeat takes 8 consecutive elements
// of src and fills one 32 B block of dst with each.
template <typename T>
void Brcb(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint8_t repeatTime,
          const BrcbRepeatParams& repeatParams,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    constexpr int64_t per_block = BLOCK_BYTES / sizeof(T);
    const Stride stride{repeatParams.dstBlkStride, repeatParams.dstRepStride};
    const Lanes all = continuous_mask(REPEAT_BYTES / sizeof(T), sizeof(T), where);
    const Touch out = touch(dst, lane_span(all, repeatTime, sizeof(T), stride), where);
    const std::array<Touch, 1> ins{touch(src, repeatTime * 8 * sizeof(T), where)};
    for (int64_t repeat = 0; repeat < repeatTime; ++repeat) {
        for (int64_t block = 0; block < 8; ++block) {
            const T value = load(src, (repeat * 8 + block) * sizeof(T), where);
            for (int64_t k = 0; k < per_block; ++k) {
                store(dst, lane_offset(block * per_block + k, repeat, sizeof(T), stride), value, where);
            }
        }
    }
    record_vector("Brcb", out, ins, repeatTime * 8 * per_block, sizeof(T), 1, where);
}

}  // namespace AscendC
