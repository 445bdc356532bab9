"""Well-formed inputs the fuzzers start from, for the formats with no public
sample (msadvisor result JSON, advisor HTML/xlsx, msprof op metric CSVs) and
for ubscope's own files (configuration, budgets, baselines). Built from the
documented structures (../shared/reference/vendor_formats.md, docs/ci.md)."""

from __future__ import annotations

import io
import json

from tests.helpers.msadvisor_inputs import RESULT

ADVISOR_RESULT = RESULT  # the reader tests' result JSON
ADVISOR_ODD_KEYS = {
    "classType": "0",
    "error_code ": "0",
    "summary": "310P API operations need to be optimized",
    "extend_result": [
        {
            "type": "1",
            "extend_title ": "",
            "key": ["Op Name", "Optimization Suggestion"],
            "value": ["ACL_VENC_THREAD_ID_UINT64", "Recall Thread ID", "ACL_X", "Use Y"],
        }
    ],
}
ADVISOR_JSON_SEEDS = [
    json.dumps(ADVISOR_RESULT).encode(),
    json.dumps(
        {"model_list": [{"model_name": "kb", "result": [ADVISOR_RESULT, ADVISOR_ODD_KEYS]}]}
    ).encode(),
]

ADVISOR_HTML = b"""<!DOCTYPE html><html><head><style>h2 {margin: 0}</style></head><body>
<div class="collapsible"><h2 class="collapsible-header">memory</h2><div class="collapsible-content">
<div class="collapsible">
<h2 class="collapsible-header" style="background-color: #B5495B;">Memory Operator Issues</h2>
<div class="collapsible-content"><a id="rank">Analysis of rank 3. </a>
<a id="memory_description">Found 808 AscendCL@aclrtFreePhysical, cost 940626.57 us.</a>
<table><tr><th>Suggestions</th></tr><tr><td>1. Check HBM-Usage &amp; reduce batch size.</td></tr>
</table></div></div></div></div>
<div class="collapsible"><h2 class="collapsible-header" style="background-color: #65c294;">
Byte Alignment Analysis</h2><div class="collapsible-content">
<a id="byte_alignment_description">2 communication operators are not aligned.</a>
<table><tr><th>Suggestions</th></tr><tr><td>1. Adjust the data size.</td></tr></table>
<table><tr><th>op name</th><th>size</th></tr><tr><td>hcom_allReduce_1</td><td>1000</td></tr></table>
</div></div></body></html>"""

ADVISOR_ROWS = [
    ["category", "description", "suggestion", "problem count", "total_time(us)", "time ratio",
     "income(us)", "income ratio"],
    ["overall summary", "The Model E2E Time is 98071.907ms.", None, None, None, None, None, None],
    ["Memory Operator Issues", "Found 808 AscendCL@aclrtFreePhysical", "1. reduce batch size",
     808, 940626.57, 0.12, None, None],
    ["Byte Alignment Analysis", "3 operators are not aligned.", "1. align data", 3, None, None,
     None, None],
]  # fmt: skip


def advisor_workbook() -> bytes:
    """An ``mstt_advisor_*.xlsx`` with a problems sheet and two detail sheets."""
    import openpyxl

    workbook = openpyxl.Workbook()
    problems = workbook.active
    problems.title = "problems"
    for row in ADVISOR_ROWS:
        problems.append(row)
    detail = workbook.create_sheet("Memory Operator Issues")
    detail.append(["name", "count", "duration(us)"])
    detail.append(["AscendCL@aclrtFree", 808, 940626.57])
    sequences = workbook.create_sheet("基于mte瓶颈的算子序列分析")
    sequences.append(["start index", "end index", "total time(us)", "execution time(us)",
                      "mte time(us)", "occurrences", "mte bound", "host bound"])  # fmt: skip
    sequences.append([12, 15, 130.5, 120.0, 100.25, 4, True, False])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# msprof op metric CSVs (910B layout; every line ends with a comma, NA cells).
