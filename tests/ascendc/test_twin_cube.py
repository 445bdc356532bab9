"""The twin's cube API (Nd2Nz DataCopy, LoadData, Mmad, CO1 -> CO2 -> GM) on
small kernels written here, numerics against numpy and events against figures
worked out by hand; and the shared legacy matmul sample run unchanged.

The kernels run on Ascend910A: its coupled AI Core holds UB, L1 and L0A/B/C
together, and CO2 is UB there, as the legacy sample expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of
from ubscope.analyzers.api import analyze_trace
from ubscope.analyzers.findings import Severity
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910A")

# c[M, 32] = a[M, 32] @ b[32, 32] in fp16 with fp32 accumulation, through the
# documented layouts: GM (ND) -> L1 (NZ, rows padded to MP) by Nd2Nz, L1 -> L0A
# (ZZ) and, with the fractals transposed, L1 -> L0B (ZN) by LoadData, Mmad into
# L0C (NZ). Out either by Fixpipe (NZ -> ND, fp16) or, as a legacy kernel does,
# L0C -> CO2 in whole fractals and CO2 (NZ) -> GM (ND) one column block at a time.
MATMUL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr uint16_t K = 32, N = 32;
extern "C" __global__ __aicore__ void mm(GM_ADDR a, GM_ADDR b, GM_ADDR c) {
    TPipe pipe;
    TQue<QuePosition::A1, 1> qa1;
    TQue<QuePosition::B1, 1> qb1;
    TQue<QuePosition::A2, 1> qa2;
    TQue<QuePosition::B2, 1> qb2;
    TQue<QuePosition::CO1, 1> qc1;
    GlobalTensor<half> aGm, bGm;
    GlobalTensor<C_TYPE> cGm;
    aGm.SetGlobalBuffer((__gm__ half*)a, M * K);
    bGm.SetGlobalBuffer((__gm__ half*)b, K * N);
    cGm.SetGlobalBuffer((__gm__ C_TYPE*)c, M * N);
    pipe.InitBuffer(qa1, 1, MP * K * sizeof(half));
    pipe.InitBuffer(qb1, 1, K * N * sizeof(half));
    pipe.InitBuffer(qa2, 1, MP * K * sizeof(half) + A2_PAD);
    pipe.InitBuffer(qb2, 1, K * N * sizeof(half));
    pipe.InitBuffer(qc1, 1, MP * N * sizeof(float));
    LocalTensor<half> a1 = qa1.AllocTensor<half>();
    LocalTensor<half> b1 = qb1.AllocTensor<half>();
    DataCopy(a1, aGm, Nd2NzParams(1, M, K, 0, K, MP, 1, 0));
    DataCopy(b1, bGm, Nd2NzParams(1, K, N, 0, N, K, 1, 0));
    LocalTensor<half> a2 = qa2.AllocTensor<half>();
    for (int i = 0; i < MP / 16; ++i) {
        LoadData2dParams p;
        p.repeatTimes = K / 16;
        p.srcStride = MP / 16;
        LoadData(a2[A2_OFFSET + i * 16 * K], a1[i * 256], p);
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
    Mmad(c1, a2[A2_OFFSET], b2, mp);
#ifdef FIXPIPE_OUT
    FixpipeParamsV220 fp;
    fp.nSize = N;
    fp.mSize = M;
    fp.srcStride = MP;
    fp.dstStride = N;
    fp.quantPre = QuantMode_t::F322F16;
    Fixpipe(cGm, c1, fp);
#else
    TQue<QuePosition::CO2, 1> qc2;
    pipe.InitBuffer(qc2, 1, MP * N * sizeof(float));
    LocalTensor<float> c2 = qc2.AllocTensor<float>();
    DataCopyEnhancedParams matrix;
    matrix.blockMode = BlockMode::BLOCK_MODE_MATRIX;
    DataCopy(c2, c1, DataCopyParams(1, MP * N / 256, 0, 0), matrix);
    for (int l = 0; l < N / 16; ++l) {
        DataCopy(cGm[l * 16], c2[l * MP * 16], DataCopyParams(M, 2, 0, (N / 16 - 1) * 2));
    }
    qc2.FreeTensor(c2);
#endif
    qa1.FreeTensor(a1);
    qb1.FreeTensor(b1);
    qa2.FreeTensor(a2);
    qb2.FreeTensor(b2);
    qc1.FreeTensor(c1);
}
"""
ALIGNED = ("M=32", "MP=32", "C_TYPE=float", "A2_PAD=0", "A2_OFFSET=0")

