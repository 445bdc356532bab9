// ubscope CPU twin: GatherMask, which keeps the elements of a source that a
// bit pattern selects and packs them, in order, at the start of the
// destination.
//
// Written from the public Ascend C API reference (GatherMask's page: its two
// prototypes, the parameter tables, GatherMaskParams and the worked examples),
// not from Huawei's headers. What the page says:
// - src1Pattern is a built-in pattern (uint8_t 1..7, the same bits every
//   repeat) or a tensor of bits (uint16_t for 16-bit data, uint32_t for
//   32-bit) read contiguously within a repeat, repeats src1RepeatStride 32 B
//   blocks apart. The built-in patterns are written high bit first
//   ("1: 0101...0101", "takes the even-indexed elements"), so bit i is
//   element i of the repeat, as in a pattern tensor: the example with
//   pattern 2 over [1 .. 128] keeps [2 4 6 ... 128].
// - reduceMode false (normal): each repeat is 256 B of src0 and the mask is
//   ignored. reduceMode true (counter): each repeat is ``mask`` elements, the
//   configuration the page gives for Atlas A2 / A3 and 950 ("mode one"; the
//   other, where mask is the total count and repeatTimes is ignored, is not
//   modelled). Either way src0's lane i of repeat r lies as in any repeat form
//   (vector_repeat.h), src0BlockStride and src0RepeatStride 32 B blocks apart:
//   the page's example reads its second 70-element repeat from element 32
//   with src0RepeatStride 4.
// - rsvdCnt is the count of elements kept, the destination's valid elements;
//   the destination has no strides.
// The page gives no defaults for GatherMaskParams (its examples set all four
// fields): the twin's are 1 repeat, contiguous blocks, src0RepeatStride 8 and
// src1RepeatStride 1.
//
// One COMPUTE event per call through record_vector: the destination is the
// rsvdCnt elements written, the sources src0 (every lane of every repeat,
// kept or not: the instruction reads them all) then the pattern tensor (the
// bytes of bits the repeats read). Time and FLOPs: one operation per lane
// read.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ubscope_twin/vector_extra_repeat.h"

namespace AscendC {

// The page calls the template argument reserved: one mode, the default.
enum class GatherMaskMode : uint8_t { DEFAULT = 0 };
constexpr GatherMaskMode defaultGatherMaskMode = GatherMaskMode::DEFAULT;

struct GatherMaskParams {
    uint8_t src0BlockStride = 1;
    uint16_t repeatTimes = 1;
    uint16_t src0RepeatStride = 8;
    uint8_t src1RepeatStride = 1;
};

}  // namespace AscendC

