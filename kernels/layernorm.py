"""LayerNorm of a residual sum, in place with the sum kept in UB, or out of place.

``y = LayerNorm(x + residual) * gamma + beta`` over rows split across vector
cores (fp16 in and out, fp32 statistics). The in-place kernel (the article's
section 5.2) adds the residual into an fp32 UB row, normalises that row in
place as ``(s - mean) * rstd`` (a multiply: the article's ``vdiv`` by rstd is
wrong) and writes the result over ``x``: the sum never goes to GM. The
out-of-place version is the unfused pair: a residual-add kernel writes the sum
to GM, and a LayerNorm kernel reads it back and normalises into separate
centred and output buffers. Rows whose byte length is not a multiple of 32 B
move with DataCopyPad.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Block, Core, Device
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.probe.kernel_spec import ChunkedReference, KernelResult, KernelSpec, Param, cores_param
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.datacopy import BLOCK, CopyExtParams, data_copy, data_copy_pad
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue

FP16 = np.dtype(np.float16)
FP32 = np.dtype(np.float32)
VECIN, VECOUT = TPosition.VECIN, TPosition.VECOUT
# The UB of each kernel: fp16 row queues (``buffers`` blocks each) and fp32 row TBufs.
PIPES: dict[str, tuple[tuple[tuple[str, TPosition], ...], tuple[str, ...]]] = {
    "inplace": (
        (("x_row", VECIN), ("residual_row", VECIN)),
        ("sum_fp32", "tmp_fp32", "gamma_fp32", "beta_fp32"),
    ),
    "residual_add": (
        (("x_row", VECIN), ("residual_row", VECIN), ("sum_row", VECOUT)),
        ("x_fp32", "residual_fp32"),
    ),
    "normalize": (
        (("sum_row", VECIN), ("y_row", VECOUT)),
        ("sum_fp32", "centered_fp32", "tmp_fp32", "normed_fp32", "gamma_fp32", "beta_fp32"),
    ),
}


def ub_bytes(hidden: int, inplace: bool, buffers: int) -> int:
    """Peak UB one core needs for a row: the in-place kernel, or the larger of
    the two out-of-place kernels."""
    half_row, float_row = align_up(hidden * FP16.itemsize), align_up(hidden * FP32.itemsize)
    kernels = ("inplace",) if inplace else ("residual_add", "normalize")
    return max(
        len(PIPES[k][0]) * buffers * half_row + len(PIPES[k][1]) * float_row for k in kernels
    )


def _copy_row(
    dst: LocalTensor | GlobalTensor, src: LocalTensor | GlobalTensor, hidden: int
) -> None:
    """One fp16 row: DataCopy when it is whole 32 B blocks, DataCopyPad otherwise."""
    nbytes = hidden * FP16.itemsize
    if nbytes % BLOCK:
        data_copy_pad(dst, src, CopyExtParams(1, nbytes))
    else:
        data_copy(dst, src, hidden)


def _pipe(core: Core, kernel: str, buffers: int, hidden: int) -> dict[str, TQue]:
    """The kernel's TPipe: ``buffers`` fp16 row blocks per queue, one fp32 row per TBuf."""
    queues, floats = PIPES[kernel]
    pipe = TPipe(core)
    bufs: dict[str, TQue] = {}
    with core.site("init"):
        for name, position in queues:
            bufs[name] = TQue(position, 1, name)
            pipe.init_buffer(bufs[name], buffers, hidden * FP16.itemsize)
        for name in floats:
            bufs[name] = TBuf(TPosition.VECCALC, name)
            pipe.init_buffer(bufs[name], 1, hidden * FP32.itemsize)
    return bufs


