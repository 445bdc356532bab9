// ubscope CPU twin: the mask / repeatTimes / repeat-params forms of Cast,
// Compare and Select, and SetCmpMask.
//
// A repeat covers 256 B of the wider operand: 256 / max(sizeof(D), sizeof(S))
// lanes for a Cast (so a half source of a float Cast reads 128 B, 4 blocks, a
// repeat), 256 / sizeof(T) for Compare and Select. Each operand's lane i lies
// in its block i / (32 / its element size), blocks and repeats its own strides
// apart (vector_repeat.h). Lanes outside the mask keep the destination's bits
// and bytes. Compare writes repeat r's bits at bit r x lanes of dst (bit i is
// byte i / 8, bit i % 8): dst has no strides. Select takes repeat r's bits from
// bit r x lanes of selMask (VSEL_TENSOR_SCALAR_MODE, VSEL_TENSOR_TENSOR_MODE)
// or the same first lanes bits every repeat (VSEL_CMPMASK_SPR).
#pragma once

#include <algorithm>
#include <array>

#include "ubscope_twin/vector_extra.h"

namespace ubscope_twin {

// Bytes of a bit mask that ``repeats`` repeats of ``per_repeat`` lanes use,
// repeat r from bit r x per_repeat (or every repeat from bit 0).
inline int64_t bit_span(const Lanes& lanes, int64_t repeats, int64_t per_repeat, bool advancing) {
    const int64_t highest = lanes.highest();
    if (repeats <= 0 || highest < 0) {
        return 0;
    }
    return ((advancing ? (repeats - 1) * per_repeat : 0) + highest + 8) / 8;
}

inline bool bit_set(const uint8_t* bits, int64_t index) { return (bits[index / 8] >> (index % 8)) & 1u; }

// The running core's comparison mask register: SetCmpMask writes it, Select in
// VSEL_CMPMASK_SPR mode without a selMask tensor reads it.
inline std::array<uint8_t, 16>& cmp_mask_register() { return runtime().registers.cmp_mask; }

template <typename D, typename S>
void cast_repeat(const AscendC::LocalTensor<D>& dst, const AscendC::LocalTensor<S>& src,
                 AscendC::RoundMode mode, const Lanes& lanes, int64_t repeats, Stride dst_stride,
                 Stride src_stride, const Where& where) {
    static_assert(!is_int4<S>, "Cast from int4b_t: the twin covers the count form only");
    constexpr int64_t wide = std::max(sizeof(D), sizeof(S));
    const Touch out = touch(dst, lane_span(lanes, repeats, sizeof(D), dst_stride), where);
    const std::array<Touch, 1> ins{touch(src, lane_span(lanes, repeats, sizeof(S), src_stride), where)};
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t lane = 0; lane < REPEAT_BYTES / wide; ++lane) {
            if (lanes.on(lane)) {
                const S value = load(src, lane_offset(lane, repeat, sizeof(S), src_stride), where);
                store(dst, lane_offset(lane, repeat, sizeof(D), dst_stride), convert<D>(value, mode), where);
            }
        }
    }
    record_vector("Cast", out, ins, repeats * (REPEAT_BYTES / wide), wide, 1, where);
}

template <typename U, typename T, typename Rhs>
void compare_repeat(const char* op, const AscendC::LocalTensor<U>& dst, const AscendC::LocalTensor<T>& src0,
                    Stride src0_stride, std::span<const Touch> more, AscendC::CMPMODE mode,
                    const Lanes& lanes, int64_t repeats, const Where& where, Rhs rhs) {
    const int64_t per_repeat = REPEAT_BYTES / sizeof(T);
    const Touch out = touch(dst, bit_span(lanes, repeats, per_repeat, true), where);
    std::array<Touch, 2> ins{touch(src0, lane_span(lanes, repeats, sizeof(T), src0_stride), where)};
    std::copy(more.begin(), more.end(), ins.begin() + 1);
    uint8_t* bits = arena_bytes(out.space, out.addr, out.bytes, where);
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t lane = 0; lane < per_repeat; ++lane) {
            if (!lanes.on(lane)) {
                continue;
            }
            const int64_t bit = repeat * per_repeat + lane;
            const T lhs = load(src0, lane_offset(lane, repeat, sizeof(T), src0_stride), where);
            const auto flag = static_cast<uint8_t>(1u << (bit % 8));
            bits[bit / 8] = compare<T>(as_double(lhs), rhs(lane, repeat), mode) ? bits[bit / 8] | flag
                                                                                 : bits[bit / 8] & ~flag;
        }
    }
    record_vector(op, out, std::span<const Touch>(ins.data(), 1 + more.size()), repeats * per_repeat,
                  sizeof(T), 1, where);
}

