"""A run that would fault on the device: its first write past on-chip capacity,
or a raw GM pointer access past its tensor.

The emulator gives every on-chip space a red zone past its capacity, so a write
there lands in real bytes and the kernel runs on; its output may even match the
reference. On the device the same write is an illegal access: the CPU-debug
build aborts (``absUbAddr ... exceeds the limit of ub``) and msSanitizer reports
it. The CPU twin puts guard pages around each GM tensor, so a read or write
through a raw ``__gm__`` pointer past the tensor stops the run there (the
access is its last event, flagged GUARD_PAGE). The recorder keeps the first
such fault and counts the red-zone writes, and the trace writer stores that in
the trace's metadata when the recording finishes (field ``device_fault``,
docs/trace-format.md), so every view can say that the run's numerics mean
nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ubscope.probe.units import format_bytes, plural

METADATA_FIELD = "device_fault"
NUMERICS_NOT_MEANINGFUL = "not meaningful: would fault on the device"
OUTPUT_NOT_MEANINGFUL = "its output is not meaningful, even where it matches the reference"


# What a GM fault's ``access`` may be ("": the twin could not tell).
GM_ACCESSES = ("", "read", "write")
# Fields a trace written before ubscope noted GM faults lacks.
_GM_FIELDS = {"tensor", "offset", "access"}


@dataclass(frozen=True)
class DeviceFault:
    """The first access of a run where a device would have faulted: a red-zone
    write (space UB, L1, L0A, L0B or L0C) or a raw pointer access past a GM
    tensor (space GM); and how many red-zone writes the run made in all."""

    core_kind: str  # the trace's label: aiv, aic or aicore
    core: int
    space: str  # UB, L1, L0A, L0B, L0C or GM
    addr: int
    nbytes: int  # bytes the access wrote (GM: the first byte it met past the tensor)
    past_capacity: int  # of which past the space's capacity (GM: 0)
    tag: str  # call site (GM: the last call recorded before the access)
    t_ps: int
    writes: int
    tensor: str = ""  # GM: the tensor the pointer ran past
    offset: int = 0  # GM: the byte of that tensor it touched (negative: before its start)
    access: str = ""  # GM: read or write, "" when not known

    @property
    def core_label(self) -> str:
        return f"{self.core_kind}{self.core}"

    @property
    def stopped_run(self) -> bool:
        """Whether the run ended at this access: a guard page stops a raw GM
        access there; a red-zone write lands and the kernel runs on."""
        return self.space == "GM"

    def describe(self) -> str:
        """One sentence: where the first faulting access was and how many followed."""
        if self.space == "GM":
            return self._describe_gm()
        site = f" at call site '{self.tag}'" if self.tag else ""
        others = self.writes - 1
        more = f"; {plural(others, 'more red-zone write')} followed" if others > 0 else ""
        return (
            f"would fault on the device: {self.core_label} wrote {format_bytes(self.nbytes)} "
            f"at {self.space} 0x{self.addr:x}{site}, {format_bytes(self.past_capacity)} of it "
            f"past the {self.space} capacity{more}"
        )

    def _describe_gm(self) -> str:
        verb = {"read": "read", "write": "wrote"}.get(self.access, "read or wrote")
        side = "past its end" if self.offset >= 0 else "before its start"
        after = f"after its last recorded call at {self.tag}" if self.tag else "before any call"
        return (
            f"would fault on the device: {self.core_label} {verb} GM tensor '{self.tensor}' at "
            f"byte {self.offset}, {side}, through a raw pointer (a guard page stopped the run "
            f"there, {after})"
        )

    def to_metadata(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, value: object) -> DeviceFault:
        """The fault a trace's metadata states; ValueError says what is wrong
        with a hand-edited or foreign one."""
        if not isinstance(value, dict):
            raise ValueError("is not a mapping")
        names = {field.name: field.type for field in fields(cls)}
        missing = sorted(set(names) - set(value) - _GM_FIELDS)
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}")
        given = {name: value[name] for name in names if name in value}
        for name, item in given.items():
            if names[name] == "str":
                if not isinstance(item, str):
                    raise ValueError(f"{name} is not a string")
            elif not isinstance(item, int) or isinstance(item, bool):
                raise ValueError(f"{name} is not an integer")
            elif item < 0 and name != "offset":
                raise ValueError(f"{name} is negative")
        if given.get("access", "") not in GM_ACCESSES:
            raise ValueError(f"access is not one of {', '.join(map(repr, GM_ACCESSES))}")
        return cls(**given)
