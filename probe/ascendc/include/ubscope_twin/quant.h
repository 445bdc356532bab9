// ubscope CPU twin: the high-level quantisation APIs AscendAntiQuant,
// AscendQuant and AscendDequant, for Atlas A2 / A3 (Ascend 910B / 910C).
//
// Written from the public Ascend C API reference (the three functions' pages:
// prototypes, parameter tables, algorithm descriptions, constraints and
// worked examples), not from Huawei's headers. What the pages say, and what
// the twin chooses where they are silent:
//
// - AscendAntiQuant<InputDataType, OutputDataType, isTranspose>: src int8_t
//   or int4b_t, dst / offset / scale half or bfloat16_t. src is [K, N]
//   (isTranspose false) or [N, K] (true), K the parameter k and N the rest of
//   src's elements. PER_CHANNEL: without transpose offset and scale are
//   [K / groupSize, N] and dst[i][j] = scale[i / groupSize][j] *
//   (src[i][j] + offset[i / groupSize][j]); with it they are [N, K /
//   groupSize] and dst[i][j] = scale[i][j / groupSize] * (src[i][j] +
//   offset[i][j / groupSize]); groupSize = K over offset's (or scale's) height
//   (its width with transpose), from AntiQuantShapeInfo or, when that is 0,
//   from the tensor (the twin has no per-tensor ShapeInfo: the height is the
//   tensor's elements over N, the width its elements over N). PER_TENSOR:
//   dst = scale * (src + offset). The forms without offset take offset 0.
//   Numerics as the page's algorithm: for half, src converted to half (exact),
//   the offset added in half, the scale multiplied in half, each step rounded
//   to half (two roundings); for bfloat16_t, src via half to float, offset and
//   scale to float, add and multiply in float, and one rounding to bfloat16_t
//   (round to nearest, ties to even: the page does not name the mode).
//   Misuse the page rules out stops the run with one line: k 0 or not
//   dividing src's elements, K not a multiple of the groups, a shapeInfo
//   width (height with transpose) other than N, and with transpose k x
//   sizeof(InputDataType) not a multiple of 32 B.
// - AscendQuant<T, isReuseSource, config>: src half or float to int8_t.
//   PER_TENSOR: dst = round(src x scale + offset) with float scalars;
//   PER_CHANNEL: src as [m, n] with n = scaleCount, dst[i][j] =
//   round(src[i][j] x scale[j] + offset[j]) (offset a tensor or a scalar).
//   round is round to nearest, ties to even (the page: "四舍六入五成双").
//   Numerics as the page's algorithm: src, scale and offset converted to half
//   when float, the product rounded to half, the sum rounded to half, then
//   the half rounded to int8_t. The page does not say what happens beyond
//   int8_t's range: the twin saturates to [-128, 127], as its Cast does.
//   Misuse stopping the run: calCount beyond src, scaleCount not a multiple
//   of 32 or beyond scaleTensor, offsetCount other than scaleCount, calCount
//   not a multiple of scaleCount. `config` (AscendQuantConfig) only makes
//   the same counts compile-time constants on the device: ignored here.
// - AscendDequant<dstT, scaleT, mode>: src int32_t as [m, n] (DequantParams
//   {m, n, calCount}); the first calCount elements of each row times
//   deqScale[j] (a tensor) or deqScale (a scalar), in float, rounded once to
//   dstT (half, bfloat16_t: ties to even; float: as is). A uint64_t deqScale
//   holds the float in its low 32 bits. dst rows are n rounded up to whole
//   32 B of dstT; the rest of each row (the page: undefined) keeps its bytes
//   here. DEQUANT_WITH_SINGLE_ROW (the default) takes {1, n, calCount} with
//   calCount a multiple of 32 B of dstT and n a multiple of calCount as
//   {n / calCount, calCount, calCount}. Misuse stopping the run: n x 4 B not
//   a multiple of 32 B, calCount 0 or above n, calCount beyond a deqScale
//   tensor, m x n beyond src. The deprecated forms without DequantParams
//   (the CANN 7.0 page's: calCount a multiple of deqScale's elements) are
//   {calCount / deqScale's elements, deqScale's elements, the same}.
//
// Events: one COMPUTE event a call through record_vector, named after the
// API: destination the elements written (AscendDequant: its m rows of n_dst),
// sources src, then the offset and the scale tensors (AscendQuant: scale,
// then offset, its parameter order) when they are tensors, then the
// sharedTmpBuffer when passed (recorded as used, 0 B counted: the twin
// computes without it), so that the scale and offset land in the event's
// second and third source columns. Element size the wider of source and
// destination; operations a element the page's vector steps (AntiQuant:
// convert, add, multiply; Quant: multiply, add, convert, and one more
// conversion for float src; Dequant: convert, multiply, convert).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "ubscope_twin/int4.h"
#include "ubscope_twin/vector.h"
#include "ubscope_twin/vector_extra.h"

