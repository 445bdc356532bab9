"""Advisor readers: old msadvisor result JSON, msprof-analyze advisor xlsx and HTML.

No real advisor output is public, so the fixtures are built (here and in
tests/helpers/msadvisor_inputs.py) from the documented structure
(vendor_formats.md §1).
"""

from __future__ import annotations

import json
import sys
import zipfile

import numpy as np
import pytest

from tests.helpers.msadvisor_inputs import HTML, RESULT, ROWS, advisor_workbook
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.vendor.msadvisor.reader import read_msadvisor
from ubscope.probe.errors import PartialReadWarning, VendorFormatError

# The self-test report's spellings: trailing spaces, snake case, rows flattened.
ODD_SPELLING = {
    "classType": "0",
    "error_code ": "0",
    "summary": "310P API operations need to be optimized",
    "extend_result": [
        {
            "type": "1",
            "extend_title ": "",
            "data_type": ["0", "0"],
            "key": ["Op Name", "Optimization Suggestion"],
            "value": ["ACL_VENC_THREAD_ID_UINT64", "Recall Thread ID", "ACL_X", "Use Y"],
        }
    ],
}
MISS = {"classType": "1", "errorCode": "1", "summary": "no problem", "extendResult": []}


def _json(write, data) -> object:
    return read_msadvisor(write("result.json", json.dumps(data, ensure_ascii=False)))


def test_single_result(write):
    report = _json(write, RESULT)
    (finding,) = report.findings
    assert (finding.code, finding.severity, finding.source) == (
        "ADV001",
        Severity.WARNING,
        "msadvisor",
    )
    assert finding.message == "Memory-bound operators found"
    table = finding.evidence["sections"][0]
    assert table["columns"] == ["Op Name", "Bandwidth Usage"] and table["rows"][1] == [
        "Mul_2",
        "0.88",
    ]
    assert finding.evidence["class_type"] == "op" and finding.suggestion == ""
    details = report.tables["details"]
    assert details[details["column"] == "Op Name"]["value"].tolist() == ["Add_1", "Mul_2"]
    assert details[details["title"] == "Notes"]["value"].tolist() == ["check tiling"]


def test_odd_spellings_and_flattened_rows(write):
    (finding,) = _json(write, ODD_SPELLING).findings
    assert finding.suggestion == "Recall Thread ID\nUse Y"
    assert finding.evidence["sections"][0]["rows"] == [
        ["ACL_VENC_THREAD_ID_UINT64", "Recall Thread ID"],
        ["ACL_X", "Use Y"],
    ]


def test_list_and_unknown_wrapper(write):
    report = _json(write, [RESULT, MISS])
    assert len(report.findings) == 1 and report.tables["results"]["problem"].tolist() == [
        True,
        False,
    ]
    wrapped = {
        "recommendation": {
            "model_list": [{"model_name": "memory_bound", "result": [MISS, ODD_SPELLING]}]
        }
    }
    report = _json(write, wrapped)
    assert report.tables["results"]["knowledge_base"].tolist() == ["memory_bound", "memory_bound"]
    assert [f.evidence["knowledge_base"] for f in report.findings] == ["memory_bound"]


def _result(error_code: str, summary: str, rows: list[list[str]]) -> dict:
    return {
        "classType": "1",
        "errorCode": error_code,
        "summary": summary,
        "extendResult": [
            {"type": "1", "extendTitle": "", "key": ["Name", "Suggestion"], "value": rows}
        ]
        if rows
        else [],
    }


