"""``msprof op`` kernel metrics (bank conflicts, MTE-bound pipes): ``MSOP0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.msprof_op.detect import is_msprof_op_output
from ubscope.analyzers.vendor.msprof_op.reader import MSPROF_OP, read_msprof_op
from ubscope.analyzers.vendor.tool import VendorTool

TOOL = VendorTool(
    name="msprof_op",
    sources=(MSPROF_OP,),
    what="msprof op output",
    metavar="DIR",
    help="msprof op output folder (OPPROF_...) or one of its CSVs",
    detect=is_msprof_op_output,
    read=read_msprof_op,
    rules="ubscope.analyzers.vendor.msprof_op.rules",
)
