"""Fixtures of the analyzer tests: synthetic traces built with the real Recorder or
run on the emulated device (``kit``) and pool_demo traces run once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from ubscope.analyzers.api import Analysis, analyze_trace
from ubscope.analyzers.config import Config
from ubscope.analyzers.context import TraceContext
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.device import Block, Device
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import Trace, new_metadata

AIV, UB, GM = int(CoreKind.AIV), int(Space.UB), int(Space.GM)
KIB = 1024


class Synthetic:
    """A Recorder plus what makes its events a Trace (one launch on aiv cores)."""

    def __init__(self, kernel: str = "synthetic", minimal: dict | None = None):
        self.chip = load_chip()
        self.rec = Recorder(batch_events=64)
        self.kernel = kernel
        self.minimal = minimal or {}
        self.rec.kernel_begin(kernel, 1, 0, "vector")

    def trace(self, end_ps: int = 1_000_000) -> Trace:
        self.rec.kernel_end(self.kernel, end_ps, end_ps)
        meta = new_metadata(self.chip.to_dict(), self.kernel, {}, self.minimal)
        return Trace(
            path=Path(f"{self.kernel}.ubtrace"), meta=meta, events=self.rec.table().to_pandas()
        )

    def seq(self) -> int:
        """Sequence number the next event will get."""
        return self.rec.event_count

    def alloc(
        self,
        addr: int,
        size: int,
        name: str = "buf",
        tag: str = "site",
        core: int = 0,
        t: int = 0,
        aligned: int | None = None,
    ) -> int:
        seq = self.seq()
        self.rec.alloc(
            AIV, core, UB, addr, size, size if aligned is None else aligned, name, tag, t
        )
        return seq

    def free(self, addr: int, size: int, name: str = "buf", core: int = 0, t: int = 0) -> int:
        seq = self.seq()
        self.rec.free(AIV, core, UB, addr, size, size, name, "site", t)
        return seq

    def load(
        self,
        gm_addr: int,
        ub_addr: int,
        size: int,
        tensor: str = "x",
        core: int = 0,
        t: int = 0,
        flags: int = 0,
        moved: int | None = None,
        tag: str = "load",
        dur: int = 1000,
    ) -> int:
        seq = self.seq()
        self.rec.copy(
            AIV,
            core,
            GM,
            gm_addr,
            UB,
            ub_addr,
            size,
            size if moved is None else moved,
            size,
            1,
            tensor,
            tag,
            t,
            dur,
            flags,
        )
        return seq


def device_events(
    body: Callable[[Block], None], block_dim: int = 1, launches: int = 1
) -> tuple[pa.Table, dict]:
    """Run ``body(block)`` on the emulated device (``launches`` times, one
    launch after another): its events and trace metadata."""
    recorder = Recorder(batch_events=64)
    device = Device(load_chip(), recorder)
    for _ in range(launches):
        device.launch("device_kernel", body, block_dim)
    recorder.flush()
    return recorder.table(), new_metadata(device.chip.to_dict(), "device_kernel", {}, {})


def run_device(body: Callable[[Block], None], block_dim: int = 1, launches: int = 1) -> Trace:
    """Run ``body(block)`` on the emulated device (``launches`` times) and return its trace."""
    events, meta = device_events(body, block_dim, launches)
    return Trace(path=Path("device_kernel.ubtrace"), meta=meta, events=events.to_pandas())


def analyze(trace: Trace, **config) -> Analysis:
    return analyze_trace(trace, Config(**config) if config else None)


def codes(analysis: Analysis, severity: str | None = None) -> list[str]:
    return [f.code for f in analysis.findings if severity is None or str(f.severity) == severity]


def only(analysis: Analysis, code: str):
    found = [f for f in analysis.findings if f.code == code]
    assert len(found) == 1, f"expected one {code}, got {[f.message for f in found]}"
    return found[0]


def context(trace: Trace) -> TraceContext:
    return TraceContext(trace)


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, for tests (the suite imports test modules by path)."""
    return SimpleNamespace(
        Synthetic=Synthetic,
        run_device=run_device,
        device_events=device_events,
        analyze=analyze,
        codes=codes,
        only=only,
        context=context,
        KIB=KIB,
    )


# Small healthy configurations (the presets keep their own sizes).
POOL_DEMO_RUNS = {
    "healthy_tpipe": (None, {"n": 1 << 15, "tile": 2048, "cores": 4}),
    "healthy_bump": (None, {"n": 1 << 15, "tile": 2048, "cores": 4, "allocator": "bump"}),
    "healthy_freelist": (None, {"n": 1 << 15, "tile": 2048, "cores": 4, "allocator": "freelist"}),
    "pool_no_reset": ("pool_no_reset", {}),
    "freelist_fragmentation": ("freelist_fragmentation", {}),
}


@pytest.fixture(scope="session")
def pool_demo_traces(tmp_path_factory):
    """label -> path of a pool_demo trace (run on demand, once)."""
    folder = tmp_path_factory.mktemp("pool_demo")
    spec, chip = get_kernel("pool_demo"), load_chip()
    made: dict[str, object] = {}

    def trace(label: str):
        if label not in made:
            preset, overrides = POOL_DEMO_RUNS[label]
            params = spec.resolve(preset=preset, overrides=overrides)
            path = folder / f"{label}.ubtrace"
            run_kernel(spec, params, chip, path, preset=preset)
            made[label] = path
        return made[label]

    return trace