namespace AscendC {

struct AntiQuantShapeInfo {
    uint32_t offsetHeight{0};
    uint32_t offsetWidth{0};
    uint32_t scaleHeight{0};
    uint32_t scaleWidth{0};
};

struct AscendQuantConfig {
    uint32_t calcCount = 0;
    uint32_t offsetCount = 0;
    uint32_t scaleCount = 0;
    uint32_t workLocalSize = 0;
};

inline constexpr AscendQuantConfig ASCEND_QUANT_DEFAULT_CFG = {0, 0, 0, 0};

enum class DeQuantMode { DEQUANT_WITH_SINGLE_ROW, DEQUANT_WITH_MULTI_ROW };

struct DequantParams {
    uint32_t m;         // rows of src
    uint32_t n;         // elements a row of src (n x 4 B a multiple of 32 B)
    uint32_t calCount;  // the first calCount of each row are dequantised
};

}  // namespace AscendC

namespace ubscope_twin {

// Element i of an int8_t or int4b_t src, as an integer.
template <typename In>
int32_t quant_source_at(const AscendC::LocalTensor<In>& src, const uint8_t* bytes, int64_t i) {
    if constexpr (is_int4<In>) {
        return int4_at(bytes, i);
    } else {
        (void)src;
        return static_cast<int8_t>(bytes[i]);
    }
}

// ---------------------------------------------------------------- AntiQuant

template <typename In, typename Out>
void antiquant(const AscendC::LocalTensor<Out>& dst, const AscendC::LocalTensor<In>& src,
               const AscendC::LocalTensor<Out>* offset_tensor, const AscendC::LocalTensor<Out>* scale_tensor,
               Out offset_scalar, Out scale_scalar, const AscendC::LocalTensor<uint8_t>* shared_tmp, uint32_t k,
               const AscendC::AntiQuantShapeInfo& shape, bool transpose, const Where& where) {
    static_assert(std::is_same_v<In, int8_t> || is_int4<In>,
                  "AscendAntiQuant: src is int8_t or int4b_t on Atlas A2 / A3");
    static_assert(std::is_same_v<Out, half> || std::is_same_v<Out, bfloat16_t>,
                  "AscendAntiQuant: dst, offset and scale are half or bfloat16_t on Atlas A2 / A3");
    const int64_t total = src.GetSize();
    if (k == 0 || total % k != 0) {
        fail(where, "AscendAntiQuant: k " + std::to_string(k) + " does not divide src's " + std::to_string(total) +
                        " elements");
    }
    if (transpose && bytes_of<In>(k) % 32 != 0) {
        fail(where, "AscendAntiQuant: isTranspose with k " + std::to_string(k) + " (" +
                        std::to_string(bytes_of<In>(k)) + " B) not a multiple of 32 B");
    }
    const int64_t n = total / k;
    const int64_t rows = transpose ? n : k;
    const int64_t cols = transpose ? k : n;
    // Groups along K: the parameter tensors' height (no transpose) or width.
    int64_t groups = 1;
    const AscendC::LocalTensor<Out>* param = offset_tensor != nullptr ? offset_tensor : scale_tensor;
    if (param != nullptr) {
        const uint32_t height = offset_tensor != nullptr ? shape.offsetHeight : shape.scaleHeight;
        const uint32_t width = offset_tensor != nullptr ? shape.offsetWidth : shape.scaleWidth;
        const uint32_t across = transpose ? height : width;  // must be N
        if (across != 0 && across != n) {
            fail(where, std::string("AscendAntiQuant: shapeInfo ") + (transpose ? "height " : "width ") +
                            std::to_string(across) + " is not N = " + std::to_string(n));
        }
        const uint32_t along = transpose ? width : height;
        groups = along != 0 ? along : param->GetSize() / n;
        if (groups == 0 || k % groups != 0) {
            fail(where, "AscendAntiQuant: k " + std::to_string(k) + " is not a multiple of the " +
                            std::to_string(groups) + " groups of offset and scale");
        }
    }
    const int64_t group_size = k / groups;
    const int64_t param_count = groups * n;
    const bool bf16 = std::is_same_v<Out, bfloat16_t>;

    const Touch out = touch(dst, total * int64_t{sizeof(Out)}, where);
    std::array<Touch, 4> ins{};
    size_t nins = 0;
    ins[nins++] = touch(src, bytes_of<In>(total), where);
    if (offset_tensor != nullptr) {
        ins[nins++] = touch(*offset_tensor, param_count * int64_t{sizeof(Out)}, where);
    }
    if (scale_tensor != nullptr) {
        ins[nins++] = touch(*scale_tensor, param_count * int64_t{sizeof(Out)}, where);
    }
    if (shared_tmp != nullptr) {
        ins[nins++] = touch(*shared_tmp, 0, where);
    }
    const uint8_t* in = arena_bytes(src.space(), src.addr(), ins[0].bytes, where);
    const Out* off = offset_tensor != nullptr ? offset_tensor->data(param_count, where) : nullptr;
    const Out* sc = scale_tensor != nullptr ? scale_tensor->data(param_count, where) : nullptr;
    std::vector<Out> result(total);
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            // the parameter's element: [i / groupSize][j] of a [groups, N]
            // tensor, or [i][j / groupSize] of an [N, groups] one
            const int64_t p = transpose ? i * groups + j / group_size : (i / group_size) * n + j;
            const float x = static_cast<float>(quant_source_at(src, in, i * cols + j));
            const float o = float(off != nullptr ? off[p] : offset_scalar);
            const float s = float(sc != nullptr ? sc[p] : scale_scalar);
            if (bf16) {
                result[i * cols + j] = Out(s * (x + o));  // float throughout, rounded once
            } else {
                result[i * cols + j] = Out(float(Out(float(Out(x + o)) * s)));  // each step in half
            }
        }
    }
    std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), result.data(), out.bytes);
    const int64_t steps = offset_tensor != nullptr || float(offset_scalar) != 0.0f ? 3 : 2;
    record_vector("AscendAntiQuant", out, std::span<const Touch>(ins.data(), nins), total, sizeof(Out), steps,
                  where);
}

