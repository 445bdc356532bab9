"""What a kernel run will cost before it runs: trace events, host memory, wall time.

Each kernel states, from its parameters alone, how many events it records,
how many bytes its host arrays take (inputs, the GM copies, outputs and the
slice of float64 reference checked at a time) and how many element operations
numpy does on the host. The wall time follows from rates of the emulator
measured on whole runs on the development machine (2 shared cores): it is
rough, within a factor of about 3, and a loaded machine is slower.
"""

from __future__ import annotations

from dataclasses import dataclass

from ubscope.probe.units import format_bytes

# Kernel events per second of a whole emulated run (memory models, cost model
# and recording), and element operations per second of the numpy work on
# tiles (the emulated cube's small matmuls, vector ops, the reference).
EVENTS_PER_SECOND = 10_000
WORK_PER_SECOND = 4e8
WORK_PER_VALUE = 30  # drawing, converting, copying to GM and checking one value
# float64 bytes the numerics check holds at once (output and reference slices).
CHECK_CHUNK_BYTES = 32 << 20
# `ubscope run` refuses a run estimated to need more host memory than this.
DEFAULT_MAX_MEMORY = 4 << 30


@dataclass(frozen=True)
class Estimate:
    events: int
    host_bytes: int
    seconds: float

    def describe(self) -> str:
        """``about 1.2 M events, 10.4 GiB of host memory, 25 min``."""
        return (
            f"about {format_count(self.events)} events, {format_bytes(self.host_bytes)} of "
            f"host memory, {format_duration(self.seconds)}"
        )


def estimate(events: float, host_bytes: float, work: float = 0.0, values: float = 0.0) -> Estimate:
    """An estimate from the counts a kernel works out for its parameters:
    ``work``, element operations (multiply-adds) numpy does on tiles;
    ``values``, array elements the host draws, packs, copies and checks."""
    seconds = events / EVENTS_PER_SECOND + (work + WORK_PER_VALUE * values) / WORK_PER_SECOND
    return Estimate(int(events), int(host_bytes), seconds)


def progress_batch(events: int) -> int:
    """Events per trace batch that let a progress bar, which moves when a batch
    is written, move about 100 times: 1024 to 65536 (the recorder's default)."""
    return max(1024, min(65536, events // 100))


def format_count(count: float) -> str:
    """``1234567`` -> ``1.2 M``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)}"


def format_duration(seconds: float) -> str:
    """Wall time rounded to what an estimate can claim: ``< 1 s``, ``40 s``, ``25 min``, ``3.5 h``."""
    if seconds < 1:
        return "< 1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
