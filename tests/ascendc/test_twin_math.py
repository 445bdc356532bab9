"""The twin's element-wise math and activation APIs: Sigmoid, Silu, Swish,
Gelu, FasterGelu, SwiGLU, Tanh, Sin, Cos, Erf, Floor, Ceil, Trunc, Frac and
Sign, on float and half, in every documented form (with and without the
sharedTmpBuffer, with a count and over the whole source). One kernel calls them
all; each output is checked against a numpy reference written here from the
documented formula (in another, equal form where the documentation gives one),
and one event against figures worked out by hand from the buffers' placement.
A second kernel checks that a negative or too large count stops the run with
the line Add gives for the same count."""

from __future__ import annotations

import math
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


def _forms(
    api: str, tmp_count: bool = True, whole: bool = False, explicit: str = ""
) -> list[tuple[str, str]]:
    """The calls of a one-input API: with the shared temporary buffer and a
    count, with a count only, and (``whole``) the two forms without a count;
    ``explicit``: template arguments written out in the first call."""
    calls = [(api, f"{api}({{o}}, {{a}}, N)")]
    if tmp_count:
        calls.insert(0, (api, f"{api}({{o}}, {{a}}, tmp, N)"))
    calls[0] = (api, calls[0][1].replace(f"{api}(", f"{api}{explicit}(", 1))
    if whole:
        calls += [(api, f"{api}({{o}}, {{a}}, tmp)"), (api, f"{api}({{o}}, {{a}})")]
    return calls


# (API, call): {o} is the call's output section, {a} and {b} the inputs, {t}
# their type.
CALLS = [
    *_forms("Sigmoid", whole=True, explicit="<{t}, false>"),
    *_forms("Tanh", whole=True),
    *_forms("Sin", whole=True),
    *_forms("Cos", whole=True),
    *_forms("Erf", whole=True),
    *_forms("Trunc", whole=True),
    *_forms("Frac", whole=True),
    *_forms("Sign", whole=True),
    *_forms("Floor", explicit="<{t}, false>"),
    *_forms("Ceil"),
    *_forms("Gelu", explicit="<{t}, true, false>"),
    *_forms("FasterGelu", explicit="<{t}, false, true>"),
    *_forms("Silu", tmp_count=False),
    ("Swish", f"Swish({{o}}, {{a}}, N, {SWISH_BETA}f)"),
    ("SwiGLU", f"SwiGLU({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f, tmp, N)"),
    ("SwiGLU", f"SwiGLU({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f, tmp)"),
    ("SwiGLU", f"SwiGLU<{{t}}, false>({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f, N)"),
    ("SwiGLU", f"SwiGLU({{o}}, {{a}}, {{b}}, {SWIGLU_BETA}f)"),
]
S = len(CALLS)  # sections of N elements in each output


def _calls(out: str, a: str, b: str, t: str) -> str:
    return "\n".join(
        f"    {call.format(o=f'{out}[{s} * N]', a=a, b=b, t=t)};"
        for s, (_, call) in enumerate(CALLS)
    )


# UB from 0 (every length a multiple of 32 B): bx 1 KiB at 0, by at 1024, bh
# 512 B at 2048, bg at 2560, btmp 1 KiB at 3072, bz (S float sections) at
# 4096, bw (S half sections) after it.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = {N}, S = {S};
extern "C" __global__ __aicore__ void mathk(GM_ADDR x, GM_ADDR y, GM_ADDR h, GM_ADDR g,
                                            GM_ADDR z, GM_ADDR w) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, by, bh, bg, btmp, bz, bw;
    GlobalTensor<float> xGm, yGm, zGm;
    GlobalTensor<half> hGm, gGm, wGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    hGm.SetGlobalBuffer((__gm__ half*)h, N);
    gGm.SetGlobalBuffer((__gm__ half*)g, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, S * N);
    wGm.SetGlobalBuffer((__gm__ half*)w, S * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(by, N * sizeof(float));
    pipe.InitBuffer(bh, N * sizeof(half));
    pipe.InitBuffer(bg, N * sizeof(half));
    pipe.InitBuffer(btmp, {TMP_BYTES});
    pipe.InitBuffer(bz, S * N * sizeof(float));
    pipe.InitBuffer(bw, S * N * sizeof(half));
    LocalTensor<float> a = bx.Get<float>(), b = by.Get<float>(), o = bz.Get<float>();
    LocalTensor<half> hl = bh.Get<half>(), gl = bg.Get<half>(), u = bw.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    DataCopy(a, xGm, N);
    DataCopy(b, yGm, N);
    DataCopy(hl, hGm, N);
    DataCopy(gl, gGm, N);
{_calls("o", "a", "b", "float")}
{_calls("u", "hl", "gl", "half")}
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
    "Erf": lambda v, _: np.vectorize(math.erf)(v),
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
    outputs = {"z": np.zeros(S * N, np.float32), "w": np.zeros(S * N, np.float16)}
    trace = folder / "mathk.ubtrace"
    run = run_ascendc(source, "mathk", 1, inputs, outputs, CHIP, trace)
    z = run.outputs["z"].reshape(S, N)
    w = run.outputs["w"].reshape(S, N)
    return inputs, z, w, read_trace(trace).events


def test_the_kernel_calls_every_api_with_a_reference() -> None:
    assert {api for api, _ in CALLS} == set(REFERENCE)


# float32 against float64: a few float32 ulps (the twin composes exp, a
# division and products in float). Half: the twin widens half to float,
# computes in float and rounds once to half; the reference computes in float64
# and rounds once to half. The float result lies within a few float ulps of
# the exact one, so the two roundings differ only where that lands across a
# half rounding boundary: by one half ulp at most, 2^-10 of the value (2^-24,
# the smallest subnormal, near zero).
TOLERANCE = {np.float32: (1e-5, 1e-7), np.float16: (2**-10, 2**-24)}


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["float", "half"])
@pytest.mark.parametrize("section", range(S), ids=[call for _, call in CALLS])
def test_against_numpy(math_run, section: int, dtype: type) -> None:
    inputs, z, w, _ = math_run
    api = CALLS[section][0]
    first, second, got = ("x", "y", z) if dtype is np.float32 else ("h", "g", w)
    want = REFERENCE[api](inputs[first].astype(np.float64), inputs[second].astype(np.float64))
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
}
"""
COUNT_APIS = {1: "Sigmoid", 2: "SwiGLU", 3: "Swish"}


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
