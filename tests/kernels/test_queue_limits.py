"""Our kernels respect each chip's queue limit (QUE_MAX_EVENT: the queue
buffers one TPosition may hold, 8 on A2/A3, 310P and 310B, 4 on the 910A; past
it AllocTensor waits forever and the device hangs). No healthy run of a
built-in kernel has a UB007 finding on any built-in chip; where a
double-buffered plan would pass the 910A's limit, the planners give one
buffer to the queues that gain least from two, and only there."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.helpers.small_shapes import SMALL
from ubscope.analyzers import Config, analyze_path
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import builtin_chips, load_chip
from ubscope.probe.events import Flag
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.recorder import Recorder

# The defaults, and the variants whose queues differ from them.
HEALTHY = [(kernel, {}) for kernel in sorted(SMALL)] + [
    ("sparse_matmul", {"variant": "rebuild"}),
    ("sparse_matmul", {"variant": "dense"}),
    ("sparse_attention", {"sparse": False}),
    ("paged_attention", {"layout": "contiguous", "kv_heads": 2}),
]


def _run_id(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in value.items()) or "defaults"
    return str(value)


@pytest.mark.parametrize("chip_name", builtin_chips())
@pytest.mark.parametrize("kernel,variant", HEALTHY, ids=_run_id)
def test_healthy_runs_stay_inside_the_queue_limit(tmp_path, chip_name, kernel, variant):
    spec = get_kernel(kernel)
    path = tmp_path / "run.ubtrace"
    params = spec.resolve(overrides={**SMALL[kernel], **variant})
    run_kernel(spec, params, load_chip(chip_name), path)
    analysis = analyze_path(path, Config(select=("UB007",)))
    assert [finding.message for finding in analysis.findings] == []


Blocks = dict[tuple[str, str], int]  # (position, queue) -> blocks


def queue_blocks(chip_name: str, kernel: str) -> dict[str, Blocks]:
    """Launch name -> the queues core 0 sets up in it, in a double-buffered
    run (TBufs take no event ID and are left out)."""
    spec = get_kernel(kernel)
    params = spec.resolve(overrides={**SMALL[kernel], "double_buffer": True})
    recorder = Recorder()
    run_kernel(spec, params, load_chip(chip_name), recorder=recorder)
    events = recorder.table().to_pandas()
    begins = (events["kind"] == "kernel_begin").to_numpy()
    launch = events["name"].to_numpy()[begins][np.cumsum(begins) - 1]
    inits = (
        (events["kind"] == "queue_init").to_numpy()
        & (events["core"] == 0).to_numpy()
        & ((events["flags"].to_numpy() & int(Flag.TBUF)) == 0)
    )
    found = {
        (str(name), TPosition(int(position)).name, str(queue), int(num))
        for name, position, queue, num in zip(
            launch[inits],
            events["arg2"][inits],
            events["name"][inits],
            events["arg"][inits],
            strict=True,
        )
    }
    blocks: dict[str, Blocks] = {}
    for name, position, queue, num in sorted(found):
        assert (position, queue) not in blocks.setdefault(name, {}), "one queue, two depths"
        blocks[name][position, queue] = num
    return blocks


def per_position(blocks: Blocks) -> dict[str, int]:
    totals: dict[str, int] = {}
    for (position, _), num in blocks.items():
        totals[position] = totals.get(position, 0) + num
    return totals


def test_paged_attention_on_the_910a_fills_vecin_to_the_limit():
    """By hand: double-buffered K and V pages plus the single q tile would be
    2 + 2 + 1 = 5 queue buffers on VECIN, one more than the 910A's 4. The V
    page goes single-buffered (its next copy lands while the next K, still
    double-buffered, is scored): 2 + 1 + 1 = 4. VECOUT holds the output
    tile's 2; the fp32 work buffers are TBufs on VECCALC and count nothing."""
    blocks = queue_blocks("Ascend910A", "paged_attention")
    assert blocks == {
        "paged_attention": {
            ("VECIN", "k_page"): 2,
            ("VECIN", "v_page"): 1,
            ("VECIN", "q_tile"): 1,
            ("VECOUT", "out_tile"): 2,
        }
    }
    assert per_position(blocks["paged_attention"]) == {"VECIN": 4, "VECOUT": 2}
    assert load_chip("Ascend910A").que_max_event == 4


@pytest.mark.parametrize(
    "kernel,single",
    [
        ("paged_attention", {("VECIN", "v_page")}),
        # the activations (freed once cast to fp32) and the metadata rows
        ("sparse_matmul", {("VECIN", "x_tile"), ("VECIN", "meta_chunk")}),
        # the projections as above; the attention core's Q, K and V (freed
        # before the scores)
        (
            "sparse_attention",
            {("VECIN", name) for name in ("x_tile", "meta_chunk", "q_tile", "k_tile", "v_tile")},
        ),
    ],
)
def test_only_the_910a_plans_single_buffer(kernel, single):
    """On the 910B2 (8 per position) every queue keeps the depth of the
    double-buffered plan (two, but paged_attention's q tile, read once per
    unit); on the 910A the named ones get one buffer, and every launch keeps
    within 4 per position."""
    wide, narrow = (queue_blocks(chip, kernel) for chip in ("Ascend910B2", "Ascend910A"))
    assert narrow.keys() == wide.keys()
    for launch, blocks in wide.items():
        assert {key: num for key, num in blocks.items() if num != 2} == (
            {("VECIN", "q_tile"): 1} if kernel == "paged_attention" else {}
        )
        assert max(per_position(blocks).values()) <= 8
        assert narrow[launch] == {key: 1 if key in single else num for key, num in blocks.items()}
        assert max(per_position(narrow[launch]).values()) <= 4