// ------------------------------------------------------------------- Quant

// A value the device holds in half, rounded to int8_t: ties to even, then
// saturated (the page is silent on saturation).
inline int8_t quant_round(float value) {
    if (std::isnan(value)) {
        return 0;
    }
    const float r = std::nearbyint(value);  // FE_TONEAREST: ties to even
    return static_cast<int8_t>(r > 127.0f ? 127.0f : r < -128.0f ? -128.0f : r);
}

template <typename T>
void quant(const AscendC::LocalTensor<int8_t>& dst, const AscendC::LocalTensor<T>& src,
           const AscendC::LocalTensor<uint8_t>* shared_tmp, const AscendC::LocalTensor<T>* scale_tensor,
           const AscendC::LocalTensor<T>* offset_tensor, float scale_scalar, float offset_scalar,
           uint32_t scale_count, uint32_t offset_count, uint32_t cal_count, const Where& where) {
    static_assert(std::is_same_v<T, half> || std::is_same_v<T, float>,
                  "AscendQuant: src is half or float on Atlas A2 / A3");
    if (cal_count > src.GetSize()) {
        fail(where, "AscendQuant: calCount " + std::to_string(cal_count) + " is beyond srcTensor's " +
                        std::to_string(src.GetSize()) + " elements");
    }
    if (scale_tensor != nullptr) {
        if (scale_count % 32 != 0 || scale_count == 0) {
            fail(where, "AscendQuant: scaleCount " + std::to_string(scale_count) +
                            " is not a positive multiple of 32");
        }
        if (scale_count > scale_tensor->GetSize()) {
            fail(where, "AscendQuant: scaleCount " + std::to_string(scale_count) + " is beyond scaleTensor's " +
                            std::to_string(scale_tensor->GetSize()) + " elements");
        }
        if (offset_tensor != nullptr && offset_count != scale_count) {
            fail(where, "AscendQuant: offsetCount " + std::to_string(offset_count) + " is not scaleCount " +
                            std::to_string(scale_count));
        }
        if (cal_count % scale_count != 0) {
            fail(where, "AscendQuant: calCount " + std::to_string(cal_count) + " is not a multiple of scaleCount " +
                            std::to_string(scale_count));
        }
    }
    const int64_t n = cal_count;
    const Touch out = touch(dst, n, where);
    std::array<Touch, 4> ins{};
    size_t nins = 0;
    ins[nins++] = touch(src, n * int64_t{sizeof(T)}, where);
    if (scale_tensor != nullptr) {
        ins[nins++] = touch(*scale_tensor, int64_t{scale_count} * int64_t{sizeof(T)}, where);
    }
    if (offset_tensor != nullptr) {
        ins[nins++] = touch(*offset_tensor, int64_t{scale_count} * int64_t{sizeof(T)}, where);
    }
    if (shared_tmp != nullptr) {
        ins[nins++] = touch(*shared_tmp, 0, where);
    }
    const T* x = src.data(n, where);
    const T* sc = scale_tensor != nullptr ? scale_tensor->data(scale_count, where) : nullptr;
    const T* off = offset_tensor != nullptr ? offset_tensor->data(scale_count, where) : nullptr;
    std::vector<int8_t> result(n);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t j = sc != nullptr ? i % scale_count : 0;  // the channel: the column of [m, scaleCount]
        const float s = float(half(sc != nullptr ? float(sc[j]) : scale_scalar));
        const float o = float(half(off != nullptr ? float(off[j]) : offset_scalar));
        const float product = float(half(float(half(float(x[i]))) * s));
        result[i] = quant_round(float(half(product + o)));
    }
    std::memcpy(arena_bytes(out.space, out.addr, out.bytes, where), result.data(), out.bytes);
    record_vector("AscendQuant", out, std::span<const Touch>(ins.data(), nins), n, sizeof(T),
                  std::is_same_v<T, float> ? 4 : 3, where);
}

