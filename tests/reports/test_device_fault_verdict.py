"""The report's verdict opens with "would fault on the device" for a run that wrote
past on-chip capacity (its call site escaped like every name from a trace), and
says nothing of it for a run that stayed inside."""

from __future__ import annotations

from tests.helpers.html_injection import EVIL
from ubscope.analyzers import analyze_path
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import TraceWriter, new_metadata
from ubscope.reports.escape import text
from ubscope.reports.report import build_report

KIB = 1024


def _verdict(page: str) -> str:
    return page[page.index('<section id="verdict">') : page.index('<section id="findings">')]


def test_the_verdict_says_the_run_would_fault_with_its_call_site_escaped(tmp_path, chip):
    path = tmp_path / "fault.ubtrace"
    writer = TraceWriter(path, new_metadata(chip.to_dict(), "k", {}))
    recorder = Recorder(sink=writer.write)
    recorder.kernel_begin("k", 1, 0, "vector")
    # 64 KiB at 160 KiB of a 192 KiB UB: the last 32 KiB land past capacity.
    aiv, ub = int(CoreKind.AIV), int(Space.UB)
    recorder.alloc(aiv, 0, ub, 160 * KIB, 64 * KIB, 64 * KIB, "tile", EVIL, 0)
    recorder.redzone_write(aiv, 0, ub, 160 * KIB, 64 * KIB, 32 * KIB, EVIL, 1_000)
    recorder.kernel_end("k", 2_000, 2_000)
    recorder.flush()
    writer.close(recorder.final_metadata())
    verdict = _verdict(build_report(analyze_path(path)))
    assert '<p class="verdict bad">Would fault on the device: aiv0 wrote 64.0 KiB at UB' in verdict
    assert f"at call site &#x27;{text(EVIL)}&#x27;, 32.0 KiB of it past the UB capacity" in verdict
    assert "its output is not meaningful, even where it matches the reference" in verdict
    assert EVIL not in verdict


def test_a_run_inside_capacity_has_no_fault_line(overflow_analysis, fragmented_trace):
    # pool_no_reset wrote past UB; freelist_fragmentation stayed inside it.
    assert "Would fault on the device" in _verdict(build_report(overflow_analysis))
    healthy = _verdict(build_report(analyze_path(fragmented_trace)))
    assert "fault" not in healthy.lower()


def test_the_verdict_says_a_trace_that_stops_short_covers_only_its_events(tmp_path, chip):
    """A kernel that crashed (or a recording cut off) leaves a trace whose
    verdict must not read as a clean "No problem found" without a word."""
    path = tmp_path / "cut.ubtrace"
    writer = TraceWriter(path, new_metadata(chip.to_dict(), "k", {}))
    recorder = Recorder(sink=writer.write, batch_events=4)
    recorder.kernel_begin("k", 1, 0, "vector")
    aiv, ub = int(CoreKind.AIV), int(Space.UB)
    for i in range(7):  # events 1..7: the first batch holds events 0..3
        recorder.alloc(aiv, 0, ub, i * KIB, KIB, KIB, "tile", "site", i)
    recorder.flush()
    writer.abort(f"recording stopped by an error: {EVIL}")
    analysis = analyze_path(path)
    events = analysis.trace.event_count
    verdict = _verdict(build_report(analysis))
    assert '<p class="verdict warn">The trace stops short (' in verdict
    assert f"the findings cover only the {events:,} events it holds." in verdict
    assert text(EVIL) in verdict and EVIL not in verdict  # the reason is input: escaped
    assert "No problem found" in verdict  # still the verdict on what it holds
