"""Fuzzing the readers of Huawei tool output: msadvisor result JSON,
msprof-analyze advisor HTML and xlsx, msSanitizer logs, msprof op CSVs,
torch_npu CSVs and trace_view.json.

Allowed outcomes: a VendorReport (which the rules then analyze and every
output format renders) or a one-line UbscopeError naming the input.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from . import seeds
from .fuzzkit import (
    PROFILE,
    fuzz,
    hostile_bytes,
    line_boundaries,
    mutated_json,
    read_then_analyze,
    scratch,
    write_input,
)

SANITIZER_LOGS = (
    "illegal_write_ub.txt",
    "leak_check.txt",
    "racecheck_raw_hazard.txt",
    "unused_memory.txt",
    "synccheck_unpaired_set_flag.txt",
    "inter_thread_out_of_bounds.txt",
    "triton_session_with_banner.txt",
)
# torch_npu file name -> sample it is seeded from
TORCH_FILES = {
    "memory_record.csv": "torch_npu_level1_rank0/memory_record.csv",
    "operator_memory.csv": "torch_npu_level1_rank0/operator_memory.csv",
    "npu_module_mem.csv": "torch_npu_old_format_rank0/npu_module_mem.csv",
    "kernel_details.csv": "mstt_advisor_fixtures/kernel_details.csv",
    "op_statistic.csv": "torch_npu_level1_rank0/op_statistic.csv",
    "memory_record_20240101.csv": "msprof_summary_transcribed/memory_record_example.csv",
    "operator_memory_20240101.csv": "msprof_summary_transcribed/operator_memory_example.csv",
    "npu_mem_20240101.csv": "msprof_summary_transcribed/npu_mem_example.csv",
    "hbm_20240101.csv": "msprof_summary_transcribed/hbm_example.csv",
}
TORCH_DIR = "rank0_ascend_pt/ASCEND_PROFILER_OUTPUT"


@fuzz()
@given(
    content=hostile_bytes(seeds.ADVISOR_JSON_SEEDS)
    | mutated_json([seeds.ADVISOR_RESULT, [seeds.ADVISOR_RESULT, seeds.ADVISOR_ODD_KEYS]])
)
def test_msadvisor_json(worker, content):
    with scratch() as folder:
        path = write_input(folder, "recommendation/20240101_1234.json", content)
        read_then_analyze(worker, "msadvisor result JSON", "msadvisor", path)


@fuzz()
@given(content=hostile_bytes([seeds.ADVISOR_HTML]))
def test_advisor_html(worker, content):
    with scratch() as folder:
        path = write_input(folder, "mstt_advisor_20240101120000.html", content)
        read_then_analyze(worker, "advisor HTML", "msadvisor", path)


@pytest.fixture(scope="session")
def workbook() -> bytes:
    pytest.importorskip("openpyxl", reason="the xlsx reader needs the optional openpyxl")
    return seeds.advisor_workbook()


CELLS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from(
        [
            "=cmd|' /C calc'!A0",
            "=1/0",
            "#DIV/0!",
            "<script>alert(1)</script>",
            "[bold red]x[/]",
            "a\nb",
            "x" * 3000,
            "",
            "问题综述",
        ]
    ),
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=20),  # as openpyxl allows
)


@fuzz(weight=0.4)
@given(
    mode=st.sampled_from(["bytes", "cells"]),
    data=st.data(),
)
def test_advisor_xlsx(worker, workbook, mode, data):
    """Corrupt archives, and valid workbooks whose cells hold formulas, NaN,
    huge numbers and markup."""
    if mode == "bytes":
        content = data.draw(hostile_bytes([workbook]))
    else:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(workbook))
        sheet = book[data.draw(st.sampled_from(book.sheetnames))]
        for _ in range(data.draw(st.integers(1, 12))):
            row, column = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 10))
            sheet.cell(row=row, column=column, value=data.draw(CELLS))
        buffer = io.BytesIO()
        book.save(buffer)
        content = buffer.getvalue()
    with scratch() as folder:
        path = write_input(folder, "log/mstt_advisor_20240101120000.xlsx", content)
        read_then_analyze(worker, "advisor xlsx", "msadvisor", path)


@pytest.fixture(scope="session")
def sanitizer_logs(vendor_samples) -> list[bytes]:
    return [
        (vendor_samples / "mssanitizer_doc_examples" / name).read_bytes() for name in SANITIZER_LOGS
    ]


@fuzz()
@given(data=st.data())
def test_sanitizer_log(worker, sanitizer_logs, data):
    content = data.draw(hostile_bytes(sanitizer_logs))
    with scratch() as folder:
        path = write_input(folder, "mssanitizer.log", content)
        read_then_analyze(worker, "msSanitizer log", "sanitizer", path)


MSPROF_FILES = {
    "ResourceConflictRatio.csv": seeds.CONFLICT_CSV,
    "MemoryUB.csv": seeds.MEMORY_UB_CSV,
    "PipeUtilization.csv": seeds.PIPE_UTILIZATION_CSV,
    "OpBasicInfo.csv": seeds.OP_BASIC_INFO_CSV,
}


@fuzz()
@given(
    name=st.sampled_from(sorted(MSPROF_FILES)),
    in_folder=st.booleans(),
    data=st.data(),
)
def test_msprof_op_csv(worker, name, in_folder, data):
    """One metric CSV alone, or mutated inside an OPPROF folder of good ones."""
    content = data.draw(hostile_bytes([MSPROF_FILES[name]]))
    with scratch() as folder:
        path = write_input(folder, f"OPPROF_20240101_ABC/{name}", content)
        if in_folder:
            for other, good in MSPROF_FILES.items():
                if other != name:
                    write_input(folder, f"OPPROF_20240101_ABC/{other}", good)
            path = path.parent
        read_then_analyze(worker, "msprof op CSV", "msprof_op", path)


@pytest.fixture(scope="session")
def torch_files(vendor_samples) -> dict[str, bytes]:
    return {name: (vendor_samples / sample).read_bytes() for name, sample in TORCH_FILES.items()}


@fuzz()
@given(name=st.sampled_from(sorted(TORCH_FILES)), in_folder=st.booleans(), data=st.data())
def test_torch_npu_csv(worker, torch_files, name, in_folder, data):
    """One profiler CSV alone, or mutated inside a profiler folder of good ones."""
    content = data.draw(hostile_bytes([torch_files[name]]))
    with scratch() as folder:
        path = write_input(folder, f"{TORCH_DIR}/{name}", content)
        if in_folder:
            for other in ("memory_record.csv", "operator_memory.csv", "op_statistic.csv"):
                if other != name:
                    write_input(folder, f"{TORCH_DIR}/{other}", torch_files[other])
            path = folder / TORCH_DIR.split("/")[0]
        read_then_analyze(worker, "torch_npu CSV", "torch_npu", path)


@pytest.fixture(scope="session")
def trace_view(vendor_samples) -> bytes:
    return (vendor_samples / "torch_npu_level1_rank0" / "trace_view.SUBSET.json").read_bytes()


@fuzz()
@given(data=st.data())
def test_torch_npu_trace_view(worker, trace_view, data):
    events = json.loads(trace_view)
    head = events[:40]
    content = data.draw(hostile_bytes([trace_view]) | mutated_json([head, {"traceEvents": head}]))
    with scratch() as folder:
        path = write_input(folder, f"{TORCH_DIR}/trace_view.json", content)
        read_then_analyze(worker, "torch_npu trace_view.json", "torch_npu", path)


def _line_cut_cases() -> list[tuple[str, str, str]]:
    cases = [
        (f"mssanitizer_doc_examples/{name}", "report.log", "sanitizer") for name in SANITIZER_LOGS
    ]
    cases += [(sample, f"{TORCH_DIR}/{name}", "torch_npu") for name, sample in TORCH_FILES.items()]
    cases += [
        (
            "torch_npu_level1_rank0/trace_view.SUBSET.json",
            f"{TORCH_DIR}/trace_view.json",
            "torch_npu",
        ),
        ("msopprof_doc_examples/OpBasicInfo_example.csv", "OpBasicInfo.csv", "msprof_op"),
    ]
    return cases


@pytest.mark.parametrize(
    ("sample", "name", "kind"),
    _line_cut_cases(),
    ids=[case[0].split("/")[-1] for case in _line_cut_cases()],
)
def test_truncation_at_line_boundaries(worker, vendor_samples, tmp_path, sample, name, kind):
    """Every real sample cut just before, at and after line ends (40 cuts per
    file, 500 in the long profile): a report of the complete part or a
    one-line error."""
    data = (vendor_samples / sample).read_bytes()
    cuts = line_boundaries(data, limit=500 if PROFILE == "long" else 40)
    for cut in cuts:
        path = write_input(tmp_path / str(cut), name, data[:cut])
        read_then_analyze(worker, f"{kind} (cut at line boundaries)", kind, path)


@pytest.mark.parametrize("block_id", ["0\\", "x", "1e400", "-inf", "99999999999999999999999"])
def test_msprof_op_block_ids_that_are_not_integers(worker, tmp_path, block_id):
    """A conflict-heavy row whose block_id cell is not an integer (found by the
    long profile: the MSOP rules turned it into a ValueError)."""
    header = seeds.CONFLICT_CSV.split(b"\n", 1)[0]
    row = f"{block_id},vector0,N/A,N/A,N/A,N/A,N/A,N/A,10.5,18900" + ",0.9" * 8 + ","
    path = write_input(tmp_path, "ResourceConflictRatio.csv", header + b"\n" + row.encode() + b"\n")
    read_then_analyze(worker, "msprof op CSV", "msprof_op", path)


@pytest.mark.parametrize(
    "line", ["9" * 5000, "\u00b2", "\u0663"], ids=["5000-digits", "superscript-2", "arabic-3"]
)
def test_sanitizer_frame_line_numbers_that_int_rejects(worker, tmp_path, line):
    """A stack frame whose line number is digits int() refuses (found by the
    long profile: the SARIF output raised ValueError)."""
    log = (
        "====== ERROR: illegal write of size 768\n"
        '======    at 0x0 on UB in "demo(unsigned char*)"\n'
        "======    in block aiv(0) on device 0\n"
        "======    code in pc current 0x65c (serialNo:12)\n"
        f"======    #0 /path/to/memcheck.asc:{line}\n"
    )
    path = write_input(tmp_path, "mssanitizer.log", log.encode())
    read_then_analyze(worker, "msSanitizer log", "sanitizer", path)