// ----------------------------------------------------------------- Dequant

template <typename T>
constexpr bool is_local_tensor = false;
template <typename T>
constexpr bool is_local_tensor<AscendC::LocalTensor<T>> = true;

// The pages' tables of dst / deqScale types for Atlas A2 / A3.
template <typename D, typename S>
constexpr bool dequant_tensor_types = (std::is_same_v<D, half> && std::is_same_v<S, uint64_t>) ||
                                      (std::is_same_v<D, float> && std::is_same_v<S, float>) ||
                                      (std::is_same_v<D, float> && std::is_same_v<S, bfloat16_t>) ||
                                      (std::is_same_v<D, bfloat16_t> && std::is_same_v<S, bfloat16_t>) ||
                                      (std::is_same_v<D, bfloat16_t> && std::is_same_v<S, float>);
template <typename D, typename S>
constexpr bool dequant_scalar_types = (std::is_same_v<D, bfloat16_t> || std::is_same_v<D, float>) &&
                                      (std::is_same_v<S, bfloat16_t> || std::is_same_v<S, float>);

template <typename S>
float dequant_scale(S value) {
    if constexpr (std::is_same_v<S, uint64_t>) {
        return bits_float(static_cast<uint32_t>(value & 0xffffffffu));  // the float in the low 32 bits
    } else {
        return float(value);
    }
}

