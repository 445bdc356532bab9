// ubscope CPU twin: atomic copies to GM (SetAtomicAdd, SetAtomicMax,
// SetAtomicMin, SetAtomicType, SetAtomicNone and its newer name
// DisableDmaAtomic), written from the public Ascend C API documentation.
//
// What the pages say, for Atlas A2 / A3: after SetAtomicAdd<T>() the data
// transfers from VECOUT (UB), L0C and L1 to GM add what they move to what GM
// holds and write the sum back, in T, one of int8_t, int16_t, half, bfloat16_t,
// int32_t and float; SetAtomicMax<T>() and SetAtomicMin<T>() write the larger
// or the smaller of the two instead (their pages name VECOUT -> GM, the same
// types); SetAtomicType<T>() changes the type of the operation already set
// (SetAtomicAdd/Max/Min set it themselves); SetAtomicNone() clears the state.
// GM is not cleared first. The pages' boundary-value table for the add (INF/NAN
// mode, A2's default) is IEEE 754's: 65504 + 65504 = inf in half, inf + -inf
// = nan.
//
// Where the pages are silent, the twin chooses:
// - The state is a setting of the core: each core (an AIV, an AIC, a coupled
//   AI Core) has its own (Runtime::registers), and starts with none.
// - A sum is rounded once to T, to nearest even: half and bfloat16_t add in
//   float and round back (for the sum of two of them that is the correctly
//   rounded result: float's 24 bits are at least twice theirs plus two), float
//   adds in float. Integers wrap modulo 2^bits (no saturation rule is given
//   for them). Max and Min give NaN when either value is NaN. The saturation
//   mode (SetSaturationFlag) is not modelled.
// - The bytes a copy moves are taken as elements of the atomic type, whatever
//   the copy's element type: the transfer moves bytes, and SetAtomicType's own
//   example sets the type apart from the copies. Elements start at each burst's
//   first byte. A burst (a row) that is not a whole number of elements stops
//   the run with one line, as the pages do not say how part of an element is
//   added; an element that runs past the host's buffer is dropped (as Fixpipe
//   drops such elements).
// - Every on-chip -> GM data transfer of the twin honours the state, Max and
//   Min included: DataCopy and DataCopyPad from UB or L1, and Fixpipe from L0C
//   (its elements after the conversion to the destination type, each one a
//   burst of its own, so one narrower than the atomic type stops). A scalar
//   GlobalTensor::SetValue is no data transfer and overwrites.
// - Events: the copies stay COPY events with the bytes they move, flagged
//   ATOMIC (ATOMIC_COPY here, apart from a kernel's own ATOMIC macro); the
//   analysis counts the read of GM each one makes as a read of the same bytes
//   (its time is the plain copy's: the pages give no cost for the
//   read-modify-write).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "ubscope_twin/half.h"
#include "ubscope_twin/runtime.h"
#include "ubscope_twin/tiling.h"