@pytest.mark.parametrize(
    ("error_code", "summary", "rows", "finding"),
    [
        # the API-optimisation base: "0" means a problem was found
        ("0", "310P API operations need to be optimized", [["ACL_X", "Use Y"]], True),
        # the running-environment base writes "1" beside a recommended change
        ("1", "Environment variables can be set better", [["HCCL_BUFFSIZE", "set to 200"]], True),
        ("1", "It is recommended to enable the operator compile cache", [], True),
        # "0" with nothing listed and nothing recommended asks for nothing
        ("0", "No problem found.", [], False),
        ("1", "no problem", [], False),
        ("0", "无需优化", [], False),
    ],
    ids=["api-base", "env-base-rows", "env-base-summary", "zero-nothing", "miss", "cn-nothing"],
)
def test_problem_is_decided_by_content_not_error_code(write, error_code, summary, rows, finding):
    report = _json(write, _result(error_code, summary, rows))
    assert (len(report.findings) == 1) is finding
    assert report.tables["results"][["error_code", "problem"]].values.tolist() == [
        [error_code, finding]
    ]


def test_raw_newline_inside_a_string_is_read_with_a_warning(write):
    # json.dumps escapes newlines; this puts a raw one inside the summary string.
    pasted = json.dumps(RESULT).replace("Memory-bound operators", "Memory-bound\n operators")
    with pytest.warns(PartialReadWarning, match="read non-strictly"):
        report = read_msadvisor(write("result.json", pasted))
    (finding,) = report.findings
    assert finding.message == "Memory-bound\n operators found" and report.warnings


def test_integer_error_code(write):
    assert len(_json(write, dict(RESULT, errorCode=0)).findings) == 1


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe{}",
        json.dumps({"a": [1, 2]}).encode(),
        b"[" * 5000 + b"]" * 5000,
        b"null",
    ],
    ids=["empty", "truncated", "not-utf8", "no-results", "deep", "null"],
)
def test_bad_json(write, content):
    with pytest.raises(VendorFormatError, match="result.json: expected"):
        read_msadvisor(write("result.json", content))


def test_result_deeper_than_the_search_bound_is_not_found(write):
    data = RESULT
    for _ in range(20):
        data = {"wrap": data}
    with pytest.raises(VendorFormatError, match="found none"):
        _json(write, data)


def test_advisor_workbook(tmp_path):
    report = read_msadvisor(
        advisor_workbook(tmp_path / "mstt_advisor_20240101120000.xlsx", rows=ROWS)
    )
    assert report.tool == "msprof-analyze advisor"
    assert [f.code for f in report.findings] == ["ADV009", "ADV002", "ADV003", "ADV009"]
    assert [f.severity for f in report.findings] == [Severity.INFO] + [Severity.WARNING] * 3
    memory = report.findings[1]
    assert memory.source == "msprof-analyze advisor" and memory.message.startswith(
        "Memory Operator Issues: Found 808"
    )
    assert memory.evidence["problem_count"] == 808 and memory.evidence["total_time_us"] == 940626.57
    assert memory.suggestion.startswith("1. For AscendCL@aclrtFreePhysical")
    assert report.tables["Memory Operator Issues"]["count"].tolist() == [808]
    assert report.tables["problems"]["time_ratio"].tolist()[1] == 0.12


def test_problem_numbers_that_are_text_warn_and_percentages_read(tmp_path, quiet):
    # a count that is text, a time that is N/A (missing, no word), a ratio
    # written as a percentage (12.5% is 0.125) and one that is not a number
    rows = [
        ["Memory Operator Issues", "Found 8 frees.", None, "eight", "N/A", "12.5%", None, "nan"],
        ["Byte Alignment Analysis", "3 unaligned.", None, 3, 10.0, "high", 2.0, " 50 % "],
    ]
    path = advisor_workbook(tmp_path / "a.xlsx", rows=rows)
    report = read_msadvisor(path)
    assert report.warnings == [
        f"{path}: sheet 'problems': column 'problem count': 1 cell is not a number "
        "(data row 1: 'eight'), read as missing",
        f"{path}: sheet 'problems': column 'time ratio': 1 cell is not a number "
        "(data row 2: 'high'), read as missing",
    ]
    problems = report.tables["problems"]
    assert problems["problem_count"].isna().tolist() == [True, False]
    assert problems["total_time_us"].isna().tolist() == [True, False]
    assert problems["time_ratio"].tolist()[0] == 0.125 and np.isnan(problems["time_ratio"][1])
    assert problems["income_ratio"].isna().tolist()[0] and problems["income_ratio"][1] == 0.5


