// ubscope CPU twin: the mask / repeatTimes / stride forms of vector instructions.
//
// One repeat processes 256 B of each operand: 8 data blocks of 32 B. Inside a
// repeat, lane i of an operand lies in block i / (32 / sizeof(T)); blocks are
// blkStride x 32 B apart and repeats repStride x 32 B apart. The mask chooses
// the lanes of each repeat: a count m (the first m lanes) or two 64-bit words
// (bit i of mask[0] is lane i, bit i of mask[1] lane 64 + i). Lanes outside the
// mask leave the destination unchanged. Each call records one COMPUTE event
// whose sizes are byte spans (first to last byte an operand touches).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "ubscope_twin/tensor.h"

namespace ubscope_twin {

constexpr int64_t BLOCK_BYTES = 32;
constexpr int64_t REPEAT_BYTES = 256;

inline Lanes continuous_mask(uint64_t mask, int64_t element_bytes, const Where& where) {
    const auto lanes = static_cast<uint64_t>(REPEAT_BYTES / element_bytes);
    if (mask < 1 || mask > lanes) {
        fail(where, "mask " + std::to_string(mask) + " outside 1.." + std::to_string(lanes) +
                        " for " + std::to_string(element_bytes) + "-byte elements");
    }
    Lanes result;
    for (uint64_t lane = 0; lane < mask; ++lane) {
        result.bits[lane / 64] |= uint64_t{1} << (lane % 64);
    }
    return result;
}

inline Lanes bit_mask(const uint64_t mask[], int64_t element_bytes, const Where& where) {
    if (element_bytes >= 4 && mask[1] != 0) {
        fail(where, "mask[1] must be 0 for " + std::to_string(element_bytes) +
                        "-byte elements (a repeat has 64 lanes)");
    }
    return Lanes{{mask[0], mask[1]}};
}

// Where an operand's lanes lie: strides in 32 B blocks.
struct Stride {
    int64_t block = 1;
    int64_t repeat = 8;
};

// Byte offset of ``lane`` of ``repeat`` from the operand's start.
inline int64_t lane_offset(int64_t lane, int64_t repeat, int64_t element_bytes, Stride stride) {
    const int64_t per_block = BLOCK_BYTES / element_bytes;
    return repeat * stride.repeat * BLOCK_BYTES + lane / per_block * stride.block * BLOCK_BYTES +
           lane % per_block * element_bytes;
}

// Bytes from an operand's start to the end of the last lane it touches.
inline int64_t lane_span(const Lanes& lanes, int64_t repeats, int64_t element_bytes, Stride stride) {
    const int64_t last = lanes.highest();
    if (repeats <= 0 || last < 0) {
        return 0;
    }
    int64_t span = 0;
    for (int64_t repeat : {int64_t{0}, repeats - 1}) {
        span = std::max(span, lane_offset(last, repeat, element_bytes, stride) + element_bytes);
    }
    return span;
}

// The bytes one operand of a vector instruction touches.
struct Touch {
    int64_t space;
    int64_t addr;
    int64_t bytes;
    uint64_t key;
};

template <typename T>
Touch touch(const AscendC::LocalTensor<T>& tensor, int64_t bytes, const Where& where) {
    arena_bytes(tensor.space(), tensor.addr(), bytes, where);  // inside the arena, or one line
    return {tensor.space(), tensor.addr(), bytes, tensor.key()};
}

// Checks and records a vector instruction that wrote ``dst`` from ``sources``
// (as ubscope.probe.memory.vector.apply, its first source in the event's
// source columns): destination placement and red zone,
// source alignment, partial overlap of a source with the destination.
// ``dst_alignment`` / ``src_alignment``: the API's own rule for the
// destination or the sources when it is looser than the space's (a
// reduction's scalar result needs only sizeof(T), MrgSort's queues 8 B).
// Forced inline, as vector.h's vector_op: see there.
[[gnu::always_inline]] inline void record_vector(const char* op, const Touch& dst,
                                                 std::span<const Touch> sources, int64_t elements,
                                                 int64_t element_bytes, int64_t ops_per_element,
                                                 const Where& where, int64_t dst_alignment = 0,
                                                 int64_t src_alignment = 0) {
    Runtime& rt = runtime();
    const int64_t tag = site(where);
    int64_t flags = check_placement(dst.space, dst.addr, dst.bytes, tag, rt.timeline.scalar_now);
    if (dst_alignment && dst.addr % dst_alignment == 0) {
        flags &= ~int64_t{MISALIGNED};
    }
    int64_t touched = dst.bytes;
    std::array<uint64_t, 4> reads{};
    // The first three sources (all in UB) go in the source columns, arg2 and
    // burst_len: a buffer only ever read, such as a scale that is every Mul's
    // second operand or the src1 of a Select, counts as used.
    std::array<int64_t, 3> address{};
    size_t nreads = 0;
    for (const Touch& src : sources) {
        if (src.addr % (src_alignment ? src_alignment : rt.config.alignment[src.space])) {
            flags |= MISALIGNED;
        }
        if (src.space == dst.space && src.addr != dst.addr && src.addr < dst.addr + dst.bytes &&
            dst.addr < src.addr + src.bytes) {
            flags |= PARTIAL_OVERLAP;
        }
        touched += src.bytes;
        if (nreads < address.size()) {
            address[nreads] = src.addr;
        }
        reads[nreads++] = src.key;
    }
    constexpr std::array<int64_t, 4> later{0, 0, SECOND_SOURCE, SECOND_SOURCE | THIRD_SOURCE};
    flags |= later[std::min<size_t>(nreads, 3)];
    const int64_t duration = vector_ps(elements, element_bytes, ops_per_element);
    const std::array<uint64_t, 1> writes{dst.key};
    const int64_t start = issue(VEC, duration, std::span<const uint64_t>(reads.data(), nreads), writes);
    const int64_t first_space = sources.empty() ? int64_t{NONE} : sources.front().space;
    record(COMPUTE, dst.space, dst.addr, touched, dst.bytes, first_space, address[0], address[2], 0,
           literal(op), 0, tag, start, duration, elements * ops_per_element, address[1], flags);
}

// One strided operand of an element-wise instruction.
template <typename T>
struct Strided {
    const AscendC::LocalTensor<T>& tensor;
    Stride stride;
};

inline Lanes mask_lanes(int64_t element_bytes, uint64_t mask, const Where& where) {
    return continuous_mask(mask, element_bytes, where);
}
inline Lanes mask_lanes(int64_t element_bytes, const uint64_t* mask, const Where& where) {
    return bit_mask(mask, element_bytes, where);
}

// The core's vector mask register: every lane after reset; SetVectorMask and
// each call with isSetMask = true write it, calls with isSetMask = false
// (mask = MASK_PLACEHOLDER) read it.
inline Lanes& mask_register() { return runtime().registers.vector_mask; }

template <bool isSetMask, typename Mask>
Lanes lanes_of(int64_t element_bytes, Mask mask, const Where& where) {
    if constexpr (isSetMask) {
        mask_register() = mask_lanes(element_bytes, mask, where);
    }
    return mask_register();
}

// An element-wise instruction in the repeat form: for every enabled lane of
// every repeat, dst = fn(sources...) computed in W.
template <typename T, typename W, typename Fn, typename... Sources>
void repeat_op(const char* op, Strided<T> dst, const Lanes& lanes, int64_t repeats,
               int64_t ops_per_element, const Where& where, Fn fn, Strided<Sources>... sources) {
    constexpr int64_t bytes = sizeof(T);
    const Touch out = touch(dst.tensor, lane_span(lanes, repeats, bytes, dst.stride), where);
    const std::array<Touch, sizeof...(Sources)> ins{
        touch(sources.tensor, lane_span(lanes, repeats, bytes, sources.stride), where)...};
    uint8_t* out_base = arena_bytes(out.space, out.addr, out.bytes, where);
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t lane = 0; lane < REPEAT_BYTES / bytes; ++lane) {
            if (!lanes.on(lane)) {
                continue;
            }
            auto load = [&](const Strided<T>& src) {
                T value;
                std::memcpy(&value,
                            reinterpret_cast<const uint8_t*>(src.tensor.data(0, where)) +
                                lane_offset(lane, repeat, bytes, src.stride),
                            bytes);
                return W(value);
            };
            const T value = T(fn(load(sources)...));
            std::memcpy(out_base + lane_offset(lane, repeat, bytes, dst.stride), &value, bytes);
        }
    }
    record_vector(op, out, ins, repeats * (REPEAT_BYTES / bytes), bytes, ops_per_element, where);
}

}  // namespace ubscope_twin

