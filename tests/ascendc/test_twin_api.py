"""The twin's API on small kernels written here: numerics against numpy and
recorded events against figures worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import write_source
from ubscope.analyzers.api import analyze_trace
from ubscope.probe.ascendc.build import CompileError
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError, PartialReadWarning
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")

VECTOR_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 64;  // 256 B of float: whole 32 B blocks
extern "C" __global__ __aicore__ void ops(GM_ADDR x, GM_ADDR y, GM_ADDR z) {
    TPipe pipe;
    TQue<QuePosition::VECIN, 1> qx, qy;
    TBuf<QuePosition::VECCALC> out;
    GlobalTensor<float> xGm, yGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, 12 * N);
    pipe.InitBuffer(qx, 1, N * sizeof(float));
    pipe.InitBuffer(qy, 1, N * sizeof(float));
    pipe.InitBuffer(out, 12 * N * sizeof(float));
    LocalTensor<float> a = qx.AllocTensor<float>();
    LocalTensor<float> b = qy.AllocTensor<float>();
    DataCopy(a, xGm, N);
    DataCopy(b, yGm, N);
    LocalTensor<float> o = out.Get<float>();
    Add(o[0 * N], a, b, N);
    Sub(o[1 * N], a, b, N);
    Mul(o[2 * N], a, b, N);
    Div(o[3 * N], a, b, N);
    Adds(o[4 * N], a, 2.5f, N);
    Muls(o[5 * N], a, -3.0f, N);
    Maxs(o[6 * N], a, 0.5f, N);
    Mins(o[7 * N], a, 0.5f, N);
    Exp(o[8 * N], a, N);
    Ln(o[9 * N], b, N);
    Duplicate(o[10 * N], 7.0f, N);
    ReduceSum<float>(o[11 * N], a, o[11 * N + 8], N);
    Muls(o[11 * N + 8], o[11 * N + 8], 0.0f, N - 8);
    DataCopy(zGm, o, 12 * N);
    qx.FreeTensor(a);
    qy.FreeTensor(b);
}
"""


def events(path: Path):
    return read_trace(path).events


def test_vector_ops_match_numpy_and_record_hand_computed_events(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 2.0, 64).astype(np.float32)
    y = rng.uniform(0.5, 3.0, 64).astype(np.float32)
    source = write_source(tmp_path, "ops.cpp", VECTOR_KERNEL)
    trace = tmp_path / "ops.ubtrace"
    run = run_ascendc(
        source, "ops", 1, {"x": x, "y": y}, {"z": np.zeros(12 * 64, np.float32)}, CHIP, trace
    )
    z = run.outputs["z"].reshape(12, 64)
    expected = [
        x + y,
        x - y,
        x * y,
        x / y,
        x + np.float32(2.5),
        x * np.float32(-3),
        np.maximum(x, 0.5),
        np.minimum(x, 0.5),
        np.exp(x),
        np.log(y),
        np.full(64, 7.0),
    ]
    for row, want in enumerate(expected):
        np.testing.assert_allclose(z[row], want, rtol=1e-6, err_msg=f"row {row}")
    assert z[11, 0] == pytest.approx(float(x.astype(np.float64).sum()), rel=1e-6)
    frame = events(trace)
    copies = frame[frame.kind == "copy"]
    # Two 256 B loads and one 3072 B store, each whole 32 B blocks in one burst.
    assert list(copies["size"]) == [256, 256, 3072]
    assert list(copies["aligned_size"]) == [256, 256, 3072]
    assert list(copies["tag"].astype(str)) == ["ops.cpp:17", "ops.cpp:18", "ops.cpp:33"]
    add = frame[(frame.kind == "compute") & (frame["name"] == "Add")].iloc[0]
    # Add of 64 floats: reads 2 x 256 B, writes 256 B; 64 FLOPs; at UB 1024 (after qx, qy).
    assert (add["size"], add["aligned_size"], add["arg"], add["addr"]) == (768, 256, 64, 512)
    assert add["tag"] == "ops.cpp:20"
    inits = frame[frame.kind == "queue_init"]
    assert list(inits["name"].astype(str)) == ["qx", "qy", "out"]
    assert list(inits["addr"]) == [0, 256, 512]
    assert [bool(flags & int(Flag.TBUF)) for flags in inits["flags"]] == [False, False, True]
    assert (frame["flags"] & int(Flag.TRUNCATED | Flag.MISALIGNED | Flag.REDZONE)).sum() == 0


