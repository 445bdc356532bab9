"""Fuzzing the readers of the no-hardware logs: Ascend C CPU-debug output and
npuchk logs (seeded from tests/helpers/vendor_logs.py).

Allowed outcomes, as for the other vendor readers: a VendorReport (which the
rules then analyze and every output format renders) or a one-line
UbscopeError naming the input.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.helpers.capped_read import FULL_SCALE, read_capped
from tests.helpers.vendor_logs import CPU_DEBUG_QUEUE, NPUCHK_LOG

from .fuzzkit import fuzz, hostile_bytes, line_boundaries, read_then_analyze, scratch, write_input

DETECTED = (None, "cpu_debug", "npuchk", "sanitizer")
SEEDS = {"cpu_debug": CPU_DEBUG_QUEUE.encode(), "npuchk": NPUCHK_LOG.encode()}
NAMES = {"cpu_debug": "run.log", "npuchk": "npuchk/k_0_0_vec_npuchk.log"}


def _read(worker, kind: str, content: bytes) -> None:
    with scratch() as folder:
        path = write_input(folder, NAMES[kind], content)
        read_then_analyze(worker, f"{kind} log", kind, path, detected=DETECTED)


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


def test_cpu_debug_log_of_many_records_stays_bounded(tmp_path):
    """80 000 records with their back-traces in CI (10**6 at full scale): the
    first 10 000 are kept and the rest counted, within the reader allowance."""
    records = 1_000_000 if FULL_SCALE else 80_000
    path = tmp_path / "run.log"
    with open(path, "w") as handle:
        for _ in range(records // 1000):
            handle.write(CPU_DEBUG_QUEUE * 1000)
    outcome = read_capped("cpu_debug", path)
    assert outcome["result"] == "parsed", outcome
    assert outcome["tables"]["records"][0] == 10_000
    assert any(f"skipped {records - 10_000:,} more" in w for w in outcome["warnings"])


def test_npuchk_log_of_many_distinct_errors_stays_bounded(tmp_path):
    """Errors at 80 000 distinct instructions (10**6 at full scale): 10 000 kept."""
    errors = 1_000_000 if FULL_SCALE else 80_000
    path = tmp_path / "k_0_0_vec_npuchk.log"
    with open(path, "w") as handle:
        for start in range(0, errors, 1000):
            handle.write(
                "".join(
                    f"### vadd((__ubuf__ half*)0x{n:x});\n[V] [ErrorRead3] on read 0x10 0x20B\n"
                    for n in range(start, start + 1000)
                )
            )
    outcome = read_capped("npuchk", path)
    assert outcome["result"] == "parsed", outcome
    assert outcome["tables"]["errors"][0] == 10_000
    assert any(f"skipped {errors - 10_000:,} more" in w for w in outcome["warnings"])
