"""Registering and running kernels: the built-in kernels add their
:class:`KernelSpec` here when :mod:`ubscope.kernels.catalog` imports them, and
:func:`run_kernel` runs any spec (built-in, plugin or a user's file) into a
trace, after :func:`estimate_run` and :func:`check_host_memory` have said what
it will cost. Looking kernels up by name is the catalog's job."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Device
from ubscope.probe.device_fault import DeviceFault
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import Estimate
from ubscope.probe.kernel_spec import KernelResult, KernelSpec
from ubscope.probe.recorder import BatchSink, NullRecorder, Recorder
from ubscope.probe.trace import TraceWriter, new_metadata
from ubscope.probe.units import format_bytes

REGISTRY: dict[str, KernelSpec] = {}


def register(spec: KernelSpec) -> KernelSpec:
    """Add a built-in kernel (names are unique)."""
    if spec.name in REGISTRY:
        raise ValueError(f"kernel {spec.name} registered twice")
    REGISTRY[spec.name] = spec
    return spec


@dataclass
class RunOutcome:
    spec: KernelSpec
    params: dict[str, Any]
    result: KernelResult
    trace_path: Path | None
    events: int
    duration_ps: int
    # A write past on-chip capacity: the device would have faulted, the numerics mean nothing.
    device_fault: DeviceFault | None = None


def run_kernel(
    spec: KernelSpec,
    params: dict[str, Any],
    chip: ChipProfile,
    output: str | os.PathLike[str] | None = None,
    *,
    recorder: Recorder | None = None,
    preset: str | None = None,
    gm_misalign: int = 0,
    batch_events: int = 65536,
    on_events: Callable[[int], None] | None = None,
) -> RunOutcome:
    """Run ``spec`` with ``params`` on ``chip``; stream the trace to ``output``
    (or into ``recorder``; with neither, record nothing). ``on_events`` hears
    how many events each batch written to ``output`` held (for progress)."""
    params = spec.check(params, chip)
    writer: TraceWriter | nullcontext = nullcontext()
    if output is not None:
        extra = {"preset": preset} if preset else {}
        minimal = spec.minimal_traffic(params) if spec.minimal_traffic is not None else None
        meta = new_metadata(chip.to_dict(), spec.name, params, minimal, extra)
        writer = TraceWriter(output, meta)
    # An exception from here on (Ctrl-C, an emulation error) leaves a trace marked truncated.
    with writer:
        if isinstance(writer, TraceWriter):
            recorder = Recorder(sink=_counted(writer.write, on_events), batch_events=batch_events)
        elif recorder is None:
            recorder = NullRecorder()
        device = Device(chip, recorder, gm_misalign=int(params.get("gm_misalign", gm_misalign)))
        try:
            result = spec.run(device, params)
        except MemoryError as exc:
            raise ParameterError(
                f"{spec.name}: out of host memory ({exc or 'allocation failed'}); lower the "
                "parameters (`ubscope run` estimates the memory a run needs beforehand)"
            ) from None
        finally:
            recorder.flush()
        if isinstance(writer, TraceWriter):
            writer.close(recorder.final_metadata())
    return RunOutcome(
        spec,
        params,
        result,
        Path(output) if output else None,
        recorder.event_count,
        device.clock_ps,
        recorder.device_fault,
    )


def _counted(sink: BatchSink, on_events: Callable[[int], None] | None) -> BatchSink:
    if on_events is None:
        return sink

    def write(batch: pa.RecordBatch) -> None:
        sink(batch)
        on_events(batch.num_rows)

    return write


def estimate_run(spec: KernelSpec, params: dict[str, Any], chip: ChipProfile) -> Estimate | None:
    """What running ``spec`` with ``params`` on ``chip`` will cost, after checking
    the parameters; None for a kernel that cannot say."""
    params = spec.check(params, chip)
    return spec.estimate(params, chip) if spec.estimate is not None else None


def check_host_memory(kernel: str, estimate: Estimate, max_memory: int) -> None:
    """Refuse a run whose estimated host memory is over ``max_memory``."""
    if estimate.host_bytes > max_memory:
        enough = -(-estimate.host_bytes * 5 // 4 // (1 << 30))
        raise ParameterError(
            f"{kernel}: estimated {estimate.describe()}; over the {format_bytes(max_memory)} "
            f"host-memory limit: lower the parameters, or pass --max-memory {enough}GiB to run it"
        )


def progress_batch(events: int) -> int:
    """Events per trace batch that let a progress bar, which moves when a batch
    is written, move about 100 times: 1024 to 65536 (the recorder's default)."""
    return max(1024, min(65536, events // 100))
