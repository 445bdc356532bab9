"""One batch decoded once for every running state of the streamed analysis."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa

from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, CORE_SPAN, KIND_LABELS, SPACE_LABELS
from ubscope.probe.trace_info import batch_column, enum_values

INT_COLUMNS = (
    "addr",
    "aligned_size",
    "size",
    "seq",
    "start_ps",
    "dur_ps",
    "flags",
    "arg",
    "arg2",
    "src_addr",
    "burst_len",
)


class DecodedBatch(NamedTuple):
    """A record batch with its enum columns as codes and its integer columns as numpy."""

    batch: pa.RecordBatch
    kind: np.ndarray
    space: np.ndarray
    src_space: np.ndarray
    core_kind: np.ndarray
    core: np.ndarray
    columns: dict[str, np.ndarray]  # INT_COLUMNS, int64

    def core_code(self) -> np.ndarray:
        """Each row's core code: core kind x CORE_SPAN + core + 1 (host: 0)."""
        return self.core_kind.astype(np.int64) * CORE_SPAN + self.core + 1


def decode(batch: pa.RecordBatch) -> DecodedBatch:
    """The columns the running states read, of one batch."""
    return DecodedBatch(
        batch,
        enum_values(batch_column(batch, "kind"), KIND_LABELS),
        enum_values(batch_column(batch, "space"), SPACE_LABELS),
        enum_values(batch_column(batch, "src_space"), SPACE_LABELS),
        enum_values(batch_column(batch, "core_kind"), CORE_KIND_LABELS),
        batch_column(batch, "core").to_numpy(),
        {name: batch_column(batch, name).to_numpy() for name in INT_COLUMNS},
    )
