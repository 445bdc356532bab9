"""What the TUI opens: a trace (with optional vendor output and a baseline to
compare with) or a folder of traces, checked before the app starts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ubscope.probe.errors import InputError
from ubscope.probe.trace_meta import read_metadata

if TYPE_CHECKING:  # imported where used: the first screen needs the metadata only
    from ubscope.analyzers import Analysis
    from ubscope.probe.chip import ChipProfile


@dataclass(frozen=True)
class TraceRequest:
    """One profile to open: the trace, vendor inputs for it ((tool name, path)
    pairs), and a baseline."""

    trace: Path
    vendor: tuple[tuple[str, Path], ...] = ()
    compare: Path | None = None
    chip: ChipProfile | None = None
    # True: analyze batch by batch; None: only a trace too big for memory
    stream: bool | None = None

    def with_trace(self, trace: Path) -> TraceRequest:
        return replace(self, trace=trace)

    def check(self) -> dict[str, Any]:
        """Fail fast with a one-line :class:`UbscopeError` on a missing, empty,
        foreign or header-truncated input; returns the trace's metadata."""
        meta = read_metadata(self.trace)
        if self.compare is not None:
            read_metadata(self.compare)
        if not self.vendor:
            return meta
        from ubscope.analyzers import vendor_tools

        options = {tool.name: tool.option for tool in vendor_tools()}
        for kind, path in self.vendor:
            if not Path(path).exists():
                raise InputError(path, f"no such file or folder (given with {options[kind]})")
        return meta

    def analyze(self) -> tuple[Analysis, Analysis | None]:
        """Run the analyzers on the trace (and on the baseline, without vendor input)."""
        from ubscope.analyzers import analyze_inputs

        analysis = analyze_inputs(self.trace, self.vendor, chip=self.chip, stream=self.stream)
        baseline = (
            analyze_inputs(self.compare, chip=self.chip, stream=self.stream)
            if self.compare
            else None
        )
        return analysis, baseline
