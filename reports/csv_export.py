"""Export a trace's raw events as CSV (one row per event, the trace's columns).

Rows are written in chunks so that a trace of tens of millions of events is
never formatted as one giant string; enum and string columns are written as
their labels. See docs/export-formats.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ubscope.reports.atomic import atomic_output

CHUNK_ROWS = 250_000


def write_events_csv(
    events: pd.DataFrame, path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS
) -> Path:
    """Write ``events`` to ``path`` as CSV with a header row (atomically)."""
    target = Path(path)
    with atomic_output(target) as handle:
        for begin in range(0, max(len(events), 1), chunk_rows):
            events.iloc[begin : begin + chunk_rows].to_csv(
                handle, header=begin == 0, index=False, lineterminator="\n"
            )
    return target
