"""The article's INT4 GEMM written in Ascend C (kernels/ascendc/int4_gemm.cpp) on
the CPU twin: AIVs dequantize packed int4 weights into a GM workspace, the AIC
multiplies. It matches a float64 numpy reference, agrees with the Python
int4_gemm at the same parameters on peak bytes per space and GM bytes per
tensor, and its planted-problem variant is flagged at the line that does it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ubscope.kernels
from tests.helpers.source_lines import call_site
from ubscope.analyzers.api import analyze_inputs
from ubscope.cli import main
from ubscope.kernels.gemm.specs import INT4_GEMM
from ubscope.kernels.registry import run_kernel
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
INT4 = Path(ubscope.kernels.__file__).parent / "ascendc" / "int4_gemm.cpp"

# m, K and N all ragged: m = 12 pads to 16 rows; K = 360 is three tiles of
# 128, 128 and 104 rows (the last padded to 112); N = 328 is three column tiles
# of 128, 128 and 72 (36 B packed rows, so every packed row copy is a
# DataCopyPad). Two blocks: block 0 takes column tile 0 (3 tiles: rounds of two
# tiles, the second with one), block 1 column tiles 1 and 2 (6 tiles: 3 rounds,
# the third reusing the first round's workspace slots).
M, K, N, TILE = 12, 360, 328, 128
BLOCKS = 2
# The Python kernel's variant the Ascend C kernel implements: ND packing (the
# device's Cast from int4b_t unpacks it in order), per-channel scale and
# offset, TPipe queues, DataCopyPad for ragged rows, two buffers a queue.
PARAMS = {
    "m": M,
    "k": K,
    "n": N,
    "tile_k": TILE,
    "tile_n": TILE,
    "group_size": 0,
    "layout": "nd",
    "pool": "tpipe",
    "tail_copy": "pad",
    "cores": BLOCKS,
    "double_buffer": True,
    "seed": 0,
}
# Each block's workspace: 2 AIVs x 2 buffers slots of 128 x 128 halves.
WORKSPACE_BYTES = BLOCKS * 2 * 2 * TILE * TILE * 2
L0_K = 128  # the Python planner's L0 chunk for these tiles: the whole tile fits L0A/L0B


def half_ulp(values: np.ndarray) -> np.ndarray:
    """Half the fp16 spacing at each fp16 result: the most one round-to-nearest can be off."""
    return np.spacing(np.abs(values.astype(np.float16))).astype(np.float64) / 2


def pack_nd(w: np.ndarray) -> np.ndarray:
    """int4 values [K, N] -> bytes [K, N / 2]: two values a byte, low nibble first."""
    nibbles = (w.astype(np.int16) & 0xF).astype(np.uint8)
    return nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)


def python_int4(trace: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The Python kernel at PARAMS: its inputs and y."""
    result = run_kernel(INT4_GEMM, INT4_GEMM.resolve(overrides=PARAMS), CHIP, trace).result
    return result.inputs, result.outputs["y"]


def twin_int4(inputs: dict[str, np.ndarray], trace: Path, *plants: str) -> np.ndarray:
    defines = (
        f"INT4_M={M}",
        f"INT4_K={K}",
        f"INT4_N={N}",
        f"INT4_TILE_K={TILE}",
        f"INT4_TILE_N={TILE}",
        f"INT4_L0_K={L0_K}",
        "INT4_BUFFERS=2",
        *plants,
    )
    tensors = {
        "x": inputs["x"],
        "w_int4": pack_nd(inputs["w_int"]),
        "antiquant_scale": inputs["scale"],
        "antiquant_offset": inputs["offset"],
    }
    run = run_ascendc(
        INT4,
        "int4_gemm",
        BLOCKS,
        tensors,
        {"y": np.zeros((M, N), np.float16)},
        CHIP,
        trace,
        defines=defines,
        values=LaunchValues(workspace_bytes=WORKSPACE_BYTES),
    )
    return run.outputs["y"]


