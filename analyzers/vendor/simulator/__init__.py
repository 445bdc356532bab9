"""``msprof op simulator`` output: decoded data moves (``SIM0xx``), and the
trace of a kernel that ran on no NPU."""

from __future__ import annotations

from ubscope.analyzers.vendor.simulator.detect import is_simulator_output
from ubscope.analyzers.vendor.simulator.reader import SIMULATOR, read_simulator
from ubscope.analyzers.vendor.simulator.trace import simulator_trace, write_simulator_trace
from ubscope.analyzers.vendor.tool import VendorTool

TOOL = VendorTool(
    name="simulator",
    sources=(SIMULATOR,),
    what="msprof op simulator output",
    metavar="DIR",
    help="msprof op simulator output (OPPROF_.../simulator)",
    detect=is_simulator_output,
    read=read_simulator,
    rules="ubscope.analyzers.vendor.simulator.rules",
    to_trace=simulator_trace,
    save_trace=write_simulator_trace,
)
