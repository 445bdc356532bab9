"""The twin's Matmul high-level API (matmul::Matmul, REGIST_MATMUL_OBJ,
TCubeTiling given as a nested tiling struct) on a kernel written as the
documentation's examples write one (tests/helpers/matmul_kernels.py): numerics
against numpy, the GM traffic of one tiling worked out by hand, and its misuse
stopping with one line.

The kernels run on Ascend910B1 as KERNEL_TYPE_AIC_ONLY: the twin's Matmul runs
on the AIC of a split chip (L1, L0A/B/C, Fixpipe to GM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.matmul_kernels import CHIP, KERNEL, oracle, run_mm, small_ints, tiling
from tests.helpers.source_lines import call_site, line_of, stops_at, write_source
from ubscope.probe.ascendc.build import CompileError
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin


def test_square_single_core_fp16_into_float(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((64, 64)).astype(np.float16)
    b = rng.standard_normal((64, 64)).astype(np.float16)
    c, _, _ = run_mm(tmp_path, a, b, np.zeros((64, 64), np.float32), tiling(64, 64, 64))
    # Random values: float32 sums in another order than numpy's differ in the last bits.
    np.testing.assert_allclose(c, oracle(a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("trans_a", "trans_b"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_tails_transposes_and_bias(tmp_path: Path, trans_a: bool, trans_b: bool) -> None:
    # 100 x 90 by 90 x 70 in 48 x 32 x 32 blocks: every axis ends in a partial
    # block (100 = 2 x 48 + 4, 70 = 2 x 32 + 6, 90 = 2 x 32 + 26); two K slices
    # per L1 copy of A (stepKa = 2) leave a 26-wide slice alone at the end.
    a, b = small_ints((100, 90), 1), small_ints((90, 70), 2)
    bias = np.random.default_rng(3).integers(-50, 51, 70).astype(np.float32)
    cube = tiling(100, 70, 90, baseM=48, isBias=1, depthA1=2, stepKa=2)
    c, trace, _ = run_mm(
        tmp_path,
        a,
        b,
        np.zeros((100, 70), np.float32),
        cube,
        bias=bias,
        trans_a=trans_a,
        trans_b=trans_b,
    )
    # Integers: |sums| <= 90 * 16 + 50, exact in float32.
    np.testing.assert_array_equal(c, oracle(a, b, bias))
    # Every element of C written once: 100 x 70 floats = 28000 B to GM, none
    # outside it. A's 100 x 90 halves (18000 B) are read once per block column
    # (70 = 32 + 32 + 6: 3 times), B's 90 x 70 halves (12600 B) once per block
    # row (100 = 48 + 48 + 4: 3 times), transposed or not.
    copies = read_trace(trace).events.query("kind == 'copy'")
    assert copies[copies.space == "GM"]["size"].sum() == 28000
    assert (copies["flags"] & int(Flag.OUT_OF_BOUNDS) == 0).all()
    reads = copies[copies.src_space == "GM"]
    assert reads[reads.tensor == "a"]["size"].sum() == 3 * 18000
    assert reads[reads.tensor == "b"]["size"].sum() == 3 * 12600


def test_bfloat16_into_half_output(tmp_path: Path) -> None:
    # bfloat16_t inputs given as their bits (the upper half of float32's), C in half.
    a = np.random.default_rng(4).integers(-3, 4, (48, 64)).astype(np.float32)
    b = np.random.default_rng(5).integers(-3, 4, (64, 32)).astype(np.float32)

    def bits(x: np.ndarray) -> np.ndarray:
        return (x.view(np.uint32) >> 16).astype(np.uint16)

    c, _, _ = run_mm(
        tmp_path,
        bits(a),
        bits(b),
        np.zeros((48, 32), np.float16),
        tiling(48, 32, 64),
        types=("IN_T=bfloat16_t", "OUT_T=half", "ACC_T=float"),
    )
    np.testing.assert_array_equal(c, (a @ b).astype(np.float16))


def test_int8_into_int32_with_bias(tmp_path: Path) -> None:
    # int8 needs B transposed ([N, K] in GM): the twin's LoadData transposes
    # 2-byte fractals only. K slices are 32 int8 (one 32 B fractal row).
    rng = np.random.default_rng(6)
    a = rng.integers(-128, 128, (40, 96)).astype(np.int8)
    b = rng.integers(-128, 128, (96, 48)).astype(np.int8)
    bias = rng.integers(-1000, 1001, 48).astype(np.int32)
    c, _, _ = run_mm(
        tmp_path,
        a,
        b,
        np.zeros((40, 48), np.int32),
        tiling(40, 48, 96, isBias=1),
        bias=bias,
        trans_b=True,
        types=("IN_T=int8_t", "OUT_T=int32_t", "ACC_T=int32_t"),
    )
    np.testing.assert_array_equal(c, a.astype(np.int64) @ b.astype(np.int64) + bias)


def test_multi_core_split_over_m_and_n_with_set_tail(tmp_path: Path) -> None:
    # 96 x 80 over 2 x 2 cores of 64 x 48: the second row of cores gets 32
    # rows (SetTail), the second column 32 columns.
    a, b = small_ints((96, 64), 7), small_ints((64, 80), 8)
    bias = np.random.default_rng(9).integers(-50, 51, 80).astype(np.float32)
    cube = tiling(96, 80, 64, usedCoreNum=4, singleCoreM=64, singleCoreN=48, isBias=1)
    c, _, _ = run_mm(
        tmp_path, a, b, np.full((96, 80), -1, np.float32), cube, bias=bias, block_dim=4
    )
    np.testing.assert_array_equal(c, oracle(a, b, bias))


def test_iterate_and_get_tensor_c_loop(tmp_path: Path) -> None:
    a, b = small_ints((72, 64), 10), small_ints((64, 40), 11)
    c, _, _ = run_mm(
        tmp_path, a, b, np.zeros((72, 40), np.float32), tiling(72, 40, 64), extra=("ITERATE",)
    )
    np.testing.assert_array_equal(c, oracle(a, b))


def test_iterate_all_with_atomic_add_over_split_k(tmp_path: Path) -> None:
    # Two cores each take half of K = 128 and add their product into C, which
    # starts at c0: C = c0 + A[:, :64] @ B[:64] + A[:, 64:] @ B[64:].
    a, b = small_ints((32, 128), 12), small_ints((128, 48), 13)
    c0 = np.random.default_rng(14).integers(-100, 101, (32, 48)).astype(np.float32)
    cube = tiling(32, 48, 128, usedCoreNum=2, singleCoreK=64)
    c, _, _ = run_mm(tmp_path, a, b, c0.copy(), cube, block_dim=2, extra=("SPLIT_K", "ATOMIC=1"))
    np.testing.assert_array_equal(c, c0 + oracle(a, b))


@pytest.mark.parametrize(
    ("order", "c_offsets"), [(0, [0, 8192, 128, 8320]), (1, [0, 128, 8192, 8320])]
)
def test_gm_traffic_of_a_tiling_worked_out_by_hand(
    tmp_path: Path, order: int, c_offsets: list[int]
) -> None:
    # M = N = K = 64 in 32 x 32 x 32 blocks: 2 x 2 C blocks, 2 K slices each.
    # A comes in stepKa = 2 slices per copy (A1 holds depthA1 = 2 blocks), B in
    # stepKb = 1 slice per copy; nothing stays in L1 from one C block to the next.
    # A: per C block one copy of its 32-row panel, 32 rows x 64 halves = 32 x 128 B
    #    = 4096 B; 4 blocks -> 4 copies, 16384 B (A's 8192 B read once per block column).
    # B: per C block 2 copies of a 32 (K) x 32 (N) slice, 32 rows x 64 B = 2048 B;
    #    8 copies, 16384 B.
    # C: 4 Fixpipes of 32 rows x 32 floats (128 B) = 4096 B; 16384 B written.
    # With iterateOrder 0 the blocks go along M first: (m0, n0) = (0, 0), (32, 0),
    # (0, 32), (32, 32), at byte offsets (m0 * 64 + n0) * 4 = 0, 8192, 128, 8320
    # of C; along N first with iterateOrder 1: 0, 128, 8192, 8320.
    a, b = small_ints((64, 64), 15), small_ints((64, 64), 16)
    cube = tiling(64, 64, 64, depthA1=2, stepKa=2, iterateOrder=order)
    c, trace, _ = run_mm(tmp_path, a, b, np.zeros((64, 64), np.float32), cube)
    np.testing.assert_array_equal(c, oracle(a, b))
    events = read_trace(trace).events
    copies = events[events.kind == "copy"]
    reads = copies[copies.src_space == "GM"]
    a_reads, b_reads = reads[reads.tensor == "a"], reads[reads.tensor == "b"]
    assert a_reads[["size", "burst_len", "burst_count"]].values.tolist() == [[4096, 128, 32]] * 4
    assert b_reads[["size", "burst_len", "burst_count"]].values.tolist() == [[2048, 64, 32]] * 8
    writes = copies[copies.space == "GM"]
    assert writes[["size", "burst_len", "burst_count"]].values.tolist() == [[4096, 128, 32]] * 4
    assert (writes.addr - writes.addr.min()).tolist() == c_offsets
    site = call_site(tmp_path / "mm.cpp", "mm.IterateAll(")
    assert set(copies.tag) == {site}


def test_iterate_before_set_tensor_a_stops_at_its_line(tmp_path: Path) -> None:
    a, b = small_ints((32, 32), 17), small_ints((32, 32), 18)
    with stops_at(
        "mm.cpp", KERNEL, "while (mm.Iterate())", "matmul::Matmul::Iterate before SetTensorA"
    ):
        run_mm(
            tmp_path,
            a,
            b,
            np.zeros((32, 32), np.float32),
            tiling(32, 32, 32),
            extra=("ITERATE", "SKIP_SET_A"),
        )


def test_tiling_past_l0a_is_flagged_as_any_buffer_past_capacity(tmp_path: Path) -> None:
    # baseM x baseK = 256 x 256 halves = 128 KiB in L0A, twice its 64 KiB: the
    # block is placed as an InitBuffer past capacity is (into the red zone,
    # flagged REDZONE) and the first LoadData past 64 KiB is a device fault.
    assert CHIP.space_capacity("L0A") == 65536
    a, b = small_ints((256, 256), 19), small_ints((256, 16), 20)
    cube = tiling(256, 16, 256, baseM=256, baseN=16, baseK=256, dbL0A=1, dbL0B=1)
    _, trace, fault = run_mm(tmp_path, a, b, np.zeros((256, 16), np.float32), cube)
    events = read_trace(trace).events
    l0a = events[(events.kind == "alloc") & (events.space == "L0A")]
    assert l0a[["addr", "aligned_size", "tag"]].values.tolist() == [
        [0, 131072, call_site(tmp_path / "mm.cpp", "REGIST_MATMUL_OBJ(")]
    ]
    assert (l0a["flags"] & int(Flag.REDZONE)).all()
    assert fault is not None
    assert (fault.space, fault.tag) == ("L0A", call_site(tmp_path / "mm.cpp", "mm.IterateAll("))
    assert "past the L0A capacity" in fault.describe()


NZ_KERNEL = """\
#include "kernel_operator.h"
#include "lib/matmul_intf.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void nz(GM_ADDR a) {
    using NzType = matmul::MatmulType<TPosition::GM, CubeFormat::NZ, half>;
    using CType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>;
    matmul::Matmul<NzType, NzType, CType> mm;
}
"""


def test_nz_format_fails_the_build_with_one_line_at_the_declaration(tmp_path: Path) -> None:
    source = write_source(tmp_path, "nz.cpp", NZ_KERNEL)
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "nz", 1, {"a": np.zeros(8, np.float16)}, {}, CHIP)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{source}:{line_of(NZ_KERNEL, 'Matmul<NzType')}:")
    assert "matmul::Matmul takes A, B and bias as MatmulType<TPosition::GM, CubeFormat::ND" in first


# Two objects registered by one REGIST_MATMUL_OBJ, the first's tiling by
# pointer and the second's by reference: C = A x B and D = A x E^T (E stored
# [N, K], SetTensorB's isTransposeB).
TWO_OBJECTS = """\
#include "kernel_operator.h"
#include "lib/matmul_intf.h"
using namespace AscendC;

