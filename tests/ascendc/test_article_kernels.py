"""The article's kernels written in Ascend C (kernels/ascendc/) on the CPU twin:
each matches a float64 numpy reference, agrees with the Python kernel of the
same algorithm and parameters on peak bytes per space and GM bytes, and its
planted-problem variant (a -D define) is flagged at the source line that does it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import ubscope.kernels
import ubscope.probe.ascendc
from tests.helpers.source_lines import call_site
from ubscope.analyzers.api import analyze_inputs
from ubscope.cli import main
from ubscope.kernels import pool_demo, sparse24
from ubscope.kernels.layernorm import specs as layernorm_specs
from ubscope.kernels.registry import run_kernel
from ubscope.kernels.sparse_matmul import specs as sparse_matmul_specs
from ubscope.kernels.sparse_matmul.host import plan_from_params, random_weight
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
KERNELS = Path(ubscope.kernels.__file__).parent / "ascendc"
HEADERS = Path(ubscope.probe.ascendc.__file__).parent / "include"
UB = 192 * 1024  # Ascend910B1 UB per vector core
BLOCKS = 8


def metrics_and_findings(trace: Path) -> tuple[dict, list]:
    analysis = analyze_inputs(trace)
    return analysis.metrics, analysis.findings


def half_ulp(values: np.ndarray) -> np.ndarray:
    """Half the fp16 spacing at each fp16 result: the most one round-to-nearest can be off."""
    return np.spacing(np.abs(values.astype(np.float16))).astype(np.float64) / 2


# -- the article's UBBufPool: y = x * 0.5 + residual over three pool tiles a round ---------

POOL = KERNELS / "pool_demo.cpp"


def python_pool(n: int, tile: int, reset: bool, trace: Path) -> np.ndarray:
    params = {
        "n": n,
        "tile": tile,
        "cores": BLOCKS,
        "allocator": "bump",
        "buffers": 2,
        "reset": reset,
        "check_capacity": False,
        "seed": 0,
    }
    return run_kernel(pool_demo.SPEC, params, CHIP, trace).result.outputs["y"]


def pool_inputs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """pool_demo.run's inputs for seed 0, so the two kernels see the same data."""
    rng = np.random.default_rng(0)
    return tuple(rng.standard_normal(n).astype(np.float16) for _ in range(2))


def test_pool_kernel_matches_float64_and_the_python_kernel(tmp_path: Path) -> None:
    # Three full 8192-element rounds per block and a ragged fourth (2000 elements).
    tile = 8192
    n = BLOCKS * (3 * tile + 2000)
    x, residual = pool_inputs(n)
    twin_trace, python_trace = tmp_path / "twin.ubtrace", tmp_path / "python.ubtrace"
    y = run_ascendc(
        POOL,
        "pool_demo",
        BLOCKS,
        {"x": x, "residual": residual},
        {"y": np.zeros(n, np.float16)},
        CHIP,
        twin_trace,
        defines=(f"POOL_DEMO_N={n}", f"POOL_DEMO_TILE={tile}"),
    ).outputs["y"]
    # x * 0.5 is exact in fp16 (a power of two; 2**-24 covers a subnormal
    # product); the add rounds once, so each result is within half an ulp.
    reference = x.astype(np.float64) * 0.5 + residual.astype(np.float64)
    assert (np.abs(y - reference) <= half_ulp(y) + 2.0**-24).all()
    np.testing.assert_array_equal(y, python_pool(n, tile, True, python_trace))

    twin, twin_findings = metrics_and_findings(twin_trace)
    python, _ = metrics_and_findings(python_trace)
    # GM: x and residual read once, y written once, 2 B an element, in both.
    for metrics in (twin, python):
        assert metrics["gm"]["read_bytes"] == 2 * n * 2
        assert metrics["gm"]["write_bytes"] == n * 2
    # Peak UB legitimately differs: Ascend C has no AllocUB, so the twin's pool
    # reserves its whole POOL_SIZE (all 192 KiB of UB) as one TBuf when it is
    # set up; the Python model records each Allocate, and a reset round holds
    # three 8192-element fp16 tiles: 3 * 8192 * 2 = 49152 B.
    assert twin["peak_bytes"]["UB"] == UB
    assert python["peak_bytes"]["UB"] == 3 * tile * 2
    assert not [f for f in twin_findings if f.severity.name == "ERROR"]


