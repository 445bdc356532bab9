"""What the TUI opens: a trace (with optional vendor output and a baseline to
compare with) or a folder of traces, checked before the app starts."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ubscope.analyzers import Analysis, analyze_inputs, analyze_path, vendor_tools
from ubscope.probe.chip import ChipProfile
from ubscope.probe.errors import InputError, TraceError, UbscopeError
from ubscope.probe.trace import TRACE_SUFFIX, read_metadata


@dataclass(frozen=True)
class TraceRequest:
    """One profile to open: the trace, vendor inputs for it ((tool name, path)
    pairs), and a baseline."""

    trace: Path
    vendor: tuple[tuple[str, Path], ...] = ()
    compare: Path | None = None
    chip: ChipProfile | None = None

    def with_trace(self, trace: Path) -> TraceRequest:
        return replace(self, trace=trace)

    def check(self) -> dict[str, Any]:
        """Fail fast with a one-line :class:`UbscopeError` on a missing, empty,
        foreign or header-truncated input; returns the trace's metadata."""
        meta = read_metadata(self.trace)
        if self.compare is not None:
            read_metadata(self.compare)
        options = {tool.name: tool.option for tool in vendor_tools()}
        for kind, path in self.vendor:
            if not Path(path).exists():
                raise InputError(path, f"no such file or folder (given with {options[kind]})")
        return meta

    def analyze(self) -> tuple[Analysis, Analysis | None]:
        """Run the analyzers on the trace (and on the baseline, without vendor input)."""
        analysis = analyze_inputs(self.trace, self.vendor, chip=self.chip)
        baseline = analyze_path(self.compare, chip=self.chip) if self.compare else None
        return analysis, baseline


@dataclass(frozen=True)
class TraceEntry:
    """A file of a folder listing: its metadata, or why it cannot be read."""

    path: Path
    size: int
    meta: dict[str, Any] | None
    problem: str | None


def find_traces(folder: str | os.PathLike[str]) -> list[TraceEntry]:
    """The ``.ubtrace`` files of ``folder`` by name; unreadable ones are listed
    with their reason rather than hidden. Only regular files are opened: a
    dangling symlink, a symlink loop, a folder or a FIFO named ``*.ubtrace`` is
    listed as such, never followed forever or waited on."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    with os.scandir(folder) as found:
        paths = sorted(Path(entry.path) for entry in found if entry.name.endswith(TRACE_SUFFIX))
    entries = [_trace_entry(path) for path in paths]
    if not entries:
        raise InputError(folder, f"no {TRACE_SUFFIX} files in this folder")
    return entries


def _trace_entry(path: Path) -> TraceEntry:
    try:
        info = path.stat()
    except OSError as exc:  # dangling symlink, symlink loop, vanished file
        return TraceEntry(path, 0, None, f"cannot open ({exc.strerror})")
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        return TraceEntry(path, 0, None, f"{kind}, not a trace")
    try:
        meta, problem = read_metadata(path), None
    except UbscopeError as exc:
        meta, problem = None, exc.problem if isinstance(exc, TraceError) else str(exc)
    return TraceEntry(path, info.st_size, meta, problem)