def test_the_advisors_output_folder_gives_its_workbook(tmp_path):
    # msprof-analyze advisor -o OUT writes OUT/mstt_advisor_<ts>.html and
    # OUT/log/mstt_advisor_<ts>.xlsx: the folder is read through the workbook,
    # which has the detail sheets the page lacks
    (tmp_path / "mstt_advisor_20240101120000.html").write_text(HTML, encoding="utf-8")
    (tmp_path / "log").mkdir()
    advisor_workbook(tmp_path / "log" / "mstt_advisor_20240101120000.xlsx", rows=ROWS)
    report = read_msadvisor(tmp_path)
    assert report.path == str(tmp_path / "log" / "mstt_advisor_20240101120000.xlsx")
    assert [f.code for f in report.findings] == ["ADV009", "ADV002", "ADV003", "ADV009"]
    assert "Memory Operator Issues" in report.tables and report.warnings == []


def test_a_folder_of_several_advisor_runs_reads_the_newest(tmp_path, quiet):
    # the page of the later run (2024-01-02) against the workbook of the earlier one
    advisor_workbook(tmp_path / "mstt_advisor_20240101120000.xlsx", rows=ROWS)
    (tmp_path / "mstt_advisor_20240102090000.html").write_text(HTML, encoding="utf-8")
    report = read_msadvisor(tmp_path)
    assert report.path == str(tmp_path / "mstt_advisor_20240102090000.html")
    assert [f.code for f in report.findings] == ["ADV002", "ADV003"]
    assert report.warnings == [
        f"{tmp_path}: holds the reports of 2 advisor runs; read the newest, "
        "mstt_advisor_20240102090000.html"
    ]


def test_a_folder_without_advisor_output_is_refused(tmp_path):
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "advisor.log").write_text("started\n")
    # a folder under a report's name (here a link back to the folder) is no report
    (tmp_path / "mstt_advisor_20240101120000.html").symlink_to(tmp_path)
    with pytest.raises(VendorFormatError, match="found none in the folder"):
        read_msadvisor(tmp_path)


def test_chinese_advisor_workbook(tmp_path):
    header = ["类型", "描述", "建议", "问题数量", "总耗时(us)", "耗时占比", "收益(us)", "收益占比"]
    rows = [
        [
            "字节对齐分析",
            "3个通信算子的数据大小未对齐",
            "1. 调整数据大小",
            3,
            None,
            None,
            None,
            None,
        ]
    ]
    report = read_msadvisor(
        advisor_workbook(tmp_path / "a.xlsx", sheet="问题综述", header=header, rows=rows)
    )
    assert [f.code for f in report.findings] == ["ADV003"]


def test_empty_cells_are_absent_not_nan(tmp_path):
    """The advisor writes empty suggestion cells as nothing or as the text "nan"."""
    rows = [
        ["AI Core Frequency", "15 operators are slowed down.", "nan", 15, "nan", None, None, None],
        ["Block Dim Issues", "2 operators use few cores.", None, 2, None, None, None, None],
        ["Operator Dispatch Issues", "nan", "", None, None, None, None, None],
    ]
    report = read_msadvisor(advisor_workbook(tmp_path / "a.xlsx", rows=rows))
    assert [f.suggestion for f in report.findings] == ["", "", ""]
    assert report.findings[2].message == "Operator Dispatch Issues"
    assert "total_time_us" not in report.findings[0].evidence
    assert not any("nan" in str(value) for f in report.findings for value in f.evidence.values())


