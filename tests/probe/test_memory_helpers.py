"""The shared kernel helpers in probe.memory: broadcasts, reductions, index
tables and the UB buffer backends, checked against numpy."""

from __future__ import annotations

import numpy as np

from ubscope.probe.events import Flag
from ubscope.probe.memory import vector
from ubscope.probe.memory.broadcast import broadcast_columns, broadcast_rows
from ubscope.probe.memory.buffers import (
    BumpBuffers,
    FreeListBuffers,
    Group,
    QueueBuffers,
)
from ubscope.probe.memory.dtypes import F32, I32
from ubscope.probe.memory.index_tables import fill_index_table, transpose_table
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.memory.reduce import multiply_reduce, sum_groups, tree_sum_rows
from ubscope.probe.memory.tpipe import TPipe

ROWS, COLS = 4, 16


def one_block(device, body):
    box = {}
    device.launch("t", lambda block: box.setdefault("out", body(block)), 1)
    return box["out"]


def computes(recorder):
    events = recorder.table().to_pandas()
    return events[events.kind == "compute"].reset_index(drop=True)


def filled(pool, values):
    tensor = pool.allocate(values.size, values.dtype)
    tensor.array[:] = values
    return tensor


def test_broadcast_columns_counts_and_checks_the_column(device, recorder):
    matrix = np.arange(ROWS * COLS, dtype=np.float32)
    column = np.array([1, 2, 3, 4], dtype=np.float32)

    def body(block):
        pool = UBBufPool(block.aiv)
        src, col, dst = filled(pool, matrix), filled(pool, column), pool.allocate(matrix.size, F32)
        broadcast_columns("Mul", np.multiply, dst, src, col, ROWS, COLS)
        return dst.array.copy()

    out = one_block(device, body)
    np.testing.assert_array_equal(out, (matrix.reshape(ROWS, COLS) * column[:, None]).ravel())
    mul = computes(recorder).iloc[0]
    # destination, matrix and the column are each counted over the op's elements
    assert mul["size"] == 3 * ROWS * COLS * F32.itemsize


def test_a_misaligned_broadcast_operand_is_flagged(device, recorder):
    def body(block):
        pool = UBBufPool(block.aiv)
        src = filled(pool, np.ones(ROWS * COLS, dtype=np.float32))
        col = filled(pool, np.ones(COLS, dtype=np.float32))
        dst = pool.allocate(ROWS * COLS, F32)
        broadcast_columns("Mul", np.multiply, dst, src, col[1:], ROWS, COLS)

    one_block(device, body)
    assert computes(recorder).iloc[0]["flags"] & int(Flag.MISALIGNED)


def test_broadcast_rows_with_and_without_a_row_map(device):
    matrix = np.arange(ROWS * COLS, dtype=np.float32)
    table = np.arange(2 * COLS, dtype=np.float32) * 10
    row_of_table = np.array([0, 0, 1, 1])

    def body(block):
        pool = UBBufPool(block.aiv)
        src, lines = filled(pool, matrix), filled(pool, table)
        plain, mapped = pool.allocate(matrix.size, F32), pool.allocate(matrix.size, F32)
        broadcast_rows("Add", np.add, plain, src, lines, ROWS, COLS)
        broadcast_rows("Add", np.add, mapped, src, lines, ROWS, COLS, row_of_table)
        return plain.array.copy(), mapped.array.copy()

    plain, mapped = one_block(device, body)
    tile = matrix.reshape(ROWS, COLS)
    np.testing.assert_array_equal(plain, (tile + table[:COLS]).ravel())
    np.testing.assert_array_equal(mapped, (tile + table.reshape(2, COLS)[row_of_table]).ravel())


def test_tree_sum_rows_sums_odd_and_even_row_counts(device):
    for rows in (1, 5, 8):
        values = np.random.default_rng(rows).standard_normal(rows * COLS).astype(np.float32)

        def body(block, values=values, rows=rows):
            tile = filled(UBBufPool(block.aiv), values)
            tree_sum_rows(tile, rows, COLS)
            return tile.array[:COLS].copy()

        out = one_block(device, body)
        np.testing.assert_allclose(out, values.reshape(rows, COLS).sum(axis=0), rtol=1e-5)


