"""GM traffic per tensor and direction, summed batch by batch (one slot per
tensor and direction, however long the trace)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.trace_info import batch_column

# per (tensor, is_write): bytes, transfers, small transfers, workspace transfers
_BYTES, _TRANSFERS, _SMALL, _WORKSPACE = range(4)
# columns of TrafficModel.traffic that need byte ranges: unknown (NaN) when streaming
NEEDS_RANGES = (
    "distinct_bytes",
    "redundancy",
    "reloaded_bytes",
    "reloaded_on_one_core",
    "hbm_bytes",
)


class RunningTraffic:
    """The sums :attr:`TrafficModel.traffic` holds per tensor and direction
    that need no byte ranges (distinct and reloaded bytes do)."""

    def __init__(self, efficient_burst_bytes: int):
        self.efficient_burst_bytes = efficient_burst_bytes
        self.per_key: dict[tuple[str, bool], np.ndarray] = {}

    def add(
        self, batch: pa.RecordBatch, kind: np.ndarray, space: np.ndarray, src_space: np.ndarray
    ) -> None:
        copy = kind == EventKind.COPY
        read = copy & (src_space == Space.GM)
        rows = np.flatnonzero(read | (copy & (space == Space.GM)))
        if not rows.size:
            return
        tensor = batch_column(batch, "tensor")
        write = ~read[rows]
        key = tensor.indices.to_numpy()[rows].astype(np.int64) * 2 + write
        codes, inverse = np.unique(key, return_inverse=True)
        moved = batch_column(batch, "aligned_size").to_numpy()[rows]
        burst = batch_column(batch, "burst_len").to_numpy()[rows]
        workspace = (batch_column(batch, "flags").to_numpy()[rows] & int(Flag.WORKSPACE)) != 0
        sums = np.stack(
            [
                np.bincount(inverse, weights=values, minlength=codes.size)
                for values in (
                    moved,
                    np.ones(rows.size),
                    burst < self.efficient_burst_bytes,
                    workspace,
                )
            ],
            axis=1,
        ).astype(np.int64)
        names = tensor.dictionary.take(pa.array(codes // 2)).to_pylist()
        for name, code, row in zip(names, codes, sums, strict=True):
            slot = (name, bool(code % 2))
            if slot in self.per_key:
                self.per_key[slot] += row
            else:
                self.per_key[slot] = row

    def gm_metrics(self, minimal: dict[str, int]) -> dict[str, Any]:
        """The ``gm`` fields of the metrics summary one pass computes exactly
        (``redundant_read_ratio`` needs distinct bytes: None)."""
        sums = list(self.per_key.items())
        on_hbm = [(write, row) for (_, write), row in sums if not row[_WORKSPACE]]
        read = sum(int(row[_BYTES]) for write, row in on_hbm if not write)
        write = sum(int(row[_BYTES]) for is_write, row in on_hbm if is_write)
        transfers = sum(int(row[_TRANSFERS]) for _, row in sums)
        small = sum(int(row[_SMALL]) for _, row in sums)
        least_read, least_write = minimal.get("read", 0), minimal.get("write", 0)
        least = least_read + least_write
        return {
            "read_bytes": read,
            "write_bytes": write,
            "minimal_read_bytes": least_read,
            "minimal_write_bytes": least_write,
            "ratio_to_minimum": (read + write) / least if least else None,
            "redundant_read_ratio": None,
            "small_transfer_share": small / transfers if transfers else 0.0,
            "workspace_bytes": sum(int(row[_BYTES]) for _, row in sums if row[_WORKSPACE]),
        }

    def frame(self) -> pd.DataFrame:
        """The rows of :attr:`TrafficModel.traffic` (tensor, direction), with
        the columns that need byte ranges left NaN."""
        slots = sorted(self.per_key.items(), key=lambda item: (item[0][0] or "", item[0][1]))
        sums = np.array([row for _, row in slots], dtype=np.int64).reshape(-1, 4)
        frame = pd.DataFrame(
            {
                "tensor": [name for (name, _), _ in slots],
                "direction": ["write" if write else "read" for (_, write), _ in slots],
                "bytes": sums[:, _BYTES],
                "transfers": sums[:, _TRANSFERS],
                "small_transfers": sums[:, _SMALL],
                "workspace": sums[:, _WORKSPACE] > 0,
            }
        )
        return frame.assign(**{name: np.nan for name in NEEDS_RANGES})
