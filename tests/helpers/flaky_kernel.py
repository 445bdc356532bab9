"""A user's kernel for sweep tests (run by path, as `ubscope sweep FILE.py`):
z = x + y over one UB tile per block, whose ``mode`` parameter makes a
configuration raise or hang, and whose ``label`` is any text (an HTML
injection attempt, say)."""

import time

import numpy as np

from ubscope.probe.kernel_api import (
    F16,
    Add,
    DataCopy,
    KernelResult,
    KernelSpec,
    Param,
    TPipe,
    TPosition,
    TQue,
)

TILE = 256  # fp16 elements: 512 B, whole 32 B blocks
HANG_S = 120


def add_kernel(block, x, y, z):
    core = block.aiv
    pipe = TPipe(core)
    in_x, in_y = TQue(TPosition.VECIN, 1, "in_x"), TQue(TPosition.VECIN, 1, "in_y")
    out_z = TQue(TPosition.VECOUT, 1, "out_z")
    for que in (in_x, in_y, out_z):
        pipe.init_buffer(que, 1, TILE * F16.itemsize)
    first = block.idx * TILE
    tx, ty = in_x.alloc_tensor(F16), in_y.alloc_tensor(F16)
    DataCopy(tx, x[first:], TILE)
    DataCopy(ty, y[first:], TILE)
    in_x.enque(tx)
    in_y.enque(ty)
    tx, ty, tz = in_x.deque(), in_y.deque(), out_z.alloc_tensor(F16)
    Add(tz, tx, ty, TILE)
    out_z.enque(tz)
    in_x.free_tensor(tx)
    in_y.free_tensor(ty)
    tz = out_z.deque()
    DataCopy(z[first:], tz, TILE)
    out_z.free_tensor(tz)


def run(device, params):
    if params["mode"] == "raise":
        raise RuntimeError("planted failure in the kernel")
    if params["mode"] == "hang":
        time.sleep(HANG_S)
    n = params["blocks"] * TILE
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal(n).astype(np.float16) for _ in range(2))
    gx, gy = device.gm.tensor("x", x), device.gm.tensor("y", y)
    gz = device.gm.empty("z", (n,), F16)
    device.launch("flaky_add", add_kernel, params["blocks"], x=gx, y=gy, z=gz)
    return KernelResult(outputs={"z": gz.numpy()}, references={"z": x.astype(np.float64) + y})


SPEC = KernelSpec(
    name="flaky_add",
    summary="z = x + y, one tile per block; mode=raise or hang breaks the run",
    params=(
        Param("blocks", int, 1, "blocks, one tile each"),
        Param("mode", str, "ok", "ok, raise or hang", ("ok", "raise", "hang")),
        Param("label", str, "", "any text"),
    ),
    run=run,
)
