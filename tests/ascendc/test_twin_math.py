"""The twin's element-wise math and activation APIs: Sigmoid, Silu, Swish,
Gelu, FasterGelu, SwiGLU, Tanh, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh,
Erf, Erfc, Power, Floor, Ceil, Trunc, Frac and Sign, on float and half, in
every documented form (with and without the sharedTmpBuffer, with a count and
over the whole source; Power also tensor^scalar and scalar^tensor). One kernel
calls them all, each on inputs inside its domain; each output is checked
against a numpy reference written here from the documented formula (in
another, equal form where the documentation gives one), and some events
against figures worked out by hand from the buffers' placement. A second
kernel runs the integer ones, Xor on int16_t and uint16_t and Power on
int32_t, checked exactly. A third checks that a negative or too large count
stops the run with the line Add gives for the same count."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, write_source
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
N = 256
TMP_BYTES = 1024
SWISH_BETA = 1.5
SWIGLU_BETA = 0.75
# Power's scalars, exact in half: an exponent for the positive bases, a base
# for the signed exponents.
POWER_EXPONENT = 1.5
POWER_BASE = 1.25

# What a call reads, for its reference: "a" and "b" the inputs in (-4, 4), "u"
# the one in (-1, 1) (Asin, Acos, and Tan away from its poles at +-pi/2), "p"
# the positive bases of Power; a number is a scalar argument.
Operand = str | float
# The GM input holding each for (float, half).
ROLES = {"a": ("x", "h"), "b": ("y", "g"), "u": ("xu", "hu"), "p": ("xp", "hp")}


def _forms(
    api: str, tmp_count: bool = True, whole: bool = False, explicit: str = "", src: str = "a"
) -> list[tuple[str, str, tuple[Operand, ...]]]:
    """The calls of a one-input API on input ``src``: with the shared temporary
    buffer and a count, with a count only, and (``whole``) the two forms
    without a count; ``explicit``: template arguments written out in the first
    call."""
    calls = [f"{api}({{o}}, {{{src}}}, N)"]
    if tmp_count:
        calls.insert(0, f"{api}({{o}}, {{{src}}}, tmp, N)")
    calls[0] = calls[0].replace(f"{api}(", f"{api}{explicit}(", 1)
    if whole:
        calls += [f"{api}({{o}}, {{{src}}}, tmp)", f"{api}({{o}}, {{{src}}})"]
    return [(api, call, (src,)) for call in calls]


def _power_forms(
    first: str, second: str, operands: tuple[Operand, Operand]
) -> list[tuple[str, str, tuple[Operand, ...]]]:
    """Power's four forms for one kind (tensor^tensor, tensor^scalar or
    scalar^tensor): ``first`` and ``second`` its two arguments."""
    args = f"{{o}}, {first}, {second}"
    calls = [
        f"Power({args}, tmp, N)",
        f"Power({args}, tmp)",
        f"Power<{{t}}, false>({args}, N)",
        f"Power({args})",
    ]
    return [("Power", call, operands) for call in calls]


# (API, call, operands): {o} is the call's output section, {a}, {b}, {u} and
# {p} the inputs (ROLES), {t} their type; operands: what the reference reads.
CALLS = [
    *_forms("Sigmoid", whole=True, explicit="<{t}, false>"),
    *_forms("Tanh", whole=True),
    *_forms("Sin", whole=True),
    *_forms("Cos", whole=True),
    *_forms("Tan", whole=True, explicit="<{t}, false>", src="u"),
    *_forms("Asin", whole=True, src="u"),
    *_forms("Acos", whole=True, src="u"),
    *_forms("Atan", whole=True),
    *_forms("Sinh", whole=True),
    *_forms("Cosh", whole=True),
    *_forms("Erf", whole=True),
    *_forms("Erfc", whole=True),
    *_forms("Trunc", whole=True),
    *_forms("Frac", whole=True),
    *_forms("Sign", whole=True),
    *_forms("Floor", explicit="<{t}, false>"),
    *_forms("Ceil"),
    *_forms("Gelu", explicit="<{t}, true, false>"),
    *_forms("FasterGelu", explicit="<{t}, false, true>"),
    *_forms("Silu", tmp_count=False),
    ("Swish", f"Swish({{o}}, {{a}}, N, {SWISH_BETA}f)", ("a",)),
    ("SwiGLU", f"SwiGLU({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f, tmp, N)", ("a", "b")),
    ("SwiGLU", f"SwiGLU({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f, tmp)", ("a", "b")),
    ("SwiGLU", f"SwiGLU<{{t}}, false>({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f, N)", ("a", "b")),
    ("SwiGLU", f"SwiGLU({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f)", ("a", "b")),
    *_power_forms("{p}", "{b}", ("p", "b")),
    *_power_forms("{p}", f"{POWER_EXPONENT}f", ("p", POWER_EXPONENT)),
    *_power_forms(f"{POWER_BASE}f", "{b}", (POWER_BASE, "b")),
]
S = len(CALLS)  # sections of N elements in each output


def _calls(out: str, a: str, b: str, u: str, p: str, t: str) -> str:
    return "\n".join(
        f"    {call.format(o=f'{out}[{s} * N]', a=a, b=b, u=u, p=p, t=t)};"
        for s, (_, call, _) in enumerate(CALLS)
    )


# UB from 0 (every length a multiple of 32 B): bx 1 KiB at 0, by at 1024, bh
# 512 B at 2048, bg at 2560, btmp 1 KiB at 3072, bz (S float sections) at
# 4096, bw (S half sections) after it, then bxu and bxp (1 KiB each) and bhu
# and bhp (512 B each).
BZ, BW = 4096, 4096 + S * N * 4
BXU = BW + S * N * 2
BXP = BXU + N * 4
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = {N}, S = {S};
extern "C" __global__ __aicore__ void mathk(GM_ADDR x, GM_ADDR y, GM_ADDR h, GM_ADDR g,
                                            GM_ADDR xu, GM_ADDR xp, GM_ADDR hu, GM_ADDR hp,
                                            GM_ADDR z, GM_ADDR w) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, by, bh, bg, btmp, bz, bw, bxu, bxp, bhu, bhp;
    GlobalTensor<float> xGm, yGm, xuGm, xpGm, zGm;
    GlobalTensor<half> hGm, gGm, huGm, hpGm, wGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    hGm.SetGlobalBuffer((__gm__ half*)h, N);
    gGm.SetGlobalBuffer((__gm__ half*)g, N);
    xuGm.SetGlobalBuffer((__gm__ float*)xu, N);
    xpGm.SetGlobalBuffer((__gm__ float*)xp, N);
    huGm.SetGlobalBuffer((__gm__ half*)hu, N);
    hpGm.SetGlobalBuffer((__gm__ half*)hp, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, S * N);
    wGm.SetGlobalBuffer((__gm__ half*)w, S * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(by, N * sizeof(float));
    pipe.InitBuffer(bh, N * sizeof(half));
    pipe.InitBuffer(bg, N * sizeof(half));
    pipe.InitBuffer(btmp, {TMP_BYTES});
    pipe.InitBuffer(bz, S * N * sizeof(float));
    pipe.InitBuffer(bw, S * N * sizeof(half));
    pipe.InitBuffer(bxu, N * sizeof(float));
    pipe.InitBuffer(bxp, N * sizeof(float));
    pipe.InitBuffer(bhu, N * sizeof(half));
    pipe.InitBuffer(bhp, N * sizeof(half));
    LocalTensor<float> a = bx.Get<float>(), b = by.Get<float>(), o = bz.Get<float>();
    LocalTensor<float> au = bxu.Get<float>(), ap = bxp.Get<float>();
    LocalTensor<half> hl = bh.Get<half>(), gl = bg.Get<half>(), u = bw.Get<half>();
    LocalTensor<half> hul = bhu.Get<half>(), hpl = bhp.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    DataCopy(a, xGm, N);
    DataCopy(b, yGm, N);
    DataCopy(hl, hGm, N);
    DataCopy(gl, gGm, N);
    DataCopy(au, xuGm, N);
    DataCopy(ap, xpGm, N);
    DataCopy(hul, huGm, N);
    DataCopy(hpl, hpGm, N);
{_calls("o", "a", "b", "au", "ap", "float")}
{_calls("u", "hl", "gl", "hul", "hpl", "half")}
    DataCopy(zGm, o, S * N);
    DataCopy(wGm, u, S * N);
}}
"""


