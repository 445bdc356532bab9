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

from ubscope.probe.units import format_bytes, format_count, format_duration

# Kernel events per second of a whole emulated run (memory models, cost model
# and recording), and element operations per second of the numpy work on
# tiles (the emulated cube's small matmuls, vector ops, the reference).
EVENTS_PER_SECOND = 10_000
WORK_PER_SECOND = 4e8
WORK_PER_VALUE = 30  # drawing, converting, copying to GM and checking one value
# float64 bytes the numerics check holds at once (output and reference slices).
CHECK_CHUNK_BYTES = 32 << 20
# `ubscope run` and `sweep` refuse a run estimated to need more host memory than this.
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
