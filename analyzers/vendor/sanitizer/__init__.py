"""msSanitizer (memcheck, initcheck, racecheck, synccheck) reports: ``SAN0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.sanitizer.detect import is_sanitizer_output
from ubscope.analyzers.vendor.sanitizer.reader import SANITIZER, read_sanitizer
from ubscope.analyzers.vendor.tool import VendorTool

TOOL = VendorTool(
    name="sanitizer",
    sources=(SANITIZER,),
    what="an msSanitizer report",
    metavar="LOG",
    help="msSanitizer report (terminal capture or --log-file)",
    detect=is_sanitizer_output,
    read=read_sanitizer,
    rules="ubscope.analyzers.vendor.sanitizer.rules",
)
