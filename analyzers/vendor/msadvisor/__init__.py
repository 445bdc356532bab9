"""msadvisor results and msprof-analyze advisor reports: ``ADV0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
ADVISOR = "msprof-analyze advisor"
MSADVISOR = "msadvisor"

TOOL = VendorTool(
    name="msadvisor",
    sources=(MSADVISOR, ADVISOR),
    what="msadvisor / advisor output",
    metavar="PATH",
    help="msadvisor result JSON, or msprof-analyze advisor output (its .xlsx, .html or folder)",
    detect=lazy("ubscope.analyzers.vendor.msadvisor.detect:is_advisor_output"),
    read=lazy("ubscope.analyzers.vendor.msadvisor.reader:read_msadvisor"),
    rules="ubscope.analyzers.vendor.msadvisor.rules",
)
