"""Runs that would fault on the device, as the analysis hands them to the views.

A write past on-chip capacity lands in the emulator's red zone and the kernel
runs on, but the device would have faulted there (probe/device_fault.py); the
recorder notes the first such write in the trace's metadata. The views (run,
demo, analyze, the TUI and the report) mark such a run with
:meth:`DeviceFault.describe` and label its numerics :data:`NUMERICS_NOT_MEANINGFUL`.
"""

from __future__ import annotations

from ubscope.probe.device_fault import (
    NUMERICS_NOT_MEANINGFUL,
    OUTPUT_NOT_MEANINGFUL,
    DeviceFault,
)
from ubscope.probe.trace import Trace

__all__ = ["NUMERICS_NOT_MEANINGFUL", "OUTPUT_NOT_MEANINGFUL", "DeviceFault", "device_fault_of"]


def device_fault_of(trace: Trace | None) -> DeviceFault | None:
    """The trace's device fault; None for no trace, a run that stayed inside
    capacity, or a trace recorded before ubscope noted faults (it reads as before)."""
    return trace.device_fault if trace is not None else None