def test_pool_overflow_plant_is_flagged_where_it_writes_past_ub(tmp_path: Path, capsys) -> None:
    # Never reset, 10240-element tiles: a round takes 3 * 20480 = 61440 B, so
    # rounds 1-3 end at 184320 B and round 4 runs past the 196608 B of UB:
    # x at 184320..204800 (8192 B past), residual and y wholly past (20480 B each).
    tile, rounds = 10240, 4
    n = BLOCKS * rounds * tile
    trace = tmp_path / "overflow.ubtrace"
    tensors = [f"--input={name}=float16:{n}:randn" for name in ("x", "residual")]
    tensors.append(f"--output=y=float16:{n}")
    defines = [f"-DPOOL_DEMO_N={n}", f"-DPOOL_DEMO_TILE={tile}", "-DUBSCOPE_PLANT_OVERFLOW"]
    rc = main(["run", str(POOL), "--block-dim", str(BLOCKS), *tensors, *defines, "-o", str(trace)])
    # exit 1: the run would fault on the device, as the CPU-debug build aborts there
    assert rc == 1
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"would fault on the device: aiv0 wrote 20.0 KiB at UB 0x2d000 at call site "
        f"'{call_site(POOL, 'DataCopy(xLocal')}', 8.0 KiB of it past the UB capacity" in out
    )
    assert main(["analyze", str(trace)]) == 1
    assert call_site(POOL, "DataCopy(xLocal") in capsys.readouterr().out

    _, findings = metrics_and_findings(trace)
    past = {
        f.location.tag: f.evidence["bytes_past_capacity"] for f in findings if f.code == "UB002"
    }
    assert past == {
        call_site(POOL, "DataCopy(xLocal"): BLOCKS * (204800 - UB),
        call_site(POOL, "DataCopy(residualLocal"): BLOCKS * 2 * tile,
        call_site(POOL, "Muls(yLocal"): BLOCKS * 2 * tile,
        call_site(POOL, "Add(yLocal"): BLOCKS * 2 * tile,
    }
    # The Python kernel without resets overflows the same way (UB002 too).
    python_pool(n, tile, False, tmp_path / "python.ubtrace")
    _, python_findings = metrics_and_findings(tmp_path / "python.ubtrace")
    assert "UB002" in {f.code for f in python_findings}


# -- the in-place LayerNorm with the residual sum kept in UB -----------------------------

LAYERNORM = KERNELS / "layernorm_inplace.cpp"
ROWS, EPS = 20, 1e-5


def twin_has_cast() -> bool:
    """Whether kernel_operator.h brings in Cast(RoundMode) (another part of issue 16 adds it)."""
    included = re.findall(
        r'#include "(ubscope_twin/[^"]+)"', (HEADERS / "kernel_operator.h").read_text()
    )
    return any("RoundMode" in (HEADERS / name).read_text() for name in included)


needs_cast = pytest.mark.skipif(
    not twin_has_cast(), reason="the twin has no Cast(RoundMode) yet (issue 16, vector API breadth)"
)


