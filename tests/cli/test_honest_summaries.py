"""Summaries that say what happened: `run`'s exit code follows its numerics
verdict, the demo lists planted warnings like planted errors, and `trace info`
of a truncated trace gives the modelled time of what it holds."""

from __future__ import annotations

import re
import warnings

from ubscope.analyzers import analyze_path
from ubscope.cli import main
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import PartialReadWarning
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import TraceWriter, new_metadata


def test_run_exits_1_when_the_output_does_not_match(tmp_path, capsys):
    trace = tmp_path / "wrong.ubtrace"
    code = main(
        ["run", "int4_gemm", "--preset", "nd_tail_truncation", "-p", "k=256", "-o", str(trace)]
    )
    assert "output DOES NOT MATCH" in capsys.readouterr().out
    assert code == 1 and trace.is_file()


def test_demo_names_its_numerics_column_and_lists_planted_warnings(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.strip().startswith("run "))
    assert header.split()[:2] == ["run", "numerics"]
    # The presets whose planted problems are warnings, each under its own name with
    # the code the healthy run of the same kernel does not have.
    for label, code in (
        ("int4_gemm_gm_misaligned", "ALN003"),
        ("layernorm_out_of_place", "GM002"),
        ("paged_attention_contiguous", "FRG005"),
    ):
        listed = re.search(rf"^{label}: (.*)$", out, re.MULTILINE)
        assert listed and code in listed.group(1).split(", "), label
    assert not re.search(r"^\w+_healthy:", out, re.MULTILINE)


def _write_copies(path, cut: bool, minimal_traffic=None) -> None:
    """A launch at 0 whose 100 copies of 256 B from GM end at 2 µs, 4 µs, ...,
    200 µs, written in batches of 10 events; ``cut``: cut off mid-file (the
    recording was killed: no kernel_end, no metadata at the end)."""
    meta = new_metadata(load_chip().to_dict(), "k", {}, minimal_traffic)
    writer = TraceWriter(path, meta)
    rec = Recorder(sink=writer.write, batch_events=10)
    rec.kernel_begin("k", 1, 0, "vector")
    for i in range(100):
        rec.copy(
            core_kind=CoreKind.AIV,
            core=0,
            src_space=Space.GM,
            src_addr=4096 * i,
            dst_space=Space.UB,
            dst_addr=0,
            size=256,
            moved=256,
            burst_len=256,
            burst_count=1,
            tensor="x",
            tag="in",
            start_ps=2_000_000 * i,
            dur_ps=2_000_000,
        )
    rec.flush()
    writer.close()
    if cut:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


def test_trace_info_of_a_truncated_trace_gives_the_modelled_time_it_holds(tmp_path, capsys):
    path = tmp_path / "cut.ubtrace"
    _write_copies(path, cut=True)
    assert main(["trace", "info", str(path)]) == 0
    out = capsys.readouterr().out
    events = int(re.search(r"^events: (\d+)$", out, re.MULTILINE).group(1))
    # events = the kernel_begin + (events - 1) copies; the last ends at 2 µs * (events - 1).
    assert 1 < events < 101 and "state: truncated" in out
    assert f"modelled_time: {2 * (events - 1)}.00 µs" in out
    # a fault would be noted at the end, which the cut took: not known to be none
    assert "device_fault: unknown" in out


def test_a_truncated_trace_has_no_ratio_to_the_whole_runs_minimum(tmp_path):
    # The whole run reads 100 x 256 B = 25,600 B, its stated minimum: ratio 1.0.
    # Cut short, it holds fewer copies, and k x 256 / 25,600 < 1 would say the
    # kernel moved less than it must.
    whole, cut = tmp_path / "whole.ubtrace", tmp_path / "cut.ubtrace"
    minimum = {"read": 100 * 256, "write": 0}
    _write_copies(whole, cut=False, minimal_traffic=minimum)
    _write_copies(cut, cut=True, minimal_traffic=minimum)
    assert analyze_path(whole).metrics["gm"]["ratio_to_minimum"] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialReadWarning)
        for stream in (False, True):
            gm = analyze_path(cut, stream=stream).metrics["gm"]
            assert 0 < gm["read_bytes"] < 100 * 256
            assert gm["ratio_to_minimum"] is None
