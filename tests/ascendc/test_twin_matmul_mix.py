"""The twin's Matmul in a mix kernel: the AIVs call it, their block's AIC runs
the calls, and a VECIN C reaches each AIV's UB through the system workspace,
as the Matmul pages describe the default (MIX) mode on Atlas A2. Numerics
against numpy, the bytes of each path counted by hand, the order of the AIC's
writes and the AIVs' reads, and misuse stopping with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.matmul_kernels import (
    CHIP,
    KERNEL,
    LEAKY,
    oracle,
    run_mm,
    small_ints,
    tiling,
)
from tests.helpers.rebatch import rebatch
from tests.helpers.same_analysis import assert_same_analysis
from tests.helpers.source_lines import call_site, stops_at, write_source
from ubscope.analyzers import analyze_trace
from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.streaming import single_buffered as streamed_single_buffered
from ubscope.probe.ascendc.runner import launch_mode, run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin

# C = 128 x 96 over K = 64 on 2 blocks (4 AIVs) of 64 x 48, in 32 x 48 x 32 blocks.
M, N, K = 128, 96, 64
LEAKY_TILING = tiling(M, N, K, usedCoreNum=4, singleCoreM=64, singleCoreN=48, baseN=48)


def run_leaky(
    tmp_path: Path, *defines: str, source: str = LEAKY, **cube: int
) -> tuple[np.ndarray, np.ndarray, Path]:
    """The kernel's C and numpy's for the same inputs, and the trace; ``cube``
    overrides fields of the tiling."""
    a, b = small_ints((M, K), 31), small_ints((K, N), 32)
    fields = LEAKY_TILING | cube
    values = {f"cube.{k}": str(v) for k, v in fields.items()} | {"alpha": "0.25"}
    tmp_path.mkdir(parents=True, exist_ok=True)
    trace = tmp_path / "leaky.ubtrace"
    run = run_ascendc(
        write_source(tmp_path, "leaky.cpp", source),
        "leaky",
        2,
        {"a": a, "b": b},
        {"c": np.zeros((M, N), np.float32)},
        CHIP,
        trace,
        defines=defines,
        values=LaunchValues(tiling=values),
    )
    product = oracle(a, b)
    # Integers times 0.25: exact in float32.
    return run.outputs["c"], np.where(product >= 0, product, np.float32(0.25) * product), trace


@pytest.mark.parametrize("variant", [(), ("STAGED",), ("ALL",)], ids=["ub", "staged", "all"])
def test_leaky_relu_epilogue_on_the_aivs_matches_numpy(
    tmp_path: Path, variant: tuple[str, ...]
) -> None:
    c, expected, trace = run_leaky(tmp_path, *variant)
    np.testing.assert_array_equal(c, expected)
    events = read_trace(trace).events
    cube = events[events.space.isin(["L1", "L0A", "L0B", "L0C"]) & (events.kind != "alloc")]
    assert set(cube.core_kind) == {"aic"}
    assert set(events[events.name == "LeakyRelu"].core_kind) == {"aiv"}


def test_bytes_of_each_path_worked_out_by_hand(tmp_path: Path) -> None:
    _, _, trace = run_leaky(tmp_path)
    copies = read_trace(trace).events.query("kind == 'copy'")

    def moved(core_kind: str, src: str, dst: str, tensor: str) -> int:
        chosen = copies[
            (copies.core_kind == core_kind)
            & (copies.src_space == src)
            & (copies.space == dst)
            & (copies.tensor == tensor)
        ]
        return int(chosen["size"].sum())

    # C is 128 x 96 floats = 49152 B. Every block goes L0C -> GM (the system
    # workspace) on its AIC, GM -> UB on its AIV, and UB -> GM (C) on the AIV.
    assert moved("aic", "L0C", "GM", "sys_workspace") == 49152
    assert moved("aiv", "GM", "UB", "sys_workspace") == 49152
    assert moved("aiv", "UB", "GM", "c") == 49152
    # Each AIV's 64 x 64 half A panel (8192 B) is read once per block column
    # (48 / 48 = 1): 4 AIVs -> 32768 B. Its 64 x 48 half B panel (6144 B) once
    # per block row (64 / 32 = 2): 4 AIVs x 2 x 6144 = 49152 B. Both on AICs.
    assert moved("aic", "GM", "L1", "a") == 32768
    assert moved("aic", "GM", "L1", "b") == 49152
    assert copies[copies.tensor.isin(["a", "b"])].core_kind.eq("aic").all()
    site = call_site(tmp_path / "leaky.cpp", "mm.GetTensorC(cLocal")
    assert set(copies[copies.tensor == "sys_workspace"].tag) == {site}


def test_each_aiv_waits_for_its_aic(tmp_path: Path) -> None:
    # Both AIVs of a block share its AIC. Iterate is synchronous: an AIV goes
    # on only once its block is in L0C, so even its vector work that needs no
    # Matmul data (the FILL_SCRATCH Duplicate) starts after the AIC's first block (two
    # Mmads: K = 64 in baseK = 32 slices) is done. Each block the AIC writes
    # to an AIV's slot of the workspace is complete before that AIV's copy of
    # it starts, and the AIC's writes follow each other (one Fixpipe).
    _, _, trace = run_leaky(tmp_path, "FILL_SCRATCH")
    events = read_trace(trace).events
    mmads = events.query("name == 'Mmad'")
    marks = events.query("name == 'Duplicate'")
    for aiv in sorted(set(marks.core.tolist())):
        # AIV 2b + s belongs to the AIC of block b.
        first_block = mmads[mmads.core == aiv // 2].sort_values(by="start_ps").iloc[:2]
        mine = marks[marks.core == aiv]
        assert mine.start_ps.min() >= (first_block.start_ps + first_block.dur_ps).max()
    copies = events.query("kind == 'copy' and tensor == 'sys_workspace'")
    writes = copies[copies.core_kind == "aic"]
    reads = copies[copies.core_kind == "aiv"]
    assert len(writes) == len(reads) == 8  # 4 AIVs x 2 blocks
    for core, src_addr, start in zip(
        reads.core.tolist(), reads.src_addr.tolist(), reads.start_ps.tolist(), strict=True
    ):
        # Its block came from its AIC, into its own slot's address.
        from_aic = writes[(writes.core == core // 2) & (writes.addr == src_addr)]
        earlier = from_aic[from_aic.start_ps <= start]
        assert not earlier.empty
        assert (earlier.start_ps + earlier.dur_ps).max() <= start
    for _, per_aic in writes.groupby("core"):
        ends = (per_aic.start_ps + per_aic.dur_ps).to_numpy()
        assert (per_aic.start_ps.to_numpy()[1:] >= ends[:-1]).all()


def test_iterate_all_to_gm_from_the_aivs_of_a_mix_kernel(tmp_path: Path) -> None:
    # The Matmul test kernel declared MIX: each of the 4 AIVs (2 blocks) takes
    # the C block its GetBlockIdx names, with tails (SetTail) and bias.
    a, b = small_ints((96, 64), 33), small_ints((64, 80), 34)
    bias = np.random.default_rng(35).integers(-50, 51, 80).astype(np.float32)
    cube = tiling(96, 80, 64, usedCoreNum=4, singleCoreM=64, singleCoreN=48, isBias=1)
    mix = KERNEL.replace("KERNEL_TYPE_AIC_ONLY", "KERNEL_TYPE_MIX_AIC_1_2")
    c, trace, _ = run_mm(
        tmp_path, a, b, np.full((96, 80), -1, np.float32), cube, bias=bias, block_dim=2, source=mix
    )
    np.testing.assert_array_equal(c, oracle(a, b, bias))
    events = read_trace(trace).events
    writes = events[(events.kind == "copy") & (events.space == "GM")]
    assert set(writes.core_kind) == {"aic"}
    assert set(writes.tag) == {call_site(tmp_path / "mm.cpp", "mm.IterateAll(")}


def single_buffered_findings(trace: Path) -> dict[str, Finding]:
    """UB013's findings of a trace, by the queue position in their message."""
    findings = [f for f in analyze_trace(read_trace(trace)).findings if f.code == "UB013"]
    by_position = {f.message.split("(")[1].split(")")[0]: f for f in findings}
    assert len(by_position) == len(findings)
    return by_position