// Select's repeat form: dst lane from src0 where the lane's select bit is set,
// else rhs(lane, repeat); ``sel_bits`` (``sel_touch`` bytes) hold the bits.
template <typename T, typename Rhs>
void select_repeat(const AscendC::LocalTensor<T>& dst, Stride dst_stride, const uint8_t* sel_bits,
                   bool advancing, const AscendC::LocalTensor<T>& src0, Stride src0_stride,
                   std::span<const Touch> more, const Lanes& lanes, int64_t repeats, const Where& where,
                   Rhs rhs) {
    const int64_t per_repeat = REPEAT_BYTES / sizeof(T);
    const Touch out = touch(dst, lane_span(lanes, repeats, sizeof(T), dst_stride), where);
    std::array<Touch, 3> ins{touch(src0, lane_span(lanes, repeats, sizeof(T), src0_stride), where)};
    std::copy(more.begin(), more.end(), ins.begin() + 1);
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        for (int64_t lane = 0; lane < per_repeat; ++lane) {
            if (!lanes.on(lane)) {
                continue;
            }
            const bool first = bit_set(sel_bits, (advancing ? repeat * per_repeat : 0) + lane);
            const T value =
                first ? load(src0, lane_offset(lane, repeat, sizeof(T), src0_stride), where) : rhs(lane, repeat);
            store(dst, lane_offset(lane, repeat, sizeof(T), dst_stride), value, where);
        }
    }
    record_vector("Select", out, std::span<const Touch>(ins.data(), 1 + more.size()), repeats * per_repeat,
                  sizeof(T), 1, where);
}

// The bits of a selMask tensor a Select of ``lanes`` x ``repeats`` reads.
template <typename T, typename U>
std::pair<Touch, const uint8_t*> select_bits_of(const AscendC::LocalTensor<U>& sel_mask, const Lanes& lanes,
                                                int64_t repeats, bool advancing, const Where& where) {
    const Touch sel = touch(sel_mask, bit_span(lanes, repeats, REPEAT_BYTES / sizeof(T), advancing), where);
    return {sel, arena_bytes(sel.space, sel.addr, sel.bytes, where)};
}

}  // namespace ubscope_twin

namespace AscendC {

// Cast(dst, src, roundMode, mask, repeatTime, UnaryRepeatParams).
template <typename D, typename S, bool isSetMask = true, typename Mask>
void Cast(const LocalTensor<D>& dst, const LocalTensor<S>& src, const RoundMode& round_mode, Mask mask,
          const uint8_t repeatTime, const UnaryRepeatParams& p,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const Lanes lanes = lanes_of<isSetMask>(std::max(sizeof(D), sizeof(S)), mask, where);
    cast_repeat(dst, src, round_mode, lanes, repeatTime, {p.dstBlkStride, p.dstRepStride},
                {p.srcBlkStride, p.srcRepStride}, where);
}

// Compare(dst, src0, src1, cmpMode, mask, repeatTime, BinaryRepeatParams).
template <typename T, typename U, bool isSetMask = true, typename Mask>
void Compare(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode,
             Mask mask, uint8_t repeatTime, const BinaryRepeatParams& p,
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const Lanes lanes = lanes_of<isSetMask>(sizeof(T), mask, where);
    const Stride src1_stride{p.src1BlkStride, p.src1RepStride};
    const std::array<Touch, 1> rhs{touch(src1, lane_span(lanes, repeatTime, sizeof(T), src1_stride), where)};
    compare_repeat("Compare", dst, src0, {p.src0BlkStride, p.src0RepStride}, rhs, cmpMode, lanes, repeatTime,
                   where, [&](int64_t lane, int64_t repeat) {
                       return as_double(load(src1, lane_offset(lane, repeat, sizeof(T), src1_stride), where));
                   });
}

// Compares(dst, src0, scalar, cmpMode, mask, repeatTime, UnaryRepeatParams).
template <typename T, typename U, bool isSetMask = true, typename Mask>
void Compares(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const std::type_identity_t<T> src1Scalar,
              CMPMODE cmpMode, Mask mask, uint8_t repeatTime, const UnaryRepeatParams& p,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const double scalar = as_double(src1Scalar);
    compare_repeat("Compares", dst, src0, {p.srcBlkStride, p.srcRepStride}, {}, cmpMode,
                   lanes_of<isSetMask>(sizeof(T), mask, where), repeatTime, where,
                   [scalar](int64_t, int64_t) { return scalar; });
}

// Select(dst, selMask, src0, src1, selMode, mask, repeatTime, BinaryRepeatParams):
// VSEL_CMPMASK_SPR (the same bits each repeat) or VSEL_TENSOR_TENSOR_MODE.
template <typename T, typename U, bool isSetMask = true, typename Mask>
void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
            const LocalTensor<T>& src1, SELMODE selMode, Mask mask, uint8_t repeatTime,
            const BinaryRepeatParams& p, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (selMode == SELMODE::VSEL_TENSOR_SCALAR_MODE) {
        fail(where, "Select with a second tensor needs SELMODE::VSEL_CMPMASK_SPR or VSEL_TENSOR_TENSOR_MODE");
    }
    const Lanes lanes = lanes_of<isSetMask>(sizeof(T), mask, where);
    const bool advancing = selMode == SELMODE::VSEL_TENSOR_TENSOR_MODE;
    const auto [sel, bits] = select_bits_of<T>(selMask, lanes, repeatTime, advancing, where);
    const Stride src1_stride{p.src1BlkStride, p.src1RepStride};
    const std::array<Touch, 2> more{sel, touch(src1, lane_span(lanes, repeatTime, sizeof(T), src1_stride), where)};
    select_repeat(dst, {p.dstBlkStride, p.dstRepStride}, bits, advancing, src0, {p.src0BlkStride, p.src0RepStride},
                  more, lanes, repeatTime, where, [&](int64_t lane, int64_t repeat) {
                      return load(src1, lane_offset(lane, repeat, sizeof(T), src1_stride), where);
                  });
}