template <typename D, typename S>
void dequant(const AscendC::LocalTensor<D>& dst, const AscendC::LocalTensor<int32_t>& src,
             const AscendC::LocalTensor<S>* scale_tensor, S scale_scalar,
             const AscendC::LocalTensor<uint8_t>* shared_tmp, AscendC::DequantParams params,
             AscendC::DeQuantMode mode, const Where& where) {
    if (params.n == 0 || params.n * sizeof(int32_t) % 32 != 0) {
        fail(where, "AscendDequant: DequantParams.n " + std::to_string(params.n) +
                        " x 4 B is not a positive multiple of 32 B");
    }
    if (params.calCount == 0 || params.calCount > params.n) {
        fail(where, "AscendDequant: DequantParams.calCount " + std::to_string(params.calCount) + " outside 1.." +
                        std::to_string(params.n));
    }
    if (scale_tensor != nullptr && params.calCount > scale_tensor->GetSize()) {
        fail(where, "AscendDequant: DequantParams.calCount " + std::to_string(params.calCount) +
                        " is beyond deqScale's " + std::to_string(scale_tensor->GetSize()) + " elements");
    }
    if (int64_t{params.m} * params.n > src.GetSize()) {
        fail(where, "AscendDequant: DequantParams m x n = " + std::to_string(int64_t{params.m} * params.n) +
                        " is beyond srcTensor's " + std::to_string(src.GetSize()) + " elements");
    }
    constexpr int64_t per_block = 32 / sizeof(D);
    if (mode == AscendC::DeQuantMode::DEQUANT_WITH_SINGLE_ROW && params.m == 1 &&
        params.calCount % per_block == 0 && params.n % params.calCount == 0) {
        params = {params.n / params.calCount, params.calCount, params.calCount};
    }
    const int64_t m = params.m;
    const int64_t n = params.n;
    const int64_t count = params.calCount;
    const int64_t n_dst = (n + per_block - 1) / per_block * per_block;  // a row in whole 32 B of D
    const Touch out = touch(dst, m * n_dst * int64_t{sizeof(D)}, where);
    std::array<Touch, 3> ins{};
    size_t nins = 0;
    ins[nins++] = touch(src, m * n * int64_t{sizeof(int32_t)}, where);
    if (scale_tensor != nullptr) {
        ins[nins++] = touch(*scale_tensor, count * int64_t{sizeof(S)}, where);
    }
    if (shared_tmp != nullptr) {
        ins[nins++] = touch(*shared_tmp, 0, where);
    }
    const int32_t* x = src.data(m * n, where);
    const S* sc = scale_tensor != nullptr ? scale_tensor->data(count, where) : nullptr;
    D* y = dst.data(m * n_dst, where);
    std::vector<D> result(m * count);
    for (int64_t r = 0; r < m; ++r) {
        for (int64_t j = 0; j < count; ++j) {
            const float s = dequant_scale(sc != nullptr ? sc[j] : scale_scalar);
            result[r * count + j] = D(static_cast<float>(x[r * n + j]) * s);  // float, rounded once to D
        }
    }
    for (int64_t r = 0; r < m; ++r) {
        std::memcpy(y + r * n_dst, result.data() + r * count, count * sizeof(D));
    }
    record_vector("AscendDequant", out, std::span<const Touch>(ins.data(), nins), m * n, sizeof(int32_t), 3,
                  where);
}

// The deprecated AscendDequant forms: calCount, a multiple of deqScale's
// elements, as DequantParams{calCount / that, that, that}.
template <typename D, typename S>
void dequant_by_count(const AscendC::LocalTensor<D>& dst, const AscendC::LocalTensor<int32_t>& src,
                      const AscendC::LocalTensor<S>& deqScale, const AscendC::LocalTensor<uint8_t>* sharedTmpBuffer,
                      const uint32_t calCount, const Where& where) {
    const uint32_t per = deqScale.GetSize();
    if (per == 0 || calCount % per != 0) {
        fail(where, "AscendDequant: calCount " + std::to_string(calCount) + " is not a multiple of deqScale's " +
                        std::to_string(per) + " elements");
    }
    static_assert(dequant_tensor_types<D, S>, "AscendDequant: dst / deqScale tensor types outside the page's table");
    dequant(dst, src, &deqScale, S{}, sharedTmpBuffer, AscendC::DequantParams{calCount / per, per, per},
            AscendC::DeQuantMode::DEQUANT_WITH_MULTI_ROW, where);
}

}  // namespace ubscope_twin

