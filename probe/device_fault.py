"""A run that would fault on the device: its first write past on-chip capacity.

The emulator gives every on-chip space a red zone past its capacity, so a write
there lands in real bytes and the kernel runs on; its output may even match the
reference. On the device the same write is an illegal access: the CPU-debug
build aborts (``absUbAddr ... exceeds the limit of ub``) and msSanitizer reports
it. The recorder keeps the first such write and counts them all, and the trace
writer stores that in the trace's metadata when the recording finishes (field
``device_fault``, docs/trace-format.md), so every view can say that the run's
numerics mean nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ubscope.probe.units import format_bytes, plural

METADATA_FIELD = "device_fault"
NUMERICS_NOT_MEANINGFUL = "not meaningful: would fault on the device"
OUTPUT_NOT_MEANINGFUL = "its output is not meaningful, even where it matches the reference"


@dataclass(frozen=True)
class DeviceFault:
    """The first red-zone write of a run (where a device would have faulted),
    and how many red-zone writes the run made in all."""

    core_kind: str  # the trace's label: aiv, aic or aicore
    core: int
    space: str  # UB, L1, L0A, L0B or L0C
    addr: int
    nbytes: int  # bytes the access wrote
    past_capacity: int  # of which past the space's capacity
    tag: str  # call site
    t_ps: int
    writes: int

    @property
    def core_label(self) -> str:
        return f"{self.core_kind}{self.core}"

    def describe(self) -> str:
        """One sentence: where the first faulting access was and how many followed."""
        site = f" at call site '{self.tag}'" if self.tag else ""
        others = self.writes - 1
        more = f"; {plural(others, 'more red-zone write')} followed" if others > 0 else ""
        return (
            f"would fault on the device: {self.core_label} wrote {format_bytes(self.nbytes)} "
            f"at {self.space} 0x{self.addr:x}{site}, {format_bytes(self.past_capacity)} of it "
            f"past the {self.space} capacity{more}"
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
        missing = sorted(set(names) - set(value))
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}")
        for name, kind in names.items():
            item = value[name]
            if kind == "str":
                if not isinstance(item, str):
                    raise ValueError(f"{name} is not a string")
            elif not isinstance(item, int) or isinstance(item, bool):
                raise ValueError(f"{name} is not an integer")
            elif item < 0:
                raise ValueError(f"{name} is negative")
        return cls(**{name: value[name] for name in names})
