"""Fixtures for the CPU twin tests: one build cache per session (compiling is
the slow part; a kernel compiled by one test is reused by the next)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ubscope.probe.ascendc.build import compiler
from ubscope.probe.errors import ParameterError

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ascendc_samples"

SCALE_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void scale(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x + 64 * GetBlockIdx(), 64);
    zGm.SetGlobalBuffer((__gm__ float*)z + 64 * GetBlockIdx(), 64);
    pipe.InitBuffer(buf, 64 * sizeof(float));
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 64);
    Muls(t, t, 2.0f, 64);
    DataCopy(zGm, t, 64);
}
"""


@pytest.fixture(scope="session", autouse=True)
def twin_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    try:
        compiler()
    except ParameterError as exc:
        pytest.skip(f"the CPU twin cannot build kernels: {exc}")
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


@pytest.fixture
def scale_kernel(tmp_path: Path) -> Path:
    """``scale.cpp`` in the test's folder: ``scale(x, z)``, each block of the
    launch doubling its 64 floats of x into z (the Muls is on line 12)."""
    path = tmp_path / "scale.cpp"
    path.write_text(SCALE_KERNEL)
    return path
