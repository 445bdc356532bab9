"""The cost model, checked against times worked out by hand from a small test chip.

The test chip has round figures so every expected time can be derived in the
test: a 1 GHz clock (one cycle = 1 ns), a per-core GM cap of 32 B per cycle
(32 GB/s), 64 GB/s of HBM, an L2 rate of 64 B per cycle, 100 ns of MTE issue
time and 500 ns of latency per GM copy, no launch overhead, one cube core doing
one 16 x 16 x 16 fp16 fractal step per cycle.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ubscope.probe.chip import ChipProfile, check_chip_figures, load_chip
from ubscope.probe.costmodel import (
    CostModel,
    core_gm_rate,
    gm_sharing_cores,
    launch_overhead_ps,
    mmad_fractal_steps,
)
from ubscope.probe.events import CoreKind
from ubscope.probe.kernel_api import F16, DataCopy, Device, Exp, TPipe, TPosition, TQue

NS = 1000  # picoseconds
KIB = 1024


def _test_chip(**overrides: object) -> ChipProfile:
    figures: dict[str, object] = {
        "name": "TestChip",
        "clock_hz": 1e9,
        "cube_cores": 1,
        "gm_bandwidth": 64e9,
        "gm_rate_per_core": 32,
        "l2_rate_per_core": 64,
        "l2_bytes": 64 * KIB,
        "gm_issue_ns": 100.0,
        "gm_latency_ns": 500.0,
        "misaligned_gm_factor": 0.5,
        "launch_overhead_ns": {"vector": 0.0, "cube": 0.0, "mix": 0.0},
        "launch_per_block_ns": 0.0,
        "peak_fp16_flops": 2 * 16 * 16 * 16 * 1e9,  # one fp16 fractal step a cycle
        "peak_int8_ops": 2 * 16 * 32 * 16 * 1e9,  # one int8 fractal step a cycle
        "vector_fp16_ops_per_cycle": 128,
    }
    figures.update(overrides)
    return dataclasses.replace(load_chip("Ascend910B2"), **figures)


def _copy_in(core, que, src, count):
    tensor = que.alloc_tensor(F16)
    DataCopy(tensor, src, count)
    que.enque(tensor)


def _pipe_with(core, *queues_and_sizes):
    pipe = TPipe(core)
    for que, num, nbytes in queues_and_sizes:
        pipe.init_buffer(que, num, nbytes)
    return pipe


def _read_kernel(block, sources, count):
    """Copy each of ``sources`` (``count`` fp16 elements) into its own UB buffer."""
    core = block.aiv
    que = TQue(TPosition.VECIN, len(sources), "in")
    _pipe_with(core, (que, len(sources), count * 2))
    for src in sources:
        _copy_in(core, que, src, count)


def test_back_to_back_loads_overlap_their_latency():
    """Two 4 KiB loads one after the other on MTE2: each occupies the pipe
    100 ns + 4096 B / 32 GB/s = 100 + 128 = 228 ns; the second starts when the
    first leaves the pipe (228 ns), not when its data lands, so the launch ends
    when the second's data lands: 2 x 228 + 500 = 956 ns (not 2 x 728)."""
    device = Device(_test_chip())
    x = device.gm.tensor("x", np.zeros(2048, np.float16))
    y = device.gm.tensor("y", np.zeros(2048, np.float16))
    duration = device.launch("loads", _read_kernel, 1, sources=(x, y), count=2048)
    assert duration == 956 * NS


def _chain_kernel(block, x, z, count):
    core = block.aiv
    in_q, out_q = TQue(TPosition.VECIN, 1, "in"), TQue(TPosition.VECOUT, 1, "out")
    _pipe_with(core, (in_q, 1, count * 2), (out_q, 1, count * 2))
    _copy_in(core, in_q, x, count)
    tx, tz = in_q.deque(), out_q.alloc_tensor(F16)
    Exp(tz, tx, count)
    DataCopy(z, tz, count)


def test_a_dependency_chain_pays_the_latency_at_each_step():
    """Load 4 KiB, Exp, store: the Exp waits for the load's data (228 + 500 ns),
    takes 2048 elements x 4 operations / 128 lanes = 64 cycles, and the store
    (228 ns on MTE3) lands 500 ns later: 728 + 64 + 228 + 500 = 1520 ns."""
    device = Device(_test_chip())
    x = device.gm.tensor("x", np.zeros(2048, np.float16))
    z = device.gm.empty("z", (2048,), F16)
    assert device.launch("chain", _chain_kernel, 1, x=x, z=z, count=2048) == 1520 * NS


