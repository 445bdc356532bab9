"""Traces written again in small batches, as a recorder flushing often would,
so that streamed state carries across many batches."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ubscope.probe.trace import TraceWriter, read_metadata


def rebatch(source: Path, target: Path, rows: int) -> Path:
    """``source`` written again in batches of ``rows`` events."""
    with pa.ipc.open_stream(source) as reader:
        table = reader.read_all()
    return rebatch_table(table, read_metadata(source), target, rows)


def rebatch_table(table: pa.Table, meta: dict, target: Path, rows: int) -> Path:
    with TraceWriter(target, meta) as writer:
        for batch in table.to_batches(max_chunksize=rows):
            writer.write(batch)
    return target
