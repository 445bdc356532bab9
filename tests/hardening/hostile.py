"""A kernel whose every user-chosen name is hostile: HTML/JS, Rich markup and
path traversal. It runs real copies and real math on the emulated device (and
overflows UB on purpose, so findings quote the names too)."""

from __future__ import annotations

import numpy as np

from ubscope.probe.kernel_spec import KernelResult, KernelSpec
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.pools import UBBufPool

SCRIPT = "<script>alert(1)</script>"
MARKUP = "[bold red]x[/]"
TRAVERSAL = "../../evil"
# Set the terminal title, colour, clear the screen, write the clipboard (OSC 52).
TERMINAL_ESCAPES = "\x1b]0;pwned\x07\x1b[31mRED\x1b[0m\x1b[2J\x1b]52;c;cHduZWQ=\x07\x9b31m"
HOSTILE_KERNEL = f"{TRAVERSAL}{SCRIPT}{MARKUP}"
HOSTILE_TAG = f"{MARKUP}{SCRIPT}"
HOSTILE_BUFFER = f"[b]{SCRIPT}[/b]"
HOSTILE_TENSOR = f"{TRAVERSAL}/{SCRIPT}"


def _run(device, params, names: tuple[str, str, str, str] | None = None):
    """Copy x through an unchecked bump pool that runs past UB's end; the
    tile that lands in the red zone is reported under the hostile names."""
    kernel_name, tag, buffer, tensor = names or (
        HOSTILE_KERNEL,
        HOSTILE_TAG,
        HOSTILE_BUFFER,
        HOSTILE_TENSOR,
    )
    count = params["n"]
    x = (np.arange(count) % 7).astype(np.float16)
    gx = device.gm.tensor(tensor, x)
    gy = device.gm.empty("y", (count,), np.float16)
    capacity = device.chip.capacity["UB"]

    def kernel(block, gx, gy):
        core = block.aiv
        pool = UBBufPool(core, buffer)
        with core.site(tag):
            pool.allocate(capacity // 2 - 64, np.uint8, buffer)
            pool.allocate(capacity // 2 - 64, np.uint8, buffer)
            tile = pool.allocate(count, np.float16, buffer)
            data_copy(tile, gx[0:], count)
            data_copy(gy[0:], tile, count)
        pool.reset()

    device.launch(kernel_name, kernel, 1, gx=gx, gy=gy)
    return KernelResult(outputs={"y": gy.numpy()}, references={"y": x.astype(np.float64)})


HOSTILE_SPEC = KernelSpec(
    name=HOSTILE_KERNEL,
    summary="names that are HTML, Rich markup and paths",
    params=(),
    run=_run,
    minimal_traffic=lambda params: {"read": params["n"] * 2, "write": params["n"] * 2},
)

ESCAPES_SPEC = KernelSpec(
    name=f"k{TERMINAL_ESCAPES}",
    summary="names that are terminal escape sequences",
    params=(),
    run=lambda device, params: _run(
        device, params, tuple(f"{part}{TERMINAL_ESCAPES}" for part in "ktbx")
    ),
    minimal_traffic=HOSTILE_SPEC.minimal_traffic,
)
