"""Cube work on a split chip (910B) in the twin: KERNEL_TASK_TYPE_DEFAULT picks the
launch, a mix block is one AIC and two AIVs passing data through a real GM
workspace and waiting on each other with CrossCoreSetFlag / CrossCoreWaitFlag,
and the trace carries the cores the Python model's mix launch has (AIC i, AIV
2i and 2i + 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of
from ubscope.analyzers.api import analyze_inputs
from ubscope.cli import main
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B2")
BLOCKS = 2
M = K = N = 32

# Per block: each AIV doubles its 16 rows of x into the workspace and sets flag 1;
# the AIC waits for both, multiplies the workspace tile by w (Nd2Nz into L1,
# LoadData into L0A/L0B, Mmad, Fixpipe to c) and sets flag 2; each AIV waits for
# it and writes its rows of c + 1 to z.
MIX = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t M = 32, K = 32, N = 32, ROWS = M / 2;
extern "C" __global__ __aicore__ void mix(GM_ADDR x, GM_ADDR w, GM_ADDR c, GM_ADDR z,
                                          GM_ADDR workspace) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
    TPipe pipe;
    const int64_t block = GetBlockIdx() / GetTaskRatio();
    GlobalTensor<half> ws;
    ws.SetGlobalBuffer((__gm__ half*)GetUserWorkspace(workspace) + block * M * K, M * K);
    GlobalTensor<float> cGm;
    cGm.SetGlobalBuffer((__gm__ float*)c + block * M * N, M * N);
    if ASCEND_IS_AIV {
        const int64_t row = GetSubBlockIdx() * ROWS;
        TQue<QuePosition::VECIN, 1> qx;
        TQue<QuePosition::VECOUT, 1> qz;
        pipe.InitBuffer(qx, 1, ROWS * K * sizeof(half));
        pipe.InitBuffer(qz, 1, ROWS * N * sizeof(float));
        GlobalTensor<half> xGm;
        GlobalTensor<float> zGm;
        xGm.SetGlobalBuffer((__gm__ half*)x + block * M * K, M * K);
        zGm.SetGlobalBuffer((__gm__ float*)z + block * M * N, M * N);
        LocalTensor<half> t = qx.AllocTensor<half>();
        DataCopy(t, xGm[row * K], ROWS * K);
        Muls(t, t, half(2.0f), ROWS * K);
        DataCopy(ws[row * K], t, ROWS * K);
        qx.FreeTensor(t);
        CrossCoreSetFlag<2, PIPE_MTE3>(1);
        CrossCoreWaitFlag(2);
        LocalTensor<float> r = qz.AllocTensor<float>();
        DataCopy(r, cGm[row * N], ROWS * N);
        Adds(r, r, 1.0f, ROWS * N);
        DataCopy(zGm[row * N], r, ROWS * N);
        qz.FreeTensor(r);
    }
    if ASCEND_IS_AIC {
        TQue<QuePosition::A1, 1> qa1;
        TQue<QuePosition::B1, 1> qb1;
        TQue<QuePosition::A2, 1> qa2;
        TQue<QuePosition::B2, 1> qb2;
        TQue<QuePosition::CO1, 1> qc1;
        pipe.InitBuffer(qa1, 1, M * K * sizeof(half));
        pipe.InitBuffer(qb1, 1, K * N * sizeof(half));
        pipe.InitBuffer(qa2, 1, M * K * sizeof(half));
        pipe.InitBuffer(qb2, 1, K * N * sizeof(half));
        pipe.InitBuffer(qc1, 1, M * N * sizeof(float));
        GlobalTensor<half> wGm;
        wGm.SetGlobalBuffer((__gm__ half*)w, K * N);
        CrossCoreWaitFlag(1);
        LocalTensor<half> a1 = qa1.AllocTensor<half>();
        LocalTensor<half> b1 = qb1.AllocTensor<half>();
        DataCopy(a1, ws, Nd2NzParams(1, M, K, 0, K, M, 1, 0));
        DataCopy(b1, wGm, Nd2NzParams(1, K, N, 0, N, K, 1, 0));
        LocalTensor<half> a2 = qa2.AllocTensor<half>();
        for (int i = 0; i < M / 16; ++i) {
            LoadData2dParams p;
            p.repeatTimes = K / 16;
            p.srcStride = M / 16;
            LoadData(a2[i * 16 * K], a1[i * 256], p);
        }
        LocalTensor<half> b2 = qb2.AllocTensor<half>();
        for (int j = 0; j < K / 16; ++j) {
            LoadData2dParams p;
            p.repeatTimes = N / 16;
            p.srcStride = K / 16;
            p.ifTranspose = true;
            LoadData(b2[j * 16 * N], b1[j * 256], p);
        }
        LocalTensor<float> c1 = qc1.AllocTensor<float>();
        MmadParams mp;
        mp.m = M;
        mp.n = N;
        mp.k = K;
        Mmad(c1, a2, b2, mp);
        FixpipeParamsV220 fp;
        fp.nSize = N;
        fp.mSize = M;
        fp.srcStride = M;
        fp.dstStride = N;
        Fixpipe(cGm, c1, fp);
        CrossCoreSetFlag<2, PIPE_FIX>(2);
        qa1.FreeTensor(a1);
        qb1.FreeTensor(b1);
        qa2.FreeTensor(a2);
        qb2.FreeTensor(b2);
        qc1.FreeTensor(c1);
    }
}
"""
WORKSPACE_BYTES = BLOCKS * M * K * 2


