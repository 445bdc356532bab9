"""Fixtures for the CI checks: hand-written metrics summaries and real pool_demo traces.

pytester is enabled from ``pytest_configure`` rather than ``pytest_plugins``:
pytest refuses ``pytest_plugins`` in a conftest below the rootdir when the
whole suite is collected from the repository root.
"""

from __future__ import annotations

import copy
import dataclasses
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.small_shapes import SMALL_POOL
from ubscope.analyzers.findings import Severity
from ubscope.check.measurement import Measurement, measurement_from_metrics

_METRICS: dict[str, Any] = {
    "schema": "ubscope.metrics/1",
    "kernel": "pool_demo",
    "preset": None,
    "params": {"n": 16384, "tile": 1024},
    "chip": "Ascend910B2",
    "config_key": "pool_demo|n=16384,tile=1024",
    "modelled_time_ps": 1_000_000,
    "peak_bytes": {"UB": 100_000, "L1": 0, "L0A": 0, "L0B": 0, "L0C": 0},
    "high_water_bytes": {"UB": 102_400, "L1": 0, "L0A": 0, "L0B": 0, "L0C": 0},
    "total_alloc_bytes": {"UB": 800_000, "L1": 0, "L0A": 0, "L0B": 0, "L0C": 0},
    "gm": {
        "read_bytes": 65536,
        "write_bytes": 32768,
        "minimal_read_bytes": 65536,
        "minimal_write_bytes": 32768,
        "ratio_to_minimum": 1.0,
        "redundant_read_ratio": 1.0,
        "small_transfer_share": 0.0,
        "workspace_bytes": 0,
    },
    "fragmentation": {
        "max_external": 0.1,
        "failed_allocs_with_enough_free": 0,
        "internal_waste_bytes": 64,
    },
    "kv_cache": {"reserved_bytes": 0, "used_bytes": 0, "waste_ratio": 0.0},
    "roofline": {"intensity": 0.1, "ridge": 200.0, "bound": "memory"},
    "findings": {"error": 0, "warning": 1, "info": 0, "by_code": {"GM003": 1}},
}


def _metrics(**changes: Any) -> dict[str, Any]:
    """A metrics summary; ``changes`` use dotted names: ``make_metrics(**{"peak_bytes.UB": 5})``."""
    metrics = copy.deepcopy(_METRICS)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        target = metrics
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return metrics


def _measurement(severities: dict[str, Severity] | None = None, **changes: Any) -> Measurement:
    default = {"GM003": Severity.WARNING}
    return measurement_from_metrics(_metrics(**changes), severities or default, "k.ubtrace")


def _plugin_installed() -> bool:
    """Whether the pytest11 entry point is installed (after ``pip install -e .``)."""
    return any(ep.name == "ubscope" for ep in entry_points(group="pytest11"))


@pytest.fixture
def make_metrics():
    """``make_metrics(**{"peak_bytes.UB": 5})``: a metrics summary with dotted changes."""
    return _metrics


@pytest.fixture
def make_measurement():
    """``make_measurement(severities=None, **changes)``: a Measurement of such a summary."""
    return _measurement


@pytest.fixture
def plugin_args(monkeypatch) -> list[str]:
    """pytester arguments loading only the ubscope plugin: through its pytest11
    entry point once installed (``pip install -e .``), else by module name.
    Other plugins stay off: they slow nested runs or share state between them."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return ["-p", "ubscope" if _plugin_installed() else "ubscope.check.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture(scope="session")
def pool_trace(tmp_path_factory, chip):
    """``pool_trace(name, preset=None, gm_misalign=0, tile_change=1, **params)``: a small
    pool_demo run written to a trace (cached by name for the session).

    ``tile_change`` simulates a code change at the same configuration: the kernel
    runs with its tile scaled by that factor while the trace records the
    parameters as given, as when a pull request changes a kernel's tiling."""
    from ubscope.kernels.catalog import get_kernel
    from ubscope.kernels.registry import run_kernel

    directory = tmp_path_factory.mktemp("pool_traces")
    cache: dict[str, Path] = {}

    def _trace(
        name: str,
        preset: str | None = None,
        gm_misalign: int = 0,
        tile_change: float = 1,
        **params: Any,
    ) -> Path:
        if name not in cache:
            spec = get_kernel("pool_demo")
            resolved = spec.resolve(preset=preset, overrides={**SMALL_POOL, **params})
            if tile_change != 1:
                original = spec.run
                spec = dataclasses.replace(
                    spec,
                    run=lambda device, values: original(
                        device, {**values, "tile": int(values["tile"] * tile_change)}
                    ),
                )
            cache[name] = directory / f"{name}.ubtrace"
            run_kernel(spec, resolved, chip, cache[name], preset=preset, gm_misalign=gm_misalign)
        return cache[name]

    return _trace