def _sigmoid(v: np.ndarray) -> np.ndarray:
    # the logistic function through tanh: not the twin's 1 / (1 + e^-x)
    return 0.5 * (1.0 + np.tanh(v / 2.0))


def _gelu(v: np.ndarray) -> np.ndarray:
    # the documented tanh approximation (the twin computes its sigmoid form)
    return 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))


def _fast_gelu(v: np.ndarray) -> np.ndarray:
    # FastGelu before FasterGelu's simplification
    return v / (1.0 + np.exp(-1.702 * np.abs(v))) * np.exp(0.851 * (v - np.abs(v)))


REFERENCE = {
    "Sigmoid": lambda v, _: _sigmoid(v),
    "Silu": lambda v, _: v * _sigmoid(v),
    "Swish": lambda v, _: v * _sigmoid(SWISH_BETA * v),
    "Gelu": lambda v, _: _gelu(v),
    "FasterGelu": lambda v, _: _fast_gelu(v),
    "SwiGLU": lambda v, gate: v * gate * _sigmoid(SWIGLU_BETA * gate),
    "Tanh": lambda v, _: np.tanh(v),
    "Sin": lambda v, _: np.sin(v),
    "Cos": lambda v, _: np.cos(v),
    # Tan through sin / cos, the trigonometric ones through atan2 and the
    # hyperbolic ones through exp: not the library functions the twin calls
    "Tan": lambda v, _: np.sin(v) / np.cos(v),
    "Asin": lambda v, _: np.arctan2(v, np.sqrt(1.0 - v * v)),
    "Acos": lambda v, _: np.arctan2(np.sqrt(1.0 - v * v), v),
    "Atan": lambda v, _: np.arctan2(v, 1.0),
    "Sinh": lambda v, _: (np.exp(v) - np.exp(-v)) / 2.0,
    "Cosh": lambda v, _: (np.exp(v) + np.exp(-v)) / 2.0,
    "Erf": lambda v, _: np.vectorize(math.erf)(v),
    # math.erfc, accurate where erfc(x) is tiny (1 - erf(x) cancels there)
    "Erfc": lambda v, _: np.vectorize(math.erfc)(v),
    "Power": lambda base, exponent: np.exp(exponent * np.log(base)),
    "Floor": lambda v, _: np.floor(v),
    "Ceil": lambda v, _: np.ceil(v),
    "Trunc": lambda v, _: np.trunc(v),
    "Frac": lambda v, _: v - np.trunc(v),
    "Sign": lambda v, _: np.sign(v),
}
EXACT = {"Floor", "Ceil", "Trunc", "Frac", "Sign"}