def modelled_ps(trace: Path) -> int:
    return TraceContext(read_trace(trace)).modelled_time_ps


def test_single_buffered_a1_and_b1_each_name_their_field_and_each_other(tmp_path: Path) -> None:
    # depthA1 = stepKa = 1 and depthB1 = stepKb = 1: each K slice of A (of B)
    # waits for the previous one's LoadData before its copy into the one A1
    # (B1) block can start. Both blocks sit at the REGIST_MATMUL_OBJ line: one
    # finding each (they were once one, named A1, with both savings summed).
    _, _, trace = run_leaky(tmp_path)
    found = single_buffered_findings(trace)
    regist = call_site(tmp_path / "leaky.cpp", "REGIST_MATMUL_OBJ(")
    assert {found["A1"].location.tag, found["B1"].location.tag} == {regist}
    assert "depthA1 = 2 x stepKa in its TCubeTiling" in found["A1"].suggestion
    assert "depthB1 = 2 x stepKb in its TCubeTiling" in found["B1"].suggestion
    # each K slice loads one A and one B block: they fill in step
    assert found["A1"].evidence["copied_in_step_with"] == ["'leaky.cpp:95' (B1)"]
    assert found["B1"].evidence["copied_in_step_with"] == ["'leaky.cpp:95' (A1)"]


