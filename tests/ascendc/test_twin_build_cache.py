"""The twin's build cache rebuilds when a header the kernel includes changes,
whether it is included with quotes or with ``<...>`` from an ``-I`` folder: a
stale build would run yesterday's kernel without a word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import write_source
from ubscope.probe.ascendc.build import user_headers
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")

KERNEL = """\
#include "kernel_operator.h"
#include <scale_factor.h>
using namespace AscendC;
extern "C" __global__ __aicore__ void scale(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 64);
    zGm.SetGlobalBuffer((__gm__ float*)z, 64);
    pipe.InitBuffer(buf, 64 * sizeof(float));
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 64);
    Muls(t, t, SCALE_FACTOR, 64);
    DataCopy(zGm, t, 64);
}
"""


def _run(source: Path, include: Path) -> np.ndarray:
    x = np.arange(64, dtype=np.float32)
    run = run_ascendc(
        source, "scale", 1, {"x": x}, {"z": np.zeros_like(x)}, CHIP, include_dirs=(str(include),)
    )
    return run.outputs["z"]


def test_changed_angle_bracket_header_in_an_include_dir_rebuilds(tmp_path: Path) -> None:
    include = tmp_path / "include"
    include.mkdir()
    source = write_source(tmp_path, "scale.cpp", KERNEL)
    factor = write_source(include, "scale_factor.h", "#define SCALE_FACTOR 2.0f\n")
    x = np.arange(64, dtype=np.float32)
    np.testing.assert_array_equal(_run(source, include), 2 * x)
    factor.write_text("#define SCALE_FACTOR 3.0f\n")
    np.testing.assert_array_equal(_run(source, include), 3 * x)


def test_twin_and_system_headers_are_not_the_users(tmp_path: Path) -> None:
    include = tmp_path / "include"
    include.mkdir()
    header = write_source(include, "scale_factor.h", "#include <cmath>\n#define SCALE_FACTOR 2\n")
    found = user_headers(tmp_path / "scale.cpp", KERNEL, (str(include),))
    assert list(found) == [header.resolve()]
