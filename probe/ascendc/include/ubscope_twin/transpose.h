// ubscope CPU twin: the basic vector instruction TransDataTo5HD of Atlas A2 /
// A3 (910B), its three documented forms: lists of 16 LocalTensors, lists of
// 16 addresses (uint64_t, from LocalTensor::GetPhyAddr) and two
// LocalTensor<uint64_t> holding the 16 addresses each.
//
// Written from the public Ascend C API reference (the TransDataTo5HD page:
// prototypes, parameter tables, constraints, figures and examples), not from
// Huawei's headers. What the page says:
// - One repeat takes one 32 B datablock from each of the 16 source addresses
//   (srcList[0..15]) and writes 16 datablocks' worth at the 16 destination
//   addresses: 16-bit types: dst block j gets element j of src blocks 0..15
//   (a 16 x 16 transpose); 32-bit types: 8 loops, loop c takes element c of
//   the 16 source blocks and forms two blocks, dstList[2c] (sources 0-7) and
//   dstList[2c + 1] (sources 8-15), as the page's figure 2 and the current
//   reference's int32_t example show; 8-bit types: 16 loops, loop j takes
//   element j of the 16 source blocks' low half (bytes 0-15) or high half
//   (16-31, srcHighHalf) and writes them as the low or high half
//   (dstHighHalf) of dstList[j] (figure 3, and the int8_t example: high half
//   read, high half written).
// - dstHighHalf / srcHighHalf are "only supported for int8_t / uint8_t"; the
//   page's examples set them false for half with the comment that they do not
//   take effect: the twin ignores them for 16- and 32-bit types.
// - repeatTimes in [0, 255]; dstRepStride / srcRepStride: between repeats, in
//   datablocks. With repeatTimes 1 the blocks start at each list address plus
//   the stride (a stride of 0 starts them at the addresses); with more, repeat
//   r starts at the addresses plus r x stride.
// - T: int8_t, uint8_t, int16_t, uint16_t, half, int32_t, uint32_t, float
//   (others do not compile). The tensors are VECIN / VECCALC / VECOUT (UB),
//   each start address 32 B aligned; the address-tensor form's 16 addresses
//   are stored contiguously in each tensor.
// - NCHW_CONV_ADDR_LIST_SIZE is 16.
//
// Where the page is silent, the twin's choices:
// - TransDataTo5HDParams{dstHighHalf, srcHighHalf, repeatTimes, dstRepStride,
//   srcRepStride}: the page lists the fields but not their types; the twin
//   takes bool, bool, uint16_t, uint16_t, uint16_t (repeatTimes wide enough
//   for 256 to stop the run, not wrap to 0), a constructor in that order and
//   all-zero defaults.
// - The 8-bit form writes half of each destination block ("half a
//   datablock"): the other half keeps its bytes.
// - Every source block, of all repeats, is read before any destination byte
//   is written, so a transpose in place (both lists naming the same blocks)
//   works; the page refers to the general overlap rules only. Destination
//   blocks that coincide are written in loop order.
//
// Misuse that stops the run with one line at the call: repeatTimes above 255;
// a list address off 32 B (the event cannot flag one of sixteen operands) or
// whose blocks reach beyond UB and its red zone; a list tensor outside UB;
// an address tensor holding fewer than 16 addresses. A list of another length
// stops the build with one line at the call.
//
// Events: one COMPUTE event a call through record_vector, named
// "TransDataTo5HD": its destination the span of whole 32 B blocks written
// (first to last byte; 8-bit types write half of each), its sources the span
// of the blocks read per source buffer, then, in the address-tensor form, the
// two address tensors (128 B each, dst's first); elements moved: 256 a repeat
// for 8- and 16-bit types, 128 for 32-bit; one operation each.
// Dependencies: with LocalTensor lists whose destinations share one buffer
// and whose sources lie in at most four, the event waits for and feeds those
// buffers. A raw address does not say which buffer holds it (the twin keeps
// no map from addresses to buffers), so the address forms, and lists spread
// over more buffers, are fenced: the call waits for all of the core's earlier
// work and all later work waits for it (as PipeBarrier<PIPE_ALL> on both
// sides), never earlier than the device could be.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/tensor.h"
#include "ubscope_twin/vector_repeat.h"
#include "ubscope_twin/vector_sort.h"