@pytest.fixture(scope="module")
def math_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("math")
    source = folder / "mathk.cpp"
    source.write_text(KERNEL)
    rng = np.random.default_rng(23)
    inputs = {
        "x": rng.uniform(-4, 4, N).astype(np.float32),
        "y": rng.uniform(-4, 4, N).astype(np.float32),
        "h": rng.uniform(-4, 4, N).astype(np.float16),
        "g": rng.uniform(-4, 4, N).astype(np.float16),
    }
    # Whole numbers and zeros, so Floor, Ceil, Trunc, Frac and Sign meet them.
    for name in inputs:
        inputs[name][:8] = [0, -0.0, 1, -1, 3, -3, 0.5, -0.5]
    for dtype, unit, positive in ((np.float32, "xu", "xp"), (np.float16, "hu", "hp")):
        # Asin's and Acos's domain, ends and zero included; the bases of Power
        # positive, as a real power with any exponent needs.
        inputs[unit] = rng.uniform(-1, 1, N).astype(dtype)
        inputs[unit][:6] = [0, -0.0, 1, -1, 0.5, -0.5]
        inputs[positive] = rng.uniform(0.25, 4, N).astype(dtype)
    outputs = {"z": np.zeros(S * N, np.float32), "w": np.zeros(S * N, np.float16)}
    trace = folder / "mathk.ubtrace"
    run = run_ascendc(source, "mathk", 1, inputs, outputs, CHIP, trace)
    z = run.outputs["z"].reshape(S, N)
    w = run.outputs["w"].reshape(S, N)
    return inputs, z, w, read_trace(trace).events


