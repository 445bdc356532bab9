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

import numpy as np
import pandas as pd

from ubscope.probe.outputs import atomic_output

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


def write_events_csv(
    events: pd.DataFrame, path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS
) -> Path:
    """Write ``events`` to ``path`` as CSV with a header row (atomically).
    Text columns are categorical, as :func:`ubscope.probe.trace.read_trace` gives them."""
    target = Path(path)
    defused: dict[str, np.ndarray] = {}
    for name, column in events.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            labels = _safe_labels(column)
            if labels is not None:
                defused[str(name)] = labels
    with atomic_output(target) as handle:
        for begin in range(0, max(len(events), 1), chunk_rows):
            chunk = events.iloc[begin : begin + chunk_rows]
            if defused:
                # Codes index the safe labels; -1 (missing) picks the trailing "".
                chunk = chunk.assign(
                    **{
                        name: labels[chunk[name].cat.codes.to_numpy()]
                        for name, labels in defused.items()
                    }
                )
            chunk.to_csv(handle, header=begin == 0, index=False, lineterminator="\n")
    return target