// Select(dst, selMask, src0, scalar, VSEL_TENSOR_SCALAR_MODE, mask, repeatTime, BinaryRepeatParams).
template <typename T, typename U, bool isSetMask = true, typename Mask>
void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
            std::type_identity_t<T> src1Scalar, SELMODE selMode, Mask mask, uint8_t repeatTime,
            const BinaryRepeatParams& p, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (selMode != SELMODE::VSEL_TENSOR_SCALAR_MODE) {
        fail(where, "Select with a scalar needs SELMODE::VSEL_TENSOR_SCALAR_MODE");
    }
    const Lanes lanes = lanes_of<isSetMask>(sizeof(T), mask, where);
    const auto [sel, bits] = select_bits_of<T>(selMask, lanes, repeatTime, true, where);
    const std::array<Touch, 1> more{sel};
    select_repeat(dst, {p.dstBlkStride, p.dstRepStride}, bits, true, src0, {p.src0BlkStride, p.src0RepStride},
                  more, lanes, repeatTime, where, [src1Scalar](int64_t, int64_t) { return T(src1Scalar); });
}

// SetCmpMask(src): the 128 bits at src into the comparison mask register
// that Select<T, SELMODE::VSEL_CMPMASK_SPR>(dst, src0, src1, ...) reads.
template <typename T>
void SetCmpMask(const LocalTensor<T>& src, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    auto& bits = ubscope_twin::cmp_mask_register();
    std::memcpy(bits.data(), ubscope_twin::arena_bytes(src.space(), src.addr(), bits.size(), where), bits.size());
}

// Select<T, VSEL_CMPMASK_SPR>(dst, src0, src1, repeatTime, BinaryRepeatParams):
// the select bits from SetCmpMask, the lanes from the vector mask register.
template <typename T, SELMODE selMode>
void Select(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, uint8_t repeatTime,
            const BinaryRepeatParams& p, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    static_assert(selMode == SELMODE::VSEL_CMPMASK_SPR,
                  "ubscope twin: Select without a selMask tensor is implemented for SELMODE::VSEL_CMPMASK_SPR only "
                  "(see docs/ascendc-twin.md)");
    const Lanes lanes = mask_register();
    const Stride src1_stride{p.src1BlkStride, p.src1RepStride};
    const std::array<Touch, 1> more{touch(src1, lane_span(lanes, repeatTime, sizeof(T), src1_stride), where)};
    select_repeat(dst, {p.dstBlkStride, p.dstRepStride}, cmp_mask_register().data(), false, src0,
                  {p.src0BlkStride, p.src0RepStride}, more, lanes, repeatTime, where,
                  [&](int64_t lane, int64_t repeat) {
                      return load(src1, lane_offset(lane, repeat, sizeof(T), src1_stride), where);
                  });
}

}  // namespace AscendC