namespace AscendC {

constexpr int32_t NCHW_CONV_ADDR_LIST_SIZE = 16;

struct TransDataTo5HDParams {
    TransDataTo5HDParams() {}
    TransDataTo5HDParams(bool dstHighHalfIn, bool srcHighHalfIn, uint16_t repeatTimesIn, uint16_t dstRepStrideIn,
                         uint16_t srcRepStrideIn)
        : dstHighHalf(dstHighHalfIn),
          srcHighHalf(srcHighHalfIn),
          repeatTimes(repeatTimesIn),
          dstRepStride(dstRepStrideIn),
          srcRepStride(srcRepStrideIn) {}
    bool dstHighHalf = false;   // int8_t / uint8_t: write the high 16 B of each dst block
    bool srcHighHalf = false;   // int8_t / uint8_t: read the high 16 B of each src block
    uint16_t repeatTimes = 0;   // 0..255
    uint16_t dstRepStride = 0;  // between repeats, in 32 B blocks
    uint16_t srcRepStride = 0;
};

}  // namespace AscendC

namespace ubscope_twin {

constexpr size_t TRANS_LIST = AscendC::NCHW_CONV_ADDR_LIST_SIZE;

template <typename T>
constexpr bool trans_5hd_type = std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> ||
                                std::is_same_v<T, int16_t> || std::is_same_v<T, uint16_t> ||
                                std::is_same_v<T, half> || std::is_same_v<T, int32_t> ||
                                std::is_same_v<T, uint32_t> || std::is_same_v<T, float>;

// One list's 16 UB addresses and, for a list of LocalTensors, their buffers.
struct BlockList {
    const char* name;  // "dstList" / "srcList", as the page names them
    std::array<int64_t, TRANS_LIST> addr{};
    std::array<uint64_t, TRANS_LIST> key{};
    bool keyed = false;
};

template <typename T>
void require_ub(const AscendC::LocalTensor<T>& tensor, const std::string& what, const Where& where) {
    if (tensor.space() != UB) {
        fail(where, "TransDataTo5HD: " + what + " is not a UB tensor (the page takes VECIN, VECCALC or VECOUT " +
                        "tensors)");
    }
}

template <typename T>
BlockList tensor_list(const char* name, const AscendC::LocalTensor<T> (&list)[TRANS_LIST], const Where& where) {
    BlockList blocks{name};
    blocks.keyed = true;
    for (size_t k = 0; k < TRANS_LIST; ++k) {
        require_ub(list[k], std::string(name) + "[" + std::to_string(k) + "]", where);
        blocks.addr[k] = list[k].addr();
        blocks.key[k] = list[k].key();
    }
    return blocks;
}

inline BlockList address_list(const char* name, const uint64_t* list) {
    BlockList blocks{name};
    for (size_t k = 0; k < TRANS_LIST; ++k) {
        blocks.addr[k] = static_cast<int64_t>(list[k]);
    }
    return blocks;
}

// The 16 addresses an address tensor holds, and the tensor as a source.
inline BlockList tensor_addresses(const char* name, const AscendC::LocalTensor<uint64_t>& tensor, Touch& read,
                                  const Where& where) {
    require_ub(tensor, name, where);
    if (tensor.GetSize() < TRANS_LIST) {
        fail(where, std::string("TransDataTo5HD: ") + name + " holds " + std::to_string(tensor.GetSize()) +
                        " addresses, fewer than the " + std::to_string(TRANS_LIST) +
                        " (NCHW_CONV_ADDR_LIST_SIZE) the call reads");
    }
    read = touch(tensor, TRANS_LIST * sizeof(uint64_t), where);
    uint64_t addresses[TRANS_LIST];
    std::memcpy(addresses, arena_bytes(read.space, read.addr, read.bytes, where), sizeof addresses);
    return address_list(name, addresses);
}

// Where a list's blocks lie, from each address: [first, end) bytes.
struct BlockReach {
    int64_t first;
    int64_t end;
};

inline void check_blocks(const BlockList& list, BlockReach reach, const Where& where) {
    const int64_t arena = static_cast<int64_t>(runtime().arenas[UB].size());
    for (size_t k = 0; k < TRANS_LIST; ++k) {
        const int64_t at = list.addr[k];
        const std::string entry = std::string(list.name) + "[" + std::to_string(k) + "]";
        if (at % BLOCK_BYTES) {
            fail(where, "TransDataTo5HD: " + entry + " at UB " + hex(at) +
                            " is not 32 B aligned (the page asks each address to start a 32 B block)");
        }
        if (at < 0 || at > arena || reach.end > arena - at) {
            fail(where, "TransDataTo5HD: " + entry + " at UB " + hex(at) + ": its blocks reach " +
                            hex(at + reach.end) + ", beyond UB and its red zone (" + hex(arena) + ")");
        }
    }
}

// The span of whole blocks of the list's entries whose buffer is ``key``
// (all of them for 0), keyed ``key``, or for addresses by the span's start;
// 0 B without repeats.
inline Touch block_span(const BlockList& list, BlockReach reach, uint64_t key) {
    int64_t low = INT64_MAX, high = 0;
    for (size_t k = 0; k < TRANS_LIST; ++k) {
        if (key == 0 || list.key[k] == key) {
            low = std::min(low, list.addr[k] + reach.first);
            high = std::max(high, list.addr[k] + reach.end);
        }
    }
    const int64_t bytes = reach.end > reach.first ? high - low : 0;
    return {UB, low, bytes, list.keyed ? (key ? key : list.key[0]) : local_key(UB, low)};
}

template <typename T>
void trans_data_to_5hd(const BlockList& dst, const BlockList& src, const AscendC::TransDataTo5HDParams& p,
                       std::span<const Touch> address_tensors, const Where& where) {
    static_assert(trans_5hd_type<T>, "ubscope twin: TransDataTo5HD takes int8_t, uint8_t, int16_t, uint16_t, "
                                     "half, int32_t, uint32_t or float, as documented for Atlas A2 / A3");
    constexpr int64_t S = sizeof(T);
    constexpr int64_t columns = S == 1 ? 16 : BLOCK_BYTES / S;  // elements taken from each source block
    check_repeat_range("TransDataTo5HD", p.repeatTimes, 0, where);
    arena_bytes(UB, 0, 0, where);  // a core without UB stops here
    const int64_t repeats = p.repeatTimes;
    // Repeat r's block offset from a list address: the stride alone with one repeat.
    auto offset = [repeats](int64_t r, int64_t stride) { return (repeats == 1 ? stride : r * stride) * BLOCK_BYTES; };
    auto reach = [&](int64_t stride) {
        return repeats ? BlockReach{offset(0, stride), offset(repeats - 1, stride) + BLOCK_BYTES} : BlockReach{0, 0};
    };
    const BlockReach dst_reach = reach(p.dstRepStride), src_reach = reach(p.srcRepStride);
    check_blocks(dst, dst_reach, where);
    check_blocks(src, src_reach, where);

    // Every source block read before any destination byte is written.
    std::vector<uint8_t> in(static_cast<size_t>(repeats) * TRANS_LIST * BLOCK_BYTES);
    for (int64_t r = 0; r < repeats; ++r) {
        for (size_t i = 0; i < TRANS_LIST; ++i) {
            std::memcpy(&in[(r * TRANS_LIST + i) * BLOCK_BYTES],
                        arena_bytes(UB, src.addr[i] + offset(r, p.srcRepStride), BLOCK_BYTES, where), BLOCK_BYTES);
        }
    }
    const int64_t src_half = S == 1 && p.srcHighHalf ? BLOCK_BYTES / 2 : 0;
    const int64_t dst_half = S == 1 && p.dstHighHalf ? BLOCK_BYTES / 2 : 0;
    for (int64_t r = 0; r < repeats; ++r) {
        // Column c of the 16 source blocks, in source order, fills 16 / columns
        // destination blocks from dstList[c x 16 / columns].
        for (int64_t c = 0; c < columns; ++c) {
            for (size_t i = 0; i < TRANS_LIST; ++i) {
                const int64_t value = c * static_cast<int64_t>(TRANS_LIST) + static_cast<int64_t>(i);
                const int64_t block = value / columns, slot = value % columns;
                uint8_t* to = arena_bytes(UB, dst.addr[block] + offset(r, p.dstRepStride), BLOCK_BYTES, where);
                std::memcpy(to + dst_half + slot * S, &in[(r * TRANS_LIST + i) * BLOCK_BYTES + src_half + c * S], S);
            }
        }
    }

    // One destination buffer and at most four source buffers: exact
    // dependencies; otherwise the call is fenced (see the header's comment).
    auto same_buffer = [](const BlockList& list) {
        return list.keyed && std::all_of(list.key.begin(), list.key.end(), [&](uint64_t k) { return k == list.key[0]; });
    };
    std::vector<uint64_t> src_keys;
    for (size_t k = 0; src.keyed && k < TRANS_LIST; ++k) {
        if (std::find(src_keys.begin(), src_keys.end(), src.key[k]) == src_keys.end()) {
            src_keys.push_back(src.key[k]);
        }
    }
    std::array<Touch, 4> ins{};
    size_t nins = 0;
    const bool exact = same_buffer(dst) && src.keyed && src_keys.size() + address_tensors.size() <= ins.size();
    const Touch out = block_span(dst, dst_reach, 0);
    if (exact) {
        for (uint64_t key : src_keys) {
            ins[nins++] = block_span(src, src_reach, key);
        }
    } else {
        ins[nins++] = block_span(src, src_reach, 0);
    }
    for (const Touch& read : address_tensors) {
        ins[nins++] = read;
    }
    Timeline& timeline = runtime().timeline;
    if (!exact) {
        timeline.scalar_now = std::max(timeline.scalar_now, timeline_end());
    }
    record_vector("TransDataTo5HD", out, std::span<const Touch>(ins.data(), nins),
                  repeats * static_cast<int64_t>(TRANS_LIST) * columns, S, 1, where);
    if (!exact) {
        timeline.scalar_now = std::max(timeline.scalar_now, timeline_end());
    }
}

}  // namespace ubscope_twin

