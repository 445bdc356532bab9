"""The twin's quantisation APIs (high level): AscendAntiQuant (int8_t and int4b_t
to half, int8_t to bfloat16_t; per channel with and without transpose, per
tensor), AscendQuant (half / float to int8_t, per tensor and per channel:
rounding ties to even, saturation) and AscendDequant (int32_t to float / half,
tensor and scalar deqScale, both row modes), each against a numpy oracle written
from the pages' formulas; one event of each worked out by hand; misuse the pages
rule out stops the run at its line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
K, N, G = 64, 32, 2  # AntiQuant: src [K, N] (or [N, K] transposed), 2 groups along K
KN = K * N
M, C = 4, 32  # Quant: src [M, C], C channels
DM, DN = 4, 8  # Dequant: src int32 [DM, DN] (8 x 4 B: one 32 B row)

# AntiQuant: w8 int8 [K, N], w4 the same shape packed as int4b_t; off / sc the
# half parameters ([G, N], or [N, G] transposed: 64 elements either way), offb /
# scb the same as bfloat16_t bits. za: five half sections of K x N (per channel
# with sharedTmpBuffer, transposed without it, per tensor, int4 per channel,
# per channel without offset); zb: the bfloat16_t section.
# Quant: h / f the half and float src [M, C], sh / sf the scale tensors, of the
# float offset tensor; e the half edge values; zq: four int8 sections of M x C.
# Dequant: d int32 [DM, DN], ds float deqScale, du uint64 deqScale; zd four float
# sections of DM x DN (-1 first: what a call leaves shows), zdh half [DM, 16].
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr uint32_t K = {K}, N = {N}, G = {G}, KN = K * N, M = {M}, C = {C}, MC = M * C;
constexpr uint32_t DM = {DM}, DN = {DN}, DMN = DM * DN;
extern "C" __global__ __aicore__ void quant(GM_ADDR w8, GM_ADDR w4, GM_ADDR off, GM_ADDR sc, GM_ADDR offb,
                                            GM_ADDR scb, GM_ADDR h, GM_ADDR f, GM_ADDR sh, GM_ADDR sf,
                                            GM_ADDR of, GM_ADDR e, GM_ADDR d, GM_ADDR ds, GM_ADDR du,
                                            GM_ADDR za, GM_ADDR zb, GM_ADDR zq, GM_ADDR zd, GM_ADDR zdh) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> b8, b4, bo, bs, bob, bsb, btmp, bza, bzb;
    TBuf<QuePosition::VECCALC> bh, bf, bsh, bsf, bof, be, bzq, bd, bds, bdu, bzd, bzdh;
    GlobalTensor<int8_t> w8Gm, w4Gm, eGm, zqGm;
    GlobalTensor<half> offGm, scGm, hGm, shGm, zaGm, eHGm, zdhGm;
    GlobalTensor<bfloat16_t> offbGm, scbGm, zbGm;
    GlobalTensor<float> fGm, sfGm, ofGm, dsGm, zdGm;
    GlobalTensor<int32_t> dGm;
    GlobalTensor<uint64_t> duGm;
    w8Gm.SetGlobalBuffer((__gm__ int8_t*)w8, KN);
    w4Gm.SetGlobalBuffer((__gm__ int8_t*)w4, KN / 2);
    offGm.SetGlobalBuffer((__gm__ half*)off, G * N);
    scGm.SetGlobalBuffer((__gm__ half*)sc, G * N);
    offbGm.SetGlobalBuffer((__gm__ bfloat16_t*)offb, G * N);
    scbGm.SetGlobalBuffer((__gm__ bfloat16_t*)scb, G * N);
    hGm.SetGlobalBuffer((__gm__ half*)h, MC);
    fGm.SetGlobalBuffer((__gm__ float*)f, MC);
    shGm.SetGlobalBuffer((__gm__ half*)sh, C);
    sfGm.SetGlobalBuffer((__gm__ float*)sf, C);
    ofGm.SetGlobalBuffer((__gm__ float*)of, C);
    eHGm.SetGlobalBuffer((__gm__ half*)e, MC);
    dGm.SetGlobalBuffer((__gm__ int32_t*)d, DMN);
    dsGm.SetGlobalBuffer((__gm__ float*)ds, DN);
    duGm.SetGlobalBuffer((__gm__ uint64_t*)du, DN);
    zaGm.SetGlobalBuffer((__gm__ half*)za, 5 * KN);
    zbGm.SetGlobalBuffer((__gm__ bfloat16_t*)zb, KN);
    zqGm.SetGlobalBuffer((__gm__ int8_t*)zq, 4 * MC);
    zdGm.SetGlobalBuffer((__gm__ float*)zd, 4 * DMN);
    zdhGm.SetGlobalBuffer((__gm__ half*)zdh, DM * 16);
    pipe.InitBuffer(b8, KN);
    pipe.InitBuffer(b4, KN / 2);
    pipe.InitBuffer(bo, G * N * sizeof(half));
    pipe.InitBuffer(bs, G * N * sizeof(half));
    pipe.InitBuffer(bob, G * N * sizeof(half));
    pipe.InitBuffer(bsb, G * N * sizeof(half));
    pipe.InitBuffer(btmp, 1024);
    pipe.InitBuffer(bza, 5 * KN * sizeof(half));
    pipe.InitBuffer(bzb, KN * sizeof(half));
    pipe.InitBuffer(bh, MC * sizeof(half));
    pipe.InitBuffer(bf, MC * sizeof(float));
    pipe.InitBuffer(bsh, C * sizeof(half));
    pipe.InitBuffer(bsf, C * sizeof(float));
    pipe.InitBuffer(bof, C * sizeof(float));
    pipe.InitBuffer(be, MC * sizeof(half));
    pipe.InitBuffer(bzq, 4 * MC);
    pipe.InitBuffer(bd, DMN * sizeof(int32_t));
    pipe.InitBuffer(bds, DN * sizeof(float));
    pipe.InitBuffer(bdu, DN * sizeof(uint64_t));
    pipe.InitBuffer(bzd, 4 * DMN * sizeof(float));
    pipe.InitBuffer(bzdh, DM * 16 * sizeof(half));
    LocalTensor<int8_t> a8 = b8.Get<int8_t>(), a4bytes = b4.Get<int8_t>(), q = bzq.Get<int8_t>();
    LocalTensor<half> o = bo.Get<half>(), s = bs.Get<half>(), ya = bza.Get<half>();
    LocalTensor<bfloat16_t> ob = bob.Get<bfloat16_t>(), sb = bsb.Get<bfloat16_t>(), yb = bzb.Get<bfloat16_t>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    LocalTensor<half> xh = bh.Get<half>(), sh1 = bsh.Get<half>(), edge = be.Get<half>(), ydh = bzdh.Get<half>();
    LocalTensor<float> xf = bf.Get<float>(), sf1 = bsf.Get<float>(), of1 = bof.Get<float>();
    LocalTensor<int32_t> xd = bd.Get<int32_t>();
    LocalTensor<float> dsc = bds.Get<float>(), yd = bzd.Get<float>();
    LocalTensor<uint64_t> dsu = bdu.Get<uint64_t>();
    DataCopy(a8, w8Gm, KN);
    DataCopy(a4bytes, w4Gm, KN / 2);
    DataCopy(o, offGm, G * N);
    DataCopy(s, scGm, G * N);
    DataCopy(ob, offbGm, G * N);
    DataCopy(sb, scbGm, G * N);
    DataCopy(xh, hGm, MC);
    DataCopy(xf, fGm, MC);
    DataCopy(sh1, shGm, C);
    DataCopy(sf1, sfGm, C);
    DataCopy(of1, ofGm, C);
    DataCopy(edge, eHGm, MC);
    DataCopy(xd, dGm, DMN);
    DataCopy(dsc, dsGm, DN);
    DataCopy(dsu, duGm, DN);
    Duplicate(yd, -1.0f, 4 * DMN);
    Duplicate(ydh, half(-1.0f), DM * 16);
    LocalTensor<int4b_t> a4 = a4bytes.ReinterpretCast<int4b_t>();
    AntiQuantShapeInfo rows{{G, N, G, N}};
    AntiQuantShapeInfo cols{{N, G, N, G}};
    AscendAntiQuant<int8_t, half, false>(ya, a8, o, s, tmp, K, rows);  // ANTI_CHANNEL
    AscendAntiQuant<int8_t, half, true>(ya[KN], a8, o, s, K, cols);  // ANTI_TRANSPOSED
    AscendAntiQuant<int8_t, half, false>(ya[2 * KN], a8, half(-3.0f), half(0.375f), tmp, K);
    AscendAntiQuant<int4b_t, half, false>(ya[3 * KN], a4, o, s, tmp, K);
    AscendAntiQuant<int8_t, half, false>(ya[4 * KN], a8, s, tmp, K, rows);
    AscendAntiQuant<int8_t, bfloat16_t, false>(yb, a8, ob, sb, tmp, K, rows);
#ifdef BAD_GROUPS
    AscendAntiQuant<int8_t, half, false>(ya, a8, o, s, tmp, K, AntiQuantShapeInfo{{3, N, 3, N}});
#endif
    AscendQuant<half>(q, edge, 1.0f, 0.0f, MC);  // QUANT_EDGE
    AscendQuant<float>(q[MC], xf, tmp, 2.0f, 0.9f);
    AscendQuant<half>(q[2 * MC], xh, tmp, sh1, half(0.5f), C, MC);  // QUANT_CHANNEL
    AscendQuant<float>(q[3 * MC], xf, sf1, of1, C, C, MC);
#ifdef BAD_CALCOUNT
    AscendQuant<half>(q, edge, 1.0f, 0.0f, 2 * MC);
#endif
#ifdef BAD_SCALECOUNT
    AscendQuant<half>(q, xh, sh1, half(0.5f), 16, MC);
#endif
    AscendDequant<float, float>(yd, xd, dsc, tmp, {{DM, DN, 4}});  // DEQUANT_TENSOR
    AscendDequant<float, float>(yd[DMN], xd, 0.25f, {{DM, DN, DN}});
    AscendDequant<float, float>(yd[2 * DMN], xd, dsc, {{1, DMN, DN}});
    AscendDequant<float, float, DeQuantMode::DEQUANT_WITH_MULTI_ROW>(yd[3 * DMN], xd, dsc, {{1, DMN, DN}});
    AscendDequant<half, uint64_t>(ydh, xd, dsu, tmp, {{DM, DN, DN}});  // DEQUANT_HALF
#ifdef BAD_DEQ_COUNT
    AscendDequant<float, float>(yd, xd, dsc, {{DM, DN, 9}});
#endif
    DataCopy(zaGm, ya, 5 * KN);
    DataCopy(zbGm, yb, KN);
    DataCopy(zqGm, q, 4 * MC);
    DataCopy(zdGm, yd, 4 * DMN);
    DataCopy(zdhGm, ydh, DM * 16);
}}
"""