def test_categories_are_classified_by_meaning(tmp_path):
    categories = [
        ("Kernel compare of Rank0 and Rank1", "ADV009", Severity.INFO),
        ("Api compare", "ADV009", Severity.INFO),
        # host-dispatch advice: not an operator bound by a pipe
        ("Fusible Operator Analysis", "ADV009", Severity.WARNING),
        ("可融合算子分析", "ADV009", Severity.WARNING),
        ("Operator No Bound Issues", "ADV005", Severity.WARNING),
        ("AI Core Performance Analysis", "ADV005", Severity.WARNING),
        ("Memory Operator Issues", "ADV002", Severity.WARNING),
    ]
    rows = [[name, "text", None, 1, None, None, None, None] for name, _, _ in categories]
    report = read_msadvisor(advisor_workbook(tmp_path / "a.xlsx", rows=rows))
    assert [(f.code, f.severity) for f in report.findings] == [(c, s) for _, c, s in categories]


SEQUENCE_HEADER = [
    "start index",
    "end index",
    "total time(us)",
    "execution time(us)",
    "mte time(us)",
    "occurrences",
    "mte bound",
    "host bound",
]


def test_mte_bound_operator_sequences_become_findings(tmp_path):
    details = {
        "基于mte瓶颈的算子序列分析": [
            SEQUENCE_HEADER,
            [12, 15, 130.5, 120.0, 100.25, 4, True, False],
            [40, 41, 20, 18, 15, 2, True, True],
        ],
        "基于host瓶颈的算子序列分析": [SEQUENCE_HEADER, [3, 9, 500, 50, 10, 8, False, True]],
        "MTE sequences named": [
            ["op name", "start index", "end index", "mte time(us)"],
            ["MatMul_3", 7, 7, 88],
        ],
    }
    rows = [["Fusible Operator Analysis", "2 sequences", None, 2, None, None, None, None]]
    report = read_msadvisor(advisor_workbook(tmp_path / "a.xlsx", rows=rows, details=details))
    fusible, first, second, named = report.findings
    assert (fusible.code, first.code, second.code, named.code) == (
        "ADV009",
        "ADV005",
        "ADV005",
        "ADV005",
    )
    assert first.message == (
        "MTE-bound operator sequence: operators 12-15 of kernel_details.csv "
        "(MTE 100.25 µs, execution 120 µs)"
    )
    assert (
        first.evidence["occurrences"] == "4"
        and first.evidence["sheet"] == "基于mte瓶颈的算子序列分析"
    )
    assert named.message == "MTE-bound operator sequence: MatMul_3 (MTE 88 µs)"
    assert named.location.kernel == "MatMul_3" and first.location.kernel is None
    assert len(report.tables["基于host瓶颈的算子序列分析"]) == 1  # kept, no findings


def test_workbook_without_problem_sheet(tmp_path):
    with pytest.raises(VendorFormatError, match="'problems' or '问题综述' sheet"):
        read_msadvisor(advisor_workbook(tmp_path / "a.xlsx", sheet="other"))


def test_workbook_with_wrong_header(tmp_path):
    with pytest.raises(VendorFormatError, match="category/description"):
        read_msadvisor(advisor_workbook(tmp_path / "a.xlsx", header=["x", "y"]))


@pytest.mark.parametrize(
    "content", [b"", b"PK\x03\x04garbage", b"not a zip at all"], ids=["empty", "bad-zip", "text"]
)
def test_bad_advisor_workbook(write, content):
    with pytest.raises(VendorFormatError, match="a.xlsx: expected"):
        read_msadvisor(write("a.xlsx", content))


def test_truncated_advisor_workbook(tmp_path):
    path = advisor_workbook(tmp_path / "a.xlsx", rows=ROWS)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VendorFormatError, match="expected an msprof-analyze advisor workbook"):
        read_msadvisor(path)


def test_workbooks_are_read_without_openpyxl(tmp_path, monkeypatch):
    """The xlsx reader is the standard library's zip + expat: openpyxl only writes the fixture."""
    path = advisor_workbook(tmp_path / "a.xlsx", rows=ROWS)
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    report = read_msadvisor(path)
    assert report.tables["problems"]["problem_count"].tolist()[1] == 808