namespace ubscope_twin {

// The running core's atomic state.
inline AtomicState& atomic_state() { return runtime().registers.atomic; }

template <typename T>
constexpr AtomicType atomic_type_of() {
    if constexpr (std::is_same_v<T, float>) {
        return AtomicType::F32;
    } else if constexpr (std::is_same_v<T, half>) {
        return AtomicType::F16;
    } else if constexpr (std::is_same_v<T, bfloat16_t>) {
        return AtomicType::BF16;
    } else if constexpr (std::is_same_v<T, int32_t>) {
        return AtomicType::S32;
    } else if constexpr (std::is_same_v<T, int16_t>) {
        return AtomicType::S16;
    } else if constexpr (std::is_same_v<T, int8_t>) {
        return AtomicType::S8;
    } else {
        return AtomicType::NONE;
    }
}

inline const char* atomic_type_name(AtomicType type) {
    static const char* names[] = {"", "float", "half", "bfloat16_t", "int32_t", "int16_t", "int8_t"};
    return names[static_cast<int>(type)];
}

// Sets the running core's state: ``op`` in T (keep_op: SetAtomicType, T only).
template <typename T>
void set_atomic(const char* api, AtomicOp op, bool keep_op, const Where& where) {
    constexpr AtomicType type = atomic_type_of<T>();
    if constexpr (type == AtomicType::NONE) {
        constexpr const char* name = tiling_type_name<T>();
        fail(where, std::string(api) + "<" + (name ? name : "this type") +
                        ">: the atomic type must be int8_t, int16_t, half, bfloat16_t, int32_t or "
                        "float on Atlas A2");
    }
    AtomicState& state = atomic_state();
    state.type = type;
    if (!keep_op) {
        state.op = op;
        state.api = api;
    }
}

// One element of GM combined with one the copy moves, in E.
template <typename E>
E atomic_combine(AtomicOp op, E gm, E moved) {
    if constexpr (std::is_integral_v<E>) {
        if (op == AtomicOp::ADD) {
            return static_cast<E>(static_cast<int64_t>(gm) + static_cast<int64_t>(moved));  // wraps
        }
        return op == AtomicOp::MAX ? std::max(gm, moved) : std::min(gm, moved);
    } else {
        const float a = static_cast<float>(gm), b = static_cast<float>(moved);
        if (op == AtomicOp::ADD) {
            return E(a + b);  // rounded to E, to nearest even
        }
        if (std::isnan(a) || std::isnan(b)) {
            return std::isnan(a) ? gm : moved;
        }
        return (op == AtomicOp::MAX ? b > a : b < a) ? moved : gm;
    }
}

template <typename E>
void atomic_store(AtomicOp op, uint8_t* to, const uint8_t* from, int64_t nbytes) {
    constexpr int64_t item = sizeof(E);
    for (int64_t at = 0; at + item <= nbytes; at += item) {
        E gm, moved;
        std::memcpy(&gm, to + at, item);
        std::memcpy(&moved, from + at, item);
        const E out = atomic_combine(op, gm, moved);
        std::memcpy(to + at, &out, item);
    }
}

inline int64_t atomic_type_bytes(AtomicType type) {
    return type == AtomicType::S8 ? 1 : type == AtomicType::F32 || type == AtomicType::S32 ? 4 : 2;
}

// One burst of a transfer to GM: ``nbytes`` bytes from ``from`` to ``to`` (the
// part of a ``burst_bytes`` burst inside the host's buffer), overwriting or, in
// the running core's atomic mode, combined element by element.
inline void store_to_gm(uint8_t* to, const uint8_t* from, int64_t nbytes, int64_t burst_bytes,
                        const Where& where) {
    const AtomicState& state = atomic_state();
    if (state.op == AtomicOp::NONE) {
        std::memcpy(to, from, nbytes);
        return;
    }
    const int64_t item = atomic_type_bytes(state.type);
    if (burst_bytes % item) {
        fail(where, "a copy to GM under " + std::string(state.api) + "<" +
                        atomic_type_name(state.type) + "> moves bursts of " +
                        std::to_string(burst_bytes) + " B, not a whole number of " +
                        std::to_string(item) + " B elements (the pages do not say how part "
                        "of an element is added)");
    }
    switch (state.type) {
        case AtomicType::F32: return atomic_store<float>(state.op, to, from, nbytes);
        case AtomicType::F16: return atomic_store<half>(state.op, to, from, nbytes);
        case AtomicType::BF16: return atomic_store<bfloat16_t>(state.op, to, from, nbytes);
        case AtomicType::S32: return atomic_store<int32_t>(state.op, to, from, nbytes);
        case AtomicType::S16: return atomic_store<int16_t>(state.op, to, from, nbytes);
        case AtomicType::S8: return atomic_store<int8_t>(state.op, to, from, nbytes);
        case AtomicType::NONE: break;
    }
}

}  // namespace ubscope_twin

namespace AscendC {

template <typename T>
void SetAtomicAdd(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::set_atomic<T>("SetAtomicAdd", ubscope_twin::AtomicOp::ADD, false, where);
}

template <typename T>
void SetAtomicMax(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::set_atomic<T>("SetAtomicMax", ubscope_twin::AtomicOp::MAX, false, where);
}

template <typename T>
void SetAtomicMin(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::set_atomic<T>("SetAtomicMin", ubscope_twin::AtomicOp::MIN, false, where);
}

// The type of the operation already set; alone it changes nothing a copy does.
template <typename T>
void SetAtomicType(const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::set_atomic<T>("SetAtomicType", ubscope_twin::AtomicOp::NONE, true, where);
}

inline void SetAtomicNone() { ubscope_twin::atomic_state() = {}; }

inline void DisableDmaAtomic() { SetAtomicNone(); }

}  // namespace AscendC
