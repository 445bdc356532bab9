"""The body of ``int4_gemm``: one block's column tiles, K tiles dequantized by
its two AIVs in turn and multiplied by its AIC."""

from __future__ import annotations

from ubscope.kernels.gemm.dequant import Dequantizer
from ubscope.kernels.gemm.matmul import Matmul
from ubscope.kernels.gemm.plan import Int4Plan
from ubscope.probe.device import Block, Core
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.tpipe import TPipe


def slot_elements(plan: Int4Plan) -> int:
    """fp16 elements of one workspace slot, rounded to keep slots 512 B aligned."""
    return align_up(plan.tile_rows * plan.tile_cols, 256)


def workspace_elements(plan: Int4Plan) -> int:
    """fp16 elements of the whole workspace: ``buffers`` slots per AIV of every block."""
    return plan.blocks * 2 * plan.buffers * slot_elements(plan)


def int4_block(block: Block, plan: Int4Plan, gm: dict[str, GlobalTensor]) -> None:
    """One block: its column tiles, K tiles alternating between its AIVs."""
    columns = plan.block_columns(block.idx)
    if not columns:
        return
    pipes: dict[int, TPipe] = {}

    def pipe_of(core: Core) -> TPipe:  # one TPipe per core: coupled chips share it
        if id(core) not in pipes:
            pipes[id(core)] = TPipe(core, plan.check_capacity)
        return pipes[id(core)]

    matmul = Matmul(block.aic, plan, gm, pipe_of(block.aic))
    dequantizers = [Dequantizer(pipe_of(core), plan, gm) for core in block.vector]
    slots = len(dequantizers) * plan.buffers
    slot_free = [0] * slots
    slot_size = slot_elements(plan)
    tiles = [plan.tile(col, row) for col in columns for row in range(plan.k_tiles)]

    def load(sequence: int) -> None:
        """Dequantize tile ``sequence`` into its slot and start the AIC's copy of it."""
        tile, index = tiles[sequence], sequence % slots
        slot = gm["workspace"][(block.idx * slots + index) * slot_size :]
        dequantizers[sequence % len(dequantizers)].dequantize(tile, slot, slot_free[index])
        slot_free[index] = matmul.load_weights(tile, slot)
        if tile.k0 + tile.kt == plan.k:
            for dequantizer in dequantizers:
                dequantizer.end_column()

    ahead = plan.buffers - 1  # with double buffering the next tile's copy goes first
    for sequence in range(min(ahead, len(tiles))):
        load(sequence)
    for sequence, tile in enumerate(tiles):
        if sequence + ahead < len(tiles):
            load(sequence + ahead)
        if tile.k0 == 0:
            matmul.begin_column()
        matmul.accumulate(tile)
        if tile.k0 + tile.kt == plan.k:
            matmul.end_column(tile)
    matmul.finish()
    for dequantizer in dequantizers:
        dequantizer.finish()
