"""Random allocation, free, copy and launch sequences, cut into random batches:
the streamed analysis gives the metrics and findings of the in-memory one (the
independent implementation here), whatever the order of allocations, frees
(early, repeated, overlapping), touches and copies through single-buffered
queues across batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.rebatch import rebatch_table
from tests.helpers.same_analysis import assert_same_analysis
from ubscope.analyzers.streaming import single_buffered
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.memory.positions import TPosition

KIB = 1024
AIV, UB, GM = int(CoreKind.AIV), int(Space.UB), int(Space.GM)
NAMES = ("a", "b", "q")

# one step: (what, core, address slot, size in KiB, name, time step in ns,
# duration in ns, offset of a copy's on-chip address from the slot)
steps = st.lists(
    st.tuples(
        st.sampled_from(("alloc", "free", "load", "store", "compute", "queue", "launch")),
        st.integers(0, 1),
        st.integers(0, 7),
        st.integers(1, 2),
        st.sampled_from(NAMES),
        st.integers(0, 3000),
        st.integers(0, 2000),
        st.integers(0, 2047),
    ),
    min_size=1,
    max_size=40,
)


def _single_buffered_queues(s: Any, t: int) -> None:
    """At a launch's start, on both cores: InitBuffer(in, 1, 4 KiB) at 0 and
    InitBuffer(out, 1, 4 KiB) at 6 KiB (UB013's blocks)."""
    for core in (0, 1):
        for addr, position in ((0, TPosition.VECIN), (6 * KIB, TPosition.VECOUT)):
            s.rec.queue_init(AIV, core, UB, addr, 4 * KIB, 1, int(position), "q1", "init", t)


def _record(kit: Any, program: list[tuple]) -> Any:
    s = kit.Synthetic()
    _single_buffered_queues(s, 0)
    t = begun = horizon = 0  # now, the launch's start, the latest end so far
    for what, core, slot, kib, name, step_ns, dur_ns, offset in program:
        t += step_ns * 1000
        addr, size, dur = slot * KIB, kib * KIB, dur_ns * 1000
        horizon = max(horizon, t + dur)
        if what == "launch":  # the next launch, after all work so far
            t = horizon + step_ns * 1000
            s.rec.kernel_end(s.kernel, t, t - begun)
            s.rec.kernel_begin(s.kernel, 2, t, "vector")
            _single_buffered_queues(s, t)
            begun = t
        elif what == "alloc":
            s.alloc(addr, size, name, core=core, t=t)
        elif what == "free":
            s.free(addr, size, name, core=core, t=t)
        elif what == "queue":  # InitBuffer's blocks, one after another
            for block in range(kib + 1):
                at = (slot + block) * KIB
                s.rec.alloc(AIV, core, UB, at, KIB, KIB, name, "init", t, arg=block)
        elif what == "load":
            s.load(0x1000 + addr, addr + offset, 512, core=core, t=t, dur=dur)
        elif what == "store":
            at = addr + offset // 2
            s.rec.copy(AIV, core, UB, at, GM, 0x9000, 512, 512, 512, 1, "y", "st", t, dur)
        else:
            s.rec.compute(AIV, core, UB, addr + 64, 256, "add", 128, "vec", t, dur)
    return s


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(program=steps, rows=st.integers(1, 7))
def test_streamed_analysis_equals_the_in_memory_one_on_random_programs(
    kit: Any, tmp_path: Path, monkeypatch: Any, program: list[tuple], rows: int
) -> None:
    # a block's windows finished early but its last stage's once it carries 3 copies
    monkeypatch.setattr(single_buffered, "EARLY_COPIES", 2)
    monkeypatch.setattr(single_buffered, "OPEN_STAGES", 1)
    s = _record(kit, program)
    meta = s.trace(end_ps=200_000_000).meta
    path = rebatch_table(s.rec.table(), meta, tmp_path / "random.ubtrace", rows)
    assert_same_analysis(path)
