// ubscope CPU twin: the sorting APIs of Atlas A2 / A3 (910B): the basic
// instructions Sort32 and MrgSort, and the high-level Concat, Sort, Extract,
// MrgSort (the elementCountList form), GetSortLen and GetSortOffset.
//
// Written from the public Ascend C API reference (the pages of Sort32,
// MrgSort, Sort, Concat, Extract, GetSortLen and GetSortOffset: prototypes,
// parameter tables, constraints and worked examples), not from Huawei's
// headers. What the pages say, for the A2 / A3 layout ("mode one"):
// - A sorted element is an 8-byte structure whatever T is: the value in the
//   low bytes, the uint32_t index in the high 4 bytes; a half value takes
//   bytes 0-1 and bytes 2-3 are reserved. Order is descending by value.
// - Equal values: "if i > j, score[j] is selected first", i.e. the element
//   that came first stays first (the Sort page adds: "the index order is the
//   input order"). The twin sorts stably. MrgSort's page repeats the same
//   sentence; for a merge the twin reads it as "the earlier queue first"
//   (src1 before src2 ...), each queue's own order kept.
// - Sort32(dst, src0, src1, repeatTime): each repeat sorts 32 values of src0
//   with their uint32_t indices from src1; the next repeat moves 32 elements
//   on in the sources and 32 x 8 B on in dst; repeats are not merged.
//   repeatTime in [0, 255].
// - MrgSort(dst, MrgSortSrcList, MrgSort4Info): merges the first 2, 3 or 4
//   sorted queues (validBit 3, 7 or 15) of elementLengths[k] structures each
//   (0..4095) into dst. With ifExhaustedSuspension the merge stops when one
//   queue runs out. repeatTimes (1..255) takes effect only when there are
//   four queues, all of one length, stored one after the other, and no
//   suspension; each repeat then moves the sources and dst on by the four
//   queues' total length. Otherwise the twin merges once (the page says the
//   parameter then does not take effect).
// - The high-level MrgSort<T, isExhaustedSuspension>(dst, sortList,
//   elementCountList, sortedNum, validBit, repeatTime) is the same merge;
//   sortedNum receives how many structures of each queue went to dst.
// - Sort<T, isFullSort>(dst, concat, index, tmp, repeatTime): concat holds
//   repeatTime x 32 values, index their uint32_t indices; without
//   isFullSort each 32 is sorted alone (as Sort32), with it all of them.
// - Concat(concat, src, tmp, repeatTime) "prepares" src for Sort. On A2 Sort
//   reads plain values (its concat is "the score, shape [n]"), and the
//   public samples pass a LocalTensor that was never allocated as concat, so
//   the twin makes concat a view of src's repeatTime x 16 elements (the
//   parameter is a non-const reference) and moves no bytes.
// - Extract(dstValue, dstIndex, sorted, repeatTime): splits the structures
//   into values and indices; a repeat is 64 floats or 128 halves of sorted,
//   i.e. 32 structures.
// - GetSortLen<T>(n) and GetSortOffset<T>(n): the pages say "in bytes", but
//   their own MrgSort example puts the second float queue of 32 structures at
//   workLocal[64], and public kernels index LocalTensor<T> and count
//   DataCopy with the results: the twin returns elements of T, n x 8 /
//   sizeof(T) (2n for float, 4n for half).
// Not documented, the twin's choices: Sort32 and Sort write 0 into a half
// structure's reserved bytes, MrgSort copies structures whole (reserved
// bytes included); NaN values are not ordered specially.
//
// Events, one COMPUTE event per call through record_vector (Extract: two,
// one per destination, as CumSum's copy: an event has one destination);
// sizes are the bytes read and written; one operation per element, except the
// full Sort: one pass for the 32-element sorts and one per four-way merge
// round, ceil(log4(repeatTime)). A tmp buffer is recorded as used, first
// among the sources, 0 B counted (the twin sorts without it).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/vector.h"
#include "ubscope_twin/vector_extra.h"

