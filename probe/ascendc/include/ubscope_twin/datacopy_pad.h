// ubscope CPU twin: DataCopyPad (byte-exact GM <-> UB copies) and TQueBind.
//
// As ubscope.probe.memory.datacopy.data_copy_pad: blockLen is in bytes and
// moves exactly, so the event is flagged PADDED and never TRUNCATED. Strides
// on the GM side are in bytes, on the on-chip side in 32 B DataBlocks. GM->UB
// writes each row as leftPadding elements, blockLen bytes of data, rightPadding
// elements, then dummy bytes up to the next 32 B boundary; with isPad the
// padding and the dummy bytes hold paddingValue, without it they are left as
// they were (the device leaves them unspecified). UB->GM writes blockLen bytes
// per row and nothing else. Parameters outside the device's ranges are flagged
// PARAM_RANGE (see datacopy.h) and the copy is performed as written.
#pragma once

#include "ubscope_twin/datacopy.h"

namespace AscendC {

struct DataCopyExtParams {
    uint16_t blockCount = 0;
    uint32_t blockLen = 0;  // in bytes
    uint32_t srcStride = 0;  // GM: bytes; UB: 32 B DataBlocks
    uint32_t dstStride = 0;
    uint32_t rsv = 0;
    DataCopyExtParams() = default;
    DataCopyExtParams(uint16_t count, uint32_t len, uint32_t src_stride, uint32_t dst_stride,
                      uint32_t reserved = 0)
        : blockCount(count), blockLen(len), srcStride(src_stride), dstStride(dst_stride),
          rsv(reserved) {}
};

template <typename T>
struct DataCopyPadExtParams {
    bool isPad = false;
    uint8_t leftPadding = 0;  // in elements
    uint8_t rightPadding = 0;
    T paddingValue = 0;
    DataCopyPadExtParams() = default;
    DataCopyPadExtParams(bool pad, uint8_t left, uint8_t right, T value)
        : isPad(pad), leftPadding(left), rightPadding(right), paddingValue(value) {}
};

struct DataCopyPadParams {
    bool isPad = false;
    uint8_t leftPadding = 0;
    uint8_t rightPadding = 0;
    uint64_t paddingValue = 0;
    DataCopyPadParams() = default;
    DataCopyPadParams(bool pad, uint8_t left, uint8_t right, uint64_t value)
        : isPad(pad), leftPadding(left), rightPadding(right), paddingValue(value) {}
};

// VECIN->VECOUT passthrough: one set of UB blocks that a tensor enters as
// VECIN and leaves as VECOUT; queued, limited and recorded as the source
// position's TQue (TPipe::InitBuffer deduces it through the base).
template <TPosition src, TPosition dst, int32_t depth>
class TQueBind : public TQue<src, depth> {};

}  // namespace AscendC

namespace ubscope_twin {

inline int64_t round_up_block(int64_t nbytes) {
    return (nbytes + DATA_BLOCK - 1) / DATA_BLOCK * DATA_BLOCK;
}

// DataCopyPad (asc-devkit dav_c220 CheckDataCopyPadParams): blockCount
// 0..4095, blockLen 0..2,097,151 B (21 bits) and, GM -> UB, whole elements;
// leftPadding / rightPadding at most 32 B of elements each (asc-tools
// kernel_data_copy_pad_check.cpp). The gaps, uint16 or uint32 fields, cannot
// leave their range.
inline int64_t data_copy_pad_out_of_range(int64_t rows, int64_t block_len, int64_t item,
                                          bool to_local, int64_t left, int64_t right) {
    const int64_t pad_limit = DATA_BLOCK / item;
    int64_t bad = outside(rows, 0, 4095, PARAM_BLOCK_COUNT) |
                  outside(block_len, 0, (int64_t{1} << 21) - 1, PARAM_BLOCK_LEN) |
                  outside(left, 0, pad_limit, PARAM_LEFT_PADDING) |
                  outside(right, 0, pad_limit, PARAM_RIGHT_PADDING);
    if (to_local && block_len % item) {
        bad |= PARAM_BLOCK_LEN;
    }
    return bad;
}

template <typename T>
void copy_pad_in(const AscendC::GlobalTensor<T>& gm, const AscendC::LocalTensor<T>& local,
                 int64_t rows, int64_t block_len, int64_t gm_gap, int64_t chip_gap_blocks,
                 int64_t left, int64_t right, bool is_pad, T value, const Where& where) {
    constexpr int64_t item = sizeof(T);
    const int64_t lead = left * item;
    const int64_t chip_row = round_up_block(lead + block_len + right * item);
    const int64_t pitch = chip_row + chip_gap_blocks * DATA_BLOCK;
    uint8_t* onchip = arena_bytes(local.space(), local.addr(),
                                  rows ? (rows - 1) * pitch + chip_row : 0, where);
    transfer(gm, local, true, rows, block_len, block_len + gm_gap, pitch, rows * block_len, where,
             PADDED, data_copy_pad_out_of_range(rows, block_len, item, true, left, right));
    for (int64_t row = 0; row < rows; ++row) {
        uint8_t* at = onchip + row * pitch;
        std::memmove(at + lead, at, block_len);
        if (is_pad) {
            for (int64_t b = 0; b < chip_row; b += item) {
                if (b < lead || b >= lead + block_len) {
                    std::memcpy(at + b, &value, item);
                }
            }
        }
    }
}

template <typename T>
void copy_pad_out(const AscendC::GlobalTensor<T>& gm, const AscendC::LocalTensor<T>& local,
                  int64_t rows, int64_t block_len, int64_t chip_gap_blocks, int64_t gm_gap,
                  const Where& where) {
    const int64_t pitch = round_up_block(block_len) + chip_gap_blocks * DATA_BLOCK;
    transfer(gm, local, false, rows, block_len, block_len + gm_gap, pitch, rows * block_len, where,
             PADDED, data_copy_pad_out_of_range(rows, block_len, sizeof(T), false, 0, 0));
}

}  // namespace ubscope_twin

namespace AscendC {

template <typename T>
void DataCopyPad(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyExtParams& p,
                 const DataCopyPadExtParams<T>& pad,
                 const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_pad_in(src, dst, p.blockCount, p.blockLen, p.srcStride, p.dstStride,
                              pad.leftPadding, pad.rightPadding, pad.isPad, pad.paddingValue, where);
}

template <typename T>
void DataCopyPad(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyExtParams& p,
                 const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_pad_out(dst, src, p.blockCount, p.blockLen, p.srcStride, p.dstStride, where);
}

template <typename T>
void DataCopyPad(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyParams& p,
                 const DataCopyPadParams& pad,
                 const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_pad_in(src, dst, p.blockCount, p.blockLen, p.srcStride, p.dstStride,
                              pad.leftPadding, pad.rightPadding, pad.isPad,
                              static_cast<T>(pad.paddingValue), where);
}

template <typename T>
void DataCopyPad(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& p,
                 const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_pad_out(dst, src, p.blockCount, p.blockLen, p.srcStride, p.dstStride, where);
}

}  // namespace AscendC
