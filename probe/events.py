"""Event kinds, memory spaces, flags and the trace's Arrow schema.

Every event is one row of the same columns; which columns carry meaning
depends on the kind (see docs/trace-format.md). Small enumerations are stored
as dictionary-encoded strings whose dictionary order is fixed to the enum
order, so pandas shows readable names and ``.cat.codes`` equal the enum values.

``EVENT_SCHEMA`` is built on first use: the enumerations serve chip profiles
and the command line, which must not import pyarrow (and numpy) for them.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

# Defined with the header reader, which must not import pyarrow.
from ubscope.probe.trace_meta import SCHEMA_VERSION as SCHEMA_VERSION

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    EVENT_SCHEMA: pa.Schema


class EventKind(enum.IntEnum):
    KERNEL_BEGIN = 0
    KERNEL_END = 1
    ALLOC = 2
    FREE = 3
    ALLOC_FAIL = 4
    POOL_RESET = 5
    COPY = 6
    COMPUTE = 7
    KV_PAGE_ALLOC = 8
    KV_PAGE_FREE = 9
    HOST_SAMPLE = 10
    MARK = 11
    QUEUE_INIT = 12
    REDZONE_WRITE = 13
    POOL_INIT = 14

    @property
    def label(self) -> str:
        return self.name.lower()


class Space(enum.IntEnum):
    NONE = 0
    GM = 1
    UB = 2
    L1 = 3
    L0A = 4
    L0B = 5
    L0C = 6


ON_CHIP_SPACES = (Space.UB, Space.L1, Space.L0A, Space.L0B, Space.L0C)


class CoreKind(enum.IntEnum):
    """AIV = vector core, AIC = cube core (910B's split architecture); AICORE =
    a coupled core holding both (910A, 310P, 310B); HOST = not on a core."""

    HOST = 0
    AIV = 1
    AIC = 2
    AICORE = 3


class Flag(enum.IntFlag):
    """Bits of the ``flags`` column."""

    NONE = 0
    TRUNCATED = 1  # DataCopy length not a multiple of 32 B: the tail was dropped
    MISALIGNED = 2  # on-chip address below the space's required alignment
    GM_UNALIGNED = 4  # GM address not on the recommended 512 B boundary
    REDZONE = 8  # touches bytes past the space's capacity
    OUT_OF_BOUNDS = 16  # GM access outside the tensor's extent
    PARTIAL_OVERLAP = 32  # vector op whose source and destination partly overlap
    QUEUE_LIMIT = 64  # more queue buffers on one position than the chip allows
    PIPE_LIMIT = 128  # more than 64 buffers on one TPipe
    PADDED = 256  # DataCopyPad (byte-exact length)
    WORKSPACE = 512  # GM tensor is a core-to-core workspace (L2 resident)
    CAPACITY_CHECKED = 1024  # allocator checked capacity (the failure was caught)
    SCRATCH_OVERLAP = 2048  # UB range overlaps the top scratch reserved by built-in APIs
    TBUF = 4096  # queue_init of a TBuf: a plain buffer, no queue and no event ID
    PARAM_RANGE = 8192  # DataCopy/DataCopyPad parameters outside the device's range (arg: which)
    GUARD_PAGE = 16384  # raw GM pointer access caught by a guard page: the run stopped there
    SCALAR_ACCESS = 32768  # compute: a scalar access (SetValue/GetValue), no FLOPs and no time
    SECOND_SOURCE = 65536  # compute: ``arg2`` is the address of a second source, in ``src_space``
    THIRD_SOURCE = 131072  # compute: ``burst_len`` is a third source's address, in ``src_space``
    ATOMIC = 262144  # copy to GM under SetAtomicAdd/Max/Min: GM's bytes are read and combined


# Bits that say how an event's columns are filled, not something about the
# access: views do not show or highlight them as flags.
LAYOUT_FLAGS = Flag.SECOND_SOURCE | Flag.THIRD_SOURCE


# Field order of one event row as the recorder stores it (all int64); the
# sequence number is implicit (row position) and added when a batch is flushed.
ROW_FIELDS = (
    "kind",
    "core_kind",
    "core",
    "space",
    "addr",
    "size",
    "aligned_size",
    "src_space",
    "src_addr",
    "burst_len",
    "burst_count",
    "name",
    "tensor",
    "tag",
    "start_ps",
    "dur_ps",
    "arg",
    "arg2",
    "flags",
)
ROW_WIDTH = len(ROW_FIELDS)
FIELD_INDEX = {name: i for i, name in enumerate(ROW_FIELDS)}

STRING_COLUMNS = ("name", "tensor", "tag")
ENUM_COLUMNS = {
    "kind": EventKind,
    "core_kind": CoreKind,
    "space": Space,
    "src_space": Space,
}


def enum_labels(enum_cls: type[enum.IntEnum]) -> list[str]:
    """Labels of an enum column in value order: kinds and core kinds in lower
    case (``copy``, ``aiv``), memory spaces as written in the docs (``UB``)."""
    members = sorted(enum_cls, key=int)
    if [int(m) for m in members] != list(range(len(members))):
        raise ValueError(f"{enum_cls.__name__} values must be 0..n-1")
    if enum_cls is Space:
        return [m.name for m in members]
    return [m.name.lower() for m in members]


def category_codes(column: pd.Series) -> np.ndarray:
    """The codes of a Categorical column (read-only), without a copy: pandas 3's
    ``.cat.codes`` copies them into a new Series, which for the string columns
    of a 10 M-event trace held 66 MiB more during an analysis."""
    return column.array.codes


def _event_schema() -> pa.Schema:
    import pyarrow as pa

    enum_type = pa.dictionary(pa.int8(), pa.utf8())
    return pa.schema(
        [
            pa.field("seq", pa.int64()),
            pa.field("kind", enum_type),
            pa.field("core_kind", enum_type),
            pa.field("core", pa.int16()),
            pa.field("space", enum_type),
            pa.field("addr", pa.int64()),
            pa.field("size", pa.int64()),
            pa.field("aligned_size", pa.int64()),
            pa.field("src_space", enum_type),
            pa.field("src_addr", pa.int64()),
            pa.field("burst_len", pa.int64()),
            pa.field("burst_count", pa.int32()),
            pa.field("name", pa.dictionary(pa.int32(), pa.utf8())),
            pa.field("tensor", pa.dictionary(pa.int32(), pa.utf8())),
            pa.field("tag", pa.dictionary(pa.int32(), pa.utf8())),
            pa.field("start_ps", pa.int64()),
            pa.field("dur_ps", pa.int64()),
            pa.field("arg", pa.int64()),
            pa.field("arg2", pa.int64()),
            pa.field("flags", pa.int32()),
        ]
    )


def __getattr__(name: str) -> Any:
    if name == "EVENT_SCHEMA":
        globals()[name] = schema = _event_schema()
        return schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
