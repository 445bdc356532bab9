"""msSanitizer (memcheck, initcheck, racecheck, synccheck) reports: ``SAN0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
SANITIZER = "msSanitizer"

TOOL = VendorTool(
    name="sanitizer",
    sources=(SANITIZER,),
    what="an msSanitizer report",
    metavar="LOG",
    help="msSanitizer report (terminal capture or --log-file)",
    detect=lazy("ubscope.analyzers.vendor.sanitizer.detect:is_sanitizer_output"),
    read=lazy("ubscope.analyzers.vendor.sanitizer.reader:read_sanitizer"),
    rules="ubscope.analyzers.vendor.sanitizer.rules",
)
