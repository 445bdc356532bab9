"""The cost model that gives every event a modelled device time.

No NPU runs here, so times come from a documented model (docs/trace-format.md):

* a GM copy costs a fixed latency plus the bytes charged (each burst rounded up
  to 32 B) over the core's share of GM bandwidth, which is the chip bandwidth
  divided over the cores the kernel launched, capped by one core's MTE rate,
  and scaled by ``misaligned_gm_factor`` when the GM address is not 512 B aligned;
  a copy to or from a core-to-core workspace (L2 resident on 910B) moves at the
  core's L2 rate instead;
* an on-chip copy costs a small latency plus bytes over that route's bytes per cycle;
* a vector op costs its elements over the vector lanes (256 fp16 / 128 fp32 a cycle);
* a cube op costs its FLOPs over one cube core's share of the chip's FP16 peak.

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

from ubscope.probe.chip import ChipProfile

PS_PER_NS = 1000
PS_PER_S = 1e12

PIPES = ("MTE1", "MTE2", "MTE3", "FIX", "V", "M", "S")


class CostModel:
    """Durations in picoseconds for one kernel launch on ``chip``."""

    def __init__(self, chip: ChipProfile, active_cores: int):
        self.chip = chip
        share = chip.gm_bandwidth / max(1, active_cores)
        self.gm_bytes_per_s = min(share, chip.gm_rate_per_core * chip.clock_hz)
        self.l2_bytes_per_s = chip.l2_rate_per_core * chip.clock_hz
        self.cycle_ps = PS_PER_S / chip.clock_hz
        self.cube_flops_per_s = chip.peak_fp16_flops / max(1, chip.cube_cores)
        self.cube_cycles_per_fractal = cube_cycles_per_fractal(chip)

    def gm_copy(
        self, burst_len: int, burst_count: int, gm_addr: int, workspace: bool = False
    ) -> int:
        unit = self.chip.datacopy_unit
        charged = burst_count * (-(-burst_len // unit) * unit)
        bandwidth = self.l2_bytes_per_s if workspace else self.gm_bytes_per_s
        if gm_addr % self.chip.gm_alignment:
            bandwidth *= self.chip.misaligned_gm_factor
        return round(self.chip.gm_latency_ns * PS_PER_NS + charged / bandwidth * PS_PER_S)

    def onchip_copy(self, route: str, nbytes: int) -> int:
        rate = self.chip.onchip_rate.get(route, self.chip.onchip_rate["l0c_out"])
        cycles = math.ceil(nbytes / rate)
        return round(self.chip.onchip_latency_ns * PS_PER_NS + cycles * self.cycle_ps)

    def vector(self, elements: int, element_bytes: int, ops_per_element: int = 1) -> int:
        lanes = self.chip.vector_fp16_ops_per_cycle * 2 // max(2, element_bytes)
        cycles = max(1, math.ceil(elements * ops_per_element / lanes))
        return round(cycles * self.cycle_ps)

    def mmad(self, m: int, k: int, n: int, in_bytes: int) -> int:
        """One ``Mmad`` of ``[m, k] x [k, n]`` with ``in_bytes``-wide inputs,
        costed on the whole fractals the cube steps through."""
        steps = mmad_fractal_steps(m, k, n, in_bytes)
        return max(1, round(steps * self.cube_cycles_per_fractal[in_bytes] * self.cycle_ps))


# One cube step multiplies a 16 x k0 fractal of A by a k0 x 16 fractal of B,
# with k0 = 32 B of input: 16 fp16, 32 int8, 8 fp32 elements ([DtypeMKN]).
CUBE_FRACTAL_ROWS = 16
CUBE_FRACTAL_K_BYTES = 32
# The cube's FP32 FLOP rate is a quarter of its FP16 rate (ASC-GUIDE 硬件约束 2201).
FP32_CUBE_RATE_FRACTION = 0.25


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


def launch_overhead_ps(chip: ChipProfile, mode: str, block_dim: int) -> int:
    """The fixed time of one launch: the mode's start cost plus a cost per block."""
    overhead_ns = chip.launch_overhead_ns[mode] + chip.launch_per_block_ns * block_dim
    return round(overhead_ns * PS_PER_NS)


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