def test_a_re_read_within_l2_is_cheaper_than_a_cold_read_and_one_beyond_it_is_not():
    """A cold 16 KiB read takes 100 + 16384 / 32 GB/s = 612 ns of MTE2, +500 ns
    latency = 1112 ns. Read again, it is still in the 64 KiB L2: 100 + 16384 /
    64 GB/s = 356 ns, 856 ns with the latency. After 64 KiB of other data went
    through L2 it was evicted and costs the cold 1112 ns again."""
    device = Device(_test_chip())
    count = 8 * KIB  # fp16 elements: 16 KiB
    x = device.gm.tensor("x", np.zeros(count, np.float16))
    others = [device.gm.tensor(f"o{i}", np.zeros(count, np.float16)) for i in range(4)]

    def read(*sources):
        return device.launch("read", _read_kernel, 1, sources=sources, count=count)

    assert read(x) == 1112 * NS
    assert read(x) == 856 * NS
    read(*others)  # 4 x 16 KiB = the L2's 64 KiB brought in since x was read
    assert read(x) == 1112 * NS


def _stream_kernel(block, x, z, tiles, count, buffers):
    """GM -> UB -> GM through one queue of ``buffers`` blocks, no compute."""
    core = block.aiv
    que = TQue(TPosition.VECIN, buffers, "in")
    _pipe_with(core, (que, buffers, count * 2))
    for tile in range(tiles):
        _copy_in(core, que, x[tile * count :], count)
        tensor = que.deque()
        DataCopy(z[tile * count :], tensor, count)
        que.free_tensor(tensor)


def test_the_hbm_roof_binds_a_bandwidth_bound_launch():
    """One core streams 8 tiles of 16 KiB in and out through two buffers. A
    load (MTE2) and a store (MTE3) each take 100 + 16384 / 32 GB/s = 612 ns and
    run at the same time; a buffer cycles through load + latency + store +
    ... : tile t + 2's load starts when tile t's store has left the pipe,
    612 + 500 + 612 = 1724 ns after tile t's load started. Tile 7's load
    starts at 612 + 3 x 1724 = 5784 ns and its store lands at 5784 + 612 + 500
    + 612 + 500 = 8008 ns: the core is done then. But the chip's HBM is
    32 GB/s here: 8 x 16 KiB read + 8 x 16 KiB written = 262144 B need
    262144 / 32 GB/s = 8192 ns, the launch's duration."""
    device = Device(_test_chip(gm_bandwidth=32e9))
    count, tiles = 8 * KIB, 8
    x = device.gm.tensor("x", np.zeros(count * tiles, np.float16))
    z = device.gm.empty("z", (count * tiles,), F16)
    args = {"x": x, "z": z, "tiles": tiles, "count": count, "buffers": 2}
    duration = device.launch("stream", _stream_kernel, 1, **args)
    assert device.core(CoreKind.AIV, 0).timeline.end() == 8008 * NS
    assert duration == 8192 * NS


def test_launch_overhead_is_the_mode_cost_plus_a_cost_per_block():
    chip = _test_chip(
        launch_overhead_ns={"vector": 1000.0, "cube": 1500.0, "mix": 4000.0},
        launch_per_block_ns=50.0,
    )
    assert launch_overhead_ps(chip, "vector", 1) == (1000 + 50) * NS
    assert launch_overhead_ps(chip, "mix", 24) == (4000 + 24 * 50) * NS
    # and the launch's duration includes it: the chain above plus 1000 + 50 ns
    device = Device(chip)
    x = device.gm.tensor("x", np.zeros(2048, np.float16))
    z = device.gm.empty("z", (2048,), F16)
    assert device.launch("chain", _chain_kernel, 1, x=x, z=z, count=2048) == (1520 + 1050) * NS


def test_mmad_costs_whole_fractals():
    """One fp16 fractal step (16 x 16 x 16) a cycle: m = 17 needs 2 row fractals,
    2 cycles; fp32 (k0 = 8) runs at a quarter of the fp16 FLOP rate, so a
    16 x 8 x 16 step takes 2 cycles; int8 (k0 = 32) one step a cycle."""
    model = CostModel(_test_chip(), 1)
    assert mmad_fractal_steps(17, 16, 16, 2) == 2
    assert model.mmad(16, 16, 16, 2) == 1 * NS
    assert model.mmad(17, 16, 16, 2) == 2 * NS
    assert model.mmad(32, 16, 16, 2) == 2 * NS  # the same 2 row fractals as m = 17
    assert model.mmad(16, 8, 16, 4) == 2 * NS
    assert model.mmad(16, 32, 16, 1) == 1 * NS
    with pytest.raises(ValueError, match="1, 2 or 4 bytes"):
        model.mmad(16, 16, 16, 3)


def test_vector_lanes_are_256_bytes_a_cycle():
    """128 fp16 or 64 fp32 elements a cycle."""
    model = CostModel(_test_chip(), 1)
    assert model.vector(128, 2) == 1 * NS
    assert model.vector(64, 4) == 1 * NS
    assert model.vector(65, 4) == 2 * NS
    assert model.vector(64, 4, ops_per_element=4) == 4 * NS


