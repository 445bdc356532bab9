"""A trace read says how far it has got after every batch, to whoever asked
(a command's progress bar), whichever layer reads: a trace loaded whole or a
streamed analysis."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tests.helpers.rebatch import rebatch
from ubscope.analyzers.streaming import analyze_streamed
from ubscope.probe.read_progress import reporting_reads
from ubscope.probe.trace import read_trace

SAMPLE = Path(__file__).resolve().parents[2] / "sample_profiles" / "layernorm_out_of_place.ubtrace"


def test_reads_report_the_events_read_after_each_batch(tmp_path):
    trace = rebatch(SAMPLE, tmp_path / "t.ubtrace", 1000)
    # the batches as Arrow counts them (not ubscope): the recorder's empty
    # metadata batches, then 1,000 events each and the rest in the last one
    with pa.ipc.open_stream(trace) as reader:
        sizes = [batch.num_rows for batch in reader]
    events = sum(sizes)
    expected = [(sum(sizes[: index + 1]), events) for index in range(len(sizes))]
    assert expected[-1] == (events, events) and sizes.count(1000) > 2

    seen: list[tuple[int, int]] = []
    with reporting_reads(lambda done, total: seen.append((done, total))):
        read_trace(trace)
    assert seen == expected

    seen.clear()
    with reporting_reads(lambda done, total: seen.append((done, total))):
        analyze_streamed(trace)
    assert seen == expected

    # outside the block no one is told
    seen.clear()
    read_trace(trace)
    assert seen == []


def test_an_inner_listener_hears_its_reads_and_the_outer_one_again_after(tmp_path):
    outer: list[int] = []
    inner: list[int] = []
    with reporting_reads(lambda done, _: outer.append(done)):
        with reporting_reads(lambda done, _: inner.append(done)):
            read_trace(SAMPLE)
        assert outer == [] and inner
        read_trace(SAMPLE)
    assert outer == inner
