"""npuchk, the memory checker of a kernel run in CPU-debug mode: ``NCK0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
NPUCHK = "npuchk"

TOOL = VendorTool(
    name="npuchk",
    sources=(NPUCHK,),
    what="npuchk output",
    metavar="DIR",
    help="npuchk folder (or one *_npuchk.log) of a CPU-debug run",
    detect=lazy("ubscope.analyzers.vendor.npuchk.detect:is_npuchk_output"),
    read=lazy("ubscope.analyzers.vendor.npuchk.reader:read_npuchk"),
    rules="ubscope.analyzers.vendor.npuchk.rules",
)
