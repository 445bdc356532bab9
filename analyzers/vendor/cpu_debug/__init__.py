"""The checks of an Ascend C kernel run in CPU-debug mode, from its log: ``CPU0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
CPU_DEBUG = "Ascend C CPU debug"

TOOL = VendorTool(
    name="cpu_debug",
    sources=(CPU_DEBUG,),
    what="an Ascend C CPU-debug log",
    metavar="LOG",
    help="output of an Ascend C kernel run in CPU-debug mode",
    detect=lazy("ubscope.analyzers.vendor.cpu_debug.detect:is_cpu_debug_output"),
    read=lazy("ubscope.analyzers.vendor.cpu_debug.reader:read_cpu_debug"),
    rules="ubscope.analyzers.vendor.cpu_debug.rules",
)
