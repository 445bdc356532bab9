"""The analysis model (analyzers/model, composed by TraceContext) on small traces
whose expected figures are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.model.arrays import lookup_codes, pair_fifo, selection, unique_codes
from ubscope.analyzers.model.fragmentation import interval_bounds, replay_intervals
from ubscope.analyzers.model.traffic import distinct_bytes, merge_intervals, segmented_cummax
from ubscope.probe.chip import load_chip
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import Trace, new_metadata

KIB = 1024
AIV, UB, GM = int(CoreKind.AIV), int(Space.UB), int(Space.GM)


def test_context_views_follow_the_contract(kit):
    s = kit.Synthetic()
    a = s.alloc(0, 100, "a", aligned=128, t=10)
    s.alloc(128, 64, "b", t=20)
    s.free(0, 100, "a", t=30)
    s.free(128, 64, "b", t=40)
    ctx = kit.context(s.trace(end_ps=50))
    lifetimes = ctx.lifetimes
    assert list(lifetimes.columns) == [
        "core_kind",
        "core",
        "space",
        "addr",
        "end",
        "size",
        "aligned_size",
        "name",
        "tag",
        "alloc_seq",
        "free_seq",
        "t_alloc_ps",
        "t_free_ps",
    ]
    first = lifetimes.iloc[0]
    assert (first["core_kind"], first["space"], first["end"], first["alloc_seq"]) == (
        "aiv",
        "UB",
        128,
        a,
    )
    assert (first["free_seq"], first["t_free_ps"]) == (a + 2, 30)
    occupancy = ctx.occupancy("aiv", 0, "UB")
    assert occupancy["live_bytes"].tolist() == [128, 192, 64, 0]
    assert occupancy["t_ps"].tolist() == [10, 20, 30, 40]
    peak = ctx.peaks.iloc[0]
    assert (peak["peak_live_bytes"], peak["peak_seq"], peak["high_water"]) == (192, a + 1, 192)
    assert list(ctx.launches.columns) == [
        "name",
        "mode",
        "block_dim",
        "start_ps",
        "end_ps",
        "first_seq",
        "last_seq",
    ]
    assert ctx.launches.iloc[0]["end_ps"] == 50
    assert ctx.core_spaces().to_dict("records") == [
        {"core_kind": "aiv", "core": 0, "space": "UB", "capacity": 196608}
    ]


def test_partial_overlapping_reads_count_distinct_bytes_once(kit):
    s = kit.Synthetic()
    s.alloc(0, 8 * KIB, "x")
    s.load(0x100000, 0, 4 * KIB, tensor="t")
    s.load(0x100000 + 2 * KIB, 0, 4 * KIB, tensor="t")  # [2K, 6K) overlaps [0, 4K)
    row = TraceContext(s.trace()).traffic.iloc[0]
    assert (row["bytes"], row["distinct_bytes"]) == (8 * KIB, 6 * KIB)


def test_gm_transfers_share_the_copies_columns_when_every_copy_touches_gm(kit):
    # every copy of most kernels has a GM side: the copies' columns serve as they
    # are (read-only) instead of five copies of 22 MB each at 10 M events
    s = kit.Synthetic()
    s.alloc(0, 8 * KIB, "x")
    first = s.load(0x1000, 0, 1 * KIB, tensor="a")
    second = s.load(0x2000, 1 * KIB, 2 * KIB, tensor="b")
    ctx = TraceContext(s.trace())
    moves, copies = ctx.gm_accesses, ctx.table.copies()
    assert moves["rows"].tolist() == [first, second]  # a whole trace's rows are its seq
    assert moves["gm_addr"].tolist() == [0x1000, 0x2000]
    assert moves["bytes"].tolist() == [1 * KIB, 2 * KIB]
    assert moves["read"].tolist() == [True, True]
    assert np.shares_memory(moves["bytes"], copies.bytes)
    assert not moves["bytes"].flags.writeable


def test_gm_transfers_leave_out_copies_between_on_chip_buffers(kit):
    s = kit.Synthetic()
    s.alloc(0, 8 * KIB, "x")
    load = s.load(0x1000, 0, 1 * KIB, tensor="a")
    s.rec.copy(AIV, 0, UB, 0, UB, 4 * KIB, 512, 512, 512, 1, "", "move", 0, 10)
    store = s.seq()
    s.rec.copy(AIV, 0, UB, 4 * KIB, GM, 0x3000, 256, 256, 256, 1, "out", "store", 0, 10)
    moves = TraceContext(s.trace()).gm_accesses
    assert moves["rows"].tolist() == [load, store]
    assert moves["read"].tolist() == [True, False]
    assert moves["gm_addr"].tolist() == [0x1000, 0x3000]
    assert moves["bytes"].tolist() == [1 * KIB, 256]


def test_an_atomic_store_reads_the_bytes_it_adds_to(kit):
    # Two cores each add 256 B into "out" at 0x3000 with SetAtomicAdd (ATOMIC):
    # GM reads those bytes to add to them and writes the sums. Per core: a read
    # of 256 B, then a write of 256 B. Over the two: out read 512 B (256 B
    # distinct), written 512 B; "a" read 1 KiB by its load alone.
    s = kit.Synthetic()
    load = s.load(0x1000, 0, 1 * KIB, tensor="a")
    stores = []
    for core in (0, 1):
        stores.append(s.seq())
        s.rec.copy(
            AIV, core, UB, 0, GM, 0x3000, 256, 256, 256, 1, "out", "add", 0, 10, int(Flag.ATOMIC)
        )
    ctx = TraceContext(s.trace())
    moves = ctx.gm_accesses
    assert moves["rows"].tolist() == [load, stores[0], stores[0], stores[1], stores[1]]
    assert moves["read"].tolist() == [True, True, False, True, False]
    assert moves["gm_addr"].tolist() == [0x1000] + [0x3000] * 4
    assert moves["bytes"].tolist() == [1 * KIB] + [256] * 4
    assert ctx.traffic_model.gm_transfers["rows"].tolist() == [load, *stores]  # one per copy
    traffic = ctx.traffic.set_index(["tensor", "direction"])
    assert traffic.loc[("out", "read"), ["bytes", "transfers", "distinct_bytes"]].tolist() == [
        512,
        2,
        256,
    ]
    assert traffic.loc[("out", "write"), "bytes"] == 512
    assert traffic.loc[("a", "read"), "bytes"] == 1 * KIB


def test_a_selection_of_every_element_is_the_array_itself_read_only():
    values = np.array([5, 6, 7])
    whole = selection(np.array([True, True, True]))(values)
    assert whole.tolist() == [5, 6, 7] and np.shares_memory(whole, values)
    assert not whole.flags.writeable  # a caller cannot change the shared column
    some = selection(np.array([True, False, True]))(values)
    assert some.tolist() == [5, 7] and not np.shares_memory(some, values)


def test_unique_codes_are_numpys_distinct_values_and_inverse():
    # numpy's sorting np.unique is the independent reference; the hashing one
    # must give the same distinct values (ascending) and each value's index
    values = np.array([40, -3, 40, 7, 2**40, -3, 7, 7], dtype=np.int64)
    distinct, codes = unique_codes(values)
    assert distinct.tolist() == [-3, 7, 40, 2**40]
    assert codes.tolist() == [2, 0, 2, 1, 3, 0, 1, 1]
    expected_distinct, expected_codes = np.unique(values, return_inverse=True)
    assert np.array_equal(distinct, expected_distinct)
    assert np.array_equal(codes, expected_codes)
    empty_distinct, empty_codes = unique_codes(np.zeros(0, dtype=np.int64))
    assert empty_distinct.size == 0 and empty_codes.size == 0


def test_pair_fifo_ends_the_oldest_open_of_each_key():
    # key 7 opens at rows 0 and 2, key 9 at row 1; closes: key 7 at rows 3 and 5,
    # key 9 at row 4, and a close of key 8 (never opened) at row 6
    closed = pair_fifo(
        np.array([7, 9, 7]), np.array([7, 9, 7, 8]), np.array([0, 1, 2]), np.array([3, 4, 5, 6])
    )
    assert closed.tolist() == [3, 4, 5]
    # the same with the close of key 8 first: it ends nothing and shifts nothing
    closed = pair_fifo(
        np.array([7, 9, 7]), np.array([8, 7, 9, 7]), np.array([0, 1, 2]), np.array([3, 4, 5, 6])
    )
    assert closed.tolist() == [4, 5, 6]
    # a close before its open does not end it
    assert pair_fifo(np.array([7]), np.array([7]), np.array([5]), np.array([1])).tolist() == [-1]


def test_kv_pages_pair_each_page_with_its_release(kit):
    s = kit.Synthetic()
    s.rec.kv_page(True, "kv", 5, 4096, 1, 3, 10)
    s.rec.kv_page(True, "kv", 6, 4096, 2, 16, 20)
    s.rec.kv_page(False, "kv", 5, 4096, 1, 8, 30)
    ctx = kit.context(s.trace())
    pages = ctx.kv_pages
    assert pages.to_dict("list") == {
        "cache": ["kv", "kv"],
        "page": [5, 6],
        "sequence": [1, 2],
        "tokens": [8, 16],  # the most each page held
        "page_bytes": [4096, 4096],
        "t_alloc_ps": [10, 20],
        "t_free_ps": [30, -1],
    }
    # 16 slots per page (the fullest page of that size): page 5 uses 8 of them
    usage = ctx.kv_usage.iloc[0]
    assert (usage["pages"], usage["slots_per_page"], usage["reserved_bytes"]) == (2, 16, 8192)
    assert (usage["used_bytes"], usage["partly_filled"]) == (2048 + 4096, 1)


def test_a_launch_cut_short_ends_at_its_last_event():
    rec = Recorder()
    rec.kernel_begin("k", 4, 0, "vector")
    rec.alloc(AIV, 0, UB, 0, 256, 256, "x", "site", 100)
    rec.copy(AIV, 0, GM, 0x1000, UB, 0, 256, 256, 256, 1, "t", "load", 200, 50)
    meta = new_metadata(load_chip().to_dict(), "k", {})
    ctx = TraceContext(Trace(path=Path("k.ubtrace"), meta=meta, events=rec.table().to_pandas()))
    launch = ctx.launches.iloc[0]
    assert (launch["block_dim"], launch["end_ps"], launch["last_seq"]) == (4, 250, 2)
    assert ctx.modelled_end_ps == 250 and ctx.modelled_time_ps == 250
    assert ctx.kernel_of(2) == "k"


def test_lookup_codes_finds_each_key_or_minus_one():
    distinct = np.array([-5, 3, 1 << 45, (7 << 40) | 64], dtype=np.int64)
    distinct.sort()
    keys = np.array([3, 4, 1 << 45, -5, (7 << 40) | 64, (7 << 40) | 63, 0], dtype=np.int64)
    # the oracle: a dict from each distinct key to its position in the sorted array
    where = {int(k): i for i, k in enumerate(distinct)}
    expected = [where.get(int(k), -1) for k in keys]
    assert lookup_codes(keys, distinct).tolist() == expected
    assert lookup_codes(keys, distinct[:0]).tolist() == [-1] * keys.size


def test_block_usage_matches_a_scan_of_every_block(kit):
    """First and last touch per block on three cores reusing ping-pong blocks, with
    loads at block starts, inside blocks and into freed memory, against a direct scan:
    for each block, the loads of its core that land inside it while it is live."""
    rng = np.random.default_rng(17)
    s = kit.Synthetic()
    blocks: list[dict] = []  # core, addr, end, alloc seq, free seq (None: never freed)
    loads: list[tuple[int, int, int]] = []  # core, ub addr, seq
    t = 0
    for _ in range(40):
        for core in range(3):
            t += 10
            addr = int(rng.choice([0, 4 * KIB, 8 * KIB]))
            size = int(rng.choice([1, 2, 4])) * KIB
            if any(b["core"] == core and b["addr"] == addr and b["free"] is None for b in blocks):
                block = next(
                    b
                    for b in blocks
                    if b["core"] == core and b["addr"] == addr and b["free"] is None
                )
                block["free"] = s.free(addr, block["end"] - addr, core=core, t=t)
                continue
            seq = s.alloc(addr, size, f"b{len(blocks)}", core=core, t=t)
            blocks.append(
                {"core": core, "addr": addr, "end": addr + size, "alloc": seq, "free": None}
            )
            for _ in range(int(rng.integers(0, 4))):
                at = addr + int(rng.choice([0, 0, 512, size - 32, size + 64]))
                loads.append((core, at, s.load(0x1000, at, 32, core=core, t=t)))
    usage = kit.context(s.trace(end_ps=t + 10)).block_usage
    first, last = [], []
    for b in blocks:
        hits = [
            seq
            for core, at, seq in loads
            if core == b["core"]
            and b["addr"] <= at < b["end"]
            and b["alloc"] < seq
            and (b["free"] is None or seq < b["free"])
        ]
        first.append(min(hits, default=-1))
        last.append(max(hits, default=-1))
    # one launch event precedes the first alloc, so a row is its seq
    assert usage.first_row.tolist() == first
    assert usage.last_row.tolist() == last
    assert sum(f >= 0 for f in first) > 20  # the scan found touches to compare


def test_distinct_bytes_is_the_union_of_each_keys_intervals():
    """Interleaved ascending runs of single-burst transfers (as cores stream a
    tensor) under four keys, against a byte map per key."""
    rng = np.random.default_rng(5)
    count = 3000
    key = rng.integers(0, 4, count)
    start = (0x12C0_0000_0000 + rng.integers(0, 4096, count) * 32).astype(np.int64)
    start[::7] = np.sort(start[::7])  # some long ascending runs
    length = rng.integers(1, 2048, count).astype(np.int64)
    ones = np.ones(count, dtype=np.int64)
    covered = distinct_bytes(key, start, length, length, ones, 4)
    # the oracle: mark every byte each transfer covers, per key, and count them
    expected = []
    for k in range(4):
        touched = np.zeros(4096 * 32 + 2048, dtype=bool)
        for s, n in zip(start[key == k] - 0x12C0_0000_0000, length[key == k], strict=True):
            touched[s : s + n] = True
        expected.append(int(touched.sum()))
    assert covered.tolist() == expected


def test_replay_intervals_follows_free_bytes_and_overlaps_by_hand():
    """The one coverage replay of both paths, on a 100-byte space cut at 10, 30
    and 60. Events: take [10,30), take [30,60), release [10,30), take [0,60)
    (overlapping [30,60)). Free after each, by hand: 100-20 = 80 (largest
    [30,100) = 70); 100-50 = 50 ([60,100) = 40); [0,30) + [60,100) = 70 (40);
    [60,100) = 40 (40), with two blocks on [30,60)."""
    bounds = np.array([0, 10, 30, 60, 100])
    addr, end = np.array([10, 30, 10, 0]), np.array([30, 60, 30, 60])
    sign = np.array([1, 1, -1, 1], dtype=np.int32)
    nothing = np.zeros(4, dtype=np.int32)
    free, largest, most, left = replay_intervals(bounds, addr, end, sign, nothing, (0, 100), 100)
    assert free.tolist() == [80, 50, 70, 40]
    assert largest.tolist() == [70, 40, 40, 40]
    assert most.tolist() == [1, 1, 1, 2]
    assert left.tolist() == [1, 1, 2, 0]  # per interval after the last event

    # A block carried from an earlier batch on [30,60), then the first event only:
    # free [0,10) + [60,100) = 50, largest 40.
    carried = np.array([0, 0, 1, 0], dtype=np.int32)
    free, largest, most, left = replay_intervals(
        bounds, addr[:1], end[:1], sign[:1], carried, (0, 100), 100
    )
    assert (free.tolist(), largest.tolist(), most.tolist()) == ([50], [40], [1])
    assert left.tolist() == [0, 1, 1, 0]

    # A pool from 10: [0,10) is outside it, neither free nor joining a run.
    free, largest, _, _ = replay_intervals(
        bounds, addr[:1], end[:1], sign[:1], nothing, (10, 100), 100
    )
    assert (free.tolist(), largest.tolist()) == ([70], [70])


def test_merge_intervals_gives_each_scopes_disjoint_cover():
    """Key 0: [0,10) and [5,15) overlap, [15,20) touches them: one range [0,20);
    [30,40) stands apart. Key 1 (given out of order): [0,5) and [100,110), plus
    an empty transfer at 50 that covers nothing. The GM traffic merges these once
    per core and launch, then merges the merged ranges again per launch and run."""
    key = np.array([0, 1, 0, 0, 1, 0, 1])
    start = np.array([0, 100, 5, 15, 0, 30, 50])
    length = np.array([10, 10, 10, 5, 5, 10, 0])
    merged, begin, end = merge_intervals(key, start, start + length)
    covered = [(k, b, e) for k, b, e in zip(merged, begin, end, strict=True) if e > b]
    assert covered == [(0, 0, 20), (0, 30, 40), (1, 0, 5), (1, 100, 110)]
    # the same bytes again, merged from the ranges: nothing changes
    again = merge_intervals(merged, begin, end)
    assert [a.tolist() for a in again] == [merged.tolist(), begin.tolist(), end.tolist()]


def test_merge_intervals_of_far_apart_addresses_still_merges_overlaps():
    """GM addresses up to 2**62 (what a trace may hold) in three scopes. Scope 2
    has [0,8), [far,far+16) and [far+8,far+24): the last two overlap, so its
    cover is [0,8) and [far,far+24). Its ends lie ~2**62 above its lowest
    start; lifting the third scope by twice that overflowed int64, and the
    overlap came out as two ranges (their bytes counted twice)."""
    far = (1 << 62) - 64
    scope = np.array([0, 1, 2, 2, 2])
    start = np.array([0, far, 0, far, far + 8])
    end = np.array([8, far + 8, 8, far + 16, far + 24])
    merged, begin, stop = merge_intervals(scope, start, end)
    assert list(zip(merged.tolist(), begin.tolist(), stop.tolist(), strict=True)) == [
        (0, 0, 8),
        (1, far, far + 8),
        (2, 0, 8),
        (2, far, far + 24),
    ]
    # the running maximum itself, by segment: [5, -3 | 2**62, 0 | -2**62, 7]
    values = np.array([5, -3, 1 << 62, 0, -(1 << 62), 7])
    first = np.array([True, False, True, False, True, False])
    assert segmented_cummax(values, first).tolist() == [5, 5, 1 << 62, 1 << 62, -(1 << 62), 7]


def test_interval_bounds_are_the_distinct_edges_ascending():
    # a 64-byte space, blocks [16, 32), [0, 16) and [32, 64): edges 0, 16, 32, 64
    # (10 values below 64: counted)
    assert interval_bounds([0, 64, 0, 64], [16, 0, 32], [32, 16, 64]).tolist() == [0, 16, 32, 64]
    # a 256-byte space, blocks [32, 64), [0, 32) and [32, 96): edges 0, 32, 64, 96,
    # 256 (10 values spread over 256 bytes: hashed)
    assert interval_bounds([0, 256, 0, 256], [32, 0, 32], [64, 32, 96]).tolist() == [
        0,
        32,
        64,
        96,
        256,
    ]
    # far-apart or negative values (a hostile trace) come out the same way
    assert interval_bounds([0, 1 << 40], [1 << 40, 7]).tolist() == [0, 7, 1 << 40]
    assert interval_bounds([-5, 3], [3]).tolist() == [-5, 3]
    assert interval_bounds([], []).tolist() == []