def test_single_buffered_savings_are_what_double_buffering_saves(tmp_path: Path) -> None:
    # The oracle is the cost model's time of the kernel run again as the
    # findings say: depthA1 = depthB1 = 2 together. The two estimates are
    # each within 15 % of that saving (they were 3.48 µs for both together
    # against 0.86 µs).
    # The AIVs' VECIN C block is single-buffered too, but each AIV's next
    # GetTensorC waits for its AIC's next block, not for the UB block: the
    # kernel with two C blocks takes as long, and UB013 says nothing of it
    # (it once said 678 ns).
    _, _, single = run_leaky(tmp_path / "single")
    _, _, doubled = run_leaky(tmp_path / "doubled", depthA1=2, depthB1=2)
    two_c_blocks = LEAKY.replace(
        "InitBuffer(cQue, 1, tiling.baseM", "InitBuffer(cQue, 2, tiling.baseM"
    )
    assert two_c_blocks != LEAKY
    _, _, c_doubled = run_leaky(tmp_path / "c_doubled", source=two_c_blocks)
    saved = modelled_ps(single) - modelled_ps(doubled)
    assert saved > 0
    found = single_buffered_findings(single)
    assert set(found) == {"A1", "B1"}
    for position in ("A1", "B1"):
        assert found[position].evidence["saved_ps"] == pytest.approx(saved, rel=0.15)
    assert modelled_ps(c_doubled) == modelled_ps(single)


def test_streamed_single_buffered_savings_equal_the_in_memory_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the trace cut into batches of 5 events, each block's windows finished
    # early: the blocks' releases carry from batch to batch
    monkeypatch.setattr(streamed_single_buffered, "EARLY_COPIES", 2)
    monkeypatch.setattr(streamed_single_buffered, "OPEN_STAGES", 1)
    _, _, trace = run_leaky(tmp_path)
    assert_same_analysis(rebatch(trace, tmp_path / "small_batches.ubtrace", 5))


def test_a_matmul_kernel_without_a_kernel_type_is_a_mix_one(tmp_path: Path) -> None:
    # The pages: MIX is the default, ASCENDC_CUBE_ONLY the pure Cube mode.
    source = tmp_path / "k.cpp"
    plain = 'extern "C" __global__ __aicore__ void k(GM_ADDR x) {}\n'
    matmul = "REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &tiling);\n"
    assert launch_mode(source, plain, CHIP) == "vector"
    assert launch_mode(source, plain + matmul, CHIP) == "mix"
    assert launch_mode(source, "#define ASCENDC_CUBE_ONLY\n" + plain + matmul, CHIP) == "cube"
    assert launch_mode(source, plain + "// " + matmul, CHIP) == "vector"
    assert launch_mode(source, plain + matmul, load_chip("Ascend910A")) == "vector"