def test_multiply_reduce_broadcast_and_gathered(device):
    rng = np.random.default_rng(0)
    operand = rng.standard_normal(ROWS * COLS).astype(np.float32)
    column = rng.standard_normal(ROWS).astype(np.float32)
    picks = rng.integers(0, ROWS, ROWS * COLS)

    def body(block):
        pool = UBBufPool(block.aiv)
        op, col = filled(pool, operand), filled(pool, column)
        index = filled(pool, (picks * F32.itemsize).astype(np.int32))
        work = pool.allocate(ROWS * COLS, F32)
        broadcast = multiply_reduce(col, op, work, ROWS, COLS).array.copy()
        gathered = multiply_reduce(col, op, work, ROWS, COLS, index).array.copy()
        return broadcast, gathered

    broadcast, gathered = one_block(device, body)
    matrix = operand.reshape(ROWS, COLS)
    np.testing.assert_allclose(broadcast, (column[:, None] * matrix).sum(axis=0), rtol=1e-5)
    expected = (column[picks].reshape(ROWS, COLS) * matrix).sum(axis=0)
    np.testing.assert_allclose(gathered, expected, rtol=1e-5)


def test_sum_groups(device):
    values = np.arange(4 * 8, dtype=np.float32)

    def body(block):
        pool = UBBufPool(block.aiv)
        src, dst = filled(pool, values), pool.allocate(8, F32)
        sum_groups("BlockReduceSum", dst, src, 4, 8)
        return dst.array[:4].copy()

    np.testing.assert_array_equal(one_block(device, body), values.reshape(4, 8).sum(axis=1))


def test_index_table_gathers_a_transpose(device):
    rows, cols = 3, 4
    values = np.arange(rows * cols, dtype=np.float32)

    def body(block):
        pool = UBBufPool(block.aiv)
        src = filled(pool, values)
        table = pool.allocate(rows * cols, I32)
        fill_index_table(table, transpose_table(rows, cols, cols, F32.itemsize))
        dst = pool.allocate(rows * cols, F32)
        vector.gather(dst, src, table, rows * cols)
        return dst.array.copy()

    np.testing.assert_array_equal(one_block(device, body), values.reshape(rows, cols).T.ravel())


GROUPS = (
    Group("x", "in", (("f32", F32, 24),)),
    Group("y", "out", (("f32", F32, 8),)),
    Group("work", "calc", (("a", F32, 3), ("b", I32, 8))),
)


def test_group_parts_start_on_32_byte_boundaries(device):
    def body(block):
        carved = BumpBuffers(UBBufPool(block.aiv)).take(GROUPS[2])
        return carved["a"].addr, carved["b"].addr, GROUPS[2].nbytes

    assert one_block(device, body) == (0, 32, 64)


def test_every_backend_hands_out_the_same_carving(device, recorder):
    def use(buffers):
        taken = buffers.take(GROUPS[0])
        taken["f32"].array[:] = 1.0
        buffers.give(buffers.ready(taken))
        return taken["f32"].nbytes

    def body(block):
        core = block.aiv
        return [
            use(QueueBuffers(TPipe(core), GROUPS, 2)),
            use(FreeListBuffers(core, 4096, "heap")),
            use(BumpBuffers(UBBufPool(core, base=8192))),
        ]

    assert one_block(device, body) == [96, 96, 96]
    events = recorder.table().to_pandas()
    assert (events.kind == "queue_init").sum() == len(GROUPS)
    assert set(events[events.kind == "free"].name.astype(str)) >= {"x"}


def test_a_free_list_that_cannot_place_a_group_returns_none(device):
    def body(block):
        return FreeListBuffers(block.aiv, 64).take(GROUPS[0])

    assert one_block(device, body) is None
