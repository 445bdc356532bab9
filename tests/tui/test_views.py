"""Pilot drives every view of the TUI on freshly recorded traces."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import Static

from tests.helpers.advice import whole_run_advice
from tests.helpers.vendor_csv import write_op_basic_info
from ubscope.analyzers import REGISTRY, Finding, Location, Severity, analyze_path
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.tui.app import UbscopeApp
from ubscope.tui.screens import HelpScreen
from ubscope.tui.views import VIEWS
from ubscope.tui.views.overview import findings_summary, roofline_summary, traffic_summary
from ubscope.tui.widgets.event_table import EventTable
from ubscope.tui.widgets.findings_panel import describe_finding
from ubscope.tui.widgets.plots import OverlayChart

from .helpers import (
    MARKUP_BUFFER,
    MARKUP_KERNEL,
    MARKUP_SPEC,
    MARKUP_TAG,
    screen_text,
    wait_for_views,
)

SMALL = (80, 24)
SAMPLES = Path(__file__).resolve().parents[2] / "sample_profiles"


def current_view(app) -> str:
    return app.screen.query_one("#views").current


@pytest.mark.parametrize("size", [SMALL, (120, 35)])
async def test_number_keys_show_every_view_at_any_size(analyses, size):
    app = UbscopeApp(analysis=analyses["no_reset"], compare=analyses["tpipe"])
    async with app.run_test(size=size) as pilot:
        await wait_for_views(pilot, app)
        for index, view in enumerate(VIEWS):
            await pilot.press(str(index + 1))
            await pilot.pause()
            assert current_view(app) == f"view-{view.slug()}"
            text = screen_text(app)
            # the view bar and the footer stay visible in a tiny terminal
            assert "1 " in text.splitlines()[1]
            assert "quit" in text.splitlines()[-1]
        await pilot.press("tab")
        assert current_view(app) == "view-overview"


async def test_overview_shows_capacity_traffic_verdict_and_counts(analyses):
    app = UbscopeApp(analysis=analyses["no_reset"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        text = screen_text(app)
    metrics = analyses["no_reset"].metrics
    assert f"{metrics['peak_bytes']['UB'] // 1024}.0 KiB / 192.0 KiB" in text
    assert "memory-bound" in text
    counts = metrics["findings"]
    assert f"{counts['error']} error  {counts['warning']} warning" in text
    assert "pool_demo  preset pool_no_reset  on Ascend910B2" in text


async def test_overview_shows_the_core_count_an_auto_cores_parameter_resolved_to():
    # fp16_gemm's cores=0 picks the blocks from the shape; the launch event
    # records how many the device ran.
    analysis = analyze_path(SAMPLES / "fp16_gemm_healthy.ubtrace")
    assert analysis.trace.meta["params"]["cores"] == 0
    [launched] = analysis.trace.table.launches().block_dim
    app = UbscopeApp(analysis=analysis)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for_views(pilot, app)
        text = screen_text(app)
    assert f"cores={launched} (auto)" in text and "cores=0" not in text


async def test_the_unknown_minimal_traffic_is_said_once(tmp_path):
    # The markup kernel without a minimal traffic, as a twin-run Ascend C source has none.
    spec = dataclasses.replace(MARKUP_SPEC, minimal_traffic=None)
    run_kernel(spec, {"n": 256}, load_chip(), tmp_path / "k.ubtrace")
    app = UbscopeApp(analysis=analyze_path(tmp_path / "k.ubtrace"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        screens = [screen_text(app)]
        await pilot.press("5")
        await pilot.pause()
        screens.append(screen_text(app))
    for text in screens:  # the overview, then the traffic view
        # 256 fp16 values: 512 B read into UB and 512 B written back, against no minimum.
        assert "read 512 B  write 512 B" in text
        assert text.count("minimum unknown") == 1 and "(min" not in text


def test_a_known_minimum_without_a_ratio_is_shown_with_its_reason():
    # A run stopped before the kernel's end: its minimum is known, its ratio is not.
    gm = {"read_bytes": 512, "write_bytes": 0, "minimal_read_bytes": 1024,
          "minimal_write_bytes": 1024, "ratio_to_minimum": None}  # fmt: skip
    text = traffic_summary(gm).plain
    assert text.startswith("read 512 B (min 1.0 KiB)  write 0 B (min 1.0 KiB)\n")
    assert "minimum unknown" not in text and "no ratio to the minimum" in text


def test_the_traffic_summary_fits_an_80_column_pane_without_splitting_a_figure():
    """Wide figures (9,999 GiB each way, GiB being the largest unit, and ratios
    in the hundreds) stay on lines of their own: at 80 columns, minus the
    pane's border and padding (4), no line wraps, so no number is cut from
    its unit."""
    big = 9999 << 30
    gm = {"read_bytes": big, "write_bytes": big, "minimal_read_bytes": big,
          "minimal_write_bytes": big, "ratio_to_minimum": 123.45,
          "redundant_read_ratio": 123.45, "small_transfer_share": 0.999,
          "workspace_bytes": big}  # fmt: skip
    lines = traffic_summary(gm).plain.splitlines()
    assert len(lines) == 3
    assert max(len(line) for line in lines) <= 76
    assert lines[2].endswith("workspace 9999.0 GiB")


def test_overview_findings_wrap_under_their_message_keeping_units():
    """A finding longer than a 76-column pane wraps onto lines 18 columns in,
    under its message (severity and code alone at the left), never between a
    figure and its unit; the sixth finding on is counted, not shown."""
    message = (
        "128 GM transfer(s) at call site 'add_custom.cpp:44' on 8 aiv cores move 256 B each "
        "on average in bursts of 256 B: the model charges 74.0 ns of MTE pipe time per copy; "
        "copies of 16.0 KiB or more would save 994.3 ns (19% of the modelled time)"
    )
    finding = Finding("ALN004", Severity.WARNING, message, Location())
    out = io.StringIO()
    console = Console(file=out, width=76, color_system=None, highlight=False)
    console.print(findings_summary([finding] * 6, {"error": 0, "warning": 6, "info": 0}))
    lines = out.getvalue().splitlines()
    assert lines[0] == "0 error  6 warning  0 info" and lines[-1] == "  … 1 more: press 2"
    first = lines[1 : lines.index(lines[1], 2)]  # up to the second finding's first line
    assert first[0].startswith("  warning ALN004  128 GM transfer(s)")
    assert all(line.startswith(" " * 18) and line[18] != " " for line in first[1:])
    assert " ".join(line.strip() for line in first) == "warning ALN004  " + message
    units = ("B", "KiB", "ns", "µs")
    for before, line in zip(first, first[1:], strict=False):
        assert not (before[-1].isdigit() and line.split()[0].rstrip(",;:") in units)


def test_roofline_without_hbm_traffic_says_so_instead_of_inf_flop_per_byte():
    # One compute of 1,024 FLOP and no GM byte: the intensity is infinite.
    roofline = {"compute_events": 1, "flops": 1024, "hbm_bytes": 0, "intensity": float("inf"),
                "ridge": 221.0, "bound": "compute", "bandwidth": 1.6e12}  # fmt: skip
    text = roofline_summary(roofline).plain
    assert "intensity no HBM traffic vs ridge 221 FLOP/B" in text
    assert "inf" not in text and "1,024 FLOP over 0 B HBM" in text


def test_roofline_without_compute_events_is_no_verdict():
    # msprof op simulator traces hold data moves only: 64 KiB of HBM, FLOPs unknown.
    roofline = {"compute_events": 0, "flops": 0, "hbm_bytes": 65536, "intensity": 0.0}
    text = roofline_summary(roofline).plain
    assert "bound" not in text and "unknown" in text and "64.0 KiB HBM" in text


async def test_findings_filter_sort_detail_and_jump(analyses):
    analysis = analyses["no_reset"]
    app = UbscopeApp(analysis=analysis)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("2")
        panel = app.screen.query_one("#findings-panel")
        assert len(panel.shown) == len(analysis.findings)
        # errors come first
        assert str(panel.current().severity) == "error"
        await pilot.press("slash", *"UB002", "enter")
        await pilot.pause()
        expected = [f for f in analysis.findings if "ub002" in f.code.lower()]
        assert len(panel.shown) == len(expected) > 0
        # the detail pane shows the rule's docstring, the evidence and the fix
        shown = io.StringIO()
        Console(file=shown, width=116).print(panel.query_one("#finding-detail", Static).content)
        detail = shown.getvalue()
        first_line = REGISTRY["UB002"].explanation().splitlines()[0]
        assert first_line in detail and "evidence" in detail
        await pilot.press("escape")
        assert len(panel.shown) == len(analysis.findings)
        await pilot.press("s")  # sort by code
        codes = [analysis.findings[i].code for i in panel.shown]
        assert codes == sorted(codes)
        await pilot.press("r")
        assert [analysis.findings[i].code for i in panel.shown] == sorted(codes, reverse=True)
        # Enter on UB002 moves the other views to its events
        await pilot.press("s", "s", "s")  # back to severity order
        target = next(
            i for i, index in enumerate(panel.shown) if analysis.findings[index].code == "UB002"
        )
        panel.table.move_cursor(row=target)
        await pilot.press("enter")
        await pilot.pause()
        state = app.screen.state
        finding = analysis.findings[panel.shown[target]]
        assert state.finding is finding
        first_event = int(state.finding_events[0])
        assert first_event == finding.location.first_seq
        await pilot.press("6")
        await pilot.pause(0.1)
        table = app.screen.query_one(EventTable)
        assert table.position(table.cursor) == first_event
        assert "◆" in screen_text(app)
        await pilot.press("n")
        assert table.position(table.cursor) == int(state.finding_events[1])
        await pilot.press("4")
        assert f"seq {state.series().seq[state.step]}" in screen_text(app)


async def test_timeline_cursor_moves_steps_zooms_and_switches_core(analyses):
    app = UbscopeApp(analysis=analyses["fragmentation"])
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("3")
        state = app.screen.state
        series = state.series()
        assert state.step == int(np.argmax(series.live))  # opens at the peak
        await pilot.press("home")
        assert state.t_ps == 0
        before = state.t_ps
        await pilot.press("right", "right")
        assert state.t_ps > before
        step = state.step
        await pilot.press("right_square_bracket")
        assert state.step == step + 1
        assert state.t_ps == series.t_ps[state.step]
        await pilot.press("plus")
        view = app.screen.query_one("#view-timeline")
        assert view.zoom == 1
        t0, t1 = view.window()
        assert t0 <= state.t_ps <= t1 and t1 - t0 < state.end_ps
        first_core = state.place.core
        await pilot.press("c")
        assert state.place.core != first_core and state.place.space == "UB"
        await pilot.press("p")
        assert state.series().live[state.step] == state.series().peak
        assert f"peak {state.series().peak // 1024}" in screen_text(app)


async def test_memory_map_steps_event_by_event(analyses):
    app = UbscopeApp(analysis=analyses["fragmentation"])
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("4", "home")
        state = app.screen.state
        assert state.step == 0
        assert "step 1/" in screen_text(app) and " 1 block " in screen_text(app)
        await pilot.press("right")
        assert state.step == 1 and " 2 blocks " in screen_text(app)
        await pilot.press("pagedown")
        assert state.step == 11
        live = state.blocks().live_at(state.step)
        assert int(state.blocks().aligned_size[live].sum()) == state.series().live[11]
        await pilot.press("t")  # colour by buffer name: the legend names them
        assert "round_stats" in screen_text(app) or "x_tile" in screen_text(app)
        # the shared cursor: the timeline shows the same moment
        await pilot.press("3")
        assert f"seq {state.series().seq[11]}" in screen_text(app)


async def test_memory_map_shows_red_zone_past_capacity(analyses):
    app = UbscopeApp(analysis=analyses["no_reset"])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("4")
        assert "past capacity" in screen_text(app)


async def test_traffic_lists_tensors_and_roofline(analyses):
    analysis = analyses["fragmentation"]
    app = UbscopeApp(analysis=analysis)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("5")
        table = app.screen.query_one("#traffic-table")
        assert table.row_count == len(analysis.context.traffic)
        text = screen_text(app)
        assert "residual" in text and "●" in text


async def test_events_filter_goto_and_bad_filter(analyses):
    analysis = analyses["no_reset"]
    events = analysis.context.events
    app = UbscopeApp(analysis=analysis)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("6")
        table = app.screen.query_one(EventTable)
        assert table.row_count == len(events)
        await pilot.press("slash")
        app.screen.query_one("#events-filter").value = "kind=redzone_write core=aiv1"
        await pilot.press("enter")
        await pilot.pause()
        expected = np.flatnonzero((events["kind"] == "redzone_write") & (events["core"] == 1))
        assert table.row_count == len(expected) > 0
        assert table.position(table.cursor) in set(expected.tolist())
        await pilot.press("x")
        assert table.row_count == len(events)
        await pilot.press("g", *"123", "enter")
        assert table.position(table.cursor) == 123
        await pilot.press("down", "pagedown", "end")
        assert table.cursor == len(events) - 1
        await pilot.press("slash", *"kind=nonsense", "enter")
        await pilot.pause()
        assert table.row_count == len(events)  # the filter stayed as it was
        assert "unknown kind" in screen_text(app)


@contextlib.asynccontextmanager
async def vendor_view(analysis, size=(120, 35)):
    """The app showing its Vendor view (key 7), 120 x 35 unless ``size``."""
    app = UbscopeApp(analysis=analysis)
    async with app.run_test(size=size) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("7")
        yield app, pilot


async def test_vendor_view_marks_correlated_findings(trace_dir, tmp_path):
    log = tmp_path / "sanitizer.txt"
    log.write_text(
        "====== ERROR: illegal write of size 512\n"
        '======    at 0x32000 on UB in "pool_demo_bump"\n'
        "======    in block aiv(0) on device 0\n"
        "======    code in pc current 0x65c (serialNo:12)\n"
    )
    async with vendor_view(analyze_path(trace_dir / "no_reset.ubtrace", sanitizer=log)) as (
        app,
        pilot,
    ):
        panel = app.screen.query_one("#vendor-panel")
        assert [f.source for f in panel.findings] == ["msSanitizer"]
        text = screen_text(app)
        assert "✓" in text and "SAN001" in text and "explained by UB00" in text
        await pilot.press("2")  # the trace finding it confirms carries the mark too
        assert "confirmed by msSanitizer" in screen_text(app) or "✓" in screen_text(app)


async def test_vendor_view_says_what_a_profile_measured_under_its_path(trace_dir, tmp_path):
    folder = write_op_basic_info(tmp_path / "OPPROF_1", "pool_demo_bump", 12.5)
    analysis = analyze_path(trace_dir / "no_reset.ubtrace", msprof_op=folder)
    async with vendor_view(analysis) as (app, _):
        text = screen_text(app)
        assert "pool_demo_bump (vector): 12.50 µs, block dim 1" in text
        # a profile gives no findings itself: the panel says so, not "no vendor output"
        assert "no findings in the vendor output loaded" in text
        assert "no vendor output loaded" not in text


async def test_a_vendor_summary_line_that_wraps_stays_under_its_indent(trace_dir, tmp_path):
    # at 60 columns the launch's line (71 characters) wraps
    folder = write_op_basic_info(tmp_path / "OPPROF_1", "matmul_leakyrelu_custom_long_name", 12.5)
    analysis = analyze_path(trace_dir / "no_reset.ubtrace", msprof_op=folder)
    async with vendor_view(analysis, size=(60, 30)) as (app, _):
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if "matmul_leakyrelu" in line)
        # the widget's padding (one column), then the summary's indent (two)
        assert lines[first].startswith("   matmul_leakyrelu_custom_long_name (vector)")
        continued = lines[first + 1]
        assert continued.startswith("   ") and continued[3] != " "
        assert continued.endswith("block dim 1")


async def test_vendor_view_shows_a_control_character_in_an_input_path_escaped(trace_dir, tmp_path):
    # a file name may hold any byte but / and NUL: an ESC there must not reach
    # the terminal as a control sequence, it is shown as the characters \x1b
    log = tmp_path / "run\x1b[2J.txt"
    log.write_text("====== ERROR: illegal write of size 512\n")
    analysis = analyze_path(trace_dir / "no_reset.ubtrace", sanitizer=log)
    async with vendor_view(analysis, size=(160, 30)) as (app, _):
        text = screen_text(app)
        assert "run\\x1b[2J.txt" in text and "\x1b" not in text


async def test_vendor_view_without_vendor_input_says_how_to_load(analyses):
    app = UbscopeApp(analysis=analyses["tpipe"])
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("7")
        assert "--sanitizer LOG" in screen_text(app)


async def test_compare_shows_deltas_new_findings_and_both_curves(analyses):
    current, baseline = analyses["no_reset"], analyses["tpipe"]
    app = UbscopeApp(analysis=current, compare=baseline)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("8")
        metrics = app.screen.query_one("#compare-metrics")
        names = [str(metrics.get_row_at(i)[0]) for i in range(metrics.row_count)]
        assert "peak_bytes.UB" in names and "findings.error" in names
        findings = app.screen.query_one("#compare-findings")
        rows = [[str(c) for c in findings.get_row_at(i)] for i in range(findings.row_count)]
        assert ["new", "error", "UB001"] == rows[0][:3]
        chart = app.screen.query_one(OverlayChart)
        assert all(series is not None and len(series) for series in chart.series)
        assert "⠀" not in screen_text(app)  # empty braille cells are drawn as spaces
        await pilot.press("c")
        assert app.screen.state.place.core == 1


async def test_compare_same_trace_has_no_changes(analyses):
    app = UbscopeApp(analysis=analyses["tpipe"], compare=analyses["tpipe"])
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("8")
        text = screen_text(app)
        assert "no metric changed" in text and "in both A and B" in text


async def test_markup_in_trace_strings_is_shown_literally(analyses):
    analysis = analyses["markup"]
    app = UbscopeApp(analysis=analysis)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for_views(pilot, app)
        assert MARKUP_KERNEL in screen_text(app)  # kernel and launch name
        await pilot.press("6", "g", "2", "enter")
        text = screen_text(app)
        assert MARKUP_TAG in text and MARKUP_BUFFER in text
        await pilot.press("3")
        assert MARKUP_BUFFER in screen_text(app)


async def test_help_screen_and_quit(analyses):
    app = UbscopeApp(analysis=analyses["tpipe"])
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "switch view" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
    assert app.return_code == 0


def test_the_detail_of_a_finding_that_points_nowhere():
    # advice about a whole run: no "at -" line; its numbered steps under "fix: "
    finding = whole_run_advice("1. check HBM usage\n2. reduce batch size")
    lines = describe_finding(finding).plain.splitlines()
    assert not any(line.startswith("at ") for line in lines)
    fix = lines.index("fix: 1. check HBM usage")
    assert lines[fix + 1] == "     2. reduce batch size"
