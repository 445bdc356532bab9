"""Core counts chosen by the cost model: how many blocks a vector launch uses.

A kernel describes what its busiest core does at a given core count
(:class:`CoreWork`: units of work such as rows or tiles, each copied in from GM,
computed on the V pipe and copied out through queues of ``buffers`` blocks).
:func:`vector_launch_ps` prices that with the cost model's own figures (launch
overhead per block, each core's share of the HBM bandwidth capped by its MTE
rate, the issue cost and latency of a copy, the vector lanes, the HBM roof),
and :func:`choose_cores` takes the fewest cores whose estimate is within
:data:`NEAR_BEST` of the best: more cores only add launch cost and take HBM
bandwidth from each other once the kernel is bound by the HBM roof.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ubscope.probe.chip import ChipProfile
from ubscope.probe.costmodel import (
    PS_PER_NS,
    PS_PER_S,
    core_gm_rate,
    hbm_roof_ps,
    launch_overhead_ps,
)
from ubscope.probe.device import max_blocks
from ubscope.probe.kernel_spec import ByModel, Param

# A core count whose estimate is within this share of the best one is good enough.
NEAR_BEST = 0.03


@dataclass(frozen=True)
class CoreWork:
    """What the busiest core of a vector launch does, and the launch's HBM bytes.

    ``units`` pieces of work, each ``copies_in`` GM copies of ``read_bytes`` in
    all, ``vector_cycles`` on the V pipe and ``copies_out`` copies of
    ``write_bytes`` back, through queues of ``buffers`` blocks per unit."""

    units: int
    read_bytes: int
    write_bytes: int
    copies_in: int
    copies_out: int
    vector_cycles: int
    buffers: int
    launch_hbm_bytes: int


def vector_launch_ps(chip: ChipProfile, cores: int, work: CoreWork) -> int:
    """Modelled time of a vector launch on ``cores`` blocks whose busiest core
    does ``work``: the launch overhead, then the busiest core's pipeline, but
    never less than the HBM roof of the launch's bytes.

    A unit's copy in, the latency until its data lands, its vector work and its
    copy out form a chain that ``buffers`` blocks let overlap: a unit starts at
    most one chain over ``buffers`` after the one before, and never sooner than
    its busiest pipe allows."""
    rate = core_gm_rate(chip, cores)
    issue_ps = chip.gm_issue_ns * PS_PER_NS
    latency_ps = chip.gm_latency_ns * PS_PER_NS
    load = work.copies_in * issue_ps + work.read_bytes / rate * PS_PER_S
    store = work.copies_out * issue_ps + work.write_bytes / rate * PS_PER_S
    compute = work.vector_cycles * PS_PER_S / chip.clock_hz
    chain = load + latency_ps + compute + store
    period = max(load, compute, store, chain / max(1, work.buffers))
    busiest = chain + latency_ps + (work.units - 1) * period if work.units > 0 else 0.0
    roof = hbm_roof_ps(chip, work.launch_hbm_bytes)
    return launch_overhead_ps(chip, "vector", cores) + round(max(busiest, roof))


def choose_cores(chip: ChipProfile, work: Callable[[int], Sequence[CoreWork]]) -> int:
    """The fewest blocks of a kernel's vector launches on ``chip`` whose
    estimated time (``work(cores)``: each launch's busiest core, priced by
    :func:`vector_launch_ps`) is within :data:`NEAR_BEST` of the best count's."""
    counts = range(1, max_blocks(chip, "vector") + 1)
    times = {
        cores: sum(vector_launch_ps(chip, cores, launch) for launch in work(cores))
        for cores in counts
    }
    best = min(times.values())
    return min(cores for cores, ps in times.items() if ps <= best * (1 + NEAR_BEST))


# What each launch's busiest core does, from the parameters, the chip and a core count.
WorkOf = Callable[[dict[str, Any], ChipProfile, int], Sequence[CoreWork]]


def auto_cores_param(work: WorkOf) -> Param:
    """The ``cores`` parameter of a vector kernel, chosen by :func:`choose_cores`
    from ``work(params, chip, cores)`` unless set."""

    def rule(params: dict[str, Any], chip: ChipProfile) -> int:
        return choose_cores(chip, lambda cores: work(params, chip, cores))

    return Param(
        "cores",
        int,
        ByModel(rule, "auto"),
        f"vector-launch blocks (default auto: the fewest whose modelled time is within "
        f"{NEAR_BEST:.0%} of the best count's)",
    )
