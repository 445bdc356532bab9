"""Fixtures for the CPU twin tests: one build cache per session (compiling is
the slow part; a kernel compiled by one test is reused by the next)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ascendc_samples"


@pytest.fixture(scope="session", autouse=True)
def twin_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which(os.environ.get("CXX", "g++")) is None:
        pytest.skip("no C++ compiler (g++) on this machine: the CPU twin cannot build kernels")
    cache = tmp_path_factory.mktemp("twin-cache")
    previous = os.environ.get("UBSCOPE_TWIN_CACHE")
    os.environ["UBSCOPE_TWIN_CACHE"] = str(cache)
    yield cache
    if previous is None:
        os.environ.pop("UBSCOPE_TWIN_CACHE", None)
    else:
        os.environ["UBSCOPE_TWIN_CACHE"] = previous


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared Ascend C samples are not at {SAMPLES}")
    return SAMPLES
