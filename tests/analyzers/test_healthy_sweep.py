"""Rules that do not cry wolf (issue 15, section 4): about a hundred healthy
configurations of every built-in kernel, over shapes and chips, each small enough
to emulate in a fraction of a second. None may have an error-level finding, and
none a warning from the rules that used to flag healthy kernels, unless the model
charges a real cost: the gain the warning states reaches its rule's
``min_gain_share`` of the modelled time (below it those rules speak at info
level at most).

Marked slow (under a minute on two cores); the CI's plain ``pytest`` runs it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ubscope.analyzers.api import Analysis, analyze_path
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import REGISTRY
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip

B1, B2, B4 = "Ascend910B1", "Ascend910B2", "Ascend910B4"
A, P3, B310 = "Ascend910A", "Ascend310P3", "Ascend310B1"

# The rules that warned on healthy kernels before issue 15.
QUIET_RULES = ("ALN004", "FRG002", "UB007", "GM001", "GM002", "UB011")


def _configurations() -> list[tuple[str, str, dict[str, Any]]]:
    """(kernel, chip, parameters) of each healthy run."""
    runs: list[tuple[str, str, dict[str, Any]]] = []
    for chip in (B2, A, P3, B310):
        cores = 1 if chip == B310 else 4
        for allocator in ("tpipe", "bump", "freelist"):
            runs.append(
                (
                    "pool_demo",
                    chip,
                    {"n": 1 << 15, "tile": 2048, "cores": cores, "allocator": allocator},
                )
            )
    for chip in (B2, B4):
        for buffers in (1, 2):
            runs.append(
                ("pool_demo", chip, {"n": 1 << 16, "tile": 4096, "cores": 2, "buffers": buffers})
            )
    for chip in (B2, B1, A, P3, B310):
        for m, k, n in ((16, 512, 512), (1, 256, 1024), (32, 1024, 256)):
            runs.append(("fp16_gemm", chip, {"m": m, "k": k, "n": n}))
    runs.append(("fp16_gemm", B2, {"m": 16, "k": 512, "n": 512, "double_buffer": False}))
    for chip in (B2, B4, A, P3, B310):
        for m, k, n in ((16, 512, 512), (1, 256, 1024), (8, 1024, 256)):
            runs.append(("int4_gemm", chip, {"m": m, "k": k, "n": n}))
    runs.append(("int4_gemm", B2, {"m": 16, "k": 512, "n": 512, "group_size": 128}))
    runs.append(("int4_gemm", B2, {"m": 16, "k": 512, "n": 512, "layout": "nd"}))
    for chip in (B2, A, P3, B310):
        for rows, hidden in ((64, 1024), (32, 4096), (16, 1000)):
            runs.append(("layernorm", chip, {"rows": rows, "hidden": hidden}))
    runs.append(("layernorm", B2, {"rows": 64, "hidden": 1024, "double_buffer": False}))
    for chip in (B2, A, P3, B310):
        for steps in (1, 3):
            shape = {"batch": 2, "heads": 2, "max_seq_len": 256, "block_size": 64}
            runs.append(("paged_attention", chip, {**shape, "steps": steps}))
    runs.append(
        (
            "paged_attention",
            B2,
            {
                "batch": 4,
                "heads": 4,
                "kv_heads": 2,
                "steps": 4,
                "max_seq_len": 256,
                "block_size": 64,
            },
        )
    )
    for chip in (B2, A, P3, B310):
        for sparse, variant in ((True, "gather"), (True, "rebuild"), (False, "gather")):
            shape = {"hidden": 128, "heads": 2, "seq_len": 8}
            runs.append(("sparse_attention", chip, {**shape, "sparse": sparse, "variant": variant}))
    runs.append(("sparse_attention", B2, {"hidden": 128, "heads": 2, "seq_len": 16, "batch": 2}))
    for chip in (B2, A, P3, B310):
        for variant in ("gather", "rebuild", "dense"):
            shape = {"m": 8, "k": 256, "n": 256}
            runs.append(("sparse_matmul", chip, {**shape, "variant": variant}))
    runs.append(("sparse_matmul", B2, {"m": 8, "k": 256, "n": 256, "meta_format": "byte"}))
    runs.append(("sparse_matmul", B2, {"m": 8, "k": 256, "n": 256, "allocator": "freelist"}))
    return runs


CONFIGURATIONS = _configurations()


def _config_id(kernel: str, chip: str, params: dict[str, Any]) -> str:
    shown = ",".join(f"{key}={value}" for key, value in params.items())
    return f"{kernel}[{chip}:{shown}]"


def _cases() -> list[Any]:
    return [
        pytest.param(kernel, chip, params, check, id=f"{_config_id(kernel, chip, params)}-{check}")
        for kernel, chip, params in CONFIGURATIONS
        for check in ("errors", *QUIET_RULES)
    ]


@pytest.fixture(scope="module")
def analysis_of(tmp_path_factory):
    """config id -> the analysis of its run (each configuration runs once)."""
    folder = tmp_path_factory.mktemp("healthy_sweep")
    done: dict[str, Analysis] = {}

    def analysis(kernel: str, chip: str, params: dict[str, Any]) -> Analysis:
        config = _config_id(kernel, chip, params)
        if config not in done:
            spec = get_kernel(kernel)
            path = folder / f"{len(done)}.ubtrace"
            run_kernel(spec, spec.resolve(overrides=params), load_chip(chip), path)
            done[config] = analyze_path(path)
        return done[config]

    return analysis


def test_the_sweep_covers_every_kernel_on_a_hundred_configurations():
    kernels = {kernel for kernel, _, _ in CONFIGURATIONS}
    assert kernels == {
        "fp16_gemm",
        "int4_gemm",
        "layernorm",
        "paged_attention",
        "pool_demo",
        "sparse_attention",
        "sparse_matmul",
    }
    assert len(CONFIGURATIONS) >= 95
    assert len({_config_id(*config) for config in CONFIGURATIONS}) == len(CONFIGURATIONS)


@pytest.mark.slow
@pytest.mark.parametrize(("kernel", "chip", "params", "check"), _cases())
def test_a_healthy_configuration_raises_no_false_alarm(analysis_of, kernel, chip, params, check):
    analysis = analysis_of(kernel, chip, params)
    if check == "errors":
        flagged = [f for f in analysis.findings if str(f.severity) == "error"]
    else:
        flagged = [
            f
            for f in analysis.findings
            if f.code == check
            and str(f.severity) != "info"
            and not _states_a_real_cost(f, analysis.context.modelled_time_ps)
        ]
    assert [f"{f.code} {f.severity}: {f.message} (gain {f.estimated_gain})" for f in flagged] == []


GAIN = re.compile(r"^~([0-9][0-9,.]*) (ps|ns|µs|ms|s)\b")
PS_PER_UNIT = {"ps": 1, "ns": 1e3, "µs": 1e6, "ms": 1e9, "s": 1e12}


def _states_a_real_cost(finding: Finding, modelled_ps: int) -> bool:
    """A warning may stand when its rule weighs a modelled gain and the gain it
    states reaches the rule's ``min_gain_share`` of the modelled time (the
    displayed figure is rounded to three digits)."""
    limits = REGISTRY[finding.code].threshold_defaults()
    match = GAIN.match(finding.estimated_gain or "")
    if "min_gain_share" not in limits or match is None or not modelled_ps:
        return False
    stated_ps = float(match.group(1).replace(",", "")) * PS_PER_UNIT[match.group(2)]
    return stated_ps / modelled_ps >= limits["min_gain_share"] * 0.99


def test_a_stated_gain_is_read_back_in_picoseconds():
    warning = Finding(
        code="GM002",
        severity=Severity.WARNING,
        message="HBM reads are 3.00x the kernel's minimum",
        estimated_gain="~1.50 µs at full bandwidth",
    )
    assert _states_a_real_cost(warning, 10_000_000)  # 15 % of 10 µs
    assert not _states_a_real_cost(warning, 100_000_000)  # 1.5 % of 100 µs
