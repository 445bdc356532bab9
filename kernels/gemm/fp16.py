"""The body of ``fp16_gemm``: one block's column tiles multiplied by its AIC,
which copies the fp16 weight tiles GM -> L1 itself, one tile ahead."""

from __future__ import annotations

from ubscope.kernels.gemm.matmul import Matmul
from ubscope.kernels.gemm.plan import GemmPlan
from ubscope.probe.device import Block
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.tpipe import TPipe


def fp16_block(block: Block, plan: GemmPlan, gm: dict[str, GlobalTensor]) -> None:
    """One block of a cube launch: its column tiles, all K tiles on the AIC."""
    columns = plan.block_columns(block.idx)
    if not columns:
        return
    matmul = Matmul(block.aic, plan, gm, TPipe(block.aic, plan.check_capacity))
    tiles = [plan.tile(col, row) for col in columns for row in range(plan.k_tiles)]
    ahead = plan.buffers - 1  # with double buffering the next tile's copy goes first
    for tile in tiles[:ahead]:
        matmul.load_weights(tile)
    for index, tile in enumerate(tiles):
        if index + ahead < len(tiles):
            matmul.load_weights(tiles[index + ahead])
        if tile.k0 == 0:
            matmul.begin_column()
        matmul.accumulate(tile)
        if tile.k0 + tile.kt == plan.k:
            matmul.end_column(tile)
    matmul.finish()
