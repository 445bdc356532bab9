"""detect_vendor_input: which reader a path needs."""

from __future__ import annotations

import pytest

from tests.helpers.msadvisor_inputs import HTML, RESULT, ROWS, advisor_workbook
from ubscope.analyzers.vendor.registry import detect_vendor_input, readers


@pytest.mark.parametrize(
    ("relative", "kind"),
    [
        ("mssanitizer_doc_examples/illegal_write_ub.txt", "sanitizer"),
        ("mssanitizer_doc_examples/triton_session_with_banner.txt", "sanitizer"),
        ("torch_npu_level1_rank0", "torch_npu"),
        ("torch_npu_level1_rank0/memory_record.csv", "torch_npu"),
        ("torch_npu_level1_rank0/trace_view.SUBSET.json", "torch_npu"),
        ("msprof_summary_transcribed", "torch_npu"),
        ("msopprof_doc_examples", "msprof_op"),
        ("msopprof_doc_examples/OpBasicInfo_example.csv", "msprof_op"),
        ("torch_npu_level1_rank0/profiler_info_0.json", None),
        ("README.md", None),
        ("does/not/exist", None),
    ],
)
def test_real_samples(vendor_samples, relative, kind):
    assert detect_vendor_input(vendor_samples / relative) == kind


def test_synthetic(write, tmp_path):
    import json

    assert detect_vendor_input(write("r/x.json", json.dumps([RESULT]))) == "msadvisor"
    assert detect_vendor_input(write("r/a.html", HTML)) == "msadvisor"
    assert detect_vendor_input(write("r/b.html", "<html></html>")) is None
    assert (
        detect_vendor_input(write("r/any.csv", "block_id,sub_block_id,aiv_time(us),\n"))
        == "msprof_op"
    )
    assert detect_vendor_input(write("r/other.csv", "a,b\n")) is None
    (tmp_path / "OPPROF_20240101_X").mkdir()
    assert detect_vendor_input(tmp_path / "OPPROF_20240101_X") == "msprof_op"
    (tmp_path / "w_ascend_pt").mkdir()
    assert detect_vendor_input(tmp_path / "w_ascend_pt") == "torch_npu"
    assert detect_vendor_input(write("r/garbage.bin", b"\x00\xff" * 100)) is None


def test_advisor_workbook(tmp_path):
    pytest.importorskip("openpyxl")
    assert (
        detect_vendor_input(advisor_workbook(tmp_path / "mstt_advisor_1.xlsx", rows=ROWS))
        == "msadvisor"
    )
    assert detect_vendor_input(advisor_workbook(tmp_path / "other.xlsx", sheet="data")) is None


def test_the_advisors_output_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mstt_advisor_20240101120000.html").write_text("<html></html>")
    assert detect_vendor_input(tmp_path / "out") == "msadvisor"
    # a profiler folder the advisor wrote its report into stays profiler output
    rank = tmp_path / "w0_ascend_pt"
    (rank / "ASCEND_PROFILER_OUTPUT").mkdir(parents=True)
    (rank / "mstt_advisor_20240101120000.html").write_text("<html></html>")
    assert detect_vendor_input(rank) == "torch_npu"


def test_reader_keys_are_rule_input_kinds():
    from ubscope.analyzers.rules.base import input_kinds

    assert set(readers()) <= set(input_kinds())
