"""Overview: what ran, how long, how full on-chip memory got, GM efficiency,
the roofline verdict and how many findings of each severity."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ubscope.analyzers import OUTPUT_NOT_MEANINGFUL, Analysis, Finding, Hanging
from ubscope.probe.events import ON_CHIP_SPACES
from ubscope.probe.units import format_bytes, format_rate, format_time_ps, plural
from ubscope.tui.run_summary import run_summary
from ubscope.tui.text import literal, percent
from ubscope.tui.views.base import View
from ubscope.tui.widgets.capacity_bars import Bar, CapacityBars


class OverviewView(View):
    title = "Overview"
    short = "Ovw"
    help = (
        "What ran and how it went: kernel, chip and parameters, modelled time, the peak "
        "bytes of each on-chip space against its capacity (the UB bar turns amber past the "
        "reserved scratch line and red past capacity), GM traffic against the minimum the "
        "math needs, the roofline verdict and the findings by severity."
    )

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="overview-scroll"):
            yield Static(id="overview-run")
            yield Static(literal("On-chip peak per space (highest core)"), classes="section")
            yield CapacityBars(id="overview-bars")
            yield Static(literal("GM traffic"), classes="section")
            yield Static(id="overview-traffic")
            yield Static(literal("Roofline"), classes="section")
            yield Static(id="overview-roofline")
            yield Static(literal("Findings"), classes="section")
            yield Static(id="overview-findings")

    def focus_target(self) -> Widget:
        return self.query_one("#overview-scroll")

    def sync(self) -> None:
        analysis = self.state.analysis
        metrics = analysis.metrics
        meta = analysis.trace.meta if analysis.trace is not None else {}
        self.query_one("#overview-run", Static).update(self._run(meta, metrics, analysis))
        self.query_one("#overview-bars", CapacityBars).show(self._bars(metrics))
        self.query_one("#overview-traffic", Static).update(traffic_summary(metrics.get("gm", {})))
        roofline = self.state.ctx.roofline if self.state.ctx is not None else {}
        self.query_one("#overview-roofline", Static).update(
            roofline_summary(roofline, streamed=analysis.streamed)
        )
        self.query_one("#overview-findings", Static).update(self._findings())

    def _run(self, meta: dict[str, Any], metrics: dict[str, Any], analysis: Analysis) -> Text:
        ctx = self.state.ctx
        text = run_summary(meta, ctx.launched_blocks if ctx is not None else None)
        if analysis.device_fault is not None:
            text.append(
                f"\n{analysis.device_fault.describe()} ({OUTPUT_NOT_MEANINGFUL})", style="bold red"
            )
        text.append(f"\nmodelled time {format_time_ps(metrics.get('modelled_time_ps', 0))}")
        if ctx is not None and analysis.trace is not None:
            text.append(f"  ·  {analysis.trace.event_count:,} events")
            for launch in ctx.launches.to_dict("records"):
                text.append("\nlaunch ")
                text.append(str(launch["name"]))
                text.append(
                    f"  {plural(launch['block_dim'], 'block')}, {launch['mode']}, "
                    f"{format_time_ps(launch['end_ps'] - launch['start_ps'])}"
                )
        for warning in analysis.warnings:
            text.append("\n⚠ ", style="bold")
            text.append(str(warning))
        return text

    def _bars(self, metrics: dict[str, Any]) -> list[Bar]:
        chip = self.state.analysis.chip
        used = {p.space for p in self.state.places}
        peaks = metrics.get("peak_bytes", {})
        return [
            Bar(
                space,
                int(peaks.get(space, 0)),
                int(chip.capacity[space]),
                chip.ub_safe_budget if space == "UB" else None,
            )
            for space in (s.name for s in ON_CHIP_SPACES)
            if space in used or peaks.get(space)
        ]

    def _findings(self) -> Group:
        analysis = self.state.analysis
        return findings_summary(analysis.findings, analysis.metrics.get("findings", {}))


def findings_summary(findings: list[Finding], counts: dict[str, int]) -> Group:
    """The counts by severity and the first five findings, each message wrapped
    under itself so severity and code stand alone at the left."""
    lines: list[Text | Hanging] = [
        Text(
            f"{counts.get('error', 0)} error  {counts.get('warning', 0)} warning  "
            f"{counts.get('info', 0)} info"
        )
    ]
    for finding in findings[:5]:
        head = Text(f"  {finding.severity!s:<7} {finding.code:<7}")
        lines.append(Hanging(head, literal(" ".join(finding.message.split())), hang=18))
    if len(findings) > 5:
        lines.append(Text(f"  … {len(findings) - 5} more: press 2"))
    return Group(*lines)


def traffic_summary(gm: dict[str, Any]) -> Text:
    if not gm:
        return Text("no GM traffic")
    read, write = gm.get("read_bytes", 0), gm.get("write_bytes", 0)
    min_read, min_write = gm.get("minimal_read_bytes", 0), gm.get("minimal_write_bytes", 0)
    ratio = gm.get("ratio_to_minimum")
    # A kernel without a minimal traffic (a twin-run Ascend C source) records
    # 0 B for it: unknown, said once rather than beside "min 0 B".
    known = bool(min_read + min_write)
    read_min, write_min = (
        (f" (min {format_bytes(min_read)})", f" (min {format_bytes(min_write)})")
        if known
        else ("", "")
    )
    if ratio is None:
        # With a minimum, no ratio means the run stopped before the kernel's
        # end: it moved part of what the minimum counts.
        known_text = "no ratio to the minimum (the run did not reach the kernel's end)"
        against = known_text if known else "minimum unknown"
    else:
        efficient = f" ({percent(1 / ratio)} efficient)" if ratio else ""
        against = f"{ratio:.2f}x the minimum{efficient}"
    redundant = gm.get("redundant_read_ratio", 1.0)
    # None: a streamed analysis measures no distinct bytes
    redundant_text = "unknown" if redundant is None else f"{redundant:.2f}x"
    # three short lines: one of all four figures was wider than an 80-column
    # terminal's pane, and wrapping it split a figure from its unit ("0" / "B")
    return Text(
        f"read {format_bytes(read)}{read_min}  write {format_bytes(write)}{write_min}\n"
        f"{against}  ·  redundant reads {redundant_text}\n"
        f"small transfers {percent(gm.get('small_transfer_share', 0.0))}  ·  workspace "
        f"{format_bytes(gm.get('workspace_bytes', 0))}"
    )


def roofline_summary(roofline: dict[str, Any], streamed: bool = False) -> Text:
    if streamed and not roofline:
        return Text(
            "roofline not computed: the GM byte ranges were too scattered to follow in "
            "bounded memory"
        )
    if not roofline:
        return Text("no trace")
    if not roofline.get("compute_events"):
        return Text(
            f"no compute events: the arithmetic intensity is unknown  ·  "
            f"{format_bytes(roofline.get('hbm_bytes', 0))} HBM"
        )
    bound = roofline.get("bound", "?")
    text = Text()
    text.append(f"{bound}-bound", style="bold")
    hbm_bytes = roofline.get("hbm_bytes", 0)
    # no HBM byte: an infinite intensity ("inf FLOP/B") says less than the words
    intensity = f"{roofline.get('intensity', 0):.3g} FLOP/B" if hbm_bytes else "no HBM traffic"
    text.append(
        f"  intensity {intensity} vs ridge "
        f"{roofline.get('ridge', 0):.3g} FLOP/B  ·  {roofline.get('flops', 0):,} FLOP over "
        f"{format_bytes(hbm_bytes)} HBM at {format_rate(roofline.get('bandwidth', 0))}"
    )
    return text
