"""The twin records through the same model as the Python probe: the shared
add_custom sample on the twin and the same algorithm written against
ubscope.probe's Python memory model give the same events, field by field
(addresses, sizes, flags and cost-model times), apart from names and tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.device import Block, Device
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue
from ubscope.probe.recorder import Recorder

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
COMPARED = ["kind", "core_kind", "core", "space", "addr", "size", "aligned_size", "src_space",
            "src_addr", "burst_len", "burst_count", "start_ps", "dur_ps", "arg", "arg2", "flags"]  # fmt: skip


def python_add_custom(block: Block, x, y, z) -> None:
    """add_custom.cpp's algorithm: 2048 halves per block, 16 tiles of 128, double buffered."""
    core, tile, block_length = block.aiv, 128, 2048
    pipe = TPipe(core)
    qx, qy = TQue(TPosition.VECIN, 2, "inQueueX"), TQue(TPosition.VECIN, 2, "inQueueY")
    qz = TQue(TPosition.VECOUT, 2, "outQueueZ")
    for que in (qx, qy, qz):
        pipe.init_buffer(que, 2, tile * 2)
    base = block.idx * block_length
    for progress in range(16):
        a, b = qx.alloc_tensor(np.float16), qy.alloc_tensor(np.float16)
        data_copy(a, x[base + progress * tile :], tile)
        data_copy(b, y[base + progress * tile :], tile)
        qx.enque(a)
        qy.enque(b)
        a, b, c = qx.deque(), qy.deque(), qz.alloc_tensor(np.float16)
        vector.add(c, a, b, tile)
        qz.enque(c)
        qx.free_tensor(a)
        qy.free_tensor(b)
        c = qz.deque()
        data_copy(z[base + progress * tile :], c, tile)
        qz.free_tensor(c)


def test_add_custom_events_equal_the_python_models(samples: Path) -> None:
    rng = np.random.default_rng(4)
    x, y = (rng.uniform(1, 100, (8, 2048)).astype(np.float16) for _ in range(2))
    twin = Recorder()
    run_ascendc(samples / "01_add_custom_neo" / "add_custom.cpp", "add_custom", 8,
                {"x": x, "y": y}, {"z": np.zeros_like(x)}, CHIP, recorder=twin)  # fmt: skip
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
    np.testing.assert_array_equal(got["tensor"].astype(str), want["tensor"].astype(str))