namespace AscendC {

// ---------------------------------------------------------------- AntiQuant

template <typename InputDataType, typename OutputDataType, bool isTranspose>
void AscendAntiQuant(const LocalTensor<OutputDataType>& dst, const LocalTensor<InputDataType>& src,
                     const LocalTensor<OutputDataType>& offset, const LocalTensor<OutputDataType>& scale,
                     const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t k,
                     const AntiQuantShapeInfo& shapeInfo = {},
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::antiquant(dst, src, &offset, &scale, OutputDataType(0.0f), OutputDataType(1.0f), &sharedTmpBuffer,
                            k, shapeInfo, isTranspose, where);
}

template <typename InputDataType, typename OutputDataType, bool isTranspose>
void AscendAntiQuant(const LocalTensor<OutputDataType>& dst, const LocalTensor<InputDataType>& src,
                     const LocalTensor<OutputDataType>& scale, const LocalTensor<uint8_t>& sharedTmpBuffer,
                     const uint32_t k, const AntiQuantShapeInfo& shapeInfo = {},
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::antiquant(dst, src, static_cast<const LocalTensor<OutputDataType>*>(nullptr), &scale,
                            OutputDataType(0.0f), OutputDataType(1.0f), &sharedTmpBuffer, k, shapeInfo, isTranspose,
                            where);
}

template <typename InputDataType, typename OutputDataType, bool isTranspose>
void AscendAntiQuant(const LocalTensor<OutputDataType>& dst, const LocalTensor<InputDataType>& src,
                     const OutputDataType offset, const OutputDataType scale,
                     const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t k,
                     const AntiQuantShapeInfo& shapeInfo = {},
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::antiquant(dst, src, static_cast<const LocalTensor<OutputDataType>*>(nullptr),
                            static_cast<const LocalTensor<OutputDataType>*>(nullptr), offset, scale,
                            &sharedTmpBuffer, k, shapeInfo, isTranspose, where);
}

template <typename InputDataType, typename OutputDataType, bool isTranspose>
void AscendAntiQuant(const LocalTensor<OutputDataType>& dst, const LocalTensor<InputDataType>& src,
                     const OutputDataType scale, const LocalTensor<uint8_t>& sharedTmpBuffer, const uint32_t k,
                     const AntiQuantShapeInfo& shapeInfo = {},
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::antiquant(dst, src, static_cast<const LocalTensor<OutputDataType>*>(nullptr),
                            static_cast<const LocalTensor<OutputDataType>*>(nullptr), OutputDataType(0.0f), scale,
                            &sharedTmpBuffer, k, shapeInfo, isTranspose, where);
}

template <typename InputDataType, typename OutputDataType, bool isTranspose>
void AscendAntiQuant(const LocalTensor<OutputDataType>& dst, const LocalTensor<InputDataType>& src,
                     const LocalTensor<OutputDataType>& offset, const LocalTensor<OutputDataType>& scale,
                     const uint32_t k, const AntiQuantShapeInfo& shapeInfo = {},
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::antiquant(dst, src, &offset, &scale, OutputDataType(0.0f), OutputDataType(1.0f),
                            static_cast<const LocalTensor<uint8_t>*>(nullptr), k, shapeInfo, isTranspose, where);
}

template <typename InputDataType, typename OutputDataType, bool isTranspose>
void AscendAntiQuant(const LocalTensor<OutputDataType>& dst, const LocalTensor<InputDataType>& src,
                     const OutputDataType offset, const OutputDataType scale, const uint32_t k,
                     const AntiQuantShapeInfo& shapeInfo = {},
                     const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::antiquant(dst, src, static_cast<const LocalTensor<OutputDataType>*>(nullptr),
                            static_cast<const LocalTensor<OutputDataType>*>(nullptr), offset, scale,
                            static_cast<const LocalTensor<uint8_t>*>(nullptr), k, shapeInfo, isTranspose, where);
}

// ------------------------------------------------------------------- Quant

#define UBSCOPE_TWIN_QUANT_TPARAMS \
    template <typename T, bool isReuseSource = false, const AscendQuantConfig& config = ASCEND_QUANT_DEFAULT_CFG>
#define UBSCOPE_TWIN_WHERE const ubscope_twin::Where& where = ubscope_twin::Where::current()

// PER_TENSOR
UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const float scale, const float offset,
                 const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, &sharedTmpBuffer, static_cast<const LocalTensor<T>*>(nullptr),
                        static_cast<const LocalTensor<T>*>(nullptr), scale, offset, 0, 0, calCount, where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const float scale, const float offset,
                 UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, &sharedTmpBuffer, static_cast<const LocalTensor<T>*>(nullptr),
                        static_cast<const LocalTensor<T>*>(nullptr), scale, offset, 0, 0, srcTensor.GetSize(),
                        where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor, const float scale,
                 const float offset, const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr),
                        static_cast<const LocalTensor<T>*>(nullptr), static_cast<const LocalTensor<T>*>(nullptr),
                        scale, offset, 0, 0, calCount, where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor, const float scale,
                 const float offset, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr),
                        static_cast<const LocalTensor<T>*>(nullptr), static_cast<const LocalTensor<T>*>(nullptr),
                        scale, offset, 0, 0, srcTensor.GetSize(), where);
}