# A 20 x 24 fp16 matrix (neither a multiple of 16) into L1 as NZ with the
# rows padded to 32, then the raw L1 bytes (2 column blocks x 32 rows x 16) out.
NZ_LAYOUT = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void nz(GM_ADDR x, GM_ADDR raw) {
    TPipe pipe;
    TQue<QuePosition::A1, 1> q;
    GlobalTensor<half> xGm, rawGm;
    xGm.SetGlobalBuffer((__gm__ half*)x, 20 * 24);
    rawGm.SetGlobalBuffer((__gm__ half*)raw, 2 * 32 * 16);
    pipe.InitBuffer(q, 1, 2 * 32 * 16 * sizeof(half));
    LocalTensor<half> l1 = q.AllocTensor<half>();
    DataCopy(l1, xGm, Nd2NzParams(1, 20, 24, 0, 24, 32, 1, 0));
    DataCopy(rawGm, l1, 2 * 32 * 16);
    q.FreeTensor(l1);
}
"""


def kernel(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.cpp"
    path.write_text(text)
    return path


def run_matmul(
    tmp_path: Path, a: np.ndarray, b: np.ndarray, c: np.ndarray, defines: tuple[str, ...]
) -> tuple[np.ndarray, Path]:
    trace = tmp_path / "mm.ubtrace"
    run = run_ascendc(
        kernel(tmp_path, "mm", MATMUL),
        "mm",
        1,
        {"a": a, "b": b},
        {"c": c},
        CHIP,
        trace,
        defines=defines,
    )
    return run.outputs["c"], trace


def operands(rows: int, bound: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(23)
    a = rng.integers(-bound, bound + 1, (rows, 32)).astype(np.float16)
    return a, rng.integers(-bound, bound + 1, (32, 32)).astype(np.float16)


def test_fp16_matmul_through_the_fractal_layouts(tmp_path: Path) -> None:
    a, b = operands(32, 8)
    c, trace = run_matmul(tmp_path, a, b, np.zeros((32, 32), np.float32), ALIGNED)
    # Integers in -8..8 over k = 32: every partial sum is exact in fp32.
    np.testing.assert_array_equal(c, a.astype(np.float64) @ b.astype(np.float64))
    events = read_trace(trace).events
    copies = events[events.kind == "copy"]
    # Nd2Nz: 32 rows of 32 halves (64 B) each way, 2048 B into L1 per operand.
    nd2nz = copies[copies.tag == f"mm.cpp:{line_of(MATMUL, 'DataCopy(a1, aGm')}"]
    assert nd2nz[["space", "size", "aligned_size", "burst_len", "burst_count"]].values.tolist() == [
        ["L1", 2048, 2048, 64, 32]
    ]
    # LoadData into L0A: per 16-row block, 2 fractals of 512 B, the block's fractals
    # in L1 NZ are 2 fractals apart (srcStride = MP / 16), so at 0/512 B and 1024/1536 B.
    loads = copies[copies.tag == f"mm.cpp:{line_of(MATMUL, 'LoadData(a2[')}"]
    assert loads[["space", "addr", "src_space", "burst_len", "burst_count"]].values.tolist() == [
        ["L0A", 0, "L1", 512, 2],
        ["L0A", 1024, "L1", 512, 2],
    ]
    assert loads.src_addr.tolist() == [0, 512]
    mmad = events[events.kind == "compute"]
    # 2*M*K*N = 65536 FLOPs; read 2 * 32*32*2 B of fp16, written 32*32*4 B of fp32.
    # 910A: 262.1 TFLOPS over 32 cube cores = 8.190625e12 FLOP/s, so 65536 FLOPs take
    # 8.0013 ns = 8001 ps.
    assert mmad[["space", "size", "aligned_size", "arg", "dur_ps"]].values.tolist() == [
        ["L0C", 8192, 4096, 65536, 8001]
    ]
    on_chip = events[events.space.isin(["L1", "L0A", "L0B", "L0C", "UB"])]
    assert (on_chip["flags"] == 0).all()


def test_nz_layout_of_a_shape_that_is_not_a_multiple_of_16(tmp_path: Path) -> None:
    x = np.arange(20 * 24, dtype=np.float16).reshape(20, 24)
    trace = tmp_path / "nz.ubtrace"
    run = run_ascendc(
        kernel(tmp_path, "nz", NZ_LAYOUT),
        "nz",
        1,
        {"x": x},
        {"raw": np.full(2 * 32 * 16, -1, np.float16)},
        CHIP,
        trace,
    )
    # NZ by hand: column block j (columns 16j..16j+15) is 32 rows of 16 halves; rows
    # 20..31 are the 16-row padding, columns 24..31 the tail of the second block.
    expected = np.zeros((2, 32, 16), np.float16)
    expected[0, :20, :] = x[:, 0:16]
    expected[1, :20, :8] = x[:, 16:24]
    np.testing.assert_array_equal(run.outputs["raw"].reshape(2, 32, 16), expected)
    events = read_trace(trace).events
    copy = events[(events.kind == "copy") & (events.space == "L1")]
    # 20 rows of 24 halves = 960 B asked; in L1 each row fills 2 whole 32 B blocks.
    assert copy[["size", "aligned_size", "burst_len", "burst_count"]].values.tolist() == [
        [960, 1280, 48, 20]
    ]


def test_fixpipe_drops_the_padding_rows_and_converts_to_fp16(tmp_path: Path) -> None:
    # m = 20 rows, padded to 32 in L1, L0A and L0C (two fractal rows).
    a, b = operands(20, 4)
    defines = ("M=20", "MP=32", "C_TYPE=half", "A2_PAD=0", "A2_OFFSET=0", "FIXPIPE_OUT")
    c, trace = run_matmul(tmp_path, a, b, np.zeros((20, 32), np.float16), defines)
    # |sums| <= 32 * 16 = 512: exact in fp32 and in fp16.
    np.testing.assert_array_equal(c, a.astype(np.float64) @ b.astype(np.float64))
    events = read_trace(trace).events
    mmad = events[events.kind == "compute"]
    # The output footprint is whole fractals: 32 x 32 fp32 = 4096 B for m = 20.
    assert mmad[["aligned_size", "arg"]].values.tolist() == [[4096, 2 * 20 * 32 * 32]]
    out = events[(events.kind == "copy") & (events.src_space == "L0C")]
    # 20 rows of 32 fp16 (64 B): 1280 B to GM, nothing for the 12 padding rows.
    assert out[["space", "size", "aligned_size", "burst_len", "burst_count"]].values.tolist() == [
        ["GM", 1280, 1280, 64, 20]
    ]


def test_misaligned_l0a_operand_is_flagged_at_its_line(tmp_path: Path) -> None:
    # 64 halves = 128 B into the L0A block: 512 B alignment is required.
    a, b = operands(32, 8)
    defines = ("M=32", "MP=32", "C_TYPE=float", "A2_PAD=128", "A2_OFFSET=64")
    c, trace = run_matmul(tmp_path, a, b, np.zeros((32, 32), np.float32), defines)
    np.testing.assert_array_equal(c, a.astype(np.float64) @ b.astype(np.float64))
    found = [f for f in analyze_trace(read_trace(trace)).findings if f.code == "ALN001"]
    assert {f.location.tag for f in found} == {
        f"mm.cpp:{line_of(MATMUL, 'LoadData(a2[')}",
        f"mm.cpp:{line_of(MATMUL, 'Mmad(c1')}",
    }


def test_legacy_tik2_matmul_sample_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    # case.yaml: a, b fp16 [32, 32] from randint(1, 10); c = a @ b in fp32, exact
    # (run.sh compares md5 sums). Products are at most 81 and sums over k = 32 at
    # most 2592, exact in fp32.
    rng = np.random.default_rng(7)
    a, b = (rng.integers(1, 10, (32, 32)).astype(np.float16) for _ in range(2))
    trace = tmp_path / "matmul.ubtrace"
    run = run_ascendc(
        samples / "23_matmul_tik2_legacy" / "matmul_custom.cpp",
        "matmul_custom",
        1,
        {"a": a, "b": b},
        {"c": np.zeros((32, 32), np.float32)},
        CHIP,
        trace,
    )
    np.testing.assert_array_equal(run.outputs["c"], a.astype(np.float64) @ b.astype(np.float64))
    analysis = analyze_trace(read_trace(trace))
    assert [f.code for f in analysis.findings if f.severity >= Severity.ERROR] == []


# Two 128 B blocks on A2 (L0A) and one 100 B block on B2 (L0B).
INIT_BUFFER_ROUNDING = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void blocks(GM_ADDR x) {
    TPipe pipe;
    TQue<QuePosition::A2, 1> qa;
    TQue<QuePosition::B2, 1> qb;
    pipe.InitBuffer(qa, 2, 128);
    pipe.InitBuffer(qb, 1, 100);
}
"""


def test_init_buffer_rounds_to_32_bytes_on_l0_as_ascend_c_does(tmp_path: Path) -> None:
    # Ascend C rounds every InitBuffer length to 32 B (len = (len + 31) / 32 * 32),
    # not to the space's 512 B: the L0A blocks sit at 0 and 128, the second off
    # the 512 B L0A alignment; 100 B on L0B takes 128 B.
    trace = tmp_path / "blocks.ubtrace"
    x = np.zeros(16, np.float16)
    run_ascendc(
        kernel(tmp_path, "blocks", INIT_BUFFER_ROUNDING), "blocks", 1, {"x": x}, {}, CHIP, trace
    )
    events = read_trace(trace).events
    allocs = events[events.kind == "alloc"]
    assert allocs[["space", "addr", "aligned_size"]].values.tolist() == [
        ["L0A", 0, 128],
        ["L0A", 128, 128],
        ["L0B", 0, 128],
    ]
    found = [f for f in analyze_trace(read_trace(trace)).findings if f.code == "ALN001"]
    assert [f.evidence["events"] for f in found] == [1]
