"""Helpers of the TUI tests: a kernel whose names are Rich markup, and
reading the screen as text."""

from __future__ import annotations

import numpy as np

from ubscope.probe.kernel_spec import KernelResult, KernelSpec
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.pools import UBBufPool

MARKUP_KERNEL = "[bold red]x[/]"
MARKUP_TAG = "[i]tag[/i]"
MARKUP_BUFFER = "[b]buf[/b]"
POOL_RUNS = {"no_reset": "pool_no_reset", "fragmentation": "freelist_fragmentation", "tpipe": None}


def _markup_run(device, params):
    """One tile copied in and out of UB under names that are valid Rich markup."""
    count = params["n"]
    x = np.arange(count, dtype=np.float16)
    gx = device.gm.tensor("[red]in[/red]", x)
    gy = device.gm.empty("y", (count,), np.float16)

    def kernel(block, gx, gy):
        core = block.aiv
        pool = UBBufPool(core, "pool")
        with core.site(MARKUP_TAG):
            tile = pool.allocate(count, np.float16, MARKUP_BUFFER)
            data_copy(tile, gx[0:], count)
            data_copy(gy[0:], tile, count)
        pool.reset()

    device.launch(MARKUP_KERNEL, kernel, 1, gx=gx, gy=gy)
    return KernelResult(outputs={"y": gy.numpy()}, references={"y": x.astype(np.float64)})


MARKUP_SPEC = KernelSpec(
    name=MARKUP_KERNEL,
    summary="names that look like markup",
    params=(),
    run=_markup_run,
    minimal_traffic=lambda params: {"read": params["n"] * 2, "write": params["n"] * 2},
)


def screen_text(app) -> str:
    """What the terminal shows, as plain text lines."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


async def wait_for_views(pilot, app) -> None:
    """Until the profile screen has mounted its views (they mount after the analysis)."""
    for _ in range(300):
        await pilot.pause(0.02)
        if getattr(app.screen, "ready", False):
            await pilot.pause()
            return
    raise AssertionError("the views never appeared")
