"""torch_npu profiler output (memory records, operator memory, trace): ``TNPU0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool, lazy

# The VendorReport.tool values its reader writes; here, so listing the tools imports no reader.
TORCH_NPU = "torch_npu"

TOOL = VendorTool(
    name="torch_npu",
    sources=(TORCH_NPU,),
    what="torch_npu profiler output",
    metavar="DIR",
    help="torch_npu profiler output (*_ascend_pt or ASCEND_PROFILER_OUTPUT)",
    detect=lazy("ubscope.analyzers.vendor.torch_npu.detect:is_torch_npu_output"),
    read=lazy("ubscope.analyzers.vendor.torch_npu.reader:read_torch_npu"),
    rules="ubscope.analyzers.vendor.torch_npu.rules",
)