namespace AscendC {

template <typename T>
struct MrgSortSrcList {
    MrgSortSrcList() {}
    MrgSortSrcList(const LocalTensor<T>& src1In, const LocalTensor<T>& src2In, const LocalTensor<T>& src3In,
                   const LocalTensor<T>& src4In)
        : src1(src1In[0]), src2(src2In[0]), src3(src3In[0]), src4(src4In[0]) {}
    LocalTensor<T> src1;
    LocalTensor<T> src2;
    LocalTensor<T> src3;  // unused with fewer than three queues
    LocalTensor<T> src4;  // unused with fewer than four queues
};

// The page documents the fields (its examples set all four) and the default of
// ifExhaustedSuspension only; the twin's other defaults are no queue
// lengths, all four queues valid and one repeat.
struct MrgSort4Info {
    MrgSort4Info() {}
    MrgSort4Info(const uint16_t elementLengthsIn[4], bool ifExhaustedSuspensionIn, uint16_t validBitIn,
                 uint16_t repeatTimesIn)
        : ifExhaustedSuspension(ifExhaustedSuspensionIn), validBit(validBitIn), repeatTimes(repeatTimesIn) {
        std::copy(elementLengthsIn, elementLengthsIn + 4, elementLengths);
    }
    uint16_t elementLengths[4] = {0, 0, 0, 0};
    bool ifExhaustedSuspension = false;
    uint16_t validBit = 15;
    uint16_t repeatTimes = 1;
};

}  // namespace AscendC

namespace ubscope_twin {

constexpr int64_t SORT_STRUCT_BYTES = 8;  // (value, index) on A2 / A3
constexpr int64_t SORT_GROUP = 32;        // elements one Sort32 repeat sorts

template <typename T>
constexpr bool sortable = std::is_same_v<T, half> || std::is_same_v<T, float>;

// One sorted structure: its 8 bytes as laid out, and its value as a float to
// compare by.
struct SortEntry {
    float key;
    std::array<uint8_t, SORT_STRUCT_BYTES> bytes;
};

template <typename T>
SortEntry make_entry(T value, uint32_t index) {
    SortEntry entry{static_cast<float>(value), {}};
    std::memcpy(entry.bytes.data(), &value, sizeof(T));  // a half's bytes 2-3 stay 0
    std::memcpy(entry.bytes.data() + 4, &index, sizeof index);
    return entry;
}

template <typename T>
SortEntry read_entry(const uint8_t* at) {
    SortEntry entry{};
    std::memcpy(entry.bytes.data(), at, SORT_STRUCT_BYTES);
    T value;
    std::memcpy(&value, at, sizeof(T));
    entry.key = static_cast<float>(value);
    return entry;
}

// Descending, equal values in their incoming order (the pages' tie rule).
inline void sort_descending(std::vector<SortEntry>::iterator first, std::vector<SortEntry>::iterator last) {
    std::stable_sort(first, last, [](const SortEntry& a, const SortEntry& b) { return a.key > b.key; });
}

inline void check_repeat_range(const char* op, int32_t repeats, int32_t low, const Where& where) {
    if (repeats < low || repeats > 255) {
        fail(where, std::string(op) + ": repeatTime " + std::to_string(repeats) + " outside " +
                        std::to_string(low) + "..255");
    }
}

// Sort32, and Sort with or without isFullSort: ``scratch`` is Sort's tmp.
template <typename T, typename Scratch>
void sort_pairs(const char* op, const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<T>& values,
                const AscendC::LocalTensor<uint32_t>& indices, const Scratch* scratch, int32_t repeats,
                bool full, const Where& where) {
    static_assert(sortable<T>, "the twin's sorts take half or float, as documented for Atlas A2 / A3");
    check_repeat_range(op, repeats, 0, where);
    const int64_t n = int64_t{repeats} * SORT_GROUP;
    const Touch out = touch(dst, n * SORT_STRUCT_BYTES, where);
    std::array<Touch, 3> ins{};
    size_t nins = 0;
    if (scratch != nullptr) {
        ins[nins++] = touch(*scratch, 0, where);
    }
    ins[nins++] = touch(values, n * int64_t{sizeof(T)}, where);
    ins[nins++] = touch(indices, n * int64_t{sizeof(uint32_t)}, where);
    // Everything read before anything is written: dst may overlap a source.
    std::vector<SortEntry> entries;
    entries.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
        entries.push_back(make_entry<T>(load(values, i * int64_t{sizeof(T)}, where),
                                        load(indices, i * int64_t{sizeof(uint32_t)}, where)));
    }
    int64_t ops = 1;
    if (full) {
        sort_descending(entries.begin(), entries.end());
        for (int64_t runs = repeats; runs > 1; runs = (runs + 3) / 4) {
            ++ops;
        }
    } else {
        for (int64_t start = 0; start < n; start += SORT_GROUP) {
            sort_descending(entries.begin() + start, entries.begin() + start + SORT_GROUP);
        }
    }
    uint8_t* to = arena_bytes(out.space, out.addr, out.bytes, where);
    for (int64_t i = 0; i < n; ++i) {
        std::memcpy(to + i * SORT_STRUCT_BYTES, entries[i].bytes.data(), SORT_STRUCT_BYTES);
    }
    record_vector(op, out, std::span<const Touch>(ins.data(), nins), n, sizeof(T), ops, where);
}