def _start(
    block: Block, kernel: str, rows: int, hidden: int, buffers: int
) -> tuple[Core, range, dict[str, TQue]]:
    """The block's vector core, its share of the rows and, if it has any, its buffers."""
    core = block.aiv
    per_core = -(-rows // block.dim)
    mine = range(block.idx * per_core, min(rows, (block.idx + 1) * per_core))
    return core, mine, _pipe(core, kernel, buffers, hidden) if mine else {}


def _load_affine(
    core: Core,
    stage_que: TQue,
    ggamma: GlobalTensor,
    gbeta: GlobalTensor,
    gamma32: LocalTensor,
    beta32: LocalTensor,
    hidden: int,
) -> None:
    """gamma and beta to fp32, once per core, staged through a row queue block."""
    with core.site("load_affine"):
        for source, target in ((ggamma, gamma32), (gbeta, beta32)):
            stage = stage_que.alloc_tensor(FP16)
            _copy_row(stage, source, hidden)
            stage_que.enque(stage)
            stage = stage_que.deque()
            vector.cast(target, stage, hidden)
            stage_que.free_tensor(stage)


def _load_row(core: Core, que: TQue, source: GlobalTensor, hidden: int) -> LocalTensor:
    with core.site("copyin"):
        row = que.alloc_tensor(FP16)
        _copy_row(row, source, hidden)
        que.enque(row)
    return que.deque()


def _store_row(core: Core, que: TQue, row: LocalTensor, target: GlobalTensor, hidden: int) -> None:
    with core.site("copyout"):
        _copy_row(target, row, hidden)
        que.free_tensor(row)


def _normalize(
    core: Core,
    total: LocalTensor,
    centered: LocalTensor,
    normed: LocalTensor,
    tmp: LocalTensor,
    gamma32: LocalTensor,
    beta32: LocalTensor,
    hidden: int,
    eps: float,
) -> None:
    """``normed = (total - mean) * rstd * gamma + beta`` in fp32; in place when
    ``centered`` and ``normed`` are ``total``. ``tmp`` is a row of scratch."""
    with core.site("normalize"):
        vector.reduce_sum(tmp, total, hidden)
        mean = float(tmp.array[0]) / hidden
        vector.adds(centered, total, -mean, hidden)
        vector.mul(tmp, centered, centered, hidden)
        vector.reduce_sum(tmp, tmp, hidden)
        rstd = 1.0 / math.sqrt(float(tmp.array[0]) / hidden + eps)
        vector.muls(normed, centered, rstd, hidden)  # multiply by rstd, not divide
        vector.mul(normed, normed, gamma32, hidden)
        vector.add(normed, normed, beta32, hidden)


def _add_residual(
    core: Core,
    total: LocalTensor,
    scratch: LocalTensor,
    x: LocalTensor,
    residual: LocalTensor,
    hidden: int,
) -> None:
    with core.site("residual_add"):
        vector.cast(total, x, hidden)
        vector.cast(scratch, residual, hidden)
        vector.add(total, total, scratch, hidden)


def _inplace_kernel(
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
    core, mine, bufs = _start(block, "inplace", rows, hidden, buffers)
    if not mine:
        return
    total, tmp = bufs["sum_fp32"].get(FP32), bufs["tmp_fp32"].get(FP32)
    gamma32, beta32 = bufs["gamma_fp32"].get(FP32), bufs["beta_fp32"].get(FP32)
    _load_affine(core, bufs["x_row"], ggamma, gbeta, gamma32, beta32, hidden)
    for row in mine:
        x = _load_row(core, bufs["x_row"], gx[row * hidden :], hidden)
        residual = _load_row(core, bufs["residual_row"], gres[row * hidden :], hidden)
        _add_residual(core, total, tmp, x, residual, hidden)
        bufs["residual_row"].free_tensor(residual)
        _normalize(core, total, total, total, tmp, gamma32, beta32, hidden, eps)
        with core.site("normalize"):
            vector.cast(x, total, hidden)  # the output overwrites the input row
        _store_row(core, bufs["x_row"], x, gx[row * hidden :], hidden)


def _residual_add_kernel(
    block: Block,
    gx: GlobalTensor,
    gres: GlobalTensor,
    gsum: GlobalTensor,
    rows: int,
    hidden: int,
    buffers: int,
) -> None:
    core, mine, bufs = _start(block, "residual_add", rows, hidden, buffers)
    if not mine:
        return
    x32, residual32 = bufs["x_fp32"].get(FP32), bufs["residual_fp32"].get(FP32)
    for row in mine:
        x = _load_row(core, bufs["x_row"], gx[row * hidden :], hidden)
        residual = _load_row(core, bufs["residual_row"], gres[row * hidden :], hidden)
        _add_residual(core, x32, residual32, x, residual, hidden)
        bufs["x_row"].free_tensor(x)
        bufs["residual_row"].free_tensor(residual)
        total = bufs["sum_row"].alloc_tensor(FP16)
        with core.site("residual_add"):
            vector.cast(total, x32, hidden)
        bufs["sum_row"].enque(total)
        _store_row(core, bufs["sum_row"], bufs["sum_row"].deque(), gsum[row * hidden :], hidden)


def _normalize_kernel(
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
    core, mine, bufs = _start(block, "normalize", rows, hidden, buffers)
    if not mine:
        return
    total, centered = bufs["sum_fp32"].get(FP32), bufs["centered_fp32"].get(FP32)
    tmp, normed = bufs["tmp_fp32"].get(FP32), bufs["normed_fp32"].get(FP32)
    gamma32, beta32 = bufs["gamma_fp32"].get(FP32), bufs["beta_fp32"].get(FP32)
    _load_affine(core, bufs["sum_row"], ggamma, gbeta, gamma32, beta32, hidden)
    for row in mine:
        staged = _load_row(core, bufs["sum_row"], gsum[row * hidden :], hidden)
        with core.site("normalize"):
            vector.cast(total, staged, hidden)
        bufs["sum_row"].free_tensor(staged)
        _normalize(core, total, centered, normed, tmp, gamma32, beta32, hidden, eps)
        y = bufs["y_row"].alloc_tensor(FP16)
        with core.site("normalize"):
            vector.cast(y, normed, hidden)
        bufs["y_row"].enque(y)
        _store_row(core, bufs["y_row"], bufs["y_row"].deque(), gy[row * hidden :], hidden)


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    validate(params, device.chip)
    rows, hidden, eps, cores = params["rows"], params["hidden"], params["eps"], params["cores"]
    buffers = 2 if params["double_buffer"] else 1
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((rows, hidden)).astype(FP16)
    residual = rng.standard_normal((rows, hidden)).astype(FP16)
    gamma = (1.0 + 0.1 * rng.standard_normal(hidden)).astype(FP16)
    beta = (0.1 * rng.standard_normal(hidden)).astype(FP16)
    gx, gres = device.gm.tensor("x", x), device.gm.tensor("residual", residual)
    ggamma, gbeta = device.gm.tensor("gamma", gamma), device.gm.tensor("beta", beta)
    shared = {"rows": rows, "hidden": hidden, "buffers": buffers}
    if params["inplace"]:
        device.launch(
            "layernorm_inplace",
            _inplace_kernel,
            cores,
            gx=gx,
            gres=gres,
            ggamma=ggamma,
            gbeta=gbeta,
            eps=eps,
            **shared,
        )
        output = gx
    else:
        gsum = device.gm.empty("residual_sum", (rows, hidden), FP16)
        output = device.gm.empty("y", (rows, hidden), FP16)
        device.launch(
            "residual_add", _residual_add_kernel, cores, gx=gx, gres=gres, gsum=gsum, **shared
        )
        device.launch(
            "layernorm",
            _normalize_kernel,
            cores,
            gsum=gsum,
            ggamma=ggamma,
            gbeta=gbeta,
            gy=output,
            eps=eps,
            **shared,
        )

    def reference(part: slice) -> np.ndarray:
        total = x[part].astype(np.float64) + residual[part].astype(np.float64)
        centered = total - total.mean(axis=1, keepdims=True)
        rstd = 1.0 / np.sqrt((centered**2).mean(axis=1, keepdims=True) + eps)
        return centered * rstd * gamma.astype(np.float64) + beta.astype(np.float64)

    notes = [f"{ub_bytes(hidden, params['inplace'], buffers)} B of UB per core"]
    return KernelResult(outputs={"y": output.numpy()},
                        references={"y": ChunkedReference(reference, 4 * 8 * hidden)},
                        notes=notes)  # fmt: skip


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """x, residual, gamma and beta read once; y written once."""
    rows, hidden = params["rows"], params["hidden"]
    return {"read": (2 * rows + 2) * hidden * FP16.itemsize, "write": rows * hidden * FP16.itemsize}


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Events per row and per core of each variant; host memory: x and residual
    on the host and in GM, the out-of-place sum and y in GM (fp16), the float64
    draw of one input and a checked slice; about 20 vector element ops per value."""
    rows, hidden, cores = params["rows"], params["hidden"], params["cores"]
    per_row, per_core, arrays = (14, 27, 4) if params["inplace"] else (18, 56, 6)
    values = rows * hidden
    return estimate(rows * per_row + cores * per_core,
                    values * (arrays * FP16.itemsize + 8) + CHECK_CHUNK_BYTES,
                    work=20 * values, values=3 * values)  # fmt: skip


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    rows, hidden = params["rows"], params["hidden"]
    if rows < 1 or hidden < 1:
        raise ParameterError(f"layernorm: rows={rows} and hidden={hidden} must be at least 1")
    if not params["eps"] > 0:
        raise ParameterError(f"layernorm: eps={params['eps']} must be positive")
    buffers = 2 if params["double_buffer"] else 1
    need, budget = ub_bytes(hidden, params["inplace"], buffers), chip.ub_safe_budget
    if need > budget:
        variant = "in-place" if params["inplace"] else "out-of-place"
        raise ParameterError(
            f"layernorm: a row of hidden={hidden} ({variant}, {buffers} buffer(s) per queue) "
            f"needs {need} B of UB per core but {chip.name} allows {budget} B (UB "
            f"{chip.capacity['UB']} B minus {chip.ub_scratch_bytes} B API scratch); lower hidden "
            "or set double_buffer=false"
        )


SPEC = register(
    KernelSpec(
        name="layernorm",
        summary="LayerNorm(x + residual) * gamma + beta: in place with the sum kept in UB, or "
        "the unfused out-of-place pair",
        params=(
            Param("rows", int, 512, "rows (tokens)"),
            Param("hidden", int, 4096, "hidden size (any; ragged rows use DataCopyPad)"),
            Param("inplace", bool, True, "keep the residual sum in UB and normalise in place"),
            cores_param(8),
            Param("double_buffer", bool, True, "two buffers per row queue"),
            Param("eps", float, 1e-5, "added to the variance"),
            Param("seed", int, 0, "random seed of the inputs"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        presets={
            "out_of_place": (
                "unfused: the residual sum goes to GM and is read back, and the normalisation "
                "uses separate centred and output buffers",
                {"inplace": False},
            ),
            "ragged_hidden": (
                "hidden=1000: 2000 B rows are not whole 32 B blocks, so they move with "
                "DataCopyPad and start off 512 B boundaries in GM",
                {"hidden": 1000},
            ),
        },
        validate=validate,
        estimate=estimate_cost,
    )
)
