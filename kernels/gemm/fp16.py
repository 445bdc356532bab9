"""The body of ``fp16_gemm``: one block's column tiles multiplied by its AIC,
which copies the fp16 weight tiles GM -> L1 itself."""

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
    for col in columns:
        matmul.begin_column()
        for row in range(plan.k_tiles):
            tile = plan.tile(col, row)
            matmul.accumulate(tile)
        matmul.end_column(tile)
    matmul.finish()