def layernorm_inputs(hidden: int) -> dict[str, np.ndarray]:
    """layernorm.run's inputs for seed 0, in its order of draws."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, hidden)).astype(np.float16)
    residual = rng.standard_normal((ROWS, hidden)).astype(np.float16)
    gamma = (1.0 + 0.1 * rng.standard_normal(hidden)).astype(np.float16)
    beta = (0.1 * rng.standard_normal(hidden)).astype(np.float16)
    return {"x": x, "residual": residual, "gamma": gamma, "beta": beta}


def run_layernorm(hidden: int, trace: Path, *defines: str) -> tuple[dict, np.ndarray]:
    tensors = layernorm_inputs(hidden)
    x = tensors.pop("x")
    y = run_ascendc(
        LAYERNORM,
        "layernorm_inplace",
        BLOCKS,
        tensors,
        {"x": x},
        CHIP,
        trace,
        defines=(f"LN_ROWS={ROWS}", f"LN_HIDDEN={hidden}", *defines),
    ).outputs["x"]
    return {**tensors, "x": x}, y


@needs_cast
def test_layernorm_matches_float64_and_the_python_kernel(tmp_path: Path) -> None:
    hidden = 1024
    twin_trace, python_trace = tmp_path / "twin.ubtrace", tmp_path / "python.ubtrace"
    inputs, y = run_layernorm(hidden, twin_trace)
    total = inputs["x"].astype(np.float64) + inputs["residual"]
    centered = total - total.mean(axis=1, keepdims=True)
    reference = centered / np.sqrt((centered**2).mean(axis=1, keepdims=True) + EPS)
    reference = reference * inputs["gamma"] + inputs["beta"]
    # fp32 statistics over 1024 values are good to ~1e-4 of |y| <= 8; the fp16
    # store adds half an ulp.
    assert (np.abs(y - reference) <= half_ulp(y) + 1e-4 * 8).all()
    params = {
        "rows": ROWS,
        "hidden": hidden,
        "inplace": True,
        "cores": BLOCKS,
        "double_buffer": True,
        "eps": EPS,
        "seed": 0,
    }
    python_y = run_kernel(layernorm_specs.SPEC, params, CHIP, python_trace).result.outputs["y"]
    assert (np.abs(y.astype(np.float64) - python_y) <= 2 * half_ulp(y)).all()

    twin, twin_findings = metrics_and_findings(twin_trace)
    python, _ = metrics_and_findings(python_trace)
    row_half, row_float = hidden * 2, hidden * 4
    # 20 rows over 8 blocks: 3 a block, so blocks 0-6 work (the last one 2 rows).
    working = 7
    for metrics in (twin, python):
        # Two fp16 row queues of 2 blocks and four fp32 row TBufs: 24576 B.
        assert metrics["peak_bytes"]["UB"] == 2 * 2 * row_half + 4 * row_float == 24576
        # x and residual rows once, gamma and beta once per working block; x written back.
        assert metrics["gm"]["read_bytes"] == 2 * ROWS * row_half + working * 2 * row_half
        assert metrics["gm"]["write_bytes"] == ROWS * row_half
    assert not [f for f in twin_findings if f.severity.name == "ERROR"]


@needs_cast
def test_layernorm_tail_plant_is_flagged_at_the_row_copy(tmp_path: Path) -> None:
    # hidden=1000: a 2000 B row is 62 whole 32 B blocks and 16 B, which the
    # count form drops. Copies: 2 (gamma, beta) per working block (7) and 3 per
    # row (x in, residual in, x out) for 20 rows: 14 + 60 = 74, 74 * 16 = 1184 B.
    trace = tmp_path / "tail.ubtrace"
    run_layernorm(1000, trace, "UBSCOPE_PLANT_TAIL")
    _, findings = metrics_and_findings(trace)
    dropped = [f for f in findings if f.code == "ALN002"]
    assert [f.location.tag for f in dropped] == [call_site(LAYERNORM, "DataCopy(dst, src, HIDDEN)")]
    assert "74 DataCopy call(s)" in dropped[0].message and "(1184 B)" in dropped[0].message


# -- the 2:4 sparse gather matmul ----------------------------------------------------------

SPARSE = KERNELS / "sparse_matmul.cpp"


def sparse_params(**changes: int) -> dict:
    """sparse_matmul's default parameters, with ``changes``."""
    params = {param.name: param.default for param in sparse_matmul_specs.SPEC.params}
    params["cores"] = BLOCKS
    return {**params, **changes}


def sparse_inputs(params: dict) -> tuple[np.ndarray, sparse24.Sparse24Weight]:
    """sparse_matmul.run's inputs for ``params`` (seed 0), in its order of draws."""
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((params["m"], params["k"])).astype(np.float16)
    weight = random_weight(rng, params["n"], params["k"])
    return x, sparse24.Sparse24Weight.compress(weight, params["meta_format"])


def run_sparse(
    params: dict, trace: Path, *plants: str
) -> tuple[np.ndarray, sparse24.Sparse24Weight, np.ndarray]:
    """The Ascend C kernel at ``params``, its chunk size the Python planner's."""
    plan = plan_from_params(params, CHIP)
    defines = (
        f"SPM_M={plan.m}",
        f"SPM_K={plan.k}",
        f"SPM_N={plan.n}",
        f"SPM_TILE_N={plan.tile_n}",
        f"SPM_TILE_K={plan.tile_k}",
        f"SPM_CHUNK_TILES={plan.chunk_tiles}",
        f"SPM_BUFFERS={plan.buffers_per_queue}",
        *plants,
    )
    x, weight = sparse_inputs(params)
    tensors = {"x": x, "values": weight.values, "meta": weight.metadata}
    y = np.zeros((plan.m, plan.n), np.float16)
    run = run_ascendc(
        SPARSE, "sparse_matmul", plan.blocks, tensors, {"y": y}, CHIP, trace, defines=defines
    )
    return x, weight, run.outputs["y"]


def python_sparse(params: dict, trace: Path) -> np.ndarray:
    return run_kernel(sparse_matmul_specs.SPEC, params, CHIP, trace).result.outputs["y"]


