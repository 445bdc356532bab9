"""``ubscope demo``: run the built-in kernels on the default chip and say what was found."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

# The kernels, the analysis and the report load when the demo runs, not with
# `ubscope demo --help` (the facade's names load on use).
import ubscope.analyzers as analyzers
from ubscope.commands.common import add_chip_option, advance, chip_from_args, console, progress
from ubscope.kernels.demo_set import DEMO_RUNS, DemoRun
from ubscope.probe.errors import UbscopeError
from ubscope.probe.outputs import check_output_folder
from ubscope.probe.units import format_bytes, format_time_ps
from ubscope.tui import tui_command

if TYPE_CHECKING:
    from ubscope.analyzers import Analysis, Finding

# The report shows the planted UB overflow next to the same kernel when healthy.
REPORT_PAIR = ("int4_gemm_ub_overflow", "int4_gemm_healthy")
# The numerics cell of a run that would fault on the device: short enough for the
# table to fit 80 columns; the caption says what it means.
FAULT_CELL = "FAULT"


def setup(demo: argparse.ArgumentParser) -> None:
    demo.description = (
        "Run a representative set of built-in kernels, healthy and with planted "
        "memory problems, on the emulated chip (--chip; default Ascend910B2); write their "
        "traces and an HTML report, and print what ubscope found. A run that fails is named "
        "and skipped; the others still run and the exit code is then 1."
    )
    demo.add_argument(
        "--out",
        default="ubscope-demo",
        metavar="DIR",
        help="folder for the traces and the report (default: ./ubscope-demo)",
    )
    add_chip_option(demo)
    demo.set_defaults(handler=_demo)


def _numerics(outcome_ok: bool, analysis: Analysis) -> Text:
    """The output against the reference; not meaningful for a run that would
    fault on the device, whatever the comparison said."""
    if analysis.device_fault is not None:
        return Text(FAULT_CELL, style="red")
    return Text("ok" if outcome_ok else "WRONG", style="green" if outcome_ok else "red")


def _row(label: str, outcome_ok: bool, analysis: Analysis) -> list[Text]:
    metrics = analysis.metrics
    counts = metrics["findings"]
    style = "red" if counts["error"] else ("yellow" if counts["warning"] else "green")
    return [
        Text(label),
        _numerics(outcome_ok, analysis),
        Text(format_time_ps(metrics["modelled_time_ps"])),
        Text(format_bytes(metrics["peak_bytes"].get("UB", 0))),
        Text(_ratio(metrics["gm"]["ratio_to_minimum"])),
        Text(f"{counts['error']}/{counts['warning']}", style=style),
    ]


def _ratio(ratio: float | None) -> str:
    # unknown: the kernel states no minimum, or the run stopped short of its end
    return "-" if ratio is None else f"{ratio:.2f}x"


def _problems(analysis: Analysis, healthy: Analysis | None) -> list[Finding]:
    """A run's errors; failing those, for a planted run, the warnings whose codes its
    kernel's healthy run does not have (the planted problem, not the kernel's usual
    ones); failing those, such info findings (a chip where the problem costs little)."""
    errors = [f for f in analysis.findings if f.severity == analyzers.Severity.ERROR]
    if errors or healthy is None or healthy is analysis:
        return errors
    usual = {f.code for f in healthy.findings}
    for severity in (analyzers.Severity.WARNING, analyzers.Severity.INFO):
        planted = [f for f in analysis.findings if f.severity == severity and f.code not in usual]
        if planted:
            return planted
    return []


def _print_problems(analyses: dict[str, Analysis]) -> None:
    """Each run's :func:`_problems` with up to three headlines; a planted run
    with none is named too, so no planted problem goes missing unsaid."""
    out = console()
    for run in DEMO_RUNS:
        analysis = analyses.get(run.label)
        if analysis is None:
            continue
        problems = _problems(analysis, analyses.get(DemoRun(run.kernel).label))
        if not problems:
            if run.preset is not None:  # a planted problem this chip's sizes do not show
                out.print(
                    f"\n{run.label}: nothing flagged on {analysis.chip.name}",
                    markup=False,
                    style="bold",
                )
            continue
        severity, levels = problems[0].severity, analyzers.Severity
        style = {levels.ERROR: "bold red", levels.WARNING: "bold yellow"}.get(severity, "bold")
        codes = ", ".join(dict.fromkeys(f.code for f in problems))
        only_info = f" (only info on {analysis.chip.name})" if severity == levels.INFO else ""
        out.print(f"\n{run.label}: {codes}{only_info}", markup=False, style=style)
        if analysis.device_fault is not None:
            # wrapped under itself, with no line ending in the space it broke at
            fault = Text(analysis.device_fault.describe(), style="red")
            out.print(analyzers.Hanging(Text("  "), fault))
        for finding in problems[:3]:
            out.print(analyzers.finding_headline(finding))
        if len(problems) > 3:
            out.print(f"  ... and {len(problems) - 3} more", markup=False)


def _paragraph(text: str, style: str = "") -> analyzers.Hanging:
    """``text`` wrapped at words with no line ending in the space it broke at
    (rich keeps that space, and a pipe or a file with it), as the analysis' and
    run's headlines."""
    return analyzers.Hanging(Text(), Text(text, style=style))