inline int64_t valid_queues(uint16_t valid_bit, const Where& where) {
    switch (valid_bit) {
        case 3: return 2;
        case 7: return 3;
        case 15: return 4;
        default:
            fail(where, "MrgSort: validBit " + std::to_string(valid_bit) +
                            " is not 3, 7 or 15 (the first two, three or four queues)");
    }
}

// The merge of MrgSort's two forms. ``sorted_num``: how many structures of
// each queue reached dst (the high-level form's output), or null.
template <typename T>
void merge_sorted(const AscendC::LocalTensor<T>& dst, const AscendC::MrgSortSrcList<T>& list,
                  const uint16_t lengths[4], bool suspend, uint16_t valid_bit, int32_t repeat_times,
                  uint32_t* sorted_num, const Where& where) {
    static_assert(sortable<T>, "the twin's sorts take half or float, as documented for Atlas A2 / A3");
    const int64_t queues = valid_queues(valid_bit, where);
    const std::array<const AscendC::LocalTensor<T>*, 4> src{&list.src1, &list.src2, &list.src3, &list.src4};
    int64_t total = 0;
    for (int64_t k = 0; k < queues; ++k) {
        if (lengths[k] > 4095) {
            fail(where, "MrgSort: elementLengths[" + std::to_string(k) + "] " + std::to_string(lengths[k]) +
                            " outside 0..4095");
        }
        total += lengths[k];
    }
    const int64_t total_bytes = total * SORT_STRUCT_BYTES;
    bool repeating = queues == 4 && !suspend;
    for (int64_t k = 1; repeating && k < queues; ++k) {
        repeating = lengths[k] == lengths[0] && src[k]->space() == src[0]->space() &&
                    src[k]->addr() == src[k - 1]->addr() + int64_t{lengths[k - 1]} * SORT_STRUCT_BYTES;
    }
    if (repeating) {
        check_repeat_range("MrgSort", repeat_times, 1, where);
    }
    const int64_t repeats = repeating ? repeat_times : 1;
    std::array<Touch, 4> ins{};
    std::array<const uint8_t*, 4> from{};
    for (int64_t k = 0; k < queues; ++k) {
        ins[k] = touch(*src[k], (repeats - 1) * total_bytes + int64_t{lengths[k]} * SORT_STRUCT_BYTES, where);
        from[k] = arena_bytes(ins[k].space, ins[k].addr, ins[k].bytes, where);
    }
    std::vector<uint8_t> merged;
    merged.reserve(repeats * total_bytes);
    std::array<uint32_t, 4> taken{};
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
        taken = {};
        for (;;) {
            int64_t best = -1;
            float best_key = 0;
            bool exhausted = false;
            for (int64_t k = 0; k < queues; ++k) {
                if (taken[k] == lengths[k]) {
                    exhausted = true;
                    continue;
                }
                const float key = read_entry<T>(from[k] + repeat * total_bytes + taken[k] * SORT_STRUCT_BYTES).key;
                // Strictly greater: on equal values the earlier queue keeps its turn.
                if (best < 0 || key > best_key) {
                    best = k;
                    best_key = key;
                }
            }
            if (best < 0 || (suspend && exhausted)) {
                break;
            }
            const uint8_t* at = from[best] + repeat * total_bytes + taken[best] * SORT_STRUCT_BYTES;
            merged.insert(merged.end(), at, at + SORT_STRUCT_BYTES);
            ++taken[best];
        }
    }
    if (sorted_num != nullptr) {
        for (int64_t k = 0; k < 4; ++k) {
            sorted_num[k] = k < queues ? taken[k] : 0;
        }
    }
    const Touch out = touch(dst, static_cast<int64_t>(merged.size()), where);
    if (!merged.empty()) {
        std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), merged.data(), merged.size());
    }
    const int64_t structures = static_cast<int64_t>(merged.size()) / SORT_STRUCT_BYTES;
    // the page asks 32 B of dst but only 8 B (one structure) of each queue
    record_vector("MrgSort", out, std::span<const Touch>(ins.data(), queues), structures, SORT_STRUCT_BYTES, 1,
                  where, 0, SORT_STRUCT_BYTES);
}

