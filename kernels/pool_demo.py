"""A pool scenario: ``y = x * scale + residual`` over row tiles, on a chosen UB allocator.

It exercises the three allocator models on the same math: the article's bump
pool (reset every round, or not), a first-fit free list (tiles of varying
size fragment it), and TPipe queues with optional double buffering.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.kernels.param_checks import check_cores, check_range, check_seed
from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.core_count import CoreWork, auto_cores_param
from ubscope.probe.costmodel import vector_lanes
from ubscope.probe.device import Block, Device
from ubscope.probe.errors import EmulationError
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.probe.kernel_spec import (
    ChunkedReference,
    KernelResult,
    KernelSpec,
    Param,
    PerChip,
    vector_blocks,
)
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.pools import FreeListAllocator, UBBufPool
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue

KERNEL = "pool_demo"
SCALE = 0.5
# Events per tile round of each allocator (bump and free list also log every
# allocation and free), and per core (buffer set-up and the last resets).
EVENTS_PER_ROUND = {"tpipe": 5, "bump": 12, "freelist": 12}
EVENTS_PER_CORE = 16
FP16_PER_BLOCK = 16  # one 32 B DataCopy block
NO_RESET_TILE = 10240  # elements: three fp16 tiles of it are 60 KiB of UB a round
# The free list's shorter rounds take 2/3 of a tile rounded down to whole 32 B
# blocks: a smaller tile leaves them empty, and the rounds never advance.
FREELIST_LEAST_TILE = 24


def _six_tiles(chip: ChipProfile) -> int:
    """Six 25600-element stretches per block (8, or fewer on a smaller chip)."""
    return vector_blocks(8).for_chip(chip) * 6 * 25600


def _overflowing_n(chip: ChipProfile) -> int:
    """Elements that give every block (8, or fewer on a smaller chip) one
    round more than its UB holds: never reset, the pool runs into the red zone."""
    rounds = chip.capacity["UB"] // (3 * NO_RESET_TILE * 2) + 1
    return vector_blocks(8).for_chip(chip) * rounds * NO_RESET_TILE


def _per_core(n: int, cores: int) -> int:
    """Elements per core, rounded up to whole 32 B blocks: DataCopy moves whole
    blocks, so a share that ends mid-block would lose its tail on the device."""
    return -(-n // (cores * FP16_PER_BLOCK)) * FP16_PER_BLOCK


def _round_elements(allocator: str, tile: int) -> int:
    """Elements of an average round: the free list alternates 2/3-size and full
    tiles, 5/6 of a tile per round."""
    return max(1, tile * 5 // 6 if allocator == "freelist" else tile)


def _tiles(block: Block, n: int, tile: int) -> list[tuple[int, int]]:
    per_core = _per_core(n, block.dim)
    begin, end = block.idx * per_core, min(n, (block.idx + 1) * per_core)
    return [(off, min(tile, end - off)) for off in range(begin, end, tile)]


def _compute(core, x, r, y, count: int) -> None:
    with core.site("compute"):
        vector.muls(y, x, SCALE, count)
        vector.add(y, y, r, count)


def _bump_kernel(block: Block, gx, gr, gy, n: int, tile: int, reset: bool, check: bool) -> None:
    core = block.aiv
    pool = UBBufPool(core, "ub_pool", check_capacity=check)
    for off, count in _tiles(block, n, tile):
        with core.site("copyin"):
            x = pool.allocate(tile, np.float16, "x_tile")
            r = pool.allocate(tile, np.float16, "residual_tile")
            y = pool.allocate(tile, np.float16, "y_tile")
            data_copy(x, gx[off:], count)
            data_copy(r, gr[off:], count)
        _compute(core, x, r, y, count)
        with core.site("copyout"):
            data_copy(gy[off:], y, count)
        if reset:
            pool.reset()
    with core.site("kernel_end"):
        pool.reset()


def _freelist_tiles(heap: FreeListAllocator, tile: int, step: int, pinned: list) -> tuple:
    """x, residual and y tiles, then a per-round statistics buffer that
    outlives its round: with tiles of alternating size this is the classic
    pattern that leaves holes. When an allocation fails, the pinned buffers are
    flushed (freed) and the round retried once."""
    for attempt in range(2):
        x = heap.allocate(tile, np.float16, "x_tile")
        r = heap.allocate(tile, np.float16, "residual_tile")
        y = heap.allocate(tile, np.float16, "y_tile")
        stats = heap.allocate(512 * (1 + step % 4), np.float32, "round_stats")
        if None not in (x, r, y, stats):
            pinned.append(stats)
            return x, r, y
        for t in (x, r, y, stats):
            if t is not None:
                heap.free(t)
        while pinned and attempt == 0:
            heap.free(pinned.pop())
    raise EmulationError(
        f"{heap.core.label}: free-list allocation of {tile * 2} B tiles failed even with an empty heap"
    )


def _freelist_kernel(block: Block, gx, gr, gy, n: int, tile: int) -> None:
    core = block.aiv
    heap = FreeListAllocator(core, "ub_heap")
    pinned: list = []
    per_core = _per_core(n, block.dim)
    off, end, step = block.idx * per_core, min(n, (block.idx + 1) * per_core), 0
    while off < end:
        # Rounds alternate between 2/3 and full tiles (a ragged tiling).
        size = tile if step % 2 else tile * 2 // 3 // 16 * 16  # whole 32 B blocks
        count = min(size, end - off)
        with core.site("copyin"):
            x, r, y = _freelist_tiles(heap, size, step, pinned)
            data_copy(x, gx[off:], count)
            data_copy(r, gr[off:], count)
        _compute(core, x, r, y, count)
        with core.site("compute"):
            vector.duplicate(pinned[-1], float(count), 8)  # the round's statistic: its length
        with core.site("copyout"):
            data_copy(gy[off:], y, count)
        heap.free(x)
        heap.free(r)
        heap.free(y)
        off += count
        step += 1
    with core.site("kernel_end"):
        for stats in pinned:
            heap.free(stats)


def _tpipe_kernel(block: Block, gx, gr, gy, n: int, tile: int, buffers: int, check: bool) -> None:
    core = block.aiv
    pipe = TPipe(core, check_capacity=check)
    qx = TQue(TPosition.VECIN, name="x_que")
    qr = TQue(TPosition.VECIN, name="residual_que")
    qy = TQue(TPosition.VECOUT, name="y_que")
    for que in (qx, qr, qy):
        pipe.init_buffer(que, buffers, tile * 2)
    for off, count in _tiles(block, n, tile):
        with core.site("copyin"):
            x, r = qx.alloc_tensor(np.float16), qr.alloc_tensor(np.float16)
            data_copy(x, gx[off:], count)
            data_copy(r, gr[off:], count)
            qx.enque(x)
            qr.enque(r)
        x, r, y = qx.deque(), qr.deque(), qy.alloc_tensor(np.float16)
        _compute(core, x, r, y, count)
        qy.enque(y)
        qx.free_tensor(x)
        qr.free_tensor(r)
        with core.site("copyout"):
            y = qy.deque()
            data_copy(gy[off:], y, count)
            qy.free_tensor(y)


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    """The values the kernel body can run with. A tile that is not whole
    32 B blocks is not refused: its copies drop their tails, which is the
    misalignment the analyzers are there to find."""
    allocator = params["allocator"]
    check_range(KERNEL, "n", params["n"], 1)
    if allocator == "freelist":
        why = " with allocator=freelist (its 2/3-size rounds need a whole 32 B block)"
        check_range(KERNEL, "tile", params["tile"], FREELIST_LEAST_TILE, why=why)
    else:
        check_range(KERNEL, "tile", params["tile"], 1)
    check_cores(params["cores"], chip)
    if allocator == "tpipe":
        why = f" ({chip.name}'s InitBuffer limit)"
        check_range(KERNEL, "buffers", params["buffers"], 1, chip.qbuf_max_len, why)
    check_seed(KERNEL, params)


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    n, tile, cores = params["n"], params["tile"], params["cores"]
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal(n).astype(np.float16)
    r = rng.standard_normal(n).astype(np.float16)
    gx, gr = device.gm.tensor("x", x), device.gm.tensor("residual", r)
    gy = device.gm.empty("y", (n,), np.float16)
    allocator = params["allocator"]
    name = f"{KERNEL}_{allocator}"
    tensors = {"gx": gx, "gr": gr, "gy": gy, "n": n, "tile": tile}
    if allocator == "bump":
        options = {"reset": params["reset"], "check": params["check_capacity"]}
        device.launch(name, _bump_kernel, cores, **tensors, **options)
    elif allocator == "freelist":
        device.launch(name, _freelist_kernel, cores, **tensors)
    else:
        options = {"buffers": params["buffers"], "check": params["check_capacity"]}
        device.launch(name, _tpipe_kernel, cores, **tensors, **options)
    reference = ChunkedReference(
        lambda part: x[part].astype(np.float64) * SCALE + r[part].astype(np.float64), 3 * 8
    )
    notes = [f"{cores} vector cores, {_per_core(n, cores)} elements each"]
    return KernelResult(outputs={"y": gy.numpy()}, references={"y": reference}, notes=notes)


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    return {"read": 2 * params["n"] * 2, "write": params["n"] * 2}


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Rounds of every core; host memory: x and residual on the host and in GM,
    y in GM (fp16), the float64 draw of one input, and a checked slice."""
    n, tile, cores = params["n"], params["tile"], params["cores"]
    allocator = params["allocator"]
    per_core = _per_core(n, cores)
    step = _round_elements(allocator, tile)
    rounds = sum(
        -(-max(0, min(n, (c + 1) * per_core) - c * per_core) // step) for c in range(cores)
    )
    events = rounds * EVENTS_PER_ROUND[allocator] + cores * EVENTS_PER_CORE
    return estimate(events, 5 * n * 2 + n * 8 + CHECK_CHUNK_BYTES, work=2 * n, values=3 * n)


def core_work(params: dict[str, Any], chip: ChipProfile, cores: int) -> list[CoreWork]:
    """What the busiest core does on ``cores`` blocks: its rounds, each copying
    an x and a residual tile in, two fp16 vector ops and y out; only TPipe
    queues overlap rounds (``buffers`` blocks), the pools take one round at a time."""
    n, allocator = params["n"], params["allocator"]
    elements = min(n, _per_core(n, cores))
    step = min(elements, _round_elements(allocator, params["tile"]))
    tile_bytes = step * 2
    return [
        CoreWork(
            units=-(-elements // max(1, step)),
            read_bytes=2 * tile_bytes,
            write_bytes=tile_bytes,
            copies_in=2,
            copies_out=1,
            vector_cycles=2 * -(-step // vector_lanes(chip, 2)),
            buffers=params["buffers"] if allocator == "tpipe" else 1,
            launch_hbm_bytes=3 * n * 2,
        )
    ]


SPEC = register(
    KernelSpec(
        name=KERNEL,
        summary="y = x*0.5 + residual over UB tiles on a bump pool, a free list or TPipe queues",
        params=(
            Param("n", int, 1 << 18, "elements (fp16)"),
            Param("tile", int, 8192, "elements per UB tile"),
            auto_cores_param(core_work),
            Param("allocator", str, "tpipe", "UB allocator model", ("bump", "freelist", "tpipe")),
            Param("buffers", int, 2, "TPipe buffers per queue (2 = double buffering)"),
            Param("reset", bool, True, "bump pool: Reset() after every round"),
            Param("check_capacity", bool, False, "bump pool / TPipe: check UB capacity"),
            Param("seed", int, 0, "random seed of the inputs"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        validate=validate,
        estimate=estimate_cost,
        presets={
            "pool_no_reset": (
                "the article's bump pool never reset between rounds: it runs past the end of UB",
                {
                    "allocator": "bump",
                    "reset": False,
                    "tile": NO_RESET_TILE,
                    "n": PerChip(_overflowing_n, "one round past UB per core"),
                    "cores": vector_blocks(8),
                },
            ),
            "freelist_fragmentation": (
                "first-fit free list, ragged tiles and per-round buffers that outlive their round: "
                "allocations fail although enough bytes are free",
                {
                    "allocator": "freelist",
                    "tile": 30720,
                    "n": PerChip(_six_tiles, "6 x 25600 per core"),
                    "cores": vector_blocks(8),
                },
            ),
        },
    )
)