# Where each buffer lies in UB (from 0, one after another, all whole 32 B
# blocks): w8 2048 B at 0, w4 1024 B at 2048, off 128 B at 3072, sc 128 B at
# 3200, offb at 3328, scb at 3456, tmp 1024 B at 3584, za 5 x 4096 B at 4608.
UB_SRC, UB_OFF, UB_SC, UB_TMP, UB_ZA = 0, 3072, 3200, 3584, 4608


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 to bfloat16 bits, round to nearest, ties to even."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def _bf16_value(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _edges() -> np.ndarray:
    """Half src values for AscendQuant with scale 1, offset 0: ties (to even),
    near ties, and values past int8_t's range (-128.6 is -128.625 in half)."""
    e = np.zeros(M * C, np.float16)
    special = [
        127.5,
        -128.6,
        2.5,
        3.5,
        -2.5,
        0.5,
        1.5,
        -0.5,
        126.5,
        -127.5,
        300,
        -300,
        2.49,
        -3.51,
        128,
        -129,
    ]
    e[: len(special)] = special
    e[len(special) :] = np.random.default_rng(3).uniform(-140, 140, M * C - len(special))
    return e


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    w8 = rng.integers(-128, 128, KN).astype(np.int8)
    w4 = rng.integers(0, 256, KN // 2).astype(np.uint8)
    off = rng.integers(-16, 16, G * N).astype(np.float16) / np.float16(4)  # quarters: exact sums
    sc = rng.uniform(0.01, 0.2, G * N).astype(np.float16)
    return {
        "w8": w8,
        "w4": w4,
        "off": off,
        "sc": sc,
        "offb": _bf16_bits(off.astype(np.float32)),
        "scb": _bf16_bits(rng.uniform(0.01, 0.2, G * N).astype(np.float32)),
        "h": rng.uniform(-40, 40, M * C).astype(np.float16),
        "f": rng.uniform(-40, 40, M * C).astype(np.float32),
        "sh": rng.uniform(0.5, 4, C).astype(np.float16),
        "sf": rng.uniform(0.5, 4, C).astype(np.float32),
        "of": rng.uniform(-3, 3, C).astype(np.float32),
        "e": _edges(),
        "d": rng.integers(-1000, 1000, DM * DN).astype(np.int32),
        "ds": rng.uniform(-2, 2, DN).astype(np.float32),
        # the float in the low 32 bits; the high 32 bits (control fields) are not used
        "du": rng.uniform(-2, 2, DN).astype(np.float32).view(np.uint32).astype(np.uint64)
        | (np.uint64(0x5A) << 32),
    }


def _outputs() -> dict[str, np.ndarray]:
    return {
        "za": np.zeros(5 * KN, np.float16),
        "zb": np.zeros(KN, np.uint16),
        "zq": np.zeros(4 * M * C, np.int8),
        "zd": np.zeros(4 * DM * DN, np.float32),
        "zdh": np.zeros(DM * 16, np.float16),
    }


@pytest.fixture(scope="module")
def quant_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("quant")
    source = folder / "quant.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "quant.ubtrace"
    done = run_ascendc(source, "quant", 1, inputs, _outputs(), CHIP, trace)
    return inputs, done.outputs, read_trace(trace).events


def _unpack_int4(packed: np.ndarray) -> np.ndarray:
    low, high = packed & 0xF, packed >> 4
    nibbles = np.stack([low, high], axis=1).ravel().astype(np.int16)
    return ((nibbles ^ 8) - 8).astype(np.int8)


def _antiquant_half(x: np.ndarray, off: np.ndarray, sc: np.ndarray) -> np.ndarray:
    """The page's half path: src to half (exact), + offset rounded to half,
    x scale rounded to half. In float64 both steps are exact before their one
    rounding (an int8 plus a quarter; a product of two halves, 22 bits), so
    this is the documented result, at most two half roundings (each half an
    ulp) from the real scale x (src + offset)."""
    t = (x.astype(np.float64) + off.astype(np.float64)).astype(np.float16)
    return (t.astype(np.float64) * sc.astype(np.float64)).astype(np.float16)


def test_antiquant_per_channel_along_k_both_layouts(quant_run) -> None:
    inputs, out, _ = quant_run
    za = out["za"].reshape(5, KN)
    x = inputs["w8"].reshape(K, N)
    off, sc = inputs["off"], inputs["sc"]
    # no transpose: [K, N], parameters [G, N]; row i uses group i // (K / G)
    rows = np.arange(K) // (K // G)
    want = _antiquant_half(x, off.reshape(G, N)[rows], sc.reshape(G, N)[rows])
    np.testing.assert_array_equal(za[0].reshape(K, N), want)
    # transposed: the same bytes as [N, K], parameters [N, G]; column j uses j // (K / G)
    xt = inputs["w8"].reshape(N, K)
    colg = np.arange(K) // (K // G)
    want_t = _antiquant_half(xt, off.reshape(N, G)[:, colg], sc.reshape(N, G)[:, colg])
    np.testing.assert_array_equal(za[1].reshape(N, K), want_t)
    # the real value is within two half roundings: |err| <= 2^-11 |scale (src + off)| x 2 (+ tiny)
    exact = (x.astype(np.float64) + off.reshape(G, N)[rows]) * sc.reshape(G, N)[rows]
    assert (np.abs(za[0].reshape(K, N) - exact) <= 2 * 2.0**-11 * np.abs(exact) + 2.0**-24).all()


def test_antiquant_per_tensor_int4_and_without_offset(quant_run) -> None:
    inputs, out, _ = quant_run
    za = out["za"].reshape(5, KN)
    x = inputs["w8"].reshape(K, N)
    off, sc = inputs["off"].reshape(G, N), inputs["sc"].reshape(G, N)
    rows = np.arange(K) // (K // G)
    np.testing.assert_array_equal(
        za[2], _antiquant_half(inputs["w8"], np.float16(-3), np.float16(0.375))
    )
    x4 = _unpack_int4(inputs["w4"]).reshape(K, N)
    np.testing.assert_array_equal(za[3].reshape(K, N), _antiquant_half(x4, off[rows], sc[rows]))
    np.testing.assert_array_equal(za[4].reshape(K, N), _antiquant_half(x, np.float16(0), sc[rows]))


def test_antiquant_bfloat16_computes_in_float(quant_run) -> None:
    """The page's bfloat16 path: src via half to float, offset and scale to
    float, add and multiply in float (the sum of an int8 and a bfloat16 is
    exact in float; the product rounds once to float), one rounding to
    bfloat16 (ties to even)."""
    inputs, out, _ = quant_run
    x = inputs["w8"].reshape(K, N).astype(np.float32)
    rows = np.arange(K) // (K // G)
    off = _bf16_value(inputs["offb"]).reshape(G, N)[rows]
    sc = _bf16_value(inputs["scb"]).reshape(G, N)[rows]
    want = _bf16_bits((x + off) * sc)
    np.testing.assert_array_equal(out["zb"].reshape(K, N), want)


def _quant(x: np.ndarray, scale: np.ndarray | float, offset: np.ndarray | float) -> np.ndarray:
    """The page's steps: src, scale, offset to half; the product rounded to
    half, the sum rounded to half (float64 is exact for both before the one
    rounding at these magnitudes), then round to nearest, ties to even, and
    (the twin's choice where the page is silent) saturate to int8_t."""
    h = np.asarray(x).astype(np.float16).astype(np.float64)
    s = np.asarray(scale, np.float32).astype(np.float16).astype(np.float64)
    o = np.asarray(offset, np.float32).astype(np.float16).astype(np.float64)
    p = (h * s).astype(np.float16).astype(np.float64)
    v = (p + o).astype(np.float16).astype(np.float64)
    return np.clip(np.rint(v), -128, 127).astype(np.int8)


def test_quant_rounds_ties_to_even_and_saturates(quant_run) -> None:
    inputs, out, _ = quant_run
    zq = out["zq"].reshape(4, M * C)
    # by hand: 127.5 -> 128 -> 127; -128.625 -> -129 -> -128; ties to even
    assert list(zq[0][:16]) == [
        127,
        -128,
        2,
        4,
        -2,
        0,
        2,
        0,
        126,
        -128,
        127,
        -128,
        2,
        -4,
        127,
        -128,
    ]
    np.testing.assert_array_equal(zq[0], _quant(inputs["e"], 1.0, 0.0))
    np.testing.assert_array_equal(zq[1], _quant(inputs["f"], 2.0, 0.9))


def test_quant_per_channel_scale_and_offset(quant_run) -> None:
    inputs, out, _ = quant_run
    zq = out["zq"].reshape(4, M, C)
    h = inputs["h"].reshape(M, C)
    np.testing.assert_array_equal(zq[2], _quant(h, inputs["sh"][None, :].astype(np.float32), 0.5))
    f = inputs["f"].reshape(M, C)
    np.testing.assert_array_equal(zq[3], _quant(f, inputs["sf"][None, :], inputs["of"][None, :]))


def test_dequant_rows_scales_and_modes(quant_run) -> None:
    """dst = float(src) x deqScale in float (exact for these small ints up to
    one float rounding, as numpy's float32 product), rounded once to dstT."""
    inputs, out, _ = quant_run
    zd = out["zd"].reshape(4, DM, DN)
    x = inputs["d"].reshape(DM, DN).astype(np.float32)
    ds = inputs["ds"]
    # calCount 4: the first 4 columns, the rest of each row kept (-1)
    np.testing.assert_array_equal(zd[0][:, :4], x[:, :4] * ds[:4])
    assert (zd[0][:, 4:] == -1).all()
    np.testing.assert_array_equal(zd[1], x * np.float32(0.25))
    # {1, 32, 8} with SINGLE_ROW: as {4, 8, 8}; with MULTI_ROW: the first 8 only
    np.testing.assert_array_equal(zd[2], x * ds)
    np.testing.assert_array_equal(zd[3].ravel()[:DN], x.ravel()[:DN] * ds)
    assert (zd[3].ravel()[DN:] == -1).all()
    # half dst: rows of 8 padded to 16 (32 B); uint64 scale read from its low 32 bits
    dsu = (inputs["du"] & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    zdh = out["zdh"].reshape(DM, 16)
    np.testing.assert_array_equal(zdh[:, :DN], (x * dsu).astype(np.float16))
    assert (zdh[:, DN:] == -1).all()


# The four deprecated AscendDequant forms (a count instead of DequantParams):
# d int32 [DM, DN], ds float deqScale [DN]; z four float sections of DM x DN.
DEPRECATED_KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr uint32_t DN = {DN}, DMN = {DM * DN};
extern "C" __global__ __aicore__ void olddeq(GM_ADDR d, GM_ADDR ds, GM_ADDR z) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bd, bs, bt, bz;
    GlobalTensor<int32_t> dGm;
    GlobalTensor<float> sGm, zGm;
    dGm.SetGlobalBuffer((__gm__ int32_t*)d, DMN);
    sGm.SetGlobalBuffer((__gm__ float*)ds, DN);
    zGm.SetGlobalBuffer((__gm__ float*)z, 4 * DMN);
    pipe.InitBuffer(bd, DMN * sizeof(int32_t));
    pipe.InitBuffer(bs, DN * sizeof(float));
    pipe.InitBuffer(bt, 1024);
    pipe.InitBuffer(bz, 4 * DMN * sizeof(float));
    LocalTensor<int32_t> x = bd.Get<int32_t>();
    LocalTensor<float> s = bs.Get<float>(), y = bz.Get<float>();
    LocalTensor<uint8_t> tmp = bt.Get<uint8_t>();
    DataCopy(x, dGm, DMN);
    DataCopy(s, sGm, DN);
    Duplicate(y, -1.0f, 4 * DMN);
    AscendDequant<float, float>(y, x, s, tmp, DMN);
    AscendDequant<float, float>(y[DMN], x, s, tmp);
    AscendDequant<float, float>(y[2 * DMN], x, s, 2 * DN);
    AscendDequant<float, float>(y[3 * DMN], x, s);
    DataCopy(zGm, y, 4 * DMN);
}}
"""


def test_deprecated_dequant_forms_take_the_count_as_rows(tmp_path: Path) -> None:
    """A count that is a multiple of deqScale's DN elements is count / DN rows
    of DN, each dst = float(src) x deqScale[column] in float (numpy's float32
    product: one rounding); no count: all of src."""
    source = tmp_path / "olddeq.cpp"
    source.write_text(DEPRECATED_KERNEL)
    rng = np.random.default_rng(11)
    d = rng.integers(-1000, 1000, DM * DN).astype(np.int32)
    ds = rng.uniform(-2, 2, DN).astype(np.float32)
    done = run_ascendc(
        source, "olddeq", 1, {"d": d, "ds": ds}, {"z": np.zeros(4 * DM * DN, np.float32)}, CHIP
    )
    z = done.outputs["z"].reshape(4, DM, DN)
    want = d.reshape(DM, DN).astype(np.float32) * ds
    np.testing.assert_array_equal(z[0], want)
    np.testing.assert_array_equal(z[1], want)
    np.testing.assert_array_equal(z[2][:2], want[:2])  # 2 x DN: the first two rows
    assert (z[2][2:] == -1).all()
    np.testing.assert_array_equal(z[3], want)


def _event(events, marker: str):
    tag = f"quant.cpp:{line_of(KERNEL, marker)}"
    (event,) = events[(events.tag == tag) & (events["name"] != "DataCopy")].itertuples()
    return event


def test_antiquant_event_by_hand(quant_run) -> None:
    *_, events = quant_run
    e = _event(events, "ANTI_CHANNEL")
    assert e.name == "AscendAntiQuant"
    # dst za (4608): 2048 halves = 4096 B. Sources: src (0, 2048 B), offset
    # (3072, 2 x 32 halves = 128 B), scale (3200, 128 B), tmp (3584, 0 B):
    # 4096 + 2048 + 128 + 128 = 6400 B touched. Three steps (convert, add,
    # multiply) a element: 3 x 2048.
    assert (e.space, e.addr, e.src_addr, e.arg2, e.burst_len) == (
        "UB",
        UB_ZA,
        UB_SRC,
        UB_OFF,
        UB_SC,
    )
    assert (e.aligned_size, e.size, e.arg) == (4096, 6400, 3 * KN)
    # the transposed call has no sharedTmpBuffer: same sources, dst one section on
    t = _event(events, "ANTI_TRANSPOSED")
    assert (t.addr, t.src_addr, t.arg2, t.burst_len, t.size) == (
        UB_ZA + 4096,
        0,
        UB_OFF,
        UB_SC,
        6400,
    )


def test_quant_and_dequant_events_by_hand(quant_run) -> None:
    *_, events = quant_run
    # per channel: dst q[2 x 128] int8 (128 B), src xh (128 halves = 256 B),
    # scale sh1 (32 halves = 64 B), tmp (0 B): 128 + 256 + 64 = 448 B;
    # three steps (multiply, add, convert) a element: 3 x 128
    q = _event(events, "QUANT_CHANNEL")
    assert q.name == "AscendQuant"
    assert (q.aligned_size, q.size, q.arg) == (M * C, 448, 3 * M * C)
    assert q.burst_len == UB_TMP
    # dequant to half: dst 4 rows of 16 halves = 128 B (the padded rows),
    # src 32 int32 = 128 B, deqScale 8 uint64 = 64 B, tmp 0 B: 320 B; three
    # steps a src element: 3 x 32
    d = _event(events, "DEQUANT_HALF")
    assert d.name == "AscendDequant"
    assert (d.aligned_size, d.size, d.arg) == (DM * 16 * 2, 320, 3 * DM * DN)


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        (
            "BAD_GROUPS",
            "AntiQuantShapeInfo{3, N, 3, N}",
            "AscendAntiQuant: k 64 is not a multiple of the 3 groups",
        ),
        (
            "BAD_CALCOUNT",
            "edge, 1.0f, 0.0f, 2 * MC",
            "AscendQuant: calCount 256 is beyond srcTensor's 128 elements",
        ),
        (
            "BAD_SCALECOUNT",
            "sh1, half(0.5f), 16, MC",
            "AscendQuant: scaleCount 16 is not a positive multiple of 32",
        ),
        ("BAD_DEQ_COUNT", "{DM, DN, 9}", "AscendDequant: DequantParams.calCount 9 outside 1..8"),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    source = tmp_path / "quant.cpp"
    source.write_text(KERNEL)
    with stops_at("quant.cpp", KERNEL, marker, problem):
        run_ascendc(source, "quant", 1, _inputs(), _outputs(), CHIP, defines=(define,))