// PER_CHANNEL, with sharedTmpBuffer
UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const LocalTensor<T>& scaleTensor,
                 const std::type_identity_t<T> offset, const uint32_t scaleCount, const uint32_t calCount,
                 UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, &sharedTmpBuffer, &scaleTensor,
                        static_cast<const LocalTensor<T>*>(nullptr), 1.0f, float(offset), scaleCount, scaleCount,
                        calCount, where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const LocalTensor<T>& scaleTensor,
                 const LocalTensor<T>& offsetTensor, const uint32_t scaleCount, const uint32_t offsetCount,
                 const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, &sharedTmpBuffer, &scaleTensor, &offsetTensor, 1.0f, 0.0f,
                        scaleCount, offsetCount, calCount, where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const LocalTensor<T>& scaleTensor,
                 const std::type_identity_t<T> offset, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, &sharedTmpBuffer, &scaleTensor,
                        static_cast<const LocalTensor<T>*>(nullptr), 1.0f, float(offset), scaleTensor.GetSize(),
                        scaleTensor.GetSize(), srcTensor.GetSize(), where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<uint8_t>& sharedTmpBuffer, const LocalTensor<T>& scaleTensor,
                 const LocalTensor<T>& offsetTensor, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, &sharedTmpBuffer, &scaleTensor, &offsetTensor, 1.0f, 0.0f,
                        scaleTensor.GetSize(), offsetTensor.GetSize(), srcTensor.GetSize(), where);
}

// PER_CHANNEL, the framework's temporary space
UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<T>& scaleTensor, const std::type_identity_t<T> offset, const uint32_t scaleCount,
                 const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr), &scaleTensor,
                        static_cast<const LocalTensor<T>*>(nullptr), 1.0f, float(offset), scaleCount, scaleCount,
                        calCount, where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<T>& scaleTensor, const LocalTensor<T>& offsetTensor, const uint32_t scaleCount,
                 const uint32_t offsetCount, const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr), &scaleTensor,
                        &offsetTensor, 1.0f, 0.0f, scaleCount, offsetCount, calCount, where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<T>& scaleTensor, const std::type_identity_t<T> offset, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr), &scaleTensor,
                        static_cast<const LocalTensor<T>*>(nullptr), 1.0f, float(offset), scaleTensor.GetSize(),
                        scaleTensor.GetSize(), srcTensor.GetSize(), where);
}

UBSCOPE_TWIN_QUANT_TPARAMS
void AscendQuant(const LocalTensor<int8_t>& dstTensor, const LocalTensor<T>& srcTensor,
                 const LocalTensor<T>& scaleTensor, const LocalTensor<T>& offsetTensor, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::quant(dstTensor, srcTensor, static_cast<const LocalTensor<uint8_t>*>(nullptr), &scaleTensor,
                        &offsetTensor, 1.0f, 0.0f, scaleTensor.GetSize(), offsetTensor.GetSize(),
                        srcTensor.GetSize(), where);
}