namespace AscendC {

struct BinaryRepeatParams {
    uint8_t dstBlkStride = 1;
    uint8_t src0BlkStride = 1;
    uint8_t src1BlkStride = 1;
    uint8_t dstRepStride = 8;
    uint8_t src0RepStride = 8;
    uint8_t src1RepStride = 8;
};

struct UnaryRepeatParams {
    uint16_t dstBlkStride = 1;
    uint16_t srcBlkStride = 1;
    uint8_t dstRepStride = 8;
    uint8_t srcRepStride = 8;
};

}  // namespace AscendC

// The repeat forms of an op (inside namespace AscendC), expanded by vector.h's
// op macros so each op's formula is written once. MASK is the mask parameter:
// a continuous count (uint64_t) or the bit mask (uint64_t[2]).
#define UBSCOPE_TWIN_REPEAT_FORM(NAME, OPS, PARAMS, MASK, REPEAT_PARAMS, DST, LAMBDA, ...)        \
    template <typename T, bool isSetMask = true>                                                 \
    void NAME(const LocalTensor<T>& dst, UBSCOPE_TWIN_UNPAREN PARAMS MASK,                       \
              const uint8_t repeatTimes, const REPEAT_PARAMS& p,                                 \
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {               \
        using W = ubscope_twin::Wide<T>;                                                         \
        ubscope_twin::repeat_op<T, W>(#NAME, {dst, DST},                                         \
                                      ubscope_twin::lanes_of<isSetMask>(sizeof(T), mask, where),            \
                                      repeatTimes, OPS, where, LAMBDA, __VA_ARGS__);             \
    }
#define UBSCOPE_TWIN_UNPAREN(...) __VA_ARGS__

#define UBSCOPE_TWIN_BOTH_MASKS(NAME, OPS, PARAMS, REPEAT_PARAMS, DST, LAMBDA, ...)              \
    UBSCOPE_TWIN_REPEAT_FORM(NAME, OPS, PARAMS, const uint64_t mask, REPEAT_PARAMS, DST, LAMBDA,  \
                             __VA_ARGS__)                                                        \
    UBSCOPE_TWIN_REPEAT_FORM(NAME, OPS, PARAMS, const uint64_t mask[], REPEAT_PARAMS, DST,       \
                             LAMBDA, __VA_ARGS__)

#define UBSCOPE_TWIN_BINARY_REPEAT(NAME, EXPR)                                                   \
    UBSCOPE_TWIN_BOTH_MASKS(                                                                     \
        NAME, 1, (const LocalTensor<T>& src0, const LocalTensor<T>& src1, ), BinaryRepeatParams, \
        (ubscope_twin::Stride{p.dstBlkStride, p.dstRepStride}), [](W x, W y) { return EXPR; },    \
        ubscope_twin::Strided<T>{src0, {p.src0BlkStride, p.src0RepStride}},                      \
        ubscope_twin::Strided<T>{src1, {p.src1BlkStride, p.src1RepStride}})

#define UBSCOPE_TWIN_SCALAR_REPEAT(NAME, EXPR)                                                   \
    UBSCOPE_TWIN_BOTH_MASKS(                                                                     \
        NAME, 1, (const LocalTensor<T>& src, const std::type_identity_t<T>& scalar, ),            \
        UnaryRepeatParams, (ubscope_twin::Stride{p.dstBlkStride, p.dstRepStride}),               \
        [s = W(scalar)](W x) { return EXPR; },                                                   \
        ubscope_twin::Strided<T>{src, {p.srcBlkStride, p.srcRepStride}})

#define UBSCOPE_TWIN_UNARY_REPEAT(NAME, OPS, EXPR)                                               \
    UBSCOPE_TWIN_BOTH_MASKS(                                                                     \
        NAME, OPS, (const LocalTensor<T>& src, ), UnaryRepeatParams,                             \
        (ubscope_twin::Stride{p.dstBlkStride, p.dstRepStride}), [](W x) { return EXPR; },         \
        ubscope_twin::Strided<T>{src, {p.srcBlkStride, p.srcRepStride}})

namespace AscendC {

enum class MaskMode : uint8_t { NORMAL = 0, COUNTER };

constexpr int32_t MASK_PLACEHOLDER = 0;

// SetVectorMask<T>(maskHigh, maskLow): lanes 64-127 and 0-63 as bits;
// SetVectorMask<T>(len): the first len lanes. NORMAL mode only.
template <typename T, MaskMode mode = MaskMode::NORMAL>
void SetVectorMask(const uint64_t maskHigh, const uint64_t maskLow,
                   const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    static_assert(mode == MaskMode::NORMAL, "ubscope twin: MaskMode::COUNTER is not implemented yet "
                                            "(see docs/ascendc-twin.md)");
    const uint64_t bits[2] = {maskLow, maskHigh};
    ubscope_twin::mask_register() = ubscope_twin::bit_mask(bits, sizeof(T), where);
}

template <typename T, MaskMode mode = MaskMode::NORMAL>
void SetVectorMask(const int32_t len, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    static_assert(mode == MaskMode::NORMAL, "ubscope twin: MaskMode::COUNTER is not implemented yet "
                                            "(see docs/ascendc-twin.md)");
    ubscope_twin::mask_register() = ubscope_twin::continuous_mask(len, sizeof(T), where);
}

inline void ResetMask() { ubscope_twin::mask_register() = ubscope_twin::CoreRegisters{}.vector_mask; }

// Duplicate(dst, scalar, mask, repeatTimes, dstBlockStride, dstRepeatStride).
template <typename T, bool isSetMask = true, typename Mask>
void Duplicate(const LocalTensor<T>& dst, const std::type_identity_t<T>& scalar, Mask mask,
               const uint8_t repeatTimes, const uint16_t dstBlockStride, const uint8_t dstRepeatStride,
               const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::repeat_op<T, T>("Duplicate", {dst, {dstBlockStride, dstRepeatStride}},
                                  ubscope_twin::lanes_of<isSetMask>(sizeof(T), mask, where), repeatTimes, 1,
                                  where, [&]() { return scalar; });
}

}  // namespace AscendC