def test_the_kernel_calls_every_api_with_a_reference() -> None:
    assert {api for api, _, _ in CALLS} == set(REFERENCE)


# float32 against float64: a few float32 ulps (the twin composes exp, a
# division and products in float, or calls one float function of the C++
# library: tan, asin, ..., erfc, pow, each within a few ulps of the exact
# result); rtol 1e-5 is some 80 ulps (an ulp is at most 2^-23 of the value),
# atol 1e-7 for results near zero. Half: the twin widens half to float,
# computes in float and rounds once to half; the reference computes in float64
# and rounds once to half. The float result lies within a few float ulps of
# the exact one, so the two roundings differ only where that lands across a
# half rounding boundary: by one half ulp at most, 2^-10 of the value (2^-24,
# the smallest subnormal, near zero). The reference's own float64 error (its
# other formulas: sin / cos for tan, ...) is some float64 ulps, far below both.
TOLERANCE = {np.float32: (1e-5, 1e-7), np.float16: (2**-10, 2**-24)}


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["float", "half"])
@pytest.mark.parametrize("section", range(S), ids=[call for _, call, _ in CALLS])
def test_against_numpy(math_run, section: int, dtype: type) -> None:
    inputs, z, w, _ = math_run
    api, _, operands = CALLS[section]
    column, got = (0, z) if dtype is np.float32 else (1, w)
    values = [
        operand if isinstance(operand, float) else inputs[ROLES[operand][column]].astype(np.float64)
        for operand in operands
    ]
    # a one-input reference takes (and ignores) a second argument
    want = REFERENCE[api](*values, None) if len(values) == 1 else REFERENCE[api](*values)
    if api in EXACT:
        np.testing.assert_array_equal(got[section], want.astype(dtype))
    else:
        rtol, atol = TOLERANCE[dtype]
        np.testing.assert_allclose(
            got[section].astype(np.float64), want.astype(dtype), rtol=rtol, atol=atol
        )


def test_sigmoid_event(math_run) -> None:
    events = math_run[3]
    computes = events[events["kind"] == "compute"]
    # one event per call, the scalar accesses aside
    assert len(computes[computes["name"].isin(list(REFERENCE))]) == 2 * S
    (event,) = events[events["name"] == "Sigmoid"].head(1).itertuples()
    # The first call, Sigmoid<float, false>(o[0 * N], a, tmp, N): o at 4096, 1 KiB written.
    # Sources: the temporary buffer first (3072, 0 B counted), then a (0) as
    # the second; 1 KiB written + 1 KiB read of a, one operation per element.
    assert (event.space, event.addr) == ("UB", 4096)
    assert (event.src_space, event.src_addr, event.arg2) == ("UB", 3072, 0)
    assert event.flags & Flag.SECOND_SOURCE
    assert (event.size, event.aligned_size, event.arg) == (2 * 1024, 1024, N)


def test_swiglu_sources_are_src0_then_src1(math_run) -> None:
    events = math_run[3]
    swiglu = events[events["name"] == "SwiGLU"]
    # the half SwiGLU(u[...], hl, gl, beta, N): hl (2048) first, gl (2560) second
    counted = swiglu.iloc[6]
    assert (counted["src_addr"], counted["arg2"]) == (2048, 2560)
    assert (counted["size"], counted["aligned_size"]) == (3 * 512, 512)
    # the half SwiGLU(u[...], hl, gl, beta, tmp, N): tmp (3072), hl, then gl
    # third, so gl still counts as read (THIRD_SOURCE, in burst_len)
    with_tmp = swiglu.iloc[4]
    assert (with_tmp["src_addr"], with_tmp["arg2"], with_tmp["burst_len"]) == (3072, 2048, 2560)
    assert with_tmp["flags"] & Flag.THIRD_SOURCE


