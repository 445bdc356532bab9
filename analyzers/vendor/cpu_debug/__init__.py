"""The checks of an Ascend C kernel run in CPU-debug mode, from its log: ``CPU0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.cpu_debug.detect import is_cpu_debug_output
from ubscope.analyzers.vendor.cpu_debug.reader import CPU_DEBUG, read_cpu_debug
from ubscope.analyzers.vendor.tool import VendorTool

TOOL = VendorTool(
    name="cpu_debug",
    sources=(CPU_DEBUG,),
    what="an Ascend C CPU-debug log",
    metavar="LOG",
    help="output of an Ascend C kernel run in CPU-debug mode",
    detect=is_cpu_debug_output,
    read=read_cpu_debug,
    rules="ubscope.analyzers.vendor.cpu_debug.rules",
)
