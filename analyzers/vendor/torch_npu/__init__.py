"""torch_npu profiler output (memory records, operator memory, trace): ``TNPU0xx``."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import VendorTool
from ubscope.analyzers.vendor.torch_npu.detect import is_torch_npu_output
from ubscope.analyzers.vendor.torch_npu.reader import TORCH_NPU, read_torch_npu

TOOL = VendorTool(
    name="torch_npu",
    sources=(TORCH_NPU,),
    what="torch_npu profiler output",
    metavar="DIR",
    help="torch_npu profiler output (*_ascend_pt or ASCEND_PROFILER_OUTPUT)",
    detect=is_torch_npu_output,
    read=read_torch_npu,
    rules="ubscope.analyzers.vendor.torch_npu.rules",
)
