"""``msprof op`` kernel metrics (bank conflicts, MTE-bound pipes): ``MSOP0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
MSPROF_OP = "msprof op"

TOOL = VendorTool(
    name="msprof_op",
    sources=(MSPROF_OP,),
    what="msprof op output",
    metavar="DIR",
    help="msprof op output folder (OPPROF_...) or one of its CSVs",
    detect=lazy("ubscope.analyzers.vendor.msprof_op.detect:is_msprof_op_output"),
    read=lazy("ubscope.analyzers.vendor.msprof_op.reader:read_msprof_op"),
    rules="ubscope.analyzers.vendor.msprof_op.rules",
)