def _section(call: str) -> int:
    return next(i for i, (_, written, _) in enumerate(CALLS) if written == call)


def test_power_sources_are_its_tensor_operands_in_order(math_run) -> None:
    power = math_run[3][math_run[3]["name"] == "Power"]
    # float first, in CALLS order: tensor^tensor, tensor^scalar, scalar^tensor
    both, scalar_exponent, scalar_base = power.iloc[0], power.iloc[4], power.iloc[10]
    # Power(o[...], ap, b, tmp, N): tmp (3072, 0 B), the base ap, the exponent
    # b (1024) third; 1 KiB written, 1 KiB read of each tensor.
    assert both["addr"] == BZ + _section("Power({o}, {p}, {b}, tmp, N)") * N * 4
    assert (both["src_addr"], both["arg2"], both["burst_len"]) == (3072, BXP, 1024)
    assert both["flags"] & Flag.THIRD_SOURCE
    assert (both["size"], both["aligned_size"], both["arg"]) == (3 * 1024, 1024, N)
    # Power(o[...], ap, 1.5f, tmp, N): tmp, then ap; the scalar is no source
    assert (scalar_exponent["src_addr"], scalar_exponent["arg2"]) == (3072, BXP)
    assert not scalar_exponent["flags"] & Flag.THIRD_SOURCE
    assert scalar_exponent["size"] == 2 * 1024
    # Power<float, false>(o[...], 1.25f, b, N): b alone
    section = _section(f"Power<{{t}}, false>({{o}}, {POWER_BASE}f, {{b}}, N)")
    assert scalar_base["addr"] == BZ + section * N * 4
    assert scalar_base["src_addr"] == 1024
    assert not scalar_base["flags"] & Flag.SECOND_SOURCE
    assert (scalar_base["size"], scalar_base["arg"]) == (2 * 1024, N)


