"""Fuzzing the readers of the no-hardware logs: Ascend C CPU-debug output and
npuchk logs (seeded from tests/vendor/logs_seeds.py).

Allowed outcomes, as for the other vendor readers: a VendorReport (which the
rules then analyze and every output format renders) or a one-line
UbscopeError naming the input.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.vendor.logs_seeds import CPU_DEBUG_QUEUE, NPUCHK_LOG

from .fuzzkit import check_stages, fuzz, hostile_bytes, line_boundaries, scratch, write_input

DETECTED = (None, "cpu_debug", "npuchk", "sanitizer")
SEEDS = {"cpu_debug": CPU_DEBUG_QUEUE.encode(), "npuchk": NPUCHK_LOG.encode()}
NAMES = {"cpu_debug": "run.log", "npuchk": "npuchk/k_0_0_vec_npuchk.log"}


def _read(worker, kind: str, content: bytes) -> None:
    with scratch() as folder:
        path = write_input(folder, NAMES[kind], content)
        stages = worker.run("vendor", path=str(path), kind=kind)
        assert stages[0]["info"]["detected"] in DETECTED
        check_stages(stages, f"{kind} log", names=str(path))


@fuzz()
@given(content=hostile_bytes([SEEDS["cpu_debug"]]))
def test_cpu_debug_log(worker, content):
    _read(worker, "cpu_debug", content)


@fuzz()
@given(content=hostile_bytes([SEEDS["npuchk"]]))
def test_npuchk_log(worker, content):
    _read(worker, "npuchk", content)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_truncation_at_line_boundaries(worker, kind):
    """Each seed cut just before, at and after every line end."""
    seed = SEEDS[kind]
    for offset in line_boundaries(seed):
        _read(worker, kind, seed[:offset])
