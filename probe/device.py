"""The emulated device: cores with byte arenas, GM, and kernel launches.

A kernel is a Python function ``kernel(block, **args)`` written the way an
Ascend C kernel is: it runs once per block (``block.idx`` is ``GetBlockIdx()``)
on that block's cores, allocates on-chip buffers through a TPipe or a pool,
moves tiles with DataCopy and computes on them. On a split chip (910B) a
vector launch runs one AIV per block, a cube launch one AIC, and a mix launch
one AIC with its two AIVs; on a coupled chip every block is one AI Core.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import psutil

from ubscope.probe.chip import LAUNCH_MODES, ChipProfile
from ubscope.probe.costmodel import (
    CostModel,
    L2Residency,
    Timeline,
    gm_sharing_cores,
    launch_overhead_ps,
)
from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.memory.arena import Arena, LocalTensor
from ubscope.probe.memory.atomic import AtomicMode
from ubscope.probe.memory.gm import GlobalMemory
from ubscope.probe.recorder import NullRecorder, Recorder

_SPACES = {
    CoreKind.AIV: (Space.UB,),
    CoreKind.AIC: (Space.L1, Space.L0A, Space.L0B, Space.L0C),
    CoreKind.AICORE: (Space.UB, Space.L1, Space.L0A, Space.L0B, Space.L0C),
}


def max_blocks(chip: ChipProfile, mode: str) -> int:
    """Most blocks of a ``mode`` launch: every AI Core of a coupled chip (its
    separate Vector Cores, as on 310P, are not modelled); on a split chip every
    AIV for a vector launch, every AIC for a cube or mix one."""
    if not chip.split_cores:
        return chip.cube_cores
    return chip.vector_cores if mode == "vector" else chip.cube_cores


class Core:
    """One AI core: its arenas, its pipes' timeline and the current call-site tag."""

    def __init__(self, device: Device, kind: CoreKind, index: int):
        self.device = device
        self.kind = kind
        self.index = index
        self.label = f"{kind.name.lower()}{index}"
        chip = device.chip
        self.arenas = {
            space: Arena(self, space, chip.space_capacity(space), chip.space_alignment(space))
            for space in _SPACES[kind]
        }
        self.timeline = Timeline(0, device.shared_ready)
        self.cost = CostModel(chip, 1, device.l2)  # each launch sets its own
        self.tag = ""
        # SetAtomicAdd / Max / Min: how copies into GM combine with it (None: they overwrite)
        self.atomic: AtomicMode | None = None
        self._closers: list[Callable[[], None]] = []

    @property
    def recorder(self) -> Recorder:
        return self.device.recorder

    def arena(self, space: Space) -> Arena:
        try:
            return self.arenas[space]
        except KeyError:
            raise EmulationError(
                f"{self.label} has no {space.name} (spaces: "
                f"{', '.join(s.name for s in self.arenas)})"
            ) from None

    @contextlib.contextmanager
    def site(self, tag: str) -> Iterator[None]:
        """Tag everything recorded inside the block with a call-site name."""
        previous, self.tag = self.tag, tag
        try:
            yield
        finally:
            self.tag = previous

    def now(self) -> int:
        return self.timeline.scalar_now

    def acquire(self, key: Hashable) -> int:
        return self.timeline.acquire(key)

    def release(self, key: Hashable) -> int:
        return self.timeline.release(key)

    def on_block_end(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the block ends (a TPipe is destroyed with its kernel)."""
        self._closers.append(closer)

    def finish_block(self) -> None:
        while self._closers:
            self._closers.pop()()

    def check_placement(self, tensor: LocalTensor, nbytes: int) -> int:
        """Flags for writing ``nbytes`` at ``tensor``: misalignment and red zone.
        A red-zone write is also recorded as its own event."""
        flags = 0
        arena = tensor.arena
        if tensor.addr % arena.alignment:
            flags |= Flag.MISALIGNED
        end = tensor.addr + nbytes
        if end > arena.capacity and nbytes > 0:
            flags |= Flag.REDZONE
            past = end - max(tensor.addr, arena.capacity)
            self.recorder.redzone_write(
                self.kind, self.index, arena.space, tensor.addr, nbytes, past, self.tag, self.now()
            )
        return flags

    def issue(
        self,
        pipe: str,
        duration: int,
        reads: tuple[Hashable, ...],
        writes: tuple[Hashable, ...],
        latency: int = 0,
    ) -> int:
        return self.timeline.issue(pipe, duration, reads, writes, latency)


class Block:
    """What one block of a launch sees: its index and its cores."""

    def __init__(
        self, device: Device, idx: int, block_dim: int, vector: list[Core], cube: Core | None
    ):
        self.device = device
        self.idx = idx
        self.dim = block_dim
        self.vector = vector  # AIVs of the block (two in a mix launch on 910B)
        self.cube = cube

    @property
    def chip(self) -> ChipProfile:
        return self.device.chip

    @property
    def aiv(self) -> Core:
        if not self.vector:
            raise EmulationError("this launch has no vector core (use mode='vector' or 'mix')")
        return self.vector[0]

    @property
    def aic(self) -> Core:
        if self.cube is None:
            raise EmulationError("this launch has no cube core (use mode='cube' or 'mix')")
        return self.cube

    def cores(self) -> list[Core]:
        found = list(self.vector)
        if self.cube is not None and self.cube not in found:
            found.append(self.cube)
        return found


class Device:
    """An emulated NPU of the given chip, recording into ``recorder``."""

    def __init__(self, chip: ChipProfile, recorder: Recorder | None = None, gm_misalign: int = 0):
        self.chip = chip
        self.recorder = recorder if recorder is not None else NullRecorder()
        self.gm = GlobalMemory(chip.gm_alignment, gm_misalign)
        self.shared_ready: dict[Hashable, int] = {}
        self.l2 = L2Residency(chip.l2_bytes)  # shared by every core and launch
        self.clock_ps = 0
        self._cores: dict[tuple[CoreKind, int], Core] = {}
        self._process = psutil.Process()

    def core(self, kind: CoreKind, index: int) -> Core:
        key = (kind, index)
        if key not in self._cores:
            self._cores[key] = Core(self, kind, index)
        return self._cores[key]

    def _block_cores(self, mode: str, idx: int) -> tuple[list[Core], Core | None]:
        if not self.chip.split_cores:
            core = self.core(CoreKind.AICORE, idx)
            return [core], core
        if mode == "vector":
            return [self.core(CoreKind.AIV, idx)], None
        cube = self.core(CoreKind.AIC, idx)
        if mode == "cube":
            return [], cube
        return [self.core(CoreKind.AIV, 2 * idx), self.core(CoreKind.AIV, 2 * idx + 1)], cube

    def launch(
        self,
        name: str,
        kernel: Callable[..., Any],
        block_dim: int,
        mode: str = "vector",
        **args: Any,
    ) -> int:
        """Run ``kernel(block, **args)`` for every block; returns the modelled
        duration in picoseconds. Blocks run one after another in Python but
        each core's timeline starts when the launch's overhead has passed, as
        on the device, and the launch ends when its slowest core does, but not
        before its HBM bytes could cross the chip's bandwidth (the roof)."""
        if mode not in LAUNCH_MODES:
            raise ParameterError(
                f"launch mode must be one of {', '.join(LAUNCH_MODES)}, got {mode!r}"
            )
        limit = max_blocks(self.chip, mode)
        if not 1 <= block_dim <= limit:
            raise ParameterError(
                f"{name}: block_dim {block_dim} outside 1..{limit} ({self.chip.name} has {limit} "
                f"cores for a {mode} launch)"
            )
        start = self.clock_ps
        rec = self.recorder
        rec.kernel_begin(name, block_dim, start, mode)
        rec.host_sample(self._process.memory_info().rss, start)
        blocks = [Block(self, i, block_dim, *self._block_cores(mode, i)) for i in range(block_dim)]
        cores = {id(c): c for b in blocks for c in b.cores()}.values()
        cost = CostModel(self.chip, gm_sharing_cores(self.chip, mode, block_dim), self.l2)
        begin = start + launch_overhead_ps(self.chip, mode, block_dim)
        for core in cores:
            core.timeline = Timeline(begin, self.shared_ready)
            core.cost = cost
            core.atomic = None
        for block in blocks:
            kernel(block, **args)
            for core in block.cores():
                core.finish_block()
        end = max([begin + cost.roof_ps()] + [core.timeline.end() for core in cores])
        rec.host_sample(self._process.memory_info().rss, end)
        rec.kernel_end(name, end, end - start)
        self.clock_ps = end
        return end - start
