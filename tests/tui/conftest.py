"""Traces recorded fresh for the TUI tests (pool_demo presets and a kernel whose
names look like Rich markup), their analyses, and a screen-text helper."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from ubscope.analyzers import analyze_path
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip

from .helpers import MARKUP_SPEC, POOL_RUNS


@pytest.fixture(scope="session")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pool_demo with each preset (plus the default TPipe run) and the markup kernel."""
    folder = tmp_path_factory.mktemp("traces")
    chip = load_chip()
    spec = get_kernel("pool_demo")
    for label, preset in POOL_RUNS.items():
        params = spec.resolve(preset=preset)
        run_kernel(spec, params, chip, folder / f"{label}.ubtrace", preset=preset)
    run_kernel(MARKUP_SPEC, {"n": 256}, chip, folder / "markup.ubtrace")
    return folder


@pytest.fixture(scope="session")
def analyses(trace_dir: Path) -> dict:
    """Analyses by label; views are tested on these (no thread, deterministic)."""
    return {path.stem: analyze_path(path) for path in sorted(trace_dir.glob("*.ubtrace"))}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (Textual's Pilot is async) without an async plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