namespace AscendC {

#define UBSCOPE_TWIN_TRANS_LIST_MESSAGE                                                          \
    "ubscope twin: AscendC::TransDataTo5HD takes lists of NCHW_CONV_ADDR_LIST_SIZE (16) tensors " \
    "or addresses, as documented"

template <typename T>
void TransDataTo5HD(const LocalTensor<T> (&dstList)[NCHW_CONV_ADDR_LIST_SIZE],
                    const LocalTensor<T> (&srcList)[NCHW_CONV_ADDR_LIST_SIZE],
                    const TransDataTo5HDParams& nchwconvParams,
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    trans_data_to_5hd<T>(tensor_list("dstList", dstList, where), tensor_list("srcList", srcList, where),
                         nchwconvParams, {}, where);
}

template <typename T>
void TransDataTo5HD(const uint64_t dstList[NCHW_CONV_ADDR_LIST_SIZE], const uint64_t srcList[NCHW_CONV_ADDR_LIST_SIZE],
                    const TransDataTo5HDParams& nchwconvParams,
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    trans_data_to_5hd<T>(address_list("dstList", dstList), address_list("srcList", srcList), nchwconvParams, {},
                         where);
}

template <typename T>
void TransDataTo5HD(const LocalTensor<uint64_t>& dst, const LocalTensor<uint64_t>& src,
                    const TransDataTo5HDParams& nchwconvParams,
                    const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    std::array<Touch, 2> reads{};
    const BlockList dst_blocks = tensor_addresses("dst", dst, reads[0], where);
    const BlockList src_blocks = tensor_addresses("src", src, reads[1], where);
    trans_data_to_5hd<T>(dst_blocks, src_blocks, nchwconvParams, reads, where);
}

// Lists of another length stop the build with one line at the call.
template <typename T, size_t DstCount, size_t SrcCount>
    requires(DstCount != ubscope_twin::TRANS_LIST || SrcCount != ubscope_twin::TRANS_LIST)
__attribute__((error(UBSCOPE_TWIN_TRANS_LIST_MESSAGE))) void TransDataTo5HD(
    const LocalTensor<T> (&dstList)[DstCount], const LocalTensor<T> (&srcList)[SrcCount], const TransDataTo5HDParams& nchwconvParams,
    const ubscope_twin::Where& where = ubscope_twin::Where::current());

template <typename T, size_t DstCount, size_t SrcCount>
    requires(DstCount != ubscope_twin::TRANS_LIST || SrcCount != ubscope_twin::TRANS_LIST)
__attribute__((error(UBSCOPE_TWIN_TRANS_LIST_MESSAGE))) void TransDataTo5HD(
    const uint64_t (&dstList)[DstCount], const uint64_t (&srcList)[SrcCount], const TransDataTo5HDParams& nchwconvParams,
    const ubscope_twin::Where& where = ubscope_twin::Where::current());

#undef UBSCOPE_TWIN_TRANS_LIST_MESSAGE

}  // namespace AscendC
