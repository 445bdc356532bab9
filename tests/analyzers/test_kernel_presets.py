"""Planted problems in the built-in kernels are flagged with the right code, and
healthy configurations have no error-level findings."""

from __future__ import annotations

import pytest

from ubscope.analyzers.api import analyze_path
from ubscope.kernels.catalog import builtin_kernels
from ubscope.kernels.registry import run_kernel

# preset -> the code that must flag it
EXPECTED = {
    ("int4_gemm", "ub_overflow"): "UB001",
    ("int4_gemm", "nd_tail_truncation"): "ALN002",
    ("int4_gemm", "gm_misaligned"): "ALN003",
    ("paged_attention", "contiguous"): "FRG005",
    ("paged_attention", "single_buffer"): "UB013",
    ("layernorm", "out_of_place"): "GM002",
    ("layernorm", "ragged_hidden"): "ALN003",
    ("sparse_matmul", "fragmentation"): "FRG001",
}


def test_pool_no_reset_overflows(pool_demo_traces):
    analysis = analyze_path(pool_demo_traces("pool_no_reset"))
    errors = {f.code for f in analysis.findings if str(f.severity) == "error"}
    assert {"UB001", "UB002"} <= errors
    overflow = next(f for f in analysis.findings if f.code == "UB001")
    assert overflow.evidence["peak_live_bytes"] > overflow.evidence["capacity_bytes"]
    assert "UB006" in {f.code for f in analysis.findings}  # the cause: no reset between rounds


def test_freelist_fragmentation_fails_with_enough_free(pool_demo_traces):
    analysis = analyze_path(pool_demo_traces("freelist_fragmentation"))
    failed = [f for f in analysis.findings if f.code == "FRG001"]
    assert failed and str(failed[0].severity) == "error"
    assert failed[0].evidence["mean_free_bytes"] >= failed[0].evidence["mean_requested_bytes"]
    assert analysis.metrics["fragmentation"]["failed_allocs_with_enough_free"] > 0
    assert analysis.metrics["fragmentation"]["max_external"] > 0


@pytest.mark.parametrize("label", ["healthy_tpipe", "healthy_bump", "healthy_freelist"])
def test_healthy_pool_demo_has_no_errors(pool_demo_traces, label):
    analysis = analyze_path(pool_demo_traces(label))
    assert [f.message for f in analysis.findings if str(f.severity) == "error"] == []
    assert analysis.metrics["findings"]["error"] == 0


def test_every_expected_preset_exists():
    """A renamed or removed preset fails here, rather than leaving the
    parametrization below one case shorter."""
    specs = builtin_kernels()
    missing = [
        f"{kernel}:{preset}"
        for kernel, preset in EXPECTED
        if kernel not in specs or preset not in specs[kernel].presets
    ]
    assert missing == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kernel", "preset", "code"),
    [pytest.param(*key, code, id="-".join(key)) for key, code in EXPECTED.items()],
)
def test_planted_preset_is_flagged(tmp_path, chip, kernel, preset, code):
    spec = builtin_kernels()[kernel]
    path = tmp_path / "t.ubtrace"
    run_kernel(spec, spec.resolve(preset=preset), chip, path, preset=preset)
    assert code in {f.code for f in analyze_path(path).findings}


@pytest.mark.slow
@pytest.mark.parametrize("kernel", sorted(k for k in builtin_kernels() if k != "pool_demo"))
def test_healthy_kernel_defaults_have_no_errors(tmp_path, chip, kernel):
    spec = builtin_kernels()[kernel]
    path = tmp_path / "t.ubtrace"
    run_kernel(spec, spec.resolve(), chip, path)
    errors = [
        f"{f.code}: {f.message}" for f in analyze_path(path).findings if str(f.severity) == "error"
    ]
    assert errors == []
