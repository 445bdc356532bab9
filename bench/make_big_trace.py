"""Write a large synthetic but realistic trace for the analysis benchmark.

Usage: ``python bench/make_big_trace.py N OUT.ubtrace [--cores 48] [--single-buffered]``

The trace repeats the shape of a tiled vector kernel on the default chip
(Ascend910B2), core after core as the emulator records blocks: every core sets
up a TPipe (three double-buffered queues x/w/y of 16 KiB: QUEUE_INIT plus six
ALLOCs at the bottom of UB), then per tile of 8 Ki fp16 elements

* allocates two scratch tiles from a bump pool above the queues (2 ALLOC),
* copies x and w from GM into the ping-pong blocks of their queues (2 COPY,
  16 KiB bursts; every 16th w tile is fetched in 512 B rows, i.e. small bursts,
  and the w tensor sits 32 B off a 512 B boundary so its copies are GM-unaligned;
  w has 64 tiles that every core re-reads, so w is read redundantly),
* multiplies and adds into the scratch tiles and casts into the y block (3 COMPUTE,
  each naming its first source),
* copies y out (1 COPY),
* frees the scratch tiles and resets the pool (2 FREE + 1 POOL_RESET),

i.e. 11 events per tile, until N events are written; the queues are freed when
the core's block ends, and kernel begin/end and host samples frame the launch.
``--single-buffered`` declares each queue as one block of both tiles
(``InitBuffer(que, 1, 32 KiB)``), so every copy goes through a block UB013 judges,
and starts each tile's copies in when the x block is released (after the
previous tile's Add), as one block makes them wait.
Times advance with the cost of each step so the modelled timeline looks like a
real run. Events go through the real :class:`Recorder` into a
:class:`TraceWriter`, so the file is exactly what ``ubscope run`` writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ubscope.probe.chip import load_chip
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import TraceWriter, new_metadata

TILE_ELEMENTS = 8192
TILE_BYTES = TILE_ELEMENTS * 2
EVENTS_PER_TILE = 11
GM_X, GM_W, GM_Y = 0x12C0_C000_0000, 0x12C1_C000_0020, 0x12C2_C000_0000
QUEUE_BYTES = 3 * 2 * TILE_BYTES  # three double-buffered queues at the bottom of UB
COPY_PS, VECTOR_PS = 1_000_000, 40_000


def _queues(rec: Recorder, core: int, t: int, single_buffered: bool) -> None:
    aiv, ub = int(CoreKind.AIV), int(Space.UB)
    num, length = (1, 2 * TILE_BYTES) if single_buffered else (2, TILE_BYTES)
    for index, (name, position) in enumerate(
        (("x_que", TPosition.VECIN), ("w_que", TPosition.VECIN), ("y_que", TPosition.VECOUT))
    ):
        start = index * 2 * TILE_BYTES
        rec.queue_init(aiv, core, ub, start, length, num, int(position), name, "init", t)
        for block in range(2):
            addr = start + block * TILE_BYTES
            rec.alloc(aiv, core, ub, addr, TILE_BYTES, TILE_BYTES, name, "init", t, arg=block)


def _tile(rec: Recorder, core: int, tile: int, t: int, fill_at: int | None) -> tuple[int, int]:
    """One tile's 11 events, its copies in from ``fill_at`` (None: from ``t``);
    returns the time after it and when x's block is released (its last read)."""
    fill = t if fill_at is None else fill_at
    aiv, ub, gm = int(CoreKind.AIV), int(Space.UB), int(Space.GM)
    ping = (tile % 2) * TILE_BYTES
    x_addr, w_addr, y_addr = ping, 2 * TILE_BYTES + ping, 4 * TILE_BYTES + ping
    tmp_a, tmp_b = QUEUE_BYTES, QUEUE_BYTES + TILE_BYTES
    offset = (core * 1_000_000 + tile) * TILE_BYTES
    rec.alloc(aiv, core, ub, tmp_a, TILE_BYTES, TILE_BYTES, "tmp_a", "compute", t)
    rec.alloc(aiv, core, ub, tmp_b, TILE_BYTES, TILE_BYTES, "tmp_b", "compute", t)
    rec.copy(
        aiv,
        core,
        gm,
        GM_X + offset,
        ub,
        x_addr,
        TILE_BYTES,
        TILE_BYTES,
        TILE_BYTES,
        1,
        "x",
        "copyin",
        fill,
        COPY_PS,
        name="x_que",
    )
    w_rows = 32 if tile % 16 == 0 else 1
    rec.copy(
        aiv,
        core,
        gm,
        GM_W + (tile % 64) * TILE_BYTES,
        ub,
        w_addr,
        TILE_BYTES,
        TILE_BYTES,
        TILE_BYTES // w_rows,
        w_rows,
        "w",
        "copyin",
        fill + COPY_PS,
        COPY_PS,
        int(Flag.GM_UNALIGNED),
        name="w_que",
    )
    t = max(t, fill + 2 * COPY_PS)
    x_released = t + 2 * VECTOR_PS  # after the Add, x's last reader
    # each op names its first two sources, as the kernels' vector ops record them
    for op, dst, src, second in (
        ("Mul", tmp_a, x_addr, w_addr),
        ("Add", tmp_b, tmp_a, x_addr),
        ("Cast", y_addr, tmp_b, None),
    ):
        rec.compute(
            aiv,
            core,
            ub,
            dst,
            3 * TILE_BYTES,
            op,
            TILE_ELEMENTS,
            "compute",
            t,
            VECTOR_PS,
            out_bytes=TILE_BYTES,
            src_space=ub,
            src_addr=src,
            second_src_addr=second,
        )
        t += VECTOR_PS
    rec.copy(
        aiv,
        core,
        ub,
        y_addr,
        gm,
        GM_Y + offset,
        TILE_BYTES,
        TILE_BYTES,
        TILE_BYTES,
        1,
        "y",
        "copyout",
        t,
        COPY_PS,
        name="y_que",
    )
    t += COPY_PS
    rec.free(aiv, core, ub, tmp_a, TILE_BYTES, TILE_BYTES, "tmp_a", "compute", t)
    rec.free(aiv, core, ub, tmp_b, TILE_BYTES, TILE_BYTES, "tmp_b", "compute", t)
    rec.pool_reset(aiv, core, ub, QUEUE_BYTES, "ub_pool", t, 2 * TILE_BYTES, 2 * TILE_BYTES)
    return t, x_released