template <typename T>
void extract_sorted(const AscendC::LocalTensor<T>& dst_value, const AscendC::LocalTensor<uint32_t>& dst_index,
                    const AscendC::LocalTensor<T>& sorted, int32_t repeats, const Where& where) {
    static_assert(sortable<T>, "the twin's sorts take half or float, as documented for Atlas A2 / A3");
    check_repeat_range("Extract", repeats, 0, where);
    const int64_t n = int64_t{repeats} * SORT_GROUP;
    const std::array<Touch, 1> ins{touch(sorted, n * SORT_STRUCT_BYTES, where)};
    const uint8_t* from = arena_bytes(ins[0].space, ins[0].addr, ins[0].bytes, where);
    std::vector<T> values(n);
    std::vector<uint32_t> indices(n);
    for (int64_t i = 0; i < n; ++i) {
        std::memcpy(&values[i], from + i * SORT_STRUCT_BYTES, sizeof(T));
        std::memcpy(&indices[i], from + i * SORT_STRUCT_BYTES + 4, sizeof(uint32_t));
    }
    const Touch value_out = touch(dst_value, n * int64_t{sizeof(T)}, where);
    const Touch index_out = touch(dst_index, n * int64_t{sizeof(uint32_t)}, where);
    if (n > 0) {
        std::memcpy(arena_bytes(value_out.space, value_out.addr, value_out.bytes, where), values.data(),
                    value_out.bytes);
        std::memcpy(arena_bytes(index_out.space, index_out.addr, index_out.bytes, where), indices.data(),
                    index_out.bytes);
    }
    record_vector("Extract", value_out, ins, n, sizeof(T), 1, where);
    record_vector("Extract", index_out, ins, n, sizeof(uint32_t), 1, where);
}

}  // namespace ubscope_twin

namespace AscendC {

template <typename T>
void Sort32(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<uint32_t>& src1,
            const int32_t repeatTime, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::sort_pairs("Sort32", dst, src0, src1, static_cast<const LocalTensor<T>*>(nullptr), repeatTime,
                             false, where);
}

template <typename T, bool isFullSort>
void Sort(const LocalTensor<T>& dst, const LocalTensor<T>& concat, const LocalTensor<uint32_t>& index,
          LocalTensor<T>& tmp, const int32_t repeatTime,
          const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::sort_pairs("Sort", dst, concat, index, &tmp, repeatTime, isFullSort, where);
}

template <typename T>
void MrgSort(const LocalTensor<T>& dst, const MrgSortSrcList<T>& src, const MrgSort4Info& params,
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::merge_sorted(dst, src, params.elementLengths, params.ifExhaustedSuspension, params.validBit,
                               params.repeatTimes, nullptr, where);
}

template <typename T, bool isExhaustedSuspension = false>
void MrgSort(const LocalTensor<T>& dst, const MrgSortSrcList<T>& sortList, const uint16_t elementCountList[4],
             uint32_t sortedNum[4], uint16_t validBit, const int32_t repeatTime,
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::merge_sorted(dst, sortList, elementCountList, isExhaustedSuspension, validBit, repeatTime,
                               sortedNum, where);
}

// concat becomes a view of src (see the header's comment); one event records
// src's elements as read and tmp as used, the view as the destination.
template <typename T>
void Concat(LocalTensor<T>& concat, const LocalTensor<T>& src, const LocalTensor<T>& tmp, const int32_t repeatTime,
            const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    static_assert(sortable<T>, "the twin's sorts take half or float, as documented for Atlas A2 / A3");
    check_repeat_range("Concat", repeatTime, 0, where);
    constexpr int64_t per_repeat = 16;
    const int64_t bytes = int64_t{repeatTime} * per_repeat * int64_t{sizeof(T)};
    const std::array<Touch, 2> ins{touch(tmp, 0, where), touch(src, bytes, where)};
    concat = src;
    record_vector("Concat", touch(concat, bytes, where), ins, int64_t{repeatTime} * per_repeat, sizeof(T), 1, where);
}

template <typename T>
void Extract(const LocalTensor<T>& dstValue, const LocalTensor<uint32_t>& dstIndex, const LocalTensor<T>& sorted,
             const int32_t repeatTime, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::extract_sorted(dstValue, dstIndex, sorted, repeatTime, where);
}

template <typename T>
inline uint32_t GetSortLen(const uint32_t elemCount) {
    static_assert(ubscope_twin::sortable<T>, "GetSortLen takes half or float, as documented");
    return elemCount * static_cast<uint32_t>(ubscope_twin::SORT_STRUCT_BYTES / sizeof(T));
}

template <typename T>
inline uint32_t GetSortOffset(const uint32_t elemOffset) {
    static_assert(ubscope_twin::sortable<T>, "GetSortOffset takes half or float, as documented");
    return elemOffset * static_cast<uint32_t>(ubscope_twin::SORT_STRUCT_BYTES / sizeof(T));
}

}  // namespace AscendC