def kernel(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.cpp"
    path.write_text(text)
    return path


def operands() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(16)
    x = rng.integers(-4, 5, (BLOCKS * M, K)).astype(np.float16)
    return x, rng.integers(-4, 5, (K, N)).astype(np.float16)


def run_mix(tmp_path: Path, text: str = MIX, workspace: int = WORKSPACE_BYTES) -> tuple[dict, Path]:
    x, w = operands()
    trace = tmp_path / "mix.ubtrace"
    run = run_ascendc(
        kernel(tmp_path, "mix", text),
        "mix",
        BLOCKS,
        {"x": x, "w": w},
        {"c": np.zeros((BLOCKS * M, N), np.float32), "z": np.zeros((BLOCKS * M, N), np.float32)},
        CHIP,
        trace,
        values=LaunchValues(workspace_bytes=workspace),
    )
    return run.outputs, trace


def test_a_mix_kernel_passes_a_workspace_tile_from_its_aivs_to_its_aic(tmp_path: Path) -> None:
    outputs, trace = run_mix(tmp_path)
    x, w = operands()
    # Integers in -8..8 (doubled) times -4..4 over k = 32: exact in fp32.
    want = np.vstack(
        [(2 * x[b * M : (b + 1) * M].astype(np.float64)) @ w.astype(np.float64) for b in range(2)]
    )
    np.testing.assert_array_equal(outputs["c"], want)
    np.testing.assert_array_equal(outputs["z"], want + 1)
    events = read_trace(trace).events
    # As the Python model's mix launch: block b is AIC b with AIVs 2b and 2b + 1.
    on_cores = events[events.core_kind != "host"]
    cores = set(zip(on_cores.core_kind.astype(str), on_cores.core, strict=True))
    assert cores == {("aic", 0), ("aic", 1), ("aiv", 0), ("aiv", 1), ("aiv", 2), ("aiv", 3)}
    aic, aiv = events[events.core_kind == "aic"], events[events.core_kind == "aiv"]
    assert set(aic.space[aic.kind == "alloc"]) == {"L1", "L0A", "L0B", "L0C"}
    assert set(aiv.space[aiv.kind == "alloc"]) == {"UB"}
    # The workspace is a real GM buffer: each AIV writes its 16 rows (1 KiB) there.
    to_workspace = aiv[(aiv.kind == "copy") & (aiv.tensor == "workspace")]
    assert to_workspace["size"].tolist() == [1024] * 4


def test_the_workspace_is_l2_resident_scratch_as_a_python_kernels(tmp_path: Path) -> None:
    _, trace = run_mix(tmp_path)
    events = read_trace(trace).events
    copies = events[events.kind == "copy"]
    workspace = copies[copies.tensor == "workspace"]
    # Each AIV writes 16 rows (1 KiB) to it, each AIC reads the 32 x 32 halves
    # (2 KiB) back; all of them, and no other copy, carry the WORKSPACE flag.
    assert sorted(workspace["size"]) == [1024] * 4 + [2048] * 2
    assert ((copies["flags"] & int(Flag.WORKSPACE)) != 0).tolist() == (
        copies.tensor == "workspace"
    ).tolist()
    gm = analyze_inputs(trace).metrics["gm"]
    # Out of the GM totals: reads x (2 blocks x 32 x 32 halves), w (once per
    # AIC, 32 x 32 halves) and c (each AIV its 16 rows of 32 floats); writes c
    # (Fixpipe, 32 x 32 floats a block) and z (16 rows a AIV).
    assert gm["read_bytes"] == 2 * 2048 + 2 * 2048 + 4 * 16 * 32 * 4
    assert gm["write_bytes"] == 2 * 32 * 32 * 4 + 4 * 16 * 32 * 4
    assert gm["workspace_bytes"] == 4 * 1024 + 2 * 2048
    # A workspace copy moves at the L2 rate: the 910B2's 74 ns issue plus
    # 1024 B at 86 B a cycle at 1800 MHz (11.907 cycles, 6614.99 ps).
    assert set(workspace.loc[workspace["size"] == 1024, "dur_ps"]) == {74000 + 6615}


def test_cross_core_flags_are_marks_and_hold_the_waiter(tmp_path: Path) -> None:
    _, trace = run_mix(tmp_path)
    events = read_trace(trace).events
    marks = events[events.kind == "mark"]
    sets = marks[marks.name == "CrossCoreSetFlag"]
    waits = marks[marks.name == "CrossCoreWaitFlag"]
    assert sorted(zip(sets.core_kind.astype(str), sets.arg, strict=True)) == sorted(
        [("aiv", 1)] * 4 + [("aic", 2)] * 2
    )
    assert set(waits.tag) == {
        f"mix.cpp:{line_of(MIX, 'CrossCoreWaitFlag(1)')}",
        f"mix.cpp:{line_of(MIX, 'CrossCoreWaitFlag(2)')}",
    }
    assert (sets.arg2 == 2).all()
    for block in range(BLOCKS):
        aiv_sets = sets[(sets.core_kind == "aiv") & sets.core.isin([2 * block, 2 * block + 1])]
        aic_wait = waits[(waits.core_kind == "aic") & (waits.core == block)]
        # The AIC resumes once the later of its two AIVs has set the flag.
        assert aic_wait.start_ps.item() >= aiv_sets.start_ps.max()
        aic_set = sets[(sets.core_kind == "aic") & (sets.core == block)]
        aiv_waits = waits[(waits.core_kind == "aiv") & waits.core.isin([2 * block, 2 * block + 1])]
        assert (aiv_waits.start_ps >= aic_set.start_ps.item()).all()
        fixpipe = events[
            (events.core_kind == "aic") & (events.core == block) & (events.kind == "copy")
        ]
        mmad_out = fixpipe[fixpipe.space == "GM"]
        assert (aiv_waits.start_ps >= mmad_out.start_ps.max()).all()


def test_a_wait_no_core_sets_stops_the_run_at_its_line(tmp_path: Path) -> None:
    stuck = MIX.replace("CrossCoreWaitFlag(1);", "CrossCoreWaitFlag(3);")
    with pytest.raises(EmulationError, match=r"CrossCoreWaitFlag at mix\.cpp:\d+.*would hang"):
        run_mix(tmp_path, stuck)


def test_workspace_bytes_need_a_workspace_parameter(tmp_path: Path) -> None:
    path = kernel(
        tmp_path,
        "plain",
        MIX.replace(",\n                                          GM_ADDR workspace", ""),
    )
    with pytest.raises(ParameterError, match="no GM_ADDR workspace"):
        run_ascendc(path, "mix", 1, {}, {}, CHIP, values=LaunchValues(workspace_bytes=64))


# A cube-only kernel: c = a @ b on one AIC per block, no AIV in the launch.
CUBE_ONLY = (
    MIX.replace("KERNEL_TYPE_MIX_AIC_1_2", "KERNEL_TYPE_AIC_ONLY")
    .replace("CrossCoreWaitFlag(1);", "")
    .replace("CrossCoreSetFlag<2, PIPE_FIX>(2);", "")
    .replace(
        "(__gm__ half*)GetUserWorkspace(workspace) + block * M * K",
        "(__gm__ half*)x + block * M * K",
    )
)


def test_a_cube_only_kernel_runs_on_the_aics_of_a_split_chip(tmp_path: Path) -> None:
    outputs, trace = run_mix(tmp_path, CUBE_ONLY, workspace=0)
    x, w = operands()
    want = np.vstack(
        [x[b * M : (b + 1) * M].astype(np.float64) @ w.astype(np.float64) for b in range(2)]
    )
    np.testing.assert_array_equal(outputs["c"], want)
    np.testing.assert_array_equal(outputs["z"], 0)
    events = read_trace(trace).events
    on_cores = events[events.core_kind != "host"]
    assert set(zip(on_cores.core_kind.astype(str), on_cores.core, strict=True)) == {
        ("aic", 0),
        ("aic", 1),
    }


def test_the_workspace_size_comes_from_the_command_line_or_the_case_file(
    tmp_path: Path,
) -> None:
    source = kernel(tmp_path, "mix", MIX)
    x, w = operands()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    tensors = ["--input", f"x={tmp_path / 'x.npy'}", "--input", f"w={tmp_path / 'w.npy'}"]
    tensors += ["--output", "c=float32:64x32", "--output", "z=float32:64x32"]
    launch = ["--block-dim", str(BLOCKS), "--save-outputs", str(tmp_path / "cli")]
    trace = ["-o", str(tmp_path / "cli.ubtrace")]
    args = ["run", str(source), *tensors, *launch, *trace, "--workspace", str(WORKSPACE_BYTES)]
    assert main(args) == 0
    want = 2 * x.astype(np.float64).reshape(BLOCKS, M, K) @ w.astype(np.float64)
    np.testing.assert_array_equal(np.load(tmp_path / "cli" / "c.npy"), want.reshape(-1, N))
    (tmp_path / "case.yaml").write_text(
        "kernel: mix.cpp\nentry: mix\n"
        f"launch: {{block_dim: {BLOCKS}, workspace: {WORKSPACE_BYTES}}}\n"
        "inputs:\n- {name: x, dtype: float16, shape: [64, 32], gen: ones}\n"
        "- {name: w, dtype: float16, shape: [32, 32], gen: ones}\n"
        "outputs:\n- {name: c, dtype: float32, shape: [64, 32]}\n"
        "- {name: z, dtype: float32, shape: [64, 32]}\n"
    )
    case_run = ["run", str(tmp_path / "case.yaml"), "--save-outputs", str(tmp_path / "case")]
    assert main([*case_run, "-o", str(tmp_path / "case.ubtrace")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "case" / "c.npy"), 2 * K)


def test_cross_core_modes_and_kernel_types_not_covered_stop_with_one_line(
    tmp_path: Path,
) -> None:
    across_cores = MIX.replace(
        "CrossCoreSetFlag<2, PIPE_MTE3>(1)", "CrossCoreSetFlag<0, PIPE_MTE3>(1)"
    )
    with pytest.raises(EmulationError, match=r"mix\.cpp:\d+: CrossCoreSetFlag: modeId 0 is not"):
        run_mix(tmp_path, across_cores)
    one_to_one = MIX.replace("KERNEL_TYPE_MIX_AIC_1_2", "KERNEL_TYPE_MIX_AIC_1_1")
    with pytest.raises(ParameterError, match="KERNEL_TYPE_MIX_AIC_1_1.* is not covered"):
        run_mix(tmp_path, one_to_one)


def test_cube_work_without_a_kernel_type_names_the_missing_type(tmp_path: Path) -> None:
    untyped = (
        CUBE_ONLY.replace("KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);", "")
        .replace("if ASCEND_IS_AIV {", "if (false) {")
        .replace("if ASCEND_IS_AIC {", "{")
    )
    with pytest.raises(
        EmulationError, match=r"this AIV has no L1 \(.*KERNEL_TYPE_AIC_ONLY"
    ) as caught:
        run_mix(tmp_path, untyped, workspace=0)
    # a kernel written for a coupled chip (the 2023 samples) is told where it runs as it is
    assert "runs unchanged with --chip Ascend910A or Ascend310P3" in str(caught.value)