def test_aic_registering_alone_in_a_mix_kernel_stops_with_one_line(tmp_path: Path) -> None:
    # Only the AIC registers: after REGIST_MATMUL_OBJ it runs nothing but its
    # AIVs' Matmul calls, so its own IterateAll would never run on the device.
    aic_alone = KERNEL.replace(
        "KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);",
        "KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);\n    if ASCEND_IS_AIV { return; }",
    )
    a, b = small_ints((32, 32), 36), small_ints((32, 32), 37)
    with stops_at(
        "mm.cpp", aic_alone, "REGIST_MATMUL_OBJ(", "REGIST_MATMUL_OBJ on the AIC of a mix kernel"
    ):
        run_mm(tmp_path, a, b, np.zeros((32, 32), np.float32), tiling(32, 32, 32), source=aic_alone)


VECIN_ON_AIC = """\
#include "kernel_operator.h"
#include "lib/matmul_intf.h"
using namespace AscendC;

namespace optiling {
BEGIN_TILING_DATA_DEF(VecinTiling)
  TILING_DATA_FIELD_DEF_STRUCT(TCubeTiling, cube);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(Vecin, VecinTiling)
}

using AType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, half>;
using CType = matmul::MatmulType<TPosition::VECIN, CubeFormat::ND, float>;

extern "C" __global__ __aicore__ void vecin(GM_ADDR a, GM_ADDR b, GM_ADDR workspace, GM_ADDR tiling) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    matmul::Matmul<AType, AType, CType> mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t.cube);
    GlobalTensor<half> aGm, bGm;
    aGm.SetGlobalBuffer((__gm__ half*)a);
    bGm.SetGlobalBuffer((__gm__ half*)b);
    mm.SetTensorA(aGm);
    mm.SetTensorB(bGm);
#ifdef ALL
    LocalTensor<float> none;
    mm.IterateAll(none);
#else
    mm.Iterate();
    GlobalTensor<float> block = mm.GetTensorC();
#endif
}
"""


def test_aivs_waiting_for_a_serving_aic_stop_with_one_line(tmp_path: Path) -> None:
    # The device would hang: the AIVs wait for flag 3, and the AIC, past its
    # REGIST_MATMUL_OBJ, serves Matmul calls that never come.
    source = tmp_path / "leaky.cpp"
    with pytest.raises(EmulationError) as caught:
        run_leaky(tmp_path, "WAIT_FOR_AIC")
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    wait, regist = (
        call_site(source, "CrossCoreWaitFlag(3)"),
        call_site(source, "REGIST_MATMUL_OBJ("),
    )
    assert (
        "the cores of the block wait for each other (the device would hang): "
        f"{wait} waits in CrossCoreWaitFlag for a flag; {wait} waits in CrossCoreWaitFlag for a "
        f"flag; {regist} is the AIC, serving only its AIVs' Matmul calls from this "
        "REGIST_MATMUL_OBJ"
    ) in message


@pytest.mark.parametrize(
    ("defines", "call"), [((), "GetTensorC()"), (("ALL",), "IterateAll(none)")], ids=["get", "all"]
)
def test_vecin_c_in_an_aic_only_kernel_stops_with_one_line(
    tmp_path: Path, defines: tuple[str, ...], call: str
) -> None:
    # An AIC has no UB: on Atlas A2 a VECIN C goes from the AIC to an AIV.
    values = {f"cube.{k}": str(v) for k, v in tiling(32, 32, 32).items()}
    api = call.partition("(")[0]
    with stops_at("vecin.cpp", VECIN_ON_AIC, f"mm.{call}", f"matmul::Matmul::{api} into a VECIN C"):
        run_ascendc(
            write_source(tmp_path, "vecin.cpp", VECIN_ON_AIC),
            "vecin",
            1,
            {"a": small_ints((32, 32), 38), "b": small_ints((32, 32), 39)},
            {},
            CHIP,
            defines=defines,
            values=LaunchValues(tiling=values),
        )
