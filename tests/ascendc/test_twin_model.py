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


# Two blocks read the same 4 KiB of x and write it to their own half of z.
REREAD = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void reread(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TQue<QuePosition::VECIN, 1> queue;
    GlobalTensor<half> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ half*)x, 2048);
    zGm.SetGlobalBuffer((__gm__ half*)z + GetBlockIdx() * 2048, 2048);
    pipe.InitBuffer(queue, 1, 4096);
    LocalTensor<half> tile = queue.AllocTensor<half>();
    DataCopy(tile, xGm, 2048);
    queue.EnQue(tile);
    LocalTensor<half> ready = queue.DeQue<half>();
    DataCopy(zGm, ready, 2048);
    queue.FreeTensor(ready);
}
"""


def test_a_reread_hits_l2_and_copies_land_a_latency_after_their_pipe(tmp_path: Path) -> None:
    chip = load_chip("Ascend910B2")
    source = tmp_path / "reread.cpp"
    source.write_text(REREAD)
    x = np.arange(2048, dtype=np.float16)
    recorder = Recorder()
    run = run_ascendc(
        source, "reread", 2, {"x": x}, {"z": np.zeros(4096, np.float16)}, chip, recorder=recorder
    )
    np.testing.assert_array_equal(run.outputs["z"], np.concatenate([x, x]))
    events = recorder.table().to_pandas()
    copies = events[events.kind == "copy"]
    # By hand from the profile: the launch overhead of a 2-block vector launch; each
    # of the 2 cores moves HBM bytes at its half of the chip's bandwidth (capped by
    # one core's MTE rate), L2 hits at its L2 rate; a copy holds its pipe for the
    # issue cost plus its bytes, and its data lands one GM latency later.
    launch = round((chip.launch_overhead_ns["vector"] + 2 * chip.launch_per_block_ns) * 1000)
    hbm_rate = min(chip.gm_bandwidth / 2, chip.gm_rate_per_core * chip.clock_hz)
    l2_rate = chip.l2_rate_per_core * chip.clock_hz
    issue, latency = chip.gm_issue_ns * 1000, round(chip.gm_latency_ns * 1000)
    from_hbm = round(issue + 4096 / hbm_rate * 1e12)
    from_l2 = round(issue + 4096 / l2_rate * 1e12)
    expected = [
        # block 0: x comes from HBM; z is written once its tile has landed
        ("GM", "UB", 0, launch, from_hbm),
        ("UB", "GM", 0, launch + from_hbm + latency, from_hbm),
        # block 1: the same x sectors are still in L2
        ("GM", "UB", 1, launch, from_l2),
        ("UB", "GM", 1, launch + from_l2 + latency, from_hbm),
    ]
    got = copies[["src_space", "space", "core", "start_ps", "dur_ps"]]
    assert [tuple(row) for row in got.itertuples(index=False)] == expected
    # The launch ends when block 0's write has landed.
    assert run.duration_ps == launch + 2 * from_hbm + 2 * latency