def _exp_kernel(block, x, z, tiles, count, buffers):
    """Copy in, Exp, copy out, tile by tile, with ``buffers`` blocks per queue."""
    core = block.aiv
    in_q, out_q = TQue(TPosition.VECIN, buffers, "in"), TQue(TPosition.VECOUT, buffers, "out")
    _pipe_with(core, (in_q, buffers, count * 2), (out_q, buffers, count * 2))
    for tile in range(tiles):
        _copy_in(core, in_q, x[tile * count :], count)
        tx, tz = in_q.deque(), out_q.alloc_tensor(F16)
        Exp(tz, tx, count)
        in_q.free_tensor(tx)
        out_q.enque(tz)
        tz = out_q.deque()
        DataCopy(z[tile * count :], tz, count)
        out_q.free_tensor(tz)


def test_double_buffering_overlaps_copies_and_compute():
    """Tiles of 8 KiB (4096 fp16) on the test chip with 200 GB/s of HBM (the
    core's 32 GB/s cap binds). Stage times: load L = 100 + 8192 / 32 GB/s =
    356 ns on MTE2, Exp E = 4096 x 4 / 128 = 128 cycles = 128 ns on V, store
    S = 356 ns on MTE3; a GM copy's data lands 500 ns after its pipe time.

    Single-buffered, tile t + 1's load waits until tile t's Exp freed the input
    buffer, and its Exp until tile t's store freed the output buffer, so each
    tile costs load + latency + Exp = 356 + 500 + 128 = 984 ns (the store of
    tile t overlaps the load of t + 1 and is done before t + 1's Exp: 356 <
    984 - 128), and 8 tiles take 8 x 984 + S + latency = 7872 + 856 = 8728 ns.

    Double-buffered, each of the two input buffers cycles through load +
    latency + Exp = 984 ns, so two tiles finish every 984 ns: tile 0's Exp ends
    at 984 ns, tile 1's at 356 + 984 = 1340 (its load follows tile 0's on
    MTE2), tile t's 984 ns after tile t - 2's, so tile 7's at 1340 + 3 x 984 =
    4292 ns; its store lands 356 + 500 later: 5148 ns, 1.7x faster."""
    chip = _test_chip(gm_bandwidth=200e9)
    count, tiles = 4096, 8
    times = {}
    for buffers in (1, 2):
        device = Device(chip)
        x = device.gm.tensor("x", np.zeros(count * tiles, np.float16))
        z = device.gm.empty("z", (count * tiles,), F16)
        args = {"x": x, "z": z, "tiles": tiles, "count": count, "buffers": buffers}
        times[buffers] = device.launch("exp", _exp_kernel, 1, **args)
    assert times[1] == 8728 * NS
    assert times[2] == 5148 * NS


def test_a_mix_launch_shares_hbm_over_its_vector_cores():
    """The test chip's 64 GB/s over the 2 AIVs of each of 4 mix blocks: 8 GB/s a
    core (the AICs' reads are mostly the AIVs' L2 workspaces); a vector launch
    of 4 blocks shares it over 4 cores: 16 GB/s, under the 32 GB/s cap; one
    block is capped at 32 GB/s."""
    chip = _test_chip()
    assert gm_sharing_cores(chip, "mix", 4) == 8
    assert core_gm_rate(chip, gm_sharing_cores(chip, "mix", 4)) == 8e9
    assert core_gm_rate(chip, gm_sharing_cores(chip, "vector", 4)) == 16e9
    assert core_gm_rate(chip, gm_sharing_cores(chip, "cube", 1)) == 32e9


def test_a_profile_recorded_before_the_launch_and_issue_figures_loads_without_them():
    """Traces keep the chip profile they were recorded with; one from before
    these figures existed reads with the model it was recorded under: no
    issue time, no launch overhead."""
    recorded = load_chip("Ascend910B2").to_dict()
    for key in ("gm_issue_ns", "launch_overhead_ns", "launch_per_block_ns"):
        del recorded[key]
    chip = ChipProfile.from_dict(recorded)
    check_chip_figures(chip, "trace")
    assert chip.gm_issue_ns == 0 and chip.launch_per_block_ns == 0
    assert launch_overhead_ps(chip, "mix", 24) == 0


def test_a_narrow_read_that_misses_fetches_whole_sectors_for_the_roof():
    # Four blocks each read one 128 B column slice of the same 64 rows of 512 B
    # (a 32 KiB tensor): the first read misses all 64 sectors and HBM sends them
    # whole (64 x 512 B = 32 KiB, not the 64 x 128 B = 8 KiB it copies); the
    # other three slices hit L2 and add nothing to the roof.
    from ubscope.probe.costmodel import hbm_traffic

    assert hbm_traffic(64 * 128, 64, write=False) == 64 * 512
    assert hbm_traffic(0, 0, write=False) == 0
    # A contiguous 16 KiB read on sector boundaries fetches exactly its 32 sectors.
    assert hbm_traffic(16384, 32, write=False) == 16384
    # A write sends its own bytes.
    assert hbm_traffic(64 * 128, 64, write=True) == 64 * 128
