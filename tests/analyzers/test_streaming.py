"""Streamed analysis (issue 17): one pass over the batches gives the metrics and
the findings of the rules it runs exactly as the in-memory analysis does (the
independent implementation here), on the kernels' sample traces and on
hand-made ones cut into batches of a few events, and says what it skipped."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers.cli import run_ubscope
from tests.helpers.rebatch import rebatch, rebatch_table
from ubscope.analyzers.api import Analysis, analyze_inputs, analyze_path
from ubscope.analyzers.config import Config
from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.streaming import (
    SKIPPED_RULES,
    STREAMED_RULES,
    analyze_streamed,
    decide,
    kept,
    should_stream,
)
from ubscope.analyzers.streaming.analyze import SKIPPED_METRICS
from ubscope.probe.events import CoreKind, Space

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_profiles").glob("*.ubtrace"))
KIB = 1024


def _flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict) and key not in ("params", "by_code"):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _findings(analysis: Analysis, codes: frozenset[str]) -> list[tuple]:
    return sorted(
        (f.code, str(f.severity), f.message, repr(f.location), repr(f.evidence), f.suggestion)
        for f in analysis.findings
        if f.code in codes
    )


def assert_same_analysis(path: Path) -> None:
    whole, streamed = analyze_path(path, stream=False), analyze_streamed(path)
    expected, got = _flat(whole.metrics), _flat(streamed.metrics)
    for name, value in expected.items():
        if name.startswith(SKIPPED_METRICS):
            assert got[name] is None, name
        elif name.startswith("findings."):
            continue  # counts of the rules not run differ by design
        else:
            assert got[name] == value, name
    by_code = expected["findings.by_code"]
    assert got["findings.by_code"] == {c: n for c, n in by_code.items() if c in STREAMED_RULES}
    assert _findings(streamed, STREAMED_RULES) == _findings(whole, STREAMED_RULES)
    assert streamed.trace is not None and whole.trace is not None
    assert streamed.trace.event_count == whole.trace.event_count


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_streamed_analysis_equals_the_in_memory_one_on_sample_traces(sample, tmp_path):
    assert_same_analysis(sample)
    assert_same_analysis(rebatch(sample, tmp_path / sample.name, 7))


def _write(synthetic: Any, tmp_path: Path, rows: int) -> Path:
    """A hand-made trace (``kit.Synthetic``) written in batches of ``rows`` events."""
    meta = synthetic.trace().meta
    return rebatch_table(synthetic.rec.table(), meta, tmp_path / f"hand_{rows}.ubtrace", rows)


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
def test_blocks_pair_across_batches_as_over_the_whole_trace(kit, tmp_path, rows):
    s = kit.Synthetic()
    # a free with no allocation before it takes the first allocation at its
    # address as the in-memory pairing does (that block then stays live for good)
    s.free(0, 4 * KIB)
    s.alloc(0, 8 * KIB)  # live 8 KiB (never ends: the early free took its turn)
    s.alloc(64 * KIB, 64 * KIB)  # live 72 KiB
    s.alloc(128 * KIB, 16 * KIB, aligned=32 * KIB)  # live 104 KiB, high water 160 KiB
    s.free(64 * KIB, 64 * KIB)  # live 40 KiB
    s.alloc(64 * KIB, 32 * KIB, core=1)  # another group
    s.free(128 * KIB, 16 * KIB)  # live 8 KiB
    s.alloc(16 * KIB, 96 * KIB)  # live 104 KiB again: not a new peak
    s.alloc(112 * KIB, 4 * KIB)  # live 108 KiB
    s.free(0, 8 * KIB)  # the second free at 0 has no second allocation: releases nothing
    s.alloc(116 * KIB, 4 * KIB)  # live 112 KiB: the peak
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    metrics = analyze_streamed(path).metrics
    assert metrics["peak_bytes"]["UB"] == 112 * KIB
    assert metrics["high_water_bytes"]["UB"] == 160 * KIB
    # 8 + 64 + 32 + 32 + 96 + 4 + 4 KiB allocated; 16 KiB rounded up once
    assert metrics["total_alloc_bytes"]["UB"] == 240 * KIB
    assert metrics["fragmentation"]["internal_waste_bytes"] == 16 * KIB


@pytest.mark.parametrize("rows", [1, 3, 1000])
def test_streamed_rules_find_what_the_in_memory_rules_find(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.alloc(0, 160 * KIB)
    s.alloc(160 * KIB, 64 * KIB, tag="tile")  # ends past the 192 KiB UB: UB001
    s.load(0x1000, 0, 100, tensor="x", moved=96, flags=1)  # truncated copy: ALN002
    s.load(0x2000, 8, 64, tensor="w", flags=2)  # misaligned UB address: ALN001
    s.load(0x3000, 64, 1024, tensor="w")
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    found = {f.code for f in analyze_streamed(path).findings}
    assert {"UB001", "ALN001", "ALN002"} <= found


@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_an_overflow_of_overlapping_blocks_is_located_at_its_peak(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.alloc(0, 16 * KIB)
    s.alloc(32 * KIB, 96 * KIB)
    # the same 96 KiB again: 208 KiB live in the 192 KiB UB, yet no block ends
    # past capacity (the high water is 128 KiB), so UB001 points at the peak event
    peak_seq = s.alloc(32 * KIB, 96 * KIB, tag="again")
    s.free(0, 16 * KIB)
    s.free(32 * KIB, 96 * KIB)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (overflow,) = [f for f in analyze_streamed(path).findings if f.code == "UB001"]
    assert overflow.evidence["peak_live_bytes"] == 208 * KIB
    assert overflow.location.first_seq == overflow.evidence["peak_seq"] == peak_seq


@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_a_high_water_gap_is_located_at_the_first_peak(kit, tmp_path, rows):
    s = kit.Synthetic()
    # a bump pool freed tile by tile: 16 KiB live at most, 64 KiB high water
    peak_seq = s.alloc(0, 16 * KIB)
    s.free(0, 16 * KIB)
    for tile in range(1, 4):
        s.alloc(tile * 16 * KIB, 16 * KIB)
        s.free(tile * 16 * KIB, 16 * KIB)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (gap,) = [f for f in analyze_streamed(path).findings if f.code == "FRG004"]
    assert gap.evidence["gap_bytes"] == 48 * KIB
    assert gap.location.first_seq == peak_seq


def test_the_note_names_the_rules_and_metrics_left_out():
    analysis = analyze_streamed(SAMPLES[0], Config(ignore=("UB011",)))
    note = analysis.warnings[0]
    assert "streamed analysis" in note
    for code in SKIPPED_RULES:
        assert (code in note) == (code != "UB011"), code
    for code in STREAMED_RULES:
        assert code not in note
    assert all(metric in note for metric in SKIPPED_METRICS)


def test_rules_are_either_streamed_or_named_as_skipped():
    trace_rules = {code for code, rule in load_rules().items() if rule.input_kind == "trace"}
    assert STREAMED_RULES | set(SKIPPED_RULES) == trace_rules
    assert not STREAMED_RULES & set(SKIPPED_RULES)


def test_a_trace_streams_when_its_in_memory_analysis_would_not_fit(tmp_path):
    trace = SAMPLES[0]
    size = trace.stat().st_size
    # ~3 B per event on disk and ~256 B per event in memory: ~85x the file
    assert should_stream(trace, available=size * 100)
    assert not should_stream(trace, available=size * 200)


def test_analyze_stream_flag_says_what_it_skipped():
    result = run_ubscope("analyze", "--stream", str(SAMPLES[0]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "streamed analysis" in result.stdout
    plain = run_ubscope("analyze", str(SAMPLES[0]))
    assert "streamed analysis" not in plain.stdout


def test_analyze_streams_on_its_own_only_where_asked_to_decide(monkeypatch):
    # 1 KiB available: no trace's in-memory analysis fits in half of it
    monkeypatch.setattr(decide.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    assert "streamed analysis" in analyze_inputs(SAMPLES[0], stream=None).warnings[0]
    # views that need every event (report, TUI, export) keep the default
    assert not any("streamed" in note for note in analyze_path(SAMPLES[0]).warnings)


def test_a_truncated_trace_is_streamed_as_far_as_it_reads(tmp_path):
    sample = next(p for p in SAMPLES if p.stem == "int4_gemm_ub_overflow")
    whole = rebatch(sample, tmp_path / "whole.ubtrace", 7).read_bytes()
    cut = tmp_path / "cut.ubtrace"
    cut.write_bytes(whole[: len(whole) * 3 // 5])  # recording interrupted part way
    assert_same_analysis(cut)
    streamed = analyze_streamed(cut)
    assert streamed.trace is not None and 0 < streamed.trace.event_count
    assert any("trace is truncated" in note for note in streamed.warnings)


def test_reported_events_past_the_limit_are_counted_not_kept(kit, tmp_path, monkeypatch):
    monkeypatch.setattr(kept, "KEPT_LIMIT", 3)
    s = kit.Synthetic()
    for index in range(5):  # five truncated copies (ALN002) at one call site
        s.load(0x1000 + index * 512, 0, 100, moved=96, flags=1)
    # 64 KiB refused with 96 KiB free in 32 KiB pieces: failed with enough free
    s.rec.alloc_fail(
        int(CoreKind.AIV),
        0,
        int(Space.UB),
        64 * KIB,
        64 * KIB,
        "big",
        "site",
        0,
        96 * KIB,
        32 * KIB,
    )
    path = _write(s, tmp_path, 2)
    streamed = analyze_streamed(path)
    (truncated,) = [f for f in streamed.findings if f.code == "ALN002"]
    assert truncated.evidence["events"] == 3  # the first three kept
    # two copies and the failed allocation are past the limit
    assert any("3 events to report past the 3" in note for note in streamed.warnings)
    # metrics count every event: the failed allocation was past the limit
    assert streamed.metrics["fragmentation"]["failed_allocs_with_enough_free"] == 1