def test_datacopy_tail_is_truncated_and_flagged_at_its_line(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "tail.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void tail(GM_ADDR x, GM_ADDR z) {
            TPipe pipe;
            TQue<QuePosition::VECIN, 1> q;
            GlobalTensor<half> xGm, zGm;
            xGm.SetGlobalBuffer((__gm__ half*)x, 128);
            zGm.SetGlobalBuffer((__gm__ half*)z, 128);
            pipe.InitBuffer(q, 1, 128 * sizeof(half));
            LocalTensor<half> t = q.AllocTensor<half>();
            DataCopy(t, xGm, 128);
            DataCopy(zGm, t, 100);
            q.FreeTensor(t);
        }
        """,
    )
    x = np.arange(128, dtype=np.float16)
    trace = tmp_path / "tail.ubtrace"
    run = run_ascendc(source, "tail", 1, {"x": x}, {"z": np.zeros(128, np.float16)}, CHIP, trace)
    # 100 halves = 200 B: only 6 whole 32 B blocks (192 B = 96 halves) arrive.
    np.testing.assert_array_equal(run.outputs["z"][:96], x[:96])
    assert not run.outputs["z"][96:].any()
    store = events(trace).query("kind == 'copy'").iloc[-1]
    assert (store["size"], store["aligned_size"]) == (200, 192)
    assert store["flags"] & Flag.TRUNCATED
    analysis = analyze_trace(read_trace(trace))
    found = [f for f in analysis.findings if f.code == "ALN002"]
    assert found and found[0].location.tag == "tail.cpp:12"


def test_out_of_bounds_global_access_is_an_event_not_a_crash(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "oob.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void oob(GM_ADDR x, GM_ADDR z) {
            GlobalTensor<float> xGm, zGm;
            xGm.SetGlobalBuffer((__gm__ float*)x, 8);
            zGm.SetGlobalBuffer((__gm__ float*)z, 8);
            zGm.SetValue(0, xGm.GetValue(9));
            zGm.SetValue(1, xGm.GetValue(1));
        }
        """,
    )
    trace = tmp_path / "oob.ubtrace"
    x = np.arange(1, 9, dtype=np.float32)
    run = run_ascendc(source, "oob", 1, {"x": x}, {"z": np.zeros(8, np.float32)}, CHIP, trace)
    assert list(run.outputs["z"][:2]) == [0.0, 2.0]  # the out-of-bounds read gives 0
    flagged = events(trace).query("kind == 'copy'")
    assert len(flagged) == 1 and flagged.iloc[0]["flags"] & Flag.OUT_OF_BOUNDS
    assert flagged.iloc[0]["tag"] == "oob.cpp:7"


def test_half_conversions_round_to_nearest_even(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "conv.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void conv(GM_ADDR x, GM_ADDR z) {
            GlobalTensor<float> xGm;
            GlobalTensor<half> zGm;
            xGm.SetGlobalBuffer((__gm__ float*)x, 16);
            zGm.SetGlobalBuffer((__gm__ half*)z, 16);
            for (int i = 0; i < 16; ++i) zGm.SetValue(i, half(xGm.GetValue(i)));
        }
        """,
    )
    # Ties, subnormals, overflow, NaN, signed zero: numpy's float16 is the oracle.
    x = np.array(
        [
            1.0,
            1 + 2**-11,
            1 + 3 * 2**-11,
            65504,
            65520,
            2**-24,
            2**-25,
            3 * 2**-26,
            -0.0,
            np.inf,
            -np.inf,
            1e-8,
            0.1,
            -2.5,
            6e-5,
            1234.567,
        ],
        dtype=np.float32,
    )
    run = run_ascendc(source, "conv", 1, {"x": x}, {"z": np.zeros(16, np.float16)}, CHIP)
    with np.errstate(over="ignore"):  # 65520 overflows to inf on purpose
        expected = x.astype(np.float16)
    np.testing.assert_array_equal(run.outputs["z"].view(np.uint16), expected.view(np.uint16))


def test_compile_errors_are_file_line_messages(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "bad.cpp",
        """\
        #include "kernel_operator.h"
        extern "C" __global__ __aicore__ void bad(GM_ADDR x) {
            undefined_call(x);
        }
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "bad", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{source}:3: ") and "undefined_call" in first