def test_sparse_matmul_matches_float64_and_the_python_kernel(tmp_path: Path) -> None:
    # Both at the Python kernel's defaults: m=16, k=1024, n=1024, 16 x 256
    # tiles, 8 blocks of one chunk of 8 tiles, gather variant, nibble metadata,
    # TPipe with double-buffered copy queues.
    twin_trace, python_trace = tmp_path / "twin.ubtrace", tmp_path / "python.ubtrace"
    params = sparse_params()
    x, weight, y = run_sparse(params, twin_trace)
    x64, w64 = x.astype(np.float64), weight.dense().astype(np.float64)
    reference = x64 @ w64.T
    # fp32 products and sums (relative error ~2**-24 per step over 512 kept
    # products) and one fp16 rounding of the result.
    assert (np.abs(y - reference) <= half_ulp(y) + 2.0**-20 * (np.abs(x64) @ np.abs(w64).T)).all()
    # The same fp32 operations in the same order: the same bits.
    np.testing.assert_array_equal(y, python_sparse(params, python_trace))

    twin, twin_findings = metrics_and_findings(twin_trace)
    python, python_findings = metrics_and_findings(python_trace)
    m, k, n = x.shape[0], x.shape[1], weight.values.shape[0]
    for metrics in (twin, python):
        # Every buffer set up at once: the index tables (3 x 2048 int32), the
        # accumulators, y (2 x fp16 [16, 128]), x (2 x fp16 [16, 256]) and its
        # fp32 copy, the metadata (2 x 128 rows of 32 B) and values (2 x 128
        # rows of 128 fp16), the decode buffer, the transposed values (fp16 and
        # fp32) and the products.
        tables, acc, y_tiles = 3 * 2048 * 4, 16 * 128 * 4, 2 * 16 * 128 * 2
        x_tiles, x_f32, meta, values = (
            2 * 16 * 256 * 2,
            16 * 256 * 4,
            2 * 128 * 32,
            2 * 128 * 128 * 2,
        )
        decode, values_t, work = 8 * 256 * 2 + 2048 * 2 + 2048 * 4, 2048 * 6, 2048 * 4
        peak = tables + acc + y_tiles + x_tiles + x_f32 + meta + values + decode + values_t + work
        assert metrics["peak_bytes"]["UB"] == peak == 184320
        # x once per block (each block's one chunk steps over all of K), the
        # values and metadata once; y written once.
        assert metrics["gm"]["read_bytes"] == BLOCKS * m * k * 2 + n * k + n * k // 8
        assert metrics["gm"]["write_bytes"] == m * n * 2
    assert not [f for f in twin_findings if f.severity.name == "ERROR"]
    assert {f.code for f in twin_findings} == {f.code for f in python_findings}


def test_sparse_matmul_agrees_with_the_python_kernel_at_other_parameters(tmp_path: Path) -> None:
    # 32 tiles of 32 rows over 3 blocks (11, 11 and 10 tiles), K in 3 steps:
    # the planner fits one tile per chunk, so every block runs several chunks.
    params = sparse_params(m=16, k=768, n=1024, tile_n=32, tile_k=256, cores=3)
    assert plan_from_params(params, CHIP).chunk_tiles == 1
    twin_trace, python_trace = tmp_path / "twin.ubtrace", tmp_path / "python.ubtrace"
    _, _, y = run_sparse(params, twin_trace)
    np.testing.assert_array_equal(y, python_sparse(params, python_trace))
    twin, _ = metrics_and_findings(twin_trace)
    python, _ = metrics_and_findings(python_trace)
    assert twin["peak_bytes"] == python["peak_bytes"]
    # x once per chunk (32 chunks of one tile), values and metadata once.
    read = 32 * 16 * 768 * 2 + 1024 * 768 + 1024 * 768 // 8
    assert twin["gm"]["read_bytes"] == python["gm"]["read_bytes"] == read
    assert twin["gm"]["write_bytes"] == python["gm"]["write_bytes"] == 16 * 1024 * 2


def test_sparse_matmul_unaligned_table_plant_is_flagged_where_the_table_is_used(
    tmp_path: Path, capsys
) -> None:
    # Tables packed 16 B apart: the base table starts at 2048 * 4 + 16 B, off
    # the 32 B a vector operand needs; the ops that write and read it are ALN001.
    trace = tmp_path / "unaligned.ubtrace"
    run_sparse(sparse_params(), trace, "UBSCOPE_PLANT_UNALIGNED_TABLE")
    _, findings = metrics_and_findings(trace)
    misaligned = {f.location.tag for f in findings if f.code == "ALN001"}
    assert misaligned == {
        call_site(SPARSE, "Muls(base, group"),
        call_site(SPARSE, "Add(offsets, offsets, baseTable"),
    }
    assert main(["analyze", str(trace)]) == 1
    assert call_site(SPARSE, "Add(offsets, offsets, baseTable") in capsys.readouterr().out
