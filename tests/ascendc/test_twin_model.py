"""The twin records through the same model as the Python probe: the shared
add_custom sample on the twin and the same algorithm written against
ubscope.probe's Python memory model give the same events, field by field
(addresses, sizes, flags and cost-model times), apart from names and tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.add_custom import python_add_custom
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.device import Device
from ubscope.probe.events import ROW_FIELDS
from ubscope.probe.recorder import Recorder

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
# Every field the recorder stores but the API names and call-site tags (Ascend C's
# names and the C++ lines against the Python model's own).
COMPARED = [field for field in ROW_FIELDS if field not in ("name", "tag")]


def test_add_custom_events_equal_the_python_models(samples: Path) -> None:
    rng = np.random.default_rng(4)
    x, y = (rng.uniform(1, 100, (8, 2048)).astype(np.float16) for _ in range(2))
    twin = Recorder()
    run_ascendc(
        samples / "01_add_custom_neo" / "add_custom.cpp",
        "add_custom",
        8,
        {"x": x, "y": y},
        {"z": np.zeros_like(x)},
        CHIP,
        recorder=twin,
    )
    python = Recorder()
    device = Device(CHIP, python)
    gx, gy = device.gm.tensor("x", x.ravel()), device.gm.tensor("y", y.ravel())
    gz = device.gm.empty("z", (8 * 2048,), np.float16)
    device.launch("add_custom", python_add_custom, 8, x=gx, y=gy, z=gz)
    got = twin.table().to_pandas()
    want = python.table().to_pandas()
    on_core = ~got.kind.isin(["host_sample"])
    got, want = got[on_core].reset_index(drop=True), want[~want.kind.isin(["host_sample"])]
    want = want.reset_index(drop=True)
    assert len(got) == len(want) == 1 + 8 * (3 + 6 + 16 * 4 + 6 + 1) + 1
    for column in COMPARED:
        mismatch = (got[column].astype(str) != want[column].astype(str)).to_numpy()
        assert not mismatch.any(), (column, got[mismatch].head(3), want[mismatch].head(3))