namespace optiling {
BEGIN_TILING_DATA_DEF(TwoTiling)
  TILING_DATA_FIELD_DEF_STRUCT(TCubeTiling, cube);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(Two, TwoTiling)
}

using AType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, half>;
using CType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>;

extern "C" __global__ __aicore__ void two(GM_ADDR a, GM_ADDR b, GM_ADDR e, GM_ADDR c, GM_ADDR d,
                                          GM_ADDR workspace, GM_ADDR tiling) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    matmul::Matmul<AType, AType, CType> mm1, mm2;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm1, &t.cube, mm2, t.cube);
    GlobalTensor<half> aGm, bGm, eGm;
    GlobalTensor<float> cGm, dGm;
    aGm.SetGlobalBuffer((__gm__ half*)a);
    bGm.SetGlobalBuffer((__gm__ half*)b);
    eGm.SetGlobalBuffer((__gm__ half*)e);
    cGm.SetGlobalBuffer((__gm__ float*)c);
    dGm.SetGlobalBuffer((__gm__ float*)d);
    mm1.SetTensorA(aGm);
    mm1.SetTensorB(bGm);
    mm2.SetTensorA(aGm);
    mm2.SetTensorB(eGm, true);
    mm1.IterateAll(cGm);
    mm2.IterateAll(dGm);
    mm1.End();
    mm2.End();
}
"""


@pytest.mark.parametrize("kernel_type", ["KERNEL_TYPE_AIC_ONLY", "KERNEL_TYPE_MIX_AIC_1_2"])
def test_two_objects_registered_by_one_call(tmp_path: Path, kernel_type: str) -> None:
    # In the mix launch both AIVs call both objects (each computing all of C
    # and D) and the AIC runs each call on the object at its REGIST position.
    a, b, e = small_ints((48, 64), 21), small_ints((64, 32), 22), small_ints((32, 64), 23)
    cube = {f"cube.{k}": str(v) for k, v in tiling(48, 32, 64).items()}
    run = run_ascendc(
        write_source(tmp_path, "two.cpp", TWO_OBJECTS.replace("KERNEL_TYPE_AIC_ONLY", kernel_type)),
        "two",
        1,
        {"a": a, "b": b, "e": e},
        {"c": np.zeros((48, 32), np.float32), "d": np.zeros((48, 32), np.float32)},
        CHIP,
        tmp_path / "two.ubtrace",
        values=LaunchValues(tiling=cube),
    )
    np.testing.assert_array_equal(run.outputs["c"], oracle(a, b))
    np.testing.assert_array_equal(run.outputs["d"], oracle(a, e.T))
    # Each object placed its own buffers at the REGIST_MATMUL_OBJ line: two L0C blocks.
    events = read_trace(tmp_path / "two.ubtrace").events
    l0c = events[(events.kind == "alloc") & (events.space == "L0C")]
    assert l0c[["addr", "tag"]].values.tolist() == [
        [0, call_site(tmp_path / "two.cpp", "REGIST_MATMUL_OBJ(")],
        [4096, call_site(tmp_path / "two.cpp", "REGIST_MATMUL_OBJ(")],
    ]
    # C's blocks accumulate in the first object's L0C block, D's in the second's.
    mmads = events[events.name == "Mmad"]
    assert set(mmads.addr) == {0, 4096}
    assert set(events[events.kind != "alloc"].query("space == 'L0C'").core_kind) == {"aic"}


# The pages' pure Cube mode: ASCENDC_CUBE_ONLY defined before lib/matmul_intf.h
# and no kernel type declared; the launch is then AICs only (without the
# define it is a mix one: test_twin_matmul_mix.py).
CUBE_ONLY = "#define ASCENDC_CUBE_ONLY\n" + KERNEL.replace(
    "    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);\n", ""
)


def test_cube_only_define_runs_the_kernel_on_the_aics(tmp_path: Path) -> None:
    a, b = small_ints((32, 64), 21), small_ints((64, 32), 22)
    c, trace, _ = run_mm(
        tmp_path, a, b, np.zeros((32, 32), np.float32), tiling(32, 32, 64), source=CUBE_ONLY
    )
    np.testing.assert_array_equal(c, oracle(a, b))
    events = read_trace(trace).events
    assert set(events[events.kind.isin(["copy", "compute"])].core_kind) == {"aic"}
