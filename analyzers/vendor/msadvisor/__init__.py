"""msadvisor results and msprof-analyze advisor reports: ``ADV0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.msadvisor.advisor_report import ADVISOR
from ubscope.analyzers.vendor.msadvisor.detect import is_advisor_output
from ubscope.analyzers.vendor.msadvisor.reader import MSADVISOR, read_msadvisor
from ubscope.analyzers.vendor.tool import VendorTool

TOOL = VendorTool(
    name="msadvisor",
    sources=(MSADVISOR, ADVISOR),
    what="msadvisor / advisor output",
    metavar="FILE",
    help="msadvisor result JSON or msprof-analyze advisor output",
    detect=is_advisor_output,
    read=read_msadvisor,
    rules="ubscope.analyzers.vendor.msadvisor.rules",
)
