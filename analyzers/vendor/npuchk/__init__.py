"""npuchk, the memory checker of a kernel run in CPU-debug mode: ``NCK0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.npuchk.detect import is_npuchk_output
from ubscope.analyzers.vendor.npuchk.reader import NPUCHK, read_npuchk
from ubscope.analyzers.vendor.tool import VendorTool

TOOL = VendorTool(
    name="npuchk",
    sources=(NPUCHK,),
    what="npuchk output",
    metavar="DIR",
    help="npuchk folder (or one *_npuchk.log) of a CPU-debug run",
    detect=is_npuchk_output,
    read=read_npuchk,
    rules="ubscope.analyzers.vendor.npuchk.rules",
)