def _demo(args: argparse.Namespace) -> int:
    from ubscope.kernels.catalog import get_kernel
    from ubscope.kernels.registry import run_kernel
    from ubscope.reports.report import write_report

    chip = chip_from_args(args)
    out_dir = check_output_folder(args.out)
    out = console()
    out.print(_paragraph(f"ubscope demo on {chip.name}: {chip.description}", style="bold"))
    table = Table(
        title="What ubscope found",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
    )
    table.add_column("run", no_wrap=True, overflow="ellipsis", max_width=30)
    for column, width in (("numerics", 8), ("time", 9), ("peak UB", 9), ("GM/min", 6), ("E/W", 5)):
        table.add_column(column, no_wrap=True, min_width=width)
    analyses: dict[str, Analysis] = {}
    failed: dict[str, str] = {}
    with progress("demo", total=len(DEMO_RUNS), unit="runs") as bar:
        for run in DEMO_RUNS:
            advance(bar, f"running {run.label}")
            spec = get_kernel(run.kernel)
            params = spec.resolve(preset=run.preset, overrides=run.params)
            path = out_dir / f"{run.label}.ubtrace"
            try:  # one run that cannot run on this chip does not stop the others
                outcome = run_kernel(spec, params, chip, path, preset=run.preset)
                analyses[run.label] = analysis = analyzers.analyze_path(path)
            except UbscopeError as exc:
                failed[run.label] = str(exc)
                table.add_row(Text(run.label), Text("FAILED", style="red"))
                continue
            table.add_row(*_row(run.label, outcome.result.matches(), analysis))
    out.print(analyzers.Trimmed(table))
    # A table caption is cropped, not wrapped, when a word ends at the last column.
    out.print(
        _paragraph(
            f"numerics: output vs the float64 reference ({FAULT_CELL}: "
            f"{analyzers.NUMERICS_NOT_MEANINGFUL}, it writes past on-chip capacity); time: "
            "modelled; GM/min: GM bytes over the minimum the math needs; E/W: errors/warnings"
        )
    )
    for label, message in failed.items():
        console(stderr=True).print(f"{label} failed: {message}", markup=False, style="red")
    out.print(
        _paragraph(
            "Runs named after a preset carry a planted problem and should be flagged; WRONG "
            "numerics there are the bytes DataCopy silently dropped. Listed below: each run's "
            "errors, or the warnings a planted run has and its healthy run has not; "
            "`ubscope rule CODE` explains a code."
        )
    )
    _print_problems(analyses)
    # The planted overflow beside its healthy run; failing that, the first run there is.
    problem = analyses.get(REPORT_PAIR[0]) or next(iter(analyses.values()), None)
    healthy = analyses.get(REPORT_PAIR[1])
    if problem is not None:
        report = write_report(
            problem, out_dir / "report.html", compare=healthy if healthy is not problem else None
        )
        out.print(_paragraph(f"\nHTML report: {report}"))
    out.print(_paragraph(f"Traces: {out_dir}/ ({len(analyses)} files)"))
    out.print(_paragraph(f"Open them in the terminal UI:  {tui_command(out_dir)}"))
    return 1 if failed else 0
