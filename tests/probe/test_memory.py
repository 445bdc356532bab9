"""The byte-level memory model: allocators, red zone, DataCopy semantics."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import (
    CopyExtParams,
    CopyParams,
    PadParams,
    data_copy,
    data_copy_pad,
)
from ubscope.probe.memory.pools import FreeListAllocator, UBBufPool
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue


def events(recorder):
    return recorder.table().to_pandas()


def one_block(device, body, mode="vector"):
    """Run ``body(block)`` as a one-block kernel and return what it returned."""
    box = {}
    device.launch("t", lambda block: box.setdefault("out", body(block)), 1, mode=mode)
    return box.get("out")


def test_bump_pool_aligns_to_32_bytes_and_reset_rewinds(device, recorder):
    def body(block):
        pool = UBBufPool(block.aiv)
        a = pool.allocate(3, np.float16)  # 6 B -> 32 B
        b = pool.allocate(17, np.float32)  # 68 B -> 96 B
        c = pool.allocate(1, np.int8)
        pool.reset()
        d = pool.allocate(1, np.int8)
        return a.addr, b.addr, c.addr, d.addr

    assert one_block(device, body) == (0, 32, 128, 0)
    ev = events(recorder)
    allocs = ev[ev.kind == "alloc"]
    assert allocs.aligned_size.tolist() == [32, 96, 32, 32]
    assert allocs["size"].tolist() == [6, 68, 1, 1]
    reset = ev[ev.kind == "pool_reset"].iloc[0]
    assert (reset.arg, reset.arg2) == (160, 160)
    assert (ev.kind == "free").sum() == 3  # the reset releases the round's three buffers


def test_bump_pool_without_check_overflows_into_recorded_red_zone(device, recorder, chip):
    ub = chip.capacity["UB"]

    def body(block):
        pool = UBBufPool(block.aiv)
        big = pool.allocate(ub // 2 - 16, np.float16)  # fills UB but its last 32 B
        tail = pool.allocate(64, np.float16)  # 128 B from ub-32: 96 B past capacity
        vector.duplicate(tail, 1.0, 64)
        return big, tail

    big, tail = one_block(device, body)
    assert tail.addr == ub - 32
    assert np.all(tail.array == 1.0)  # the bytes are real: the red zone holds them
    ev = events(recorder)
    red = ev[ev.kind == "redzone_write"]
    assert len(red) == 1
    assert (red.iloc[0].addr, red.iloc[0].aligned_size) == (ub - 32, 96)
    over = ev[(ev.kind == "alloc") & ((ev["flags"] & int(Flag.REDZONE)) != 0)]
    assert over.addr.tolist() == [ub - 32]


def test_bump_pool_with_check_refuses_and_records(device, recorder, chip):
    def body(block):
        pool = UBBufPool(block.aiv, check_capacity=True)
        pool.allocate(chip.capacity["UB"] // 2, np.float16)
        pool.allocate(16, np.float16)

    with pytest.raises(EmulationError, match="exceeds the pool"):
        one_block(device, body)
    ev = events(recorder)
    fail = ev[ev.kind == "alloc_fail"].iloc[0]
    assert fail["flags"] & int(Flag.CAPACITY_CHECKED)


def test_free_list_fails_although_enough_total_bytes_are_free(device, recorder, chip):
    def body(block):
        heap = FreeListAllocator(block.aiv, size=4096)
        a = heap.allocate(512, np.float16)  # 1024 B at 0
        b = heap.allocate(512, np.float16)  # 1024 B at 1024
        c = heap.allocate(512, np.float16)  # 1024 B at 2048
        heap.allocate(512, np.float16)  # 1024 B at 3072
        heap.free(a)
        heap.free(c)  # 2048 B free in two 1024 B holes
        big = heap.allocate(1024, np.float16)  # 2048 B: cannot fit
        heap.free(b)  # neighbours coalesce: 0..3072 is one hole
        again = heap.allocate(1024, np.float16)
        return big, again, heap.free_blocks

    big, again, free_blocks = one_block(device, body)
    assert big is None
    assert again.addr == 0
    assert free_blocks == [(2048, 1024)]
    fail = events(recorder).query("kind == 'alloc_fail'").iloc[0]
    assert (fail.aligned_size, fail.arg, fail.arg2) == (2048, 2048, 1024)


def test_free_of_unknown_tensor_is_an_error(device):
    def body(block):
        heap = FreeListAllocator(block.aiv)
        other = UBBufPool(block.aiv).allocate(8, np.float16)
        heap.free(other)

    with pytest.raises(EmulationError, match="did not hand out"):
        one_block(device, body)


def _gm_to_ub(device, count, dtype=np.float16):
    src = np.arange(count, dtype=dtype)
    gm = device.gm.tensor("src", src)

    def body(block):
        pool = UBBufPool(block.aiv)
        ub = pool.allocate(count + 64, dtype)
        vector.duplicate(ub, -1, count + 64)
        data_copy(ub, gm, count)
        return ub.array.copy()

    return src, one_block(device, body)


def test_data_copy_drops_a_tail_that_is_not_32_byte_aligned(device, recorder):
    src, ub = _gm_to_ub(device, 40)  # 80 B: 64 B arrive, 16 B dropped
    assert np.array_equal(ub[:32], src[:32])
    assert np.all(ub[32:40] == -1)
    copy = events(recorder).query("kind == 'copy'").iloc[0]
    assert (copy["size"], copy.aligned_size) == (80, 64)
    assert copy["flags"] & int(Flag.TRUNCATED)


def test_data_copy_of_whole_blocks_is_exact(device, recorder):
    src, ub = _gm_to_ub(device, 48)
    assert np.array_equal(ub[:48], src)
    copy = events(recorder).query("kind == 'copy'").iloc[0]
    assert not copy["flags"] & int(Flag.TRUNCATED)
    assert (copy.src_space, copy.space, copy.tensor) == ("GM", "UB", "src")


def test_data_copy_pad_moves_byte_exact_rows_on_32_byte_pitch(device, recorder):
    rows, cols = 3, 10  # 20 B rows
    src = np.arange(rows * cols, dtype=np.float16).reshape(rows, cols)
    gm = device.gm.tensor("m", src)
    out_gm = device.gm.empty("out", (rows, cols), np.float16)

    def body(block):
        ub = UBBufPool(block.aiv).allocate(rows * 16, np.float16)
        data_copy_pad(ub, gm, CopyExtParams(rows, cols * 2), PadParams(value=0.0))
        data_copy_pad(out_gm, ub, CopyExtParams(rows, cols * 2))
        return ub.array.reshape(rows, 16).copy()

    ub = one_block(device, body)
    assert np.array_equal(ub[:, :cols], src)
    assert np.all(ub[:, cols:] == 0)  # padded to the 32 B boundary
    assert np.array_equal(out_gm.numpy(), src)
    copies = events(recorder).query("kind == 'copy'")
    assert (copies["flags"] & int(Flag.PADDED)).all() and not (
        copies["flags"] & int(Flag.TRUNCATED)
    ).any()
    assert copies.iloc[0].burst_len == 20 and copies.iloc[0].burst_count == 3


def test_strided_data_copy_gathers_blocks(device):
    src = np.arange(64, dtype=np.float16)  # 4 blocks of 32 B
    gm = device.gm.tensor("s", src)

    def body(block):
        ub = UBBufPool(block.aiv).allocate(32, np.float16)
        data_copy(ub, gm, params=CopyParams(block_count=2, block_len=1, src_stride=1))
        return ub.array.copy()

    ub = one_block(device, body)
    assert np.array_equal(ub, np.concatenate([src[0:16], src[32:48]]))


def test_misaligned_local_address_is_flagged(device, recorder):
    gm = device.gm.tensor("g", np.zeros(64, np.float16))

    def body(block):
        ub = UBBufPool(block.aiv).allocate(128, np.float16)
        data_copy(ub[3:], gm, 32)  # 6 B into the buffer

    one_block(device, body)
    copy = events(recorder).query("kind == 'copy'").iloc[0]
    assert copy["flags"] & int(Flag.MISALIGNED) and copy.addr == 6


def test_gm_misalignment_is_flagged_and_slower(chip):
    from ubscope.probe.device import Device
    from ubscope.probe.recorder import Recorder

    durations = []
    for misalign in (0, 32):
        rec = Recorder()
        dev = Device(chip, rec, gm_misalign=misalign)
        gm = dev.gm.tensor("g", np.zeros(8192, np.float16))
        one_block(
            dev,
            lambda block, gm=gm: data_copy(
                UBBufPool(block.aiv).allocate(8192, np.float16), gm, 8192
            ),
        )
        copy = rec.table().to_pandas().query("kind == 'copy'").iloc[0]
        durations.append(copy.dur_ps)
        assert bool(copy["flags"] & int(Flag.GM_UNALIGNED)) == bool(misalign)
    assert durations[1] > durations[0]


def test_tpipe_rounds_buffers_and_records_queue_limits(device, recorder, chip):
    def body(block):
        pipe = TPipe(block.aiv)
        queues = [TQue(TPosition.VECIN, name=f"q{i}") for i in range(5)]
        for que in queues:
            pipe.init_buffer(que, 2, 1000)  # 1000 -> 1024 B per buffer
        buf = TBuf(name="tmp")
        pipe.init_buffer(buf, 1, 64)
        return [list(q.blocks) for q in queues], list(buf.blocks)

    blocks, tmp = one_block(device, body)
    assert blocks[0] == [(0, 1024), (1024, 1024)]
    assert tmp == [(10240, 64)]
    ev = events(recorder)
    inits = ev[ev.kind == "queue_init"]
    limited = inits[(inits["flags"] & int(Flag.QUEUE_LIMIT)) != 0]
    # 5 queues x 2 buffers on VECIN: the 5th pushes the position past 8
    assert limited.name.astype(str).tolist() == ["q4"]
    assert chip.que_max_event == 8
    assert (ev.kind == "free").sum() == 11  # destroyed with the kernel


def test_tbufs_are_flagged_and_take_no_queue_event_id(device, recorder):
    def body(block):
        pipe = TPipe(block.aiv)
        for i in range(9):  # more TBufs on VECCALC than the 8 queue event IDs
            pipe.init_buffer(TBuf(name=f"tmp{i}"), 1, 64)
        pipe.init_buffer(TQue(TPosition.VECCALC, name="que"), 1, 64)

    one_block(device, body)
    inits = events(recorder).query("kind == 'queue_init'")
    tbuf = (inits["flags"] & int(Flag.TBUF)) != 0
    assert tbuf.tolist() == [True] * 9 + [False]
    assert not (inits["flags"] & int(Flag.QUEUE_LIMIT)).any()


def test_tpipe_capacity_check_names_the_limit(device):
    def body(block):
        pipe = TPipe(block.aiv, check_capacity=True)
        pipe.init_buffer(TQue(TPosition.VECIN, name="huge"), 2, 128 * 1024)

    with pytest.raises(ParameterError, match="196608 B of UB"):
        one_block(device, body)


def test_queue_alloc_without_free_is_reported(device):
    def body(block):
        pipe = TPipe(block.aiv)
        que = TQue(TPosition.VECIN, name="q")
        pipe.init_buffer(que, 1, 256)
        que.alloc_tensor(np.float16)
        que.alloc_tensor(np.float16)

    with pytest.raises(EmulationError, match="FreeTensor missing"):
        one_block(device, body)


def test_partial_overlap_of_vector_operands_is_flagged(device, recorder):
    def body(block):
        t = UBBufPool(block.aiv).allocate(256, np.float16)
        vector.duplicate(t, 1.0, 256)
        vector.add(t[16:], t, t, 128)  # dst starts 32 B into the source

    one_block(device, body)
    add = events(recorder).query("kind == 'compute' and name == 'Add'").iloc[0]
    assert add["flags"] & int(Flag.PARTIAL_OVERLAP)


def test_double_buffering_overlaps_copy_and_compute(chip):
    from ubscope.kernels.catalog import get_kernel
    from ubscope.kernels.registry import run_kernel

    spec = get_kernel("pool_demo")
    times = {}
    for buffers in (1, 2):
        params = spec.resolve([f"buffers={buffers}", "cores=1", "n=65536", "tile=4096"])
        times[buffers] = run_kernel(spec, params, chip).duration_ps
    assert times[2] < times[1]


def test_space_without_arena_is_an_error(device):
    with pytest.raises(EmulationError, match="has no L1"):
        one_block(device, lambda block: UBBufPool(block.aiv, space=Space.L1))


def test_kernel_begin_end_bracket_the_launch(device, recorder):
    one_block(device, lambda block: UBBufPool(block.aiv).allocate(16, np.float16))
    ev = events(recorder)
    assert ev.kind.iloc[0] == "kernel_begin" and ev.kind.iloc[-1] == "kernel_end"
    assert ev.seq.tolist() == list(range(len(ev)))
    assert set(ev.kind.cat.categories) >= {k.label for k in EventKind}


def test_null_recorder_records_nothing_from_any_call():
    import inspect

    from ubscope.probe.recorder import RECORDING_CALLS, NullRecorder, Recorder

    public = {
        name
        for name, _ in inspect.getmembers(Recorder, inspect.isfunction)
        if not name.startswith("_")
        and name not in ("intern", "strings", "flush", "batches", "table", "final_metadata")
    }
    assert public == set(RECORDING_CALLS)
    null = NullRecorder()
    null.copy(1, 0, 1, 0, 2, 0, 32, 32, 32, 1, "x", "t", 0, 1)
    null.alloc(1, 0, 2, 0, 32, 32, "b", "t", 0)
    assert null.event_count == 0 and null.table().num_rows == 0


def test_reductions_write_one_element_and_spare_the_neighbours(device, recorder):
    def body(block):
        pool = UBBufPool(block.aiv)
        src = pool.allocate(64, np.float32)
        out = pool.allocate(8, np.float32)
        neighbour = pool.allocate(64, np.float32)
        vector.duplicate(src, 2.0, 64)
        vector.duplicate(neighbour, 7.0, 64)
        vector.reduce_sum(out, src, 64)
        total = float(out.array[0])
        vector.reduce_max(out, src, 64)
        return total, float(out.array[0]), neighbour.array.copy()

    total, peak, neighbour = one_block(device, body)
    assert (total, peak) == (128.0, 2.0)
    assert np.all(neighbour == 7.0)
    reduce = events(recorder).query("kind == 'compute' and name == 'ReduceSum'").iloc[0]
    assert reduce.aligned_size == 4  # bytes written


def test_a_vector_op_names_its_first_two_sources(device, recorder):
    def body(block):
        pool = UBBufPool(block.aiv)
        a, b, out = (pool.allocate(64, np.float32) for _ in range(3))
        vector.add(out, b, a, 64)
        vector.duplicate(a, 1.0, 64)

    one_block(device, body)
    add, fill = events(recorder).query("kind == 'compute'").itertuples()
    # the pool places a at 0, b at 256 (64 floats each): Add's first source is
    # b, its second a (arg2, flagged SECOND_SOURCE)
    assert (add.src_space, add.src_addr, add.arg2) == ("UB", 256, 0)
    assert add.flags & Flag.SECOND_SOURCE
    assert (fill.src_space, fill.src_addr) == ("NONE", 0)  # Duplicate reads no tensor
    assert not fill.flags & Flag.SECOND_SOURCE


def test_an_out_of_range_field_is_rejected_without_corrupting_later_events():
    from ubscope.probe.recorder import Recorder

    rec = Recorder()
    rec.alloc(1, 0, 2, 0, 32, 32, "a", "t", 0)
    with pytest.raises(ValueError, match="64-bit integer"):
        rec.copy(1, 0, 1, 2**70, 2, 0, 32, 32, 32, 1, "x", "t", 0, 1)
    rec.free(1, 0, 2, 0, 32, 32, "a", "t", 5)
    ev = rec.table().to_pandas()
    assert ev.kind.tolist() == ["alloc", "free"] and ev.start_ps.tolist() == [0, 5]