def write_big_trace(
    events: int, output: Path, cores: int = 48, single_buffered: bool = False
) -> int:
    """Write about ``events`` events to ``output``; returns the number written."""
    chip = load_chip()
    tiles_total = max(cores, (events - 4 - cores * 9) // EVENTS_PER_TILE)
    tiles_per_core = -(-tiles_total // cores)
    params = {"events": events, "cores": cores, "tile": TILE_ELEMENTS}
    minimal = {
        "read": 2 * tiles_total * TILE_BYTES - (tiles_total - min(64, tiles_total)) * TILE_BYTES,
        "write": tiles_total * TILE_BYTES,
    }
    writer = TraceWriter(output, new_metadata(chip.to_dict(), "bench_tiled", params, minimal))
    rec = Recorder(sink=writer.write)
    try:
        rec.kernel_begin("bench_tiled", cores, 0, "vector")
        rec.host_sample(0, 0)
        end = 0
        done = 0
        for core in range(cores):
            t = 0
            _queues(rec, core, t, single_buffered)
            fill_at = None
            for tile in range(min(tiles_per_core, tiles_total - done)):
                t, x_released = _tile(rec, core, tile, t, fill_at)
                # one block: the next x copy starts when the block is released,
                # while this tile's cast and copy-out run
                fill_at = x_released if single_buffered else None
            done += tiles_per_core
            aiv, ub = int(CoreKind.AIV), int(Space.UB)
            for index in range(6):
                name = ("x_que", "w_que", "y_que")[index // 2]
                rec.free(
                    aiv,
                    core,
                    ub,
                    index * TILE_BYTES,
                    TILE_BYTES,
                    TILE_BYTES,
                    name,
                    "pipe_destroy",
                    t,
                )
            rec.pool_reset(aiv, core, ub, 0, "pipe", t, QUEUE_BYTES, QUEUE_BYTES)
            end = max(end, t)
        rec.host_sample(0, end)
        rec.kernel_end("bench_tiled", end, end)
        rec.flush()
    finally:
        writer.close()
    return rec.event_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=int, help="approximate number of events")
    parser.add_argument("output", type=Path, help="trace file to write")
    parser.add_argument("--cores", type=int, default=48, help="vector cores (default 48)")
    parser.add_argument(
        "--single-buffered",
        action="store_true",
        help="one block of two tiles per queue (UB013 judges every copy)",
    )
    args = parser.parse_args(argv)
    written = write_big_trace(args.events, args.output, args.cores, args.single_buffered)
    print(f"wrote {written} events to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