namespace ubscope_twin {

// Bit ``lane`` of built-in pattern 1..7: every other element from the first
// (1) or the second (2), every fourth from the first .. fourth (3 .. 6), all (7).
inline bool builtin_pattern_bit(uint8_t pattern, int64_t lane) {
    switch (pattern) {
        case 1: return lane % 2 == 0;
        case 2: return lane % 2 == 1;
        case 7: return true;
        default: return lane % 4 == pattern - 3;
    }
}

// Elements a repeat reads: 256 B of them, or ``mask`` in counter mode.
inline int64_t gather_mask_lanes(bool reduce_mode, uint32_t mask, int64_t element_bytes, const Where& where) {
    if (!reduce_mode) {
        return REPEAT_BYTES / element_bytes;
    }
    if (mask == 0) {
        fail(where, "GatherMask: mask 0 outside 1..4294967295 (elements a repeat in counter mode, reduceMode = true)");
    }
    return mask;
}

// ``bit(lane, repeat)``: whether lane of repeat is kept. ``pattern``: the
// pattern tensor's bytes, when the call has one.
template <typename T, typename Bit>
void gather_mask(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& src0, const Touch* pattern,
                 int64_t per_repeat, const AscendC::GatherMaskParams& p, uint64_t& rsvdCnt, const Where& where,
                 Bit bit) {
    constexpr int64_t bytes = sizeof(T);
    const int64_t repeats = p.repeatTimes;
    const Stride stride{p.src0BlockStride, p.src0RepeatStride};
    // Offsets grow with lane and repeat, so the last lane of the last repeat ends the span.
    const int64_t src_bytes = repeats > 0 ? lane_offset(per_repeat - 1, repeats - 1, bytes, stride) + bytes : 0;
    std::array<Touch, 2> ins{touch(src0, src_bytes, where)};
    const uint8_t* from = arena_bytes(ins[0].space, ins[0].addr, ins[0].bytes, where);
    // Kept elements gathered before any is written: dst may be src0 itself.
    std::vector<uint8_t> kept;
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t lane = 0; lane < per_repeat; ++lane) {
            if (bit(lane, repeat)) {
                const uint8_t* at = from + lane_offset(lane, repeat, bytes, stride);
                kept.insert(kept.end(), at, at + bytes);
            }
        }
    }
    const Touch out = touch(dst, static_cast<int64_t>(kept.size()), where);
    if (!kept.empty()) {
        std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), kept.data(), kept.size());
    }
    rsvdCnt = kept.size() / bytes;
    size_t nins = 1;
    if (pattern != nullptr) {
        ins[nins++] = *pattern;
    }
    record_vector("GatherMask", out, std::span<const Touch>(ins.data(), nins), repeats * per_repeat, bytes, 1,
                  where);
}

}  // namespace ubscope_twin

namespace AscendC {

// GatherMask(dst, src0, src1Pattern tensor, reduceMode, mask, params, rsvdCnt).
template <typename T, typename U, GatherMaskMode mode = defaultGatherMaskMode>
void GatherMask(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<U>& src1Pattern,
                const bool reduceMode, const uint32_t mask, const GatherMaskParams& gatherMaskParams,
                uint64_t& rsvdCnt, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const int64_t per_repeat = gather_mask_lanes(reduceMode, mask, sizeof(T), where);
    const int64_t repeats = gatherMaskParams.repeatTimes;
    const int64_t repeat_stride = int64_t{gatherMaskParams.src1RepeatStride} * BLOCK_BYTES;
    // A repeat's bits, in whole pattern elements (a uint32_t pattern of a
    // 70-lane repeat reads three words).
    const int64_t word_bits = 8 * sizeof(U);
    const int64_t repeat_bytes = (per_repeat + word_bits - 1) / word_bits * sizeof(U);
    const Touch pattern = touch(src1Pattern, repeats > 0 ? (repeats - 1) * repeat_stride + repeat_bytes : 0, where);
    const uint8_t* bits = arena_bytes(pattern.space, pattern.addr, pattern.bytes, where);
    gather_mask(dst, src0, &pattern, per_repeat, gatherMaskParams, rsvdCnt, where,
                [&](int64_t lane, int64_t repeat) { return bit_set(bits + repeat * repeat_stride, lane); });
}

// GatherMask(dst, src0, built-in src1Pattern 1..7, reduceMode, mask, params, rsvdCnt).
template <typename T, GatherMaskMode mode = defaultGatherMaskMode>
void GatherMask(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const uint8_t src1Pattern,
                const bool reduceMode, const uint32_t mask, const GatherMaskParams& gatherMaskParams,
                uint64_t& rsvdCnt, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (src1Pattern < 1 || src1Pattern > 7) {
        fail(where, "GatherMask: src1Pattern " + std::to_string(src1Pattern) + " outside 1..7 (the built-in patterns)");
    }
    const int64_t per_repeat = gather_mask_lanes(reduceMode, mask, sizeof(T), where);
    gather_mask(dst, src0, nullptr, per_repeat, gatherMaskParams, rsvdCnt, where,
                [src1Pattern](int64_t lane, int64_t) { return builtin_pattern_bit(src1Pattern, lane); });
}

}  // namespace AscendC