CONFLICT_CSV = (
    b"block_id,sub_block_id,aic_time(us),aic_total_cycles,aic_cube_wait_ratio,aic_mte1_wait_ratio,"
    b"aic_mte2_wait_ratio,aic_mte3_wait_ratio,aiv_time(us),aiv_total_cycles,aiv_vec_total_cflt_ratio,"
    b"aiv_vec_bankgroup_cflt_ratio,aiv_vec_bank_cflt_ratio,aiv_vec_resc_cflt_ratio,"
    b"aiv_vec_mte_cflt_ratio,aiv_vec_wait_ratio,aiv_mte2_wait_ratio,aiv_mte3_wait_ratio,\n"
    b"0,vector0,N/A,N/A,N/A,N/A,N/A,N/A,10.5,18900,0.2,0.10,0.01,0,0,0.3,0.1,0.1,\n"
    b"0,vector1,N/A,N/A,N/A,N/A,N/A,N/A,10.4,18720,0.1,0.02,0.06,0,0,0.3,0.1,0.1,\n"
    b"1,vector0,,,,,,,10.0,18000,NA,NA,NA,NA,NA,NA,NA,NA,\n"
)
MEMORY_UB_CSV = (
    b"block_id,sub_block_id,aic_time(us),aic_total_cycles,aiv_time(us),aiv_total_cycles,"
    b"aiv_ub_read_bw_vector(GB/s),aiv_ub_write_bw_vector(GB/s),aiv_ub_read_bw_scalar(GB/s),"
    b"aiv_ub_write_bw_scalar(GB/s),\n"
    b"0,vector0,N/A,N/A,12.5,22500,310.2,150.1,0.5,0.1,\n"
    b"0,vector1,N/A,N/A,12.4,22320,305.9,149.8,0.4,0.1,\n"
)
# A mix kernel's pipes: cube and vector rows with their own busy times (MSOP003).
PIPE_UTILIZATION_CSV = (
    b"block_id,sub_block_id,aic_time(us),aic_mte2_time(us),aic_mte2_ratio,aiv_time(us),"
    b"aiv_mte2_time(us),aiv_mte2_ratio,aiv_mte3_time(us),aiv_mte3_ratio,\n"
    b"0,cube0,10,8.5,0.39,NA,NA,NA,NA,NA,\n"
    b"0,vector0,NA,NA,NA,20,4,0.18,1,0.05,\n"
)
OP_BASIC_INFO_CSV = (
    b"Op Name,Op Type,Task Duration(us),Block Dim,Mix Block Dim,Device Id,Pid,Current Freq,"
    b"Rated Freq,\n"
    b"topk_custom_0,vector,155.740005,1,NA,4,1304945,1800,1800,\n"
)

# ubscope's own files.
CONFIG_YAML = b"""select: [UB, ALN, FRG0]
ignore: [GM004]
fail_on: warning
chip: Ascend910B2
thresholds:
  FRG001: {max_external: 0.4}
"""
CONFIG_TOML = b"""[project]
name = "kernels"

[tool.ubscope]
select = ["UB", "ALN"]
ignore = ["GM004"]
fail_on = "error"

[tool.ubscope.thresholds.FRG001]
max_external = 0.4
"""
BUDGETS_YAML = b"""tolerance:
  default: 2%
  peak_bytes.UB: 1%
  gm.read_bytes: 4 KiB
default:
  peak_bytes: {UB: 184 KiB}
  findings: {error: 0}
kernels:
  "pool_demo*":
    peak_bytes: {UB: 160 KiB, L1: 512 KiB}
    gm: {read_bytes: 64 MiB, write_bytes: 16 MiB, ratio_to_minimum: 1.2}
    fragmentation: {max_external: 0.3, failed_allocs_with_enough_free: 0}
    findings: {error: 0, ALN: 0, UB001: 0}
"""
YAML_BOMB = b"""a: &a [x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
kernels: &k {"*": {peak_bytes: *h}}
"""