# The integer APIs, exact: Xor on int16_t and on uint16_t in its four forms,
# Power on int32_t in its three kinds. UB from 0: bs, bt (int16_t) at 0 and
# 512, bsu, btu (uint16_t) at 1024 and 1536, bpb, bpe (int32_t) at 2048 and
# 3072, btmp at 4096, bxs (4 int16_t sections) at 5120, bxu (4 uint16_t) at
# 7168, bpw (3 int32_t) at 9216.
INT_POWER_EXPONENT = 3
INT_POWER_BASE = -2
INT_KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = {N};
extern "C" __global__ __aicore__ void intk(GM_ADDR s, GM_ADDR t, GM_ADDR su, GM_ADDR tu,
                                           GM_ADDR pb, GM_ADDR pe, GM_ADDR xs, GM_ADDR xu,
                                           GM_ADDR pw) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bs, bt, bsu, btu, bpb, bpe, btmp, bxs, bxu, bpw;
    GlobalTensor<int16_t> sGm, tGm, xsGm;
    GlobalTensor<uint16_t> suGm, tuGm, xuGm;
    GlobalTensor<int32_t> pbGm, peGm, pwGm;
    sGm.SetGlobalBuffer((__gm__ int16_t*)s, N);
    tGm.SetGlobalBuffer((__gm__ int16_t*)t, N);
    suGm.SetGlobalBuffer((__gm__ uint16_t*)su, N);
    tuGm.SetGlobalBuffer((__gm__ uint16_t*)tu, N);
    pbGm.SetGlobalBuffer((__gm__ int32_t*)pb, N);
    peGm.SetGlobalBuffer((__gm__ int32_t*)pe, N);
    xsGm.SetGlobalBuffer((__gm__ int16_t*)xs, 4 * N);
    xuGm.SetGlobalBuffer((__gm__ uint16_t*)xu, 4 * N);
    pwGm.SetGlobalBuffer((__gm__ int32_t*)pw, 3 * N);
    pipe.InitBuffer(bs, N * sizeof(int16_t));
    pipe.InitBuffer(bt, N * sizeof(int16_t));
    pipe.InitBuffer(bsu, N * sizeof(uint16_t));
    pipe.InitBuffer(btu, N * sizeof(uint16_t));
    pipe.InitBuffer(bpb, N * sizeof(int32_t));
    pipe.InitBuffer(bpe, N * sizeof(int32_t));
    pipe.InitBuffer(btmp, {TMP_BYTES});
    pipe.InitBuffer(bxs, 4 * N * sizeof(int16_t));
    pipe.InitBuffer(bxu, 4 * N * sizeof(uint16_t));
    pipe.InitBuffer(bpw, 3 * N * sizeof(int32_t));
    LocalTensor<int16_t> a = bs.Get<int16_t>(), b = bt.Get<int16_t>(), x = bxs.Get<int16_t>();
    LocalTensor<uint16_t> au = bsu.Get<uint16_t>(), bu = btu.Get<uint16_t>(), xu16 = bxu.Get<uint16_t>();
    LocalTensor<int32_t> base = bpb.Get<int32_t>(), exponent = bpe.Get<int32_t>(), p = bpw.Get<int32_t>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    DataCopy(a, sGm, N);
    DataCopy(b, tGm, N);
    DataCopy(au, suGm, N);
    DataCopy(bu, tuGm, N);
    DataCopy(base, pbGm, N);
    DataCopy(exponent, peGm, N);
    Xor(x, a, b, tmp, N);
    Xor(x[N], a, b, tmp);
    Xor<int16_t, false>(x[2 * N], a, b, N);
    Xor(x[3 * N], a, b);
    Xor(xu16, au, bu, tmp, N);
    Xor(xu16[N], au, bu, tmp);
    Xor<uint16_t, false>(xu16[2 * N], au, bu, N);
    Xor(xu16[3 * N], au, bu);
    Power(p, base, exponent, tmp, N);
    Power(p[N], base, {INT_POWER_EXPONENT}, N);
    Power<int32_t, false>(p[2 * N], {INT_POWER_BASE}, exponent, tmp);
    DataCopy(xsGm, x, 4 * N);
    DataCopy(xuGm, xu16, 4 * N);
    DataCopy(pwGm, p, 3 * N);
}}
"""


def _int32_power(base: int, exponent: int) -> int:
    """base^exponent as the twin defines it on int32_t: exact, then wrapped
    to 32 bits; a negative exponent gives 1 / base^-exponent truncated toward
    zero, and 0 for a zero base."""
    if exponent < 0:
        return 0 if base == 0 else int(Fraction(1, base**-exponent))
    return (base**exponent + 2**31) % 2**32 - 2**31


@pytest.fixture(scope="module")
def int_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("intmath")
    source = folder / "intk.cpp"
    source.write_text(INT_KERNEL)
    rng = np.random.default_rng(29)
    inputs = {
        "s": rng.integers(-(2**15), 2**15, N, dtype=np.int16),
        "t": rng.integers(-(2**15), 2**15, N, dtype=np.int16),
        "su": rng.integers(0, 2**16, N, dtype=np.uint16),
        "tu": rng.integers(0, 2**16, N, dtype=np.uint16),
        "pb": rng.integers(-5, 6, N, dtype=np.int32),
        "pe": rng.integers(-3, 16, N, dtype=np.int32),
    }
    # the documented 3 ^ 5 = 6, and the sign bit
    inputs["s"][:2], inputs["t"][:2] = [3, -1], [5, 2**15 - 1]
    inputs["su"][:2], inputs["tu"][:2] = [3, 2**16 - 1], [5, 2**15]
    # 0^0, a zero base to a negative power, +-1 to negative powers, results
    # that wrap (3^21, 2^31, 7^12) and one that just fits ((-5)^13 > -2^31)
    special = [(0, 0), (0, -1), (1, -5), (-1, -3), (-1, -2), (2, -1), (3, 21), (2, 31)]
    special += [(-2, 31), (7, 12), (-5, 13)]
    inputs["pb"][: len(special)] = [b for b, _ in special]
    inputs["pe"][: len(special)] = [e for _, e in special]
    outputs = {
        "xs": np.zeros(4 * N, np.int16),
        "xu": np.zeros(4 * N, np.uint16),
        "pw": np.zeros(3 * N, np.int32),
    }
    trace = folder / "intk.ubtrace"
    run = run_ascendc(source, "intk", 1, inputs, outputs, CHIP, trace)
    return inputs, run.outputs, read_trace(trace).events


@pytest.mark.parametrize("kind", ["int16_t", "uint16_t"])
def test_xor_is_bitwise_in_every_form(int_run, kind: str) -> None:
    inputs, outputs, _ = int_run
    first, second, out = ("s", "t", "xs") if kind == "int16_t" else ("su", "tu", "xu")
    want = np.bitwise_xor(inputs[first], inputs[second])
    assert want[0] == 6
    for form, got in enumerate(outputs[out].reshape(4, N)):
        np.testing.assert_array_equal(got, want, err_msg=f"form {form}")


def test_int32_power_is_exact(int_run) -> None:
    inputs, outputs, _ = int_run
    bases, exponents = inputs["pb"].tolist(), inputs["pe"].tolist()
    got = outputs["pw"].reshape(3, N)
    want = [
        [_int32_power(b, e) for b, e in zip(bases, exponents, strict=True)],
        [_int32_power(b, INT_POWER_EXPONENT) for b in bases],
        [_int32_power(INT_POWER_BASE, e) for e in exponents],
    ]
    for kind, (row, expected) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(row, np.array(expected, np.int32), err_msg=f"kind {kind}")


def test_xor_sources_are_src0_then_src1(int_run) -> None:
    events = int_run[2]
    xor = events[events["name"] == "Xor"]
    assert len(xor) == 8
    # Xor(x, a, b, tmp, N): x at 5120, 512 B written; tmp (4096), a (0), b
    # (512) third
    first = xor.iloc[0]
    assert first["addr"] == 5120
    assert (first["src_addr"], first["arg2"], first["burst_len"]) == (4096, 0, 512)
    assert first["flags"] & Flag.THIRD_SOURCE
    assert (first["size"], first["arg"]) == (3 * 512, N)


COUNT_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void counts(GM_ADDR z, int32_t n, int32_t which) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf, tbuf;
    pipe.InitBuffer(buf, 1024);
    pipe.InitBuffer(tbuf, 1024);
    LocalTensor<float> t = buf.Get<float>();
    LocalTensor<uint8_t> tmp = tbuf.Get<uint8_t>();
    if (which == 0) Add(t, t, t, n);  // the reference
    if (which == 1) Sigmoid(t, t, tmp, n);
    if (which == 2) SwiGLU(t, t, t, 1.0f, n);
    if (which == 3) Swish(t, t, n, 1.0f);
    if (which == 4) Power(t, 2.0f, t, tmp, n);
}
"""
COUNT_APIS = {1: "Sigmoid", 2: "SwiGLU", 3: "Swish", 4: "Power"}


def _failure(source: Path, n: int, which: int) -> str:
    with pytest.raises(EmulationError) as caught:
        run_ascendc(
            source,
            "counts",
            1,
            {},
            {"z": np.zeros(8, np.float32)},
            CHIP,
            values=LaunchValues(scalars={"n": str(n), "which": str(which)}),
        )
    return str(caught.value).splitlines()[0]


@pytest.mark.parametrize("n", [-1, 1_000_000])
def test_bad_counts_stop_as_adds_do(tmp_path: Path, n: int) -> None:
    source = write_source(tmp_path, "counts.cpp", COUNT_KERNEL)
    add = _failure(source, n, 0)
    add_site = f"counts.cpp:{line_of(COUNT_KERNEL, 'Add(')}: "
    assert add_site in add
    for which, api in COUNT_APIS.items():
        site = f"counts.cpp:{line_of(COUNT_KERNEL, f'{api}(')}: "
        got = _failure(source, n, which)
        assert got == add.replace(add_site, site).replace("Add:", f"{api}:"), got