def test_a_define_that_breaks_the_source_is_placed_where_the_macro_expands(
    tmp_path: Path,
) -> None:
    """-D TILE=8 turns the kernel's own ``constexpr int32_t TILE = 16;`` into
    ``constexpr int32_t 8 = 16;``. g++ reports that at ``<command-line>`` and
    names the line in a note after it; the user's error is that line."""
    source = write_source(
        tmp_path,
        "tile.cpp",
        """\
        #include "kernel_operator.h"
        constexpr int32_t TILE = 16;
        extern "C" __global__ __aicore__ void tile(GM_ADDR x) {}
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(
            source, "tile", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP, defines=("TILE=8",)
        )
    assert caught.value.message_lines() == [
        f"{source}:2: expected unqualified-id before numeric constant "
        "(where the macro 'TILE' of a -D definition expands)"
    ]


def test_a_function_declared_but_never_defined_is_one_line_naming_it(tmp_path: Path) -> None:
    """The linker, not the compiler, finds it: one line per missing function
    (not one per call, nor the linker's object-file and collect2 lines)."""
    source = write_source(
        tmp_path,
        "declared.cpp",
        """\
        #include "kernel_operator.h"
        __aicore__ void helper(int32_t step);
        extern "C" __global__ __aicore__ void declared(GM_ADDR x) {
            helper(1);
            helper(2);
        }
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "declared", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    [line] = caught.value.message_lines()
    assert line.endswith(
        "undefined reference to `helper(int)': declared, but defined neither in the "
        "kernel's sources nor by the twin"
    )


def test_a_compiler_that_fails_printing_nothing_is_named_with_its_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiler wrapper (ccache, a site script) can fail with no message: the
    error says the compiler failed and how, rather than printing nothing."""
    wrapper = tmp_path / "silent-g++"
    wrapper.write_text(
        '#!/bin/sh\ncase "$*" in *--version*) echo "silent 1.0";; *) exit 3;; esac\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("CXX", str(wrapper))
    source = write_source(
        tmp_path,
        "fine.cpp",
        """\
        #include "kernel_operator.h"
        extern "C" __global__ __aicore__ void fine(GM_ADDR x) {}
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "fine", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    assert caught.value.message_lines() == ["the C++ compiler failed (status 3) printing no error"]


@pytest.mark.parametrize(
    ("setup", "use", "message"),
    [
        ("", "AscendC::LayerNormGrad(x);", "AscendC::LayerNormGrad is not implemented"),
        ("", "AscendC::Scatter(x, x);", "AscendC::Scatter is not implemented"),
        # the [B, S, H] form's shape is only in the host-filled LayerNormTiling,
        # which the twin does not read
        (
            "AscendC::LocalTensor<float> t; AscendC::LayerNormTiling tiling{};",
            "AscendC::LayerNorm<float, false>(t, t, t, t, t, t, 1e-5f, tiling);",
            "LayerNorm's [B, S, H] form",
        ),
        # DeepNorm's shape, likewise, is only in the host-filled DeepNormTiling
        (
            "AscendC::LocalTensor<float> t; AscendC::DeepNormTiling tiling{};",
            "AscendC::DeepNorm<float>(t, t, t, t, t, t, t, 0.5f, 1e-5f, tiling);",
            "AscendC::DeepNorm is not implemented: its shape",
        ),
    ],
)
def test_unsupported_api_fails_with_one_line_naming_it(
    tmp_path: Path, setup: str, use: str, message: str
) -> None:
    source = write_source(
        tmp_path,
        "hi.cpp",
        f"""\
        #include "kernel_operator.h"
        extern "C" __global__ __aicore__ void hi(GM_ADDR x) {{
            {setup}
            {use}
        }}
        """,
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "hi", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{source}:4:") and message in first


def test_one_letter_macros_of_the_kernels_build_do_not_break_the_headers(
    tmp_path: Path,
) -> None:
    """Kernels are built with shape macros such as -D M=32 -D N=64 -D K=16
    (the samples' build scripts pass them): the twin's headers must not use
    those names themselves (a template parameter N became 64)."""
    source = write_source(
        tmp_path,
        "shape.cpp",
        """\
        #include "kernel_operator.h"
        extern "C" __global__ __aicore__ void shape(GM_ADDR x) {
            AscendC::GlobalTensor<float> xGm;
            xGm.SetGlobalBuffer((__gm__ float*)x, 8);
            xGm.SetValue(0, M + N + K);
        }
        """,
    )
    done = run_ascendc(
        source,
        "shape",
        1,
        {},
        {"x": np.zeros(8, np.float32)},
        CHIP,
        defines=("M=32", "N=64", "K=16"),
    )
    assert done.outputs["x"][0] == 32 + 64 + 16


def test_crash_in_user_code_names_the_last_call_site(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "crash.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void crash(GM_ADDR x) {
            GlobalTensor<float> xGm;
            xGm.SetGlobalBuffer((__gm__ float*)x, 8);
            xGm.SetValue(99, 1.0f);
            *(volatile int*)nullptr = 1;
        }
        """,
    )
    trace = tmp_path / "crash.ubtrace"
    with pytest.raises(
        EmulationError, match=r"crashed \(SIGSEGV\) after its last recorded call at crash.cpp:6"
    ):
        run_ascendc(source, "crash", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP, trace)
    with pytest.warns(PartialReadWarning, match="truncated"):
        assert not read_trace(trace).complete


def test_datacopy_params_moves_strided_blocks(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "strided.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void strided(GM_ADDR x, GM_ADDR z) {
            TPipe pipe;
            TQue<QuePosition::VECIN, 1> q;
            GlobalTensor<half> xGm, zGm;
            xGm.SetGlobalBuffer((__gm__ half*)x, 4 * 48);
            zGm.SetGlobalBuffer((__gm__ half*)z, 4 * 32);
            pipe.InitBuffer(q, 1, 4 * 32 * sizeof(half));
            LocalTensor<half> t = q.AllocTensor<half>();
            DataCopyParams rows(4, 2, 1, 0);
            DataCopy(t, xGm, rows);
            DataCopy(zGm, t, 4 * 32);
            q.FreeTensor(t);
        }
        """,
    )
    # Rows of 48 halves (96 B = 3 blocks): 4 bursts of 2 blocks (64 B = 32 halves), skipping
    # 1 block (32 B) of GM between bursts, packed in UB.
    x = np.arange(4 * 48, dtype=np.float16).reshape(4, 48)
    trace = tmp_path / "strided.ubtrace"
    run = run_ascendc(source, "strided", 1, {"x": x}, {"z": np.zeros(128, np.float16)}, CHIP, trace)
    np.testing.assert_array_equal(run.outputs["z"], x[:, :32].ravel())
    load = events(trace).query("kind == 'copy'").iloc[0]
    assert load[["size", "aligned_size", "burst_len", "burst_count"]].tolist() == [256, 256, 64, 4]
    assert load["flags"] == 0 and load["tag"] == "strided.cpp:12"


def test_queue_misuse_stops_the_run_at_its_line(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "deque.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void deque(GM_ADDR x) {
            TPipe pipe;
            TQue<QuePosition::VECIN, 1> q;
            pipe.InitBuffer(q, 1, 256);
            LocalTensor<float> t = q.DeQue<float>();
        }
        """,
    )
    with pytest.raises(EmulationError, match=r"deque.cpp:7: DeQue on an empty queue"):
        run_ascendc(source, "deque", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