#undef UBSCOPE_TWIN_QUANT_TPARAMS

// ----------------------------------------------------------------- Dequant

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor,
                   const LocalTensor<scaleT>& deqScale, const LocalTensor<uint8_t>& sharedTmpBuffer,
                   DequantParams params, UBSCOPE_TWIN_WHERE) {
    static_assert(ubscope_twin::dequant_tensor_types<dstT, scaleT>,
                  "AscendDequant: dst / deqScale tensor types outside the page's table");
    ubscope_twin::dequant(dstTensor, srcTensor, &deqScale, scaleT{}, &sharedTmpBuffer, params, mode, where);
}

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor,
                   const LocalTensor<scaleT>& deqScale, DequantParams params, UBSCOPE_TWIN_WHERE) {
    static_assert(ubscope_twin::dequant_tensor_types<dstT, scaleT>,
                  "AscendDequant: dst / deqScale tensor types outside the page's table");
    ubscope_twin::dequant(dstTensor, srcTensor, &deqScale, scaleT{}, static_cast<const LocalTensor<uint8_t>*>(nullptr),
                          params, mode, where);
}

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
    requires(!ubscope_twin::is_local_tensor<scaleT>)
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor, const scaleT deqScale,
                   const LocalTensor<uint8_t>& sharedTmpBuffer, DequantParams params, UBSCOPE_TWIN_WHERE) {
    static_assert(ubscope_twin::dequant_scalar_types<dstT, scaleT>,
                  "AscendDequant: dst / deqScale scalar types outside the page's table");
    ubscope_twin::dequant(dstTensor, srcTensor, static_cast<const LocalTensor<scaleT>*>(nullptr), deqScale,
                          &sharedTmpBuffer, params, mode, where);
}

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
    requires(!ubscope_twin::is_local_tensor<scaleT>)
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor, const scaleT deqScale,
                   DequantParams params, UBSCOPE_TWIN_WHERE) {
    static_assert(ubscope_twin::dequant_scalar_types<dstT, scaleT>,
                  "AscendDequant: dst / deqScale scalar types outside the page's table");
    ubscope_twin::dequant(dstTensor, srcTensor, static_cast<const LocalTensor<scaleT>*>(nullptr), deqScale,
                          static_cast<const LocalTensor<uint8_t>*>(nullptr), params, mode, where);
}

// The deprecated forms (not to be used in new code, as the page says).
template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor,
                   const LocalTensor<scaleT>& deqScale, const LocalTensor<uint8_t>& sharedTmpBuffer,
                   const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::dequant_by_count(dstTensor, srcTensor, deqScale, &sharedTmpBuffer, calCount, where);
}

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor,
                   const LocalTensor<scaleT>& deqScale, const LocalTensor<uint8_t>& sharedTmpBuffer,
                   UBSCOPE_TWIN_WHERE) {
    ubscope_twin::dequant_by_count(dstTensor, srcTensor, deqScale, &sharedTmpBuffer, srcTensor.GetSize(), where);
}

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor,
                   const LocalTensor<scaleT>& deqScale, const uint32_t calCount, UBSCOPE_TWIN_WHERE) {
    ubscope_twin::dequant_by_count(dstTensor, srcTensor, deqScale, static_cast<const LocalTensor<uint8_t>*>(nullptr),
                                   calCount, where);
}

template <typename dstT, typename scaleT, DeQuantMode mode = DeQuantMode::DEQUANT_WITH_SINGLE_ROW>
void AscendDequant(const LocalTensor<dstT>& dstTensor, const LocalTensor<int32_t>& srcTensor,
                   const LocalTensor<scaleT>& deqScale, UBSCOPE_TWIN_WHERE) {
    AscendDequant<dstT, scaleT, mode>(dstTensor, srcTensor, deqScale, srcTensor.GetSize(), where);
}

#undef UBSCOPE_TWIN_WHERE

}  // namespace AscendC