def test_advisor_html(write):
    report = read_msadvisor(write("mstt_advisor_20240101120000.html", HTML))
    memory, alignment = report.findings
    assert (memory.code, memory.severity) == ("ADV002", Severity.WARNING)
    assert memory.message == (
        "Memory Operator Issues: Found 808 AscendCL@aclrtFreePhysical, cost 940626.57 us, "
        "which will lead to large amount of free time."
    )
    assert memory.suggestion.splitlines() == [
        "1. For AscendCL@aclrtFreePhysical: Please check HBM-Usage & reduce batch size.",
        "2. For AscendCL@aclMallocMemInner: export PYTORCH_NPU_ALLOC_CONF=expandable_segments:True",
    ]
    assert memory.evidence["priority"] == "high" and memory.evidence["group"] == "memory"
    assert memory.evidence["rank"] == "3"
    assert (alignment.code, alignment.severity, alignment.evidence["priority"]) == (
        "ADV003",
        Severity.INFO,
        "low",
    )
    assert alignment.evidence["details"][0]["rows"] == [["hcom_allReduce_1", "1000"]]
    assert report.tables["problems"]["category"].tolist() == [
        "Memory Operator Issues",
        "Byte Alignment Analysis",
    ]


@pytest.mark.parametrize(
    "content",
    [b"", b"<html><body><h2>plain</h2></body></html>", b"\xff\xfe<html>", b"\x00\x01" * 500],
    ids=["empty", "no-sections", "not-utf8", "binary"],
)
def test_bad_html(write, content):
    with pytest.raises(VendorFormatError, match="a.html: expected an msprof-analyze advisor HTML"):
        read_msadvisor(write("a.html", content))


def test_truncated_html_keeps_complete_sections(write):
    report = read_msadvisor(write("a.html", HTML[: HTML.index("Byte Alignment") + 40]))
    assert report.findings[0].code == "ADV002"


def test_html_markup_left_open_is_refused(write):
    """An unclosed comment over 16 MiB is an error, not a buffer that grows with the file."""
    path = write("mstt_advisor_0.html", "<html><!-- " + "x" * (17 << 20))
    with pytest.raises(VendorFormatError, match="markup left open for over 16 MiB"):
        read_msadvisor(path)


def test_xlsx_with_a_document_type_declaration_is_refused(tmp_path):
    """No XML entity is ever expanded: a DTD in any part is refused."""
    path = advisor_workbook(tmp_path / "a.xlsx", rows=ROWS)
    patched = tmp_path / "dtd.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(patched, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<worksheet", b'<!DOCTYPE w [<!ENTITY a "aaaa">]><worksheet', 1
                )
            target.writestr(info, data)
    with pytest.raises(VendorFormatError, match=r"sheet1\.xml is not valid XML \(a document type"):
        read_msadvisor(patched)


def test_mte_sequences_are_correlated_with_a_trace_by_operator(tmp_path):
    """A named sequence of one operator is a kernel the trace can hold or not."""
    from ubscope.analyzers.api import analyze_path
    from ubscope.kernels.catalog import get_kernel
    from ubscope.kernels.registry import run_kernel
    from ubscope.probe.chip import load_chip

    spec = get_kernel("pool_demo")
    trace = tmp_path / "pool.ubtrace"
    run_kernel(
        spec, spec.resolve(overrides={"n": 1 << 12, "tile": 1024, "cores": 1}), load_chip(), trace
    )
    details = {
        "基于mte瓶颈的算子序列分析": [
            ["op name", "start index", "end index", "mte time(us)"],
            ["other_kernel", 3, 3, 50],
            [None, 4, 9, 70],
        ]
    }
    workbook = advisor_workbook(tmp_path / "a.xlsx", rows=[], details=details)
    analysis = analyze_path(trace, msadvisor=workbook)
    sequences = {f.location.kernel: f for f in analysis.findings if f.code == "ADV005"}
    assert sequences["other_kernel"].correlations == [
        "not explained by the trace: kernel 'other_kernel' is not in it"
    ]
    # rows 4-9 of kernel_details.csv name no kernel: the trace's MTE-heavy
    # findings (GM003 traffic, ALN004 copies) may explain it
    assert any(note.startswith("explained by GM003") for note in sequences[None].correlations)
