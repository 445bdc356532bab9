"""The cost model that gives every event a modelled device time.

No NPU runs here, so times come from a documented model (docs/trace-format.md,
"The cost model", lists every figure with its source and sensitivity):

* a GM copy occupies its MTE pipe for ``gm_copy_issue_ns`` plus its charged
  bytes (each burst rounded up to 32 B) over the core's rate, and its data
  lands ``gm_copy_latency_ns`` later: copies on one pipe stay in flight, so the
  latency is paid once per dependency chain, not once per copy. Bytes still in
  L2 (read or written earlier in the run, see :class:`L2Residency`) and
  core-to-core workspaces move at the core's L2 rate; the rest at the core's
  share of HBM, which is the chip bandwidth over the cores of the launch that
  move GM data, capped by one core's MTE rate; a GM address off 512 B scales
  the rate by ``misaligned_gm_factor``;
* a launch costs a fixed overhead by mode plus a cost per block, and never ends
  before that overhead plus its HBM bytes over the chip bandwidth (the roof);
* an on-chip copy costs a small latency plus bytes over that route's bytes per cycle;
* a vector op costs its elements over the vector lanes: 256 B a cycle (128 fp16
  / 64 fp32 elements);
* an ``Mmad`` costs its whole 16 x k0 x 16 fractal steps at the cube's rate for
  its input width.

Each core runs a :class:`Timeline` of pipes (MTE1/MTE2/MTE3/FIX/V/M/S). An
operation starts when its pipe is free, when the buffers it reads were written
(read-after-write) and when the buffers it writes were last read (write-after-
read). The scalar unit only waits where Ascend C blocks: an allocation waits
until its block's previous contents were last used. Double buffering therefore
overlaps copies and computes by itself, as on the device; single buffering
serialises them. Frees are stamped with the time the data was last used.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import TypeVar

import numpy as np

from ubscope.probe.chip import ChipProfile
from ubscope.probe.memory.gm import GlobalTensor

Count = TypeVar("Count", int, np.ndarray)  # one copy's figure, or an array of them

PS_PER_NS = 1000
PS_PER_S = 1e12

PIPES = ("MTE1", "MTE2", "MTE3", "FIX", "V", "M", "S")

# One cube step multiplies a 16 x k0 fractal of A by a k0 x 16 fractal of B,
# with k0 = 32 B of input: 16 fp16, 32 int8, 8 fp32 elements ([DtypeMKN]).
CUBE_FRACTAL_ROWS = 16
CUBE_FRACTAL_K_BYTES = 32
# The cube's FP32 FLOP rate is a quarter of its FP16 rate (ASC-GUIDE 硬件约束 2201).
FP32_CUBE_RATE_FRACTION = 0.25
# L2 residency is tracked per sector of this many GM bytes (the 512 B the
# Ascend C guide aligns GM accesses to).
L2_SECTOR_BYTES = 512


def gm_sharing_cores(chip: ChipProfile, mode: str, block_dim: int) -> int:
    """Cores of a launch that share the HBM bandwidth: one per block, except a
    mix launch on a split chip, where its two AIVs per block do (the AIC's GM
    reads are mostly the AIVs' L2 workspaces; its HBM bytes still count
    toward the launch's roof)."""
    if mode == "mix" and chip.split_cores:
        return 2 * block_dim
    return block_dim


def core_gm_rate(chip: ChipProfile, gm_cores: int) -> float:
    """HBM bytes per second one core moves: its share of the chip bandwidth,
    capped by one core's MTE rate."""
    share = chip.gm_bandwidth / max(1, gm_cores)
    return min(share, chip.gm_rate_per_core * chip.clock_hz)


def charged_bytes(chip: ChipProfile, rows: Count, row_bytes: Count) -> Count:
    """Bytes a GM copy of ``rows`` bursts of ``row_bytes`` moves: each burst
    rounded up to the DataCopy unit (32 B); of one copy, or elementwise of
    arrays of copies."""
    unit = chip.datacopy_unit
    return rows * (-(-row_bytes // unit) * unit)


def gm_copy_ps(
    chip: ChipProfile, hbm_bytes: float, l2_bytes: float, gm_rate: float, aligned: bool
) -> int:
    """MTE pipe time of one GM copy: the issue cost plus its HBM bytes at the
    core's HBM rate and its L2 bytes at the core's L2 rate, slower by
    ``misaligned_gm_factor`` when the GM address is off 512 B."""
    seconds = hbm_bytes / gm_rate + l2_bytes / (chip.l2_rate_per_core * chip.clock_hz)
    if not aligned:
        seconds /= chip.misaligned_gm_factor
    return round(chip.gm_issue_ns * PS_PER_NS + seconds * PS_PER_S)


def launch_overhead_ps(chip: ChipProfile, mode: str, block_dim: int) -> int:
    """The fixed time of one launch: the mode's start cost plus a cost per block."""
    overhead_ns = chip.launch_overhead_ns[mode] + chip.launch_per_block_ns * block_dim
    return round(overhead_ns * PS_PER_NS)


def hbm_roof_ps(chip: ChipProfile, hbm_bytes: int) -> int:
    """The least time the chip needs to move ``hbm_bytes`` through HBM."""
    return round(hbm_bytes / chip.gm_bandwidth * PS_PER_S)


def mmad_fractal_steps(m: int, k: int, n: int, in_bytes: int) -> int:
    """Fractal steps of one Mmad: ceil(m/16) x ceil(n/16) x ceil(k/k0)."""
    if in_bytes not in (1, 2, 4):
        raise ValueError(f"Mmad inputs are 1, 2 or 4 bytes wide, not {in_bytes}")
    k0 = CUBE_FRACTAL_K_BYTES // in_bytes
    rows = CUBE_FRACTAL_ROWS
    return -(-m // rows) * -(-n // rows) * -(-k // k0)


def cube_cycles_per_fractal(chip: ChipProfile) -> dict[int, float]:
    """Cycles one cube core takes per fractal step, by input width in bytes:
    a step's FLOPs (2 x 16 x k0 x 16) over one core's FLOPs per cycle at that
    width (the chip's FP16 / INT8 peak over its cube cores and clock; FP32 at a
    quarter of the FP16 rate)."""
    per_core_cycle = max(1, chip.cube_cores) * chip.clock_hz
    fp16_flops_per_cycle = chip.peak_fp16_flops / per_core_cycle
    rates = {
        1: chip.peak_int8_ops / per_core_cycle,
        2: fp16_flops_per_cycle,
        4: fp16_flops_per_cycle * FP32_CUBE_RATE_FRACTION,
    }
    rows = CUBE_FRACTAL_ROWS
    return {
        width: 2 * rows * (CUBE_FRACTAL_K_BYTES // width) * rows / rate
        for width, rate in rates.items()
    }


def vector_lanes(chip: ChipProfile, element_bytes: int) -> int:
    """Elements one vector repeat processes per cycle: the repeat's bytes
    (two per fp16 lane) over the element width."""
    return max(1, chip.vector_fp16_ops_per_cycle * 2 // max(1, element_bytes))


def copy_sectors(offset: int, rows: int, row_bytes: int, pitch: int, size: int) -> np.ndarray:
    """The L2 sectors of a ``size``-byte GM buffer that ``rows`` bursts of
    ``row_bytes``, ``pitch`` bytes apart from byte ``offset``, touch (sorted,
    clipped to the buffer)."""
    sector = L2_SECTOR_BYTES
    limit = -(-size // sector)
    if rows <= 0 or row_bytes <= 0:
        return np.empty(0, dtype=np.int64)
    if rows == 1 or pitch == row_bytes:
        begin, end = offset // sector, (offset + rows * row_bytes - 1) // sector + 1
        return np.arange(max(begin, 0), min(end, limit), dtype=np.int64)
    starts = offset + np.arange(rows, dtype=np.int64) * pitch
    first, last = starts // sector, (starts + row_bytes - 1) // sector
    grid = first[:, None] + np.arange(int((last - first).max()) + 1)[None, :]
    touched = grid[grid <= last[:, None]]
    return np.unique(touched[(touched >= 0) & (touched < limit)])


def hbm_traffic(missed_bytes: float, missed_sectors: int, write: bool) -> int:
    """HBM bytes of a copy: a read that misses L2 fetches whole sectors (narrow
    column slices of one row fetch the row's sectors once, however few bytes
    each slice uses); a write sends its bytes."""
    if write:
        return round(missed_bytes)
    return max(round(missed_bytes), missed_sectors * L2_SECTOR_BYTES)


class L2Residency:
    """Which GM bytes are still in the chip's L2, approximately LRU and cheap.

    Each GM buffer keeps one stamp per 512 B sector: the running count of
    distinct bytes brought into L2 when the sector was last touched (read or
    written, by any core in any launch). A sector is resident while fewer than
    ``capacity`` bytes were brought in since its stamp. Blocks run one after
    another in Python, so a sector every block reads is brought in once and
    hit by the others, as concurrent reads of the same line are on the device.
    """

    __slots__ = ("capacity", "brought_in", "_stamps")

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.brought_in = 0
        self._stamps: dict[Hashable, np.ndarray] = {}

    def touch(self, buffer: Hashable, size: int, sectors: np.ndarray) -> int:
        """Touch ``sectors`` of ``buffer`` (``size`` bytes); returns how many
        of them were resident. The others are brought in."""
        stamps = self._stamps.get(buffer)
        if stamps is None:
            never = -(self.capacity + 1)
            stamps = np.full(-(-size // L2_SECTOR_BYTES), never, dtype=np.int64)
            self._stamps[buffer] = stamps
        hits = int(np.count_nonzero(self.brought_in - stamps[sectors] < self.capacity))
        self.brought_in += (sectors.size - hits) * L2_SECTOR_BYTES
        stamps[sectors] = self.brought_in
        return hits


class CostModel:
    """Durations in picoseconds for one kernel launch on ``chip`` whose
    ``gm_cores`` cores share the HBM bandwidth; ``l2`` is the chip's L2, shared
    by every launch of the run."""

    def __init__(self, chip: ChipProfile, gm_cores: int, l2: L2Residency | None = None):
        self.chip = chip
        self.gm_bytes_per_s = core_gm_rate(chip, gm_cores)
        self.cycle_ps = PS_PER_S / chip.clock_hz
        self.gm_latency_ps = round(chip.gm_latency_ns * PS_PER_NS)
        self.cube_cycles_per_fractal = cube_cycles_per_fractal(chip)
        self.l2 = l2 if l2 is not None else L2Residency(chip.l2_bytes)
        self.hbm_bytes = 0  # the launch's GM bytes that go to or from HBM

    def gm_copy(self, gm: GlobalTensor, rows: int, row_bytes: int, pitch: int, write: bool) -> int:
        """MTE pipe time of a copy of ``rows`` bursts of ``row_bytes``, ``pitch``
        bytes apart in ``gm``, to GM (``write``) or from it. Its data lands
        :attr:`gm_latency_ps` after that."""
        charged = charged_bytes(self.chip, rows, row_bytes)
        aligned = gm.addr % self.chip.gm_alignment == 0
        if gm.buffer.workspace:
            return gm_copy_ps(self.chip, 0, charged, self.gm_bytes_per_s, aligned)
        size = gm.buffer.data.size
        sectors = copy_sectors(gm.offset, rows, row_bytes, pitch, size)
        resident = self.l2.touch(gm.buffer, size, sectors)
        # Writes go back to HBM in the end; reads of resident sectors do not.
        hit = 0.0 if write or not sectors.size else charged * resident / sectors.size
        self.hbm_bytes += hbm_traffic(charged - hit, sectors.size - resident, write)
        return gm_copy_ps(self.chip, charged - hit, hit, self.gm_bytes_per_s, aligned)

    def roof_ps(self) -> int:
        """The least time the launch's HBM bytes take at the chip bandwidth."""
        return hbm_roof_ps(self.chip, self.hbm_bytes)

    def onchip_copy(self, route: str, nbytes: int) -> int:
        rate = self.chip.onchip_rate.get(route, self.chip.onchip_rate["l0c_out"])
        cycles = math.ceil(nbytes / rate)
        return round(self.chip.onchip_latency_ns * PS_PER_NS + cycles * self.cycle_ps)

    def vector(self, elements: int, element_bytes: int, ops_per_element: int = 1) -> int:
        lanes = vector_lanes(self.chip, element_bytes)
        cycles = max(1, math.ceil(elements * ops_per_element / lanes))
        return round(cycles * self.cycle_ps)

    def mmad(self, m: int, k: int, n: int, in_bytes: int) -> int:
        """One ``Mmad`` of ``[m, k] x [k, n]`` with ``in_bytes``-wide inputs,
        costed on the whole fractals the cube steps through."""
        steps = mmad_fractal_steps(m, k, n, in_bytes)
        return max(1, round(steps * self.cube_cycles_per_fractal[in_bytes] * self.cycle_ps))


class Timeline:
    """Per-core pipes with read-after-write and write-after-read dependencies."""

    __slots__ = ("pipe_free", "ready", "last_read", "scalar_now", "shared_ready", "landed")

    def __init__(self, start_ps: int, shared_ready: dict[Hashable, int]):
        self.pipe_free = dict.fromkeys(PIPES, start_ps)
        self.ready: dict[Hashable, int] = {}
        self.last_read: dict[Hashable, int] = {}
        self.scalar_now = start_ps
        # GM regions are shared by all cores (workspaces pass data AIV -> AIC).
        self.shared_ready = shared_ready
        self.landed = start_ps  # when the last written data has landed

    def issue(
        self,
        pipe: str,
        duration: int,
        reads: Iterable[Hashable],
        writes: Iterable[Hashable],
        latency: int = 0,
    ) -> int:
        """Schedule an operation that occupies ``pipe`` for ``duration`` and
        whose results are ready ``latency`` after that; returns its start time."""
        start = max(self.pipe_free[pipe], self.scalar_now)
        ready, last_read, shared = self.ready, self.last_read, self.shared_ready
        for key in reads:
            start = max(start, ready.get(key, 0), shared.get(key, 0))
        writes = tuple(writes)
        for key in writes:
            start = max(start, last_read.get(key, 0), ready.get(key, 0))
        end = start + duration
        self.pipe_free[pipe] = end
        for key in reads:
            if last_read.get(key, 0) < end:
                last_read[key] = end
        landed = end + latency
        for key in writes:
            ready[key] = landed
            if isinstance(key, tuple) and key and key[0] == "GM":
                shared[key] = landed
        if writes and landed > self.landed:
            self.landed = landed
        return start

    def acquire(self, key: Hashable) -> int:
        """Time an allocation of block ``key`` happens: the scalar unit waits
        until the block's previous contents were last used (AllocTensor blocks
        until FreeTensor, as on the device)."""
        t = max(self.scalar_now, self.ready.get(key, 0), self.last_read.get(key, 0))
        self.scalar_now = t
        return t

    def release(self, key: Hashable) -> int:
        """Time block ``key`` is really free: when its data was last used."""
        used = max(self.ready.get(key, 0), self.last_read.get(key, 0))
        return used if used else self.scalar_now

    def end(self) -> int:
        """When the core is done: its pipes are idle and its writes have landed."""
        return max(self.landed, *self.pipe_free.values())
