"""Export a trace's raw events as CSV (one row per event, the trace's columns).

Rows are written in chunks so that a trace of tens of millions of events is
never formatted as one giant string; enum and string columns are written as
their labels. A label a spreadsheet would read as a formula gets a leading
``'``, as OWASP recommends. See docs/export-formats.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from ubscope.analyzers import streams
from ubscope.probe.events import EVENT_SCHEMA, category_codes
from ubscope.probe.outputs import atomic_output
from ubscope.probe.trace import read_trace, scan_batch_traces

CHUNK_ROWS = 250_000
# What spreadsheets (Excel, LibreOffice, Google Sheets) take for the start of
# a formula, per OWASP's "CSV Injection" page.
FORMULA_START = re.compile(r"[=+\-@\t\r]")
FORMULA_GUARD = "'"


def formula_safe(label: str) -> str:
    """``label``, with :data:`FORMULA_GUARD` in front when it starts like a formula."""
    return FORMULA_GUARD + label if FORMULA_START.match(label) else label


def _safe_labels(column: pd.Series) -> np.ndarray | None:
    """The categories of a label column made formula safe, plus ``""`` for a
    missing value (code -1); None when no category needs it."""
    labels = [str(label) for label in column.cat.categories]
    if not any(FORMULA_START.match(label) for label in labels):
        return None
    return np.array([*map(formula_safe, labels), ""], dtype=object)


class _EventsCsv:
    """A CSV file of events being written, frame after frame, header first."""

    def __init__(self, handle: IO[str], chunk_rows: int):
        self.handle = handle
        self.chunk_rows = chunk_rows
        self.header = True

    def write(self, events: pd.DataFrame) -> None:
        """Append ``events`` (text columns categorical, as :func:`read_trace` gives them)."""
        defused: dict[str, np.ndarray] = {}
        for name, column in events.items():
            if isinstance(column.dtype, pd.CategoricalDtype):
                labels = _safe_labels(column)
                if labels is not None:
                    defused[str(name)] = labels
        for begin in range(0, max(len(events), 1 if self.header else 0), self.chunk_rows):
            chunk = events.iloc[begin : begin + self.chunk_rows]
            if defused:
                # Codes index the safe labels; -1 (missing) picks the trailing "".
                chunk = chunk.assign(
                    **{
                        name: labels[category_codes(chunk[name])]
                        for name, labels in defused.items()
                    }
                )
            chunk.to_csv(self.handle, header=self.header, index=False, lineterminator="\n")
            self.header = False


def write_events_csv(
    events: pd.DataFrame, path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS
) -> Path:
    """Write ``events`` to ``path`` as CSV with a header row (atomically).
    Text columns are categorical, as :func:`ubscope.probe.trace.read_trace` gives them."""
    target = Path(path)
    with atomic_output(target) as handle:
        _EventsCsv(handle, chunk_rows).write(events)
    return target


def export_events_csv(
    trace: str | os.PathLike[str],
    path: str | os.PathLike[str],
    stream: bool | None = False,
    chunk_rows: int = CHUNK_ROWS,
) -> Path:
    """Write the events of the trace file ``trace`` to ``path`` as
    :func:`write_events_csv` does. With ``stream`` True, or None and a trace too
    big for memory, batch by batch, holding one batch at a time (the same file)."""
    if not streams(trace, stream):
        return write_events_csv(read_trace(trace).events, path, chunk_rows)
    target = Path(path)
    with atomic_output(target) as handle:
        out = _EventsCsv(handle, chunk_rows)
        scan_batch_traces(trace, lambda batch: out.write(batch.events))
        if out.header:  # no event at all: the header alone, as in memory
            out.write(pd.DataFrame(columns=EVENT_SCHEMA.names))
    return target
