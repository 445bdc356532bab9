"""The bodies of the three LayerNorm kernels: in place, and the out-of-place
pair (residual add, then normalisation)."""

from __future__ import annotations

from ubscope.kernels.layernorm.rows import (
    add_residual,
    load_affine,
    load_row,
    normalize,
    start,
    store_row,
)
from ubscope.probe.device import Block
from ubscope.probe.memory import vector
from ubscope.probe.memory.dtypes import F16
from ubscope.probe.memory.gm import GlobalTensor


def inplace_kernel(
    block: Block,
    gx: GlobalTensor,
    gres: GlobalTensor,
    ggamma: GlobalTensor,
    gbeta: GlobalTensor,
    rows: int,
    hidden: int,
    eps: float,
    buffers: int,
) -> None:
    core, mine, bufs = start(block, "inplace", rows, hidden, buffers)
    if not mine:
        return
    queues = bufs.queues
    total, tmp = bufs.row("sum_fp32"), bufs.row("tmp_fp32")
    gamma32, beta32 = bufs.row("gamma_fp32"), bufs.row("beta_fp32")
    load_affine(core, queues["x_row"], ggamma, gbeta, gamma32, beta32, hidden)
    for row in mine:
        x = load_row(core, queues["x_row"], gx[row * hidden :], hidden)
        residual = load_row(core, queues["residual_row"], gres[row * hidden :], hidden)
        add_residual(core, total, tmp, x, residual, hidden)
        queues["residual_row"].free_tensor(residual)
        normalize(core, total, total, total, tmp, gamma32, beta32, hidden, eps)
        with core.site("normalize"):
            vector.cast(x, total, hidden)  # the output overwrites the input row
        store_row(core, queues["x_row"], x, gx[row * hidden :], hidden)


def residual_add_kernel(
    block: Block,
    gx: GlobalTensor,
    gres: GlobalTensor,
    gsum: GlobalTensor,
    rows: int,
    hidden: int,
    buffers: int,
) -> None:
    core, mine, bufs = start(block, "residual_add", rows, hidden, buffers)
    if not mine:
        return
    queues = bufs.queues
    x32, residual32 = bufs.row("x_fp32"), bufs.row("residual_fp32")
    for row in mine:
        x = load_row(core, queues["x_row"], gx[row * hidden :], hidden)
        residual = load_row(core, queues["residual_row"], gres[row * hidden :], hidden)
        add_residual(core, x32, residual32, x, residual, hidden)
        queues["x_row"].free_tensor(x)
        queues["residual_row"].free_tensor(residual)
        total = queues["sum_row"].alloc_tensor(F16)
        with core.site("residual_add"):
            vector.cast(total, x32, hidden)
        queues["sum_row"].enque(total)
        store_row(core, queues["sum_row"], queues["sum_row"].deque(), gsum[row * hidden :], hidden)


def normalize_kernel(
    block: Block,
    gsum: GlobalTensor,
    ggamma: GlobalTensor,
    gbeta: GlobalTensor,
    gy: GlobalTensor,
    rows: int,
    hidden: int,
    eps: float,
    buffers: int,
) -> None:
    core, mine, bufs = start(block, "normalize", rows, hidden, buffers)
    if not mine:
        return
    queues = bufs.queues
    total, centered = bufs.row("sum_fp32"), bufs.row("centered_fp32")
    tmp, normed = bufs.row("tmp_fp32"), bufs.row("normed_fp32")
    gamma32, beta32 = bufs.row("gamma_fp32"), bufs.row("beta_fp32")
    load_affine(core, queues["sum_row"], ggamma, gbeta, gamma32, beta32, hidden)
    for row in mine:
        staged = load_row(core, queues["sum_row"], gsum[row * hidden :], hidden)
        with core.site("normalize"):
            vector.cast(total, staged, hidden)
        queues["sum_row"].free_tensor(staged)
        normalize(core, total, centered, normed, tmp, gamma32, beta32, hidden, eps)
        y = queues["y_row"].alloc_tensor(F16)
        with core.site("normalize"):
            vector.cast(y, normed, hidden)
        queues["y_row"].enque(y)
        store_row(core, queues["y_row"], queues["y_row"].deque(), gy[row * hidden :], hidden)
