"""``msprof op simulator`` output: decoded data moves (``SIM0xx``), and the
trace of a kernel that ran on no NPU."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
SIMULATOR = "msprof op simulator"

TOOL = VendorTool(
    name="simulator",
    sources=(SIMULATOR,),
    what="msprof op simulator output",
    metavar="DIR",
    help="msprof op simulator output (OPPROF_.../simulator)",
    detect=lazy("ubscope.analyzers.vendor.simulator.detect:is_simulator_output"),
    read=lazy("ubscope.analyzers.vendor.simulator.reader:read_simulator"),
    rules="ubscope.analyzers.vendor.simulator.rules",
    to_trace=lazy("ubscope.analyzers.vendor.simulator.trace:simulator_trace"),
    save_trace=lazy("ubscope.analyzers.vendor.simulator.trace:write_simulator_trace"),
)