def gm_bytes_by_tensor(trace: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes copied from and to each GM tensor."""
    events = read_trace(trace).events
    copies = events[events.kind == "copy"]
    reads = copies[copies.src_space == "GM"].groupby("tensor", observed=True)["size"].sum()
    writes = copies[copies.space == "GM"].groupby("tensor", observed=True)["size"].sum()
    return (
        {str(name): int(size) for name, size in reads.items() if size},
        {str(name): int(size) for name, size in writes.items() if size},
    )


def test_int4_gemm_matches_float64_and_the_python_kernel(tmp_path: Path) -> None:
    python_trace, twin_trace = tmp_path / "python.ubtrace", tmp_path / "twin.ubtrace"
    inputs, python_y = python_int4(python_trace)
    y = twin_int4(inputs, twin_trace)

    x64 = inputs["x"].astype(np.float64)
    w_true = (inputs["w_int"] + inputs["offset"].astype(np.float64)) * inputs["scale"]
    reference = x64 @ w_true
    # Each dequantized weight is rounded to fp16 twice (w + offset, then
    # * scale): within 2 * 2**-11 of |w_true| (+ 2**-25 where it falls
    # subnormal). The fp32 sums over K products (Mmad, then L0C across tiles)
    # are within K * 2**-24 of sum |x| |w|; y's fp16 store adds half an ulp.
    magnitude = np.abs(x64) @ np.abs(w_true)
    dequant_error = (
        2.0**-10 * (1 + 2.0**-10) * magnitude + 2.0**-25 * np.abs(x64).sum(axis=1)[:, None]
    )
    sum_error = K * 2.0**-24 * (1 + 2.0**-9) * magnitude
    assert (np.abs(y - reference) <= half_ulp(y) + dequant_error + sum_error).all()
    # The same fp16 dequantization (the same ops in the same order) and fp32
    # sums in another order: apart by the two kernels' sum errors and stores.
    assert (np.abs(y - python_y.astype(np.float64)) <= 2 * half_ulp(y) + 2 * sum_error).all()

    twin = analyze_inputs(twin_trace)
    python = analyze_inputs(python_trace)
    # Both set every buffer up at once. UB, per AIV: 2 buffers each of the
    # packed tile (128 rows of 64 B), the scale and offset rows (2 x 128
    # halves) and the fp16 tile (128 x 128 halves). L1: x resident (12 rows
    # padded to 16, K to 368) and 2 weight tiles of 128 x 128 halves. L0A:
    # 2 x 16 x 128 halves; L0B: 2 x 128 x 128 halves; L0C: 2 x 16 x 128 floats.
    peaks = {
        "UB": 2 * (128 * 64 + 2 * 128 * 2 + 128 * 128 * 2),
        "L1": 16 * 368 * 2 + 2 * 128 * 128 * 2,
        "L0A": 2 * 16 * 128 * 2,
        "L0B": 2 * 128 * 128 * 2,
        "L0C": 2 * 16 * 128 * 4,
    }
    assert twin.metrics["peak_bytes"] == python.metrics["peak_bytes"] == peaks

    # GM per tensor: x once per block (12 x 360 halves); each packed byte once
    # (360 rows of 164 B); the scale and offset rows once per AIV and column
    # tile it works on (both AIVs touch all three: 2 x (128 + 128 + 72)
    # halves); each tile into its workspace slot and out again (rows padded:
    # 128 + 128 + 112 = 368 per column, 328 columns of halves); y once.
    tile_rows = 128 + 128 + 112
    read = {
        "x": BLOCKS * M * K * 2,
        "w_int4": K * N // 2,
        "antiquant_scale": 2 * N * 2,
        "antiquant_offset": 2 * N * 2,
        "workspace": tile_rows * N * 2,
    }
    written = {"workspace": tile_rows * N * 2, "y": M * N * 2}
    # The host names its workspace buffer dequant_workspace; the twin's is the
    # entry's parameter, workspace.
    python_reads, python_writes = (
        {name.replace("dequant_", ""): size for name, size in found.items()}
        for found in gm_bytes_by_tensor(python_trace)
    )
    assert gm_bytes_by_tensor(twin_trace) == (read, written)
    assert (python_reads, python_writes) == (read, written)
    # Both mark the workspace as L2-resident scratch: it stays out of the GM
    # totals and is counted as workspace bytes. The totals count what moves:
    # an Nd2Nz read brings each row in whole 32 B blocks of 16 halves, so x's
    # 360-half rows read 368 halves (2 blocks x 12 rows x 368 x 2 = 17664);
    # w 360 x 164 = 59040, scale and offset 1312 each; writes: y 7872. The
    # workspace: its writes (368 rows x 328 halves) and the Nd2Nz reads of
    # them (128 + 128 + 80 halves a row, the 72-column tile in 5 blocks).
    twin_gm, python_gm = twin.metrics["gm"], python.metrics["gm"]
    totals = ("read_bytes", "write_bytes", "workspace_bytes")
    hbm_read = BLOCKS * M * 368 * 2 + K * N // 2 + 2 * (2 * N * 2)
    expected = (hbm_read, M * N * 2, tile_rows * N * 2 + tile_rows * 336 * 2)
    assert tuple(twin_gm[key] for key in totals) == expected
    assert tuple(python_gm[key] for key in totals) == expected
    assert not [f for f in twin.findings if f.severity.name == "ERROR"]


def test_int4_tail_plant_is_flagged_at_the_packed_row_copy(tmp_path: Path, capsys) -> None:
    # The plant copies packed rows one by one with the count form. Column tile
    # 2's rows are 72 int4 values, 36 B: each of its 360 row copies moves 32 B
    # and drops 4 B, 1440 B of 360 * 36 = 12960 B; the 64 B rows of the other
    # tiles are whole blocks.
    inputs, _ = python_int4(tmp_path / "python.ubtrace")
    trace = tmp_path / "tail.ubtrace"
    twin_int4(inputs, trace, "UBSCOPE_PLANT_TAIL")
    dropped = [f for f in analyze_inputs(trace).findings if f.code == "ALN002"]
    site = call_site(INT4, "DataCopy(packed[row")
    assert [f.location.tag for f in dropped] == [site]
    message = " ".join(dropped[0].message.split())
    assert "360 DataCopy call(s)" in message and "(1440 B) of 12.7 KiB requested" in message
    assert main(["analyze", str(trace)]) == 1
    assert site in capsys.readouterr().out
