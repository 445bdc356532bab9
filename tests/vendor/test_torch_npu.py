"""torch_npu profiler reader: real exports, msprof summaries, quirks, scale."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.peak_memory import child_script
from tests.helpers.vendor_csv import OPERATOR_HEADER, RECORD_HEADER
from ubscope.analyzers.vendor.torch_npu.memory import LIFETIME_EDGES_US
from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
from ubscope.probe.errors import PartialReadWarning, VendorFormatError


def _profiler_dir(tmp_path: Path, sample: Path) -> Path:
    """A real-looking <worker>_ascend_pt tree whose files link to the sample files."""
    output = tmp_path / "worker_123_ascend_pt" / "ASCEND_PROFILER_OUTPUT"
    output.mkdir(parents=True)
    for file in sample.iterdir():
        (output / file.name).symlink_to(file)
    return output.parent


def test_level1_export(vendor_samples, tmp_path):
    report = read_torch_npu(_profiler_dir(tmp_path, vendor_samples / "torch_npu_level1_rank0"))
    assert report.tool == "torch_npu" and report.findings == [] and report.warnings == []
    record = report.tables["memory_record"]
    assert set(record["component"]) == {"APP", "PTA", "GE", "PTA+GE"}
    assert len(record) == 1004
    first = record.iloc[0]
    assert (first["component"], first["ts_ns"], first["reserved_mb"]) == (
        "APP",
        1736408883573957920,
        2109.6015625,
    )
    assert pd.isna(first["allocated_mb"])
    pta = record[(record["component"] == "PTA") & (record["ts_ns"] == 1736408883694238150)].iloc[0]
    assert (pta["allocated_mb"], pta["reserved_mb"], pta["device"]) == (
        935.9951171875,
        1452.0,
        "NPU:0",
    )


def test_memory_record_summary(vendor_samples):
    summary = read_torch_npu(vendor_samples / "torch_npu_level1_rank0").tables[
        "memory_record_summary"
    ]
    pta = summary.set_index("component").loc["PTA"]
    assert pta["peak_reserved_mb"] == 1452.0 and pta["rows"] == 381
    rows = pd.read_csv(vendor_samples / "torch_npu_level1_rank0" / "memory_record.csv")
    rows = rows[rows["Component"] == "PTA"]
    at_peak = rows[rows["Total Reserved(MB)"] == rows["Total Reserved(MB)"].max()]
    assert pta["allocated_at_peak_mb"] == at_peak["Total Allocated(MB)"].max()


def test_operator_memory_aggregates_match_the_file(vendor_samples):
    report = read_torch_npu(vendor_samples / "torch_npu_level1_rank0" / "operator_memory.csv")
    with open(
        vendor_samples / "torch_npu_level1_rank0" / "operator_memory.csv", newline=""
    ) as handle:
        rows = list(csv.DictReader(handle))
    by_name = report.tables["operator_memory_by_name"].set_index("name")
    unreleased = [
        r for r in rows if r["Name"] == "aten::empty_strided" and not r["Release Time(us)"].strip()
    ]
    empty_strided = by_name.loc["aten::empty_strided"]
    assert empty_strided["allocations"] - empty_strided["released"] == len(unreleased) > 0
    assert by_name["allocations"].sum() == len(rows) == 184
    assert report.tables["operator_memory_lifetimes"]["blocks"].sum() == by_name["released"].sum()
    top = report.tables["operator_memory_top"]
    convolution = top[(top["name"] == "aten::_convolution") & (top["size_kb"] == 25009.5)].iloc[0]
    assert convolution["alloc_ns"] == 1736408883702735700
    assert (
        convolution["lifetime_ns"] == 34058240 and convolution["release_ns"] == 1736408883736793940
    )
    cann = by_name.loc["cann::trans_TransData_0"]  # GE row: Active*/Stream Ptr empty
    assert (cann["allocations"], cann["released"], cann["max_kb"]) == (1, 1, 50240.0)


def test_kernel_details_op_statistic_and_trace(vendor_samples):
    report = read_torch_npu(vendor_samples / "torch_npu_level1_rank0")
    kernels = report.tables["kernel_details"]
    first = kernels.iloc[0]
    assert (first["Input Shapes"], first["Output Shapes"]) == ("32,3,224,224", "32,1,224,224,8")
    assert first["Start Time(ns)"] == 1736408883704643212 and first["Duration(us)"] == 53.741
    assert kernels.iloc[2]["Input Shapes"] == "32,1,224,224,8;121,4,16,8;64"
    statistic = report.tables["op_statistic"].set_index("OP Type")
    assert statistic.loc["ForeachAddList", "Count"] == 3
    counters = report.tables["npu_mem_counters"]
    hbm = counters[counters["name"] == "APP/HBM"].iloc[0]
    assert (hbm["ts_ns"], hbm["kb"], hbm["process"]) == (1736408883573957920, 2160232.0, "NPU MEM")
    assert set(counters["name"]) == {
        f"{s}/{m}" for s in ("APP", "Device") for m in ("DDR", "HBM", "Memory")
    }


def test_mstt_kernel_details_with_quoted_tab_timestamps(vendor_samples):
    kernels = read_torch_npu(
        vendor_samples / "mstt_advisor_fixtures" / "kernel_details.csv"
    ).tables["kernel_details"]
    assert kernels.iloc[0]["Start Time(ns)"] == 1736413971558972912
    assert kernels.iloc[0]["Input Shapes"] == "81920,4096;8192,512"


def test_old_format(vendor_samples):
    report = read_torch_npu(vendor_samples / "torch_npu_old_format_rank0")
    record = report.tables["memory_record"]
    assert record.iloc[0]["ts_ns"] == 1695115378653323500 and record["active_mb"].isna().all()
    by_name = report.tables["operator_memory_by_name"].set_index("name")
    assert by_name.loc["cann::Graph_95", "allocations"] == 4
    top = report.tables["operator_memory_top"]
    assert top.iloc[0]["lifetime_ns"] == 145450  # Duration(us) 145.45
    module = report.tables["npu_module_mem"]
    assert module[module["component"] == "HCCL"]["reserved_mb"].iloc[0] == 816.12109375


def test_msprof_summaries_in_kb(vendor_samples):
    report = read_torch_npu(vendor_samples / "msprof_summary_transcribed")
    record = report.tables["memory_record"].iloc[0]
    assert (
        record["component"],
        record["ts_ns"],
        record["allocated_mb"],
        record["reserved_mb"],
    ) == ("GE", 1717578503839575330, 128 / 1024, 610560 / 1024)
    top = report.tables["operator_memory_top"].set_index("name")
    assert (
        top.loc["Graph_88", "lifetime_ns"] == 183070
        and top.loc["Graph_88", "alloc_reserved_mb"] == 596.25
    )
    assert top.loc["Graph_88", "release_ns"] == 1717578503839575330 + 183070
    assert report.tables["npu_mem"]["timestamp(ns)"].tolist()[0] == 1709539654242981240
    assert report.tables["hbm"]["Read(MB/s)"].tolist()[0] == 9.569
    assert report.tables["llc_read_write"]["Throughput(MB/s)"].tolist()[0] == 790.528
    assert report.tables["ddr"]["Write(MB/s)"].tolist() == [93.474]
    assert report.tables["npu_module_mem"]["device"].tolist()[0] == "NPU:0"


def test_discovery(vendor_samples, tmp_path):
    root = _profiler_dir(tmp_path, vendor_samples / "torch_npu_level1_rank0")
    for path in (tmp_path, root, root / "ASCEND_PROFILER_OUTPUT"):
        assert "memory_record" in read_torch_npu(path).tables
    (tmp_path / "worker_456_ascend_pt").mkdir()
    with pytest.raises(VendorFormatError, match="found 2"):
        read_torch_npu(tmp_path)


def test_msprof_prof_dir_device_id_only(write, tmp_path):
    write(
        "run_ascend_pt/PROF_000001_20240101_ABC/mindstudio_profiler_output/memory_record_20240101.csv",
        "Device_id,Component,Timestamp(us),Total Allocated(KB),Total Reserved(KB)\n3,GE,1.5,1024,2048\n",
    )
    record = read_torch_npu(tmp_path / "run_ascend_pt").tables["memory_record"].iloc[0]
    assert (record["device"], record["ts_ns"], record["allocated_mb"], record["reserved_mb"]) == (
        "NPU:3",
        1500,
        1.0,
        2.0,
    )


def test_quirks_crlf_tabs_quotes_and_na(write, quiet):
    path = write(
        "memory_record.csv",
        RECORD_HEADER + "\r\n"
        'PTA,"1736408883694238.150\t",935.5,1452.0,935.5,1,NPU:0\r\n'
        "APP,1736408883694238.151\t,N/A,2000,NA,,NPU:0\r\n"
        "GE,not-a-time,1,2,3,,NPU:0\r\n",
    )
    report = read_torch_npu(path)
    # the cell, then what became of its row
    assert report.warnings == [
        f"{path}: column 'Timestamp(us)': 1 cell is not a number ('not-a-time'), read as missing",
        f"{path}: skipped 1 row(s) with an unreadable Timestamp(us)",
    ]
    record = report.tables["memory_record"]
    assert record["ts_ns"].tolist() == [1736408883694238150, 1736408883694238151]
    assert record["allocated_mb"].isna().tolist() == [False, True]


def test_a_size_that_is_text_is_missing_and_named_in_one_warning(write, quiet):
    # five text cells in three batches of two rows: counted over the file,
    # the first three quoted (cut at 40 characters); NA and empty are no problem
    rows = [
        "PTA,1000.000,1,10,,,NPU:0",
        "PTA,1001.000,lots,10,,,NPU:0",
        "PTA,1002.000,2,10,NA,,NPU:0",
        "PTA,1003.000,some,10,,,NPU:0",
        f"PTA,1004.000,{'x' * 50},10,,,NPU:0",
        "PTA,1005.000,?,10,,,NPU:0",
        "PTA,1006.000,??,10,,,NPU:0",
    ]
    path = write("memory_record.csv", "\n".join([RECORD_HEADER, *rows]) + "\n")
    report = read_torch_npu(path, chunk_rows=2)
    assert report.warnings == [
        f"{path}: column 'Total Allocated(MB)': 5 cells are not numbers "
        f"('lots', 'some', '{'x' * 40}', ...), read as missing"
    ]
    record = report.tables["memory_record"]
    assert record["allocated_mb"].isna().tolist() == [False, True, False, True, True, True, True]
    assert record["allocated_mb"].sum() == 3  # 1 + 2 MB
    assert record["reserved_mb"].tolist() == [10] * 7


def test_a_one_row_kernel_details_with_a_text_duration_warns(write, quiet):
    # A single row: the bad cell is its whole column, so only the reader's
    # knowledge that the profiler writes durations and PMU counters as numbers
    # (or N/A, missing without a word) keeps the column numeric and says so.
    path = write(
        "kernel_details.csv",
        "Name,Type,Start Time(us),Duration(us),Wait Time(us),Block Dim,aic_mte2_ratio\n"
        "add_0,Add,1736408883704643.212\t,fast,N/A,8,0.5x\n",
    )
    report = read_torch_npu(path)
    assert report.warnings == [
        f"{path}: column 'Duration(us)': 1 cell is not a number (data row 1: 'fast'), "
        "read as missing",
        f"{path}: column 'aic_mte2_ratio': 1 cell is not a number (data row 1: '0.5x'), "
        "read as missing",
    ]
    kernels = report.tables["kernel_details"]
    assert kernels["Duration(us)"].dtype == "float64" and kernels["Duration(us)"].isna().all()
    assert kernels["aic_mte2_ratio"].isna().all() and kernels["Wait Time(us)"].isna().all()
    assert kernels["Block Dim"].tolist() == [8]
    assert kernels["Name"].tolist() == ["add_0"]


def test_an_op_statistic_count_that_is_text_warns(write, quiet):
    path = write(
        "op_statistic.csv",
        "OP Type,Core Type,Count,Total Time(us),Min Time(us),Avg Time(us),Max Time(us),Ratio(%)\n"
        "Add,AI_VECTOR_CORE,three,30.0,9.0,10.0,11.0,100.0\n",
    )
    report = read_torch_npu(path)
    assert report.warnings == [
        f"{path}: column 'Count': 1 cell is not a number (data row 1: 'three'), read as missing"
    ]
    assert report.tables["op_statistic"]["Total Time(us)"].tolist() == [30.0]


def test_chunking_gives_the_same_tables(vendor_samples):
    whole = read_torch_npu(vendor_samples / "torch_npu_level1_rank0")
    chunked = read_torch_npu(vendor_samples / "torch_npu_level1_rank0", chunk_rows=97)
    for name in (
        "memory_record",
        "memory_record_summary",
        "operator_memory_top",
        "operator_memory_lifetimes",
    ):
        pd.testing.assert_frame_equal(
            whole.tables[name], chunked.tables[name], check_categorical=False
        )
    pd.testing.assert_frame_equal(
        whole.tables["operator_memory_by_name"].sort_values(["name", "device"], ignore_index=True),
        chunked.tables["operator_memory_by_name"].sort_values(
            ["name", "device"], ignore_index=True
        ),
    )


def test_downsampled_timeline_keeps_peaks(write, monkeypatch):
    from ubscope.analyzers.vendor.torch_npu import memory as torch_npu_memory

    monkeypatch.setattr(torch_npu_memory, "MAX_TIMELINE_ROWS", 10)
    rows = [f"PTA,{1000 + i}.000\t,{i % 7},{100 + (i == 55) * 50},,,NPU:0" for i in range(100)]
    report = read_torch_npu(write("memory_record.csv", "\n".join([RECORD_HEADER, *rows]) + "\n"))
    timeline, summary = (
        report.tables["memory_record"],
        report.tables["memory_record_summary"].iloc[0],
    )
    assert len(timeline) < 100 and timeline["reserved_mb"].max() == 150
    assert (
        summary["peak_reserved_mb"],
        summary["allocated_at_peak_mb"],
        summary["peak_reserved_ns"],
    ) == (150, 55 % 7, 1_055_000)
    assert summary["rows"] == 100


def test_lifetime_histogram_edges(write):
    rows = [
        "a,10,1000.000\t,1000.0005\t,,,,1,1,1,1,1,1,,NPU:0",  # 0.5 µs from release - alloc
        "a,10,1000.000\t,,,100.000\t,,1,1,1,,,,,NPU:0",  # Duration only: exactly 100 µs
        "b,-5,1000.000\t,1001.000\t,,1.000\t,,1,1,1,1,1,1,,NPU:0",  # negative size: not an allocation
        "b,20,1000.000\t,,,,,1,1,1,,,,,NPU:0",  # never released
    ]
    report = read_torch_npu(
        write("operator_memory.csv", "\n".join([OPERATOR_HEADER, *rows]) + "\n")
    )
    lifetimes = report.tables["operator_memory_lifetimes"]
    assert lifetimes.to_dict("records") == [
        {"name": "a", "lifetime_below_us": 1.0, "blocks": 1},
        {"name": "a", "lifetime_below_us": 200.0, "blocks": 1},
    ]
    by_name = report.tables["operator_memory_by_name"].set_index("name")
    assert by_name.loc["b", ["allocations", "released"]].tolist() == [1, 0]
    assert LIFETIME_EDGES_US[:4] == [1, 2, 5, 10] and LIFETIME_EDGES_US[-1] == 10**8


def test_truncated_trace_keeps_events(vendor_samples, write):
    text = (vendor_samples / "torch_npu_level1_rank0" / "trace_view.SUBSET.json").read_text()
    with pytest.warns(PartialReadWarning, match="stopped after"):
        report = read_torch_npu(
            write("trace_view.json", text[: text.index('"Device/HBM"', len(text) // 2)])
        )
    assert 0 < len(report.tables["npu_mem_counters"]) < 84


def test_trace_event_object_wrapper(write):
    path = write(
        "trace_view.json",
        '{"traceEvents": [{"ph": "C", "name": "APP/HBM", "pid": 1, "ts": "1.5", "args": {"KB": 2}}]}',
    )
    assert read_torch_npu(path).tables["npu_mem_counters"]["ts_ns"].tolist() == [1500]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("memory_record.csv", b""),
        ("memory_record.csv", b"\x89PNG\r\n\x1a\n\x00\x00garbage"),
        ("memory_record.csv", b"Component,Total Reserved(MB)\nAPP,1\n"),
        ("memory_record.csv", b"Component,Timestamp(us),Total Reserved(TB)\nAPP,1,1\n"),
        ("operator_memory.csv", b"Name,Size(KB)\n"),
        ("trace_view.json", b""),
        ("trace_view.json", b'{"a": 1}'),
        ("trace_view.json", b"[" * 200_000),
        ("trace_view.json", b"\xff\xfe[]"),
        ("kernel_details.csv", b"a,b\n1,2\n"),
        ("random.bin", b"\x00"),
    ],
    ids=[
        "empty",
        "binary",
        "no-timestamp",
        "bad-unit",
        "operator-header",
        "empty-json",
        "object",
        "deep",
        "not-utf8",
        "kernel-header",
        "unknown",
    ],
)
def test_bad_input(write, name, content):
    with pytest.raises(VendorFormatError, match=f"{name}: expected"):
        read_torch_npu(write(name, content))


def test_directory_without_known_files(tmp_path):
    with pytest.raises(VendorFormatError, match="found no known files"):
        read_torch_npu(tmp_path)


def test_one_bad_file_in_a_directory_is_skipped(vendor_samples, tmp_path):
    root = _profiler_dir(tmp_path, vendor_samples / "torch_npu_old_format_rank0")
    (root / "ASCEND_PROFILER_OUTPUT" / "kernel_details.csv").write_bytes(b"\x00\x01")
    with pytest.warns(PartialReadWarning, match="kernel_details.csv: skipped"):
        report = read_torch_npu(root)
    assert "memory_record" in report.tables and "kernel_details" not in report.tables


SCALE_SCRIPT = child_script(
    """
    import sys
    from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
    report = read_torch_npu(sys.argv[1])
    summary = report.tables["memory_record_summary"].set_index("component")
    by_name = report.tables["operator_memory_by_name"]
    print(int(summary.loc["PTA", "rows"]), int(by_name["allocations"].sum()),
          len(report.tables["memory_record"]), peak_rss_bytes())
    """
)


@pytest.mark.slow
def test_large_files_stay_in_bounded_memory(tmp_path):
    """~150 MB of memory_record + operator_memory: memory stays per-chunk (about 300 MB RSS)."""
    rows = 1_000_000
    line = "PTA,1736408883573957.{:03d}\t,935.9951171875,1452.0,935.9951171875,897357296,NPU:0\r\n"
    with open(tmp_path / "memory_record.csv", "w", newline="") as handle:
        handle.write(RECORD_HEADER + "\r\n")
        block = "".join(line.format(i % 1000) for i in range(10_000))
        for _ in range(rows // 10_000):
            handle.write(block)
    operator = (
        "aten::empty_strided,18816.5,1736408883694624.{:03d}\t,1736408883736793.940\t,1736408883736793.430\t,"
        "34058.240\t,34057.730\t,954.3701171875,1452.0,954.3701171875,977.6123046875,1452.0,977.6123046875,897357296,NPU:0\r\n"
    )
    with open(tmp_path / "operator_memory.csv", "w", newline="") as handle:
        handle.write(OPERATOR_HEADER + "\r\n")
        block = "".join(operator.format(i % 1000) for i in range(10_000))
        for _ in range(rows // 10_000):
            handle.write(block)
    result = subprocess.run(
        [sys.executable, "-c", SCALE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    pta_rows, allocations, timeline_rows, peak_rss = map(int, result.stdout.split())
    assert pta_rows == rows and allocations == rows
    assert timeline_rows <= 300_000
    assert peak_rss < 1 << 30


def test_trace_event_object_is_streamed_past_other_members(write):
    """Members before and after ``traceEvents`` (metadata torch_npu may add) are
    skipped one at a time; the events are read as they stream."""
    path = write(
        "trace_view.json",
        '{"displayTimeUnit": "ns", "otherData": {"a": [1, 2, {"b": "]}"}]}, "traceEvents": '
        '[{"ph": "C", "name": "APP/HBM", "pid": 1, "ts": "2.5", "args": {"KB": 4}}], "x": 1}',
    )
    assert read_torch_npu(path).tables["npu_mem_counters"]["ts_ns"].tolist() == [2500]


def test_trace_object_without_events_is_an_error(write):
    with pytest.raises(VendorFormatError, match="expected a traceEvents array"):
        read_torch_npu(write("trace_view.json", '{"displayTimeUnit": "ns"}'))


NO_MEMORY_DATA = (
    "no memory data found (looked for memory_record, operator_memory, npu_module_mem "
    "(or msprof npu_mem) CSVs and trace_view.json memory counters; found {})"
)


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"op_statistic.csv": "op_statistic.csv"}, "op_statistic.csv"),
        (
            {
                "op_statistic.csv": "op_statistic.csv",
                "memory_record.csv": None,
                "operator_memory.csv": None,
            },
            "memory_record.csv, op_statistic.csv, operator_memory.csv",
        ),
        ({"trace_view.json": "trace_view.SUBSET.json"}, "trace_view.json"),
    ],
    ids=["only-op-statistic", "empty-memory-csvs", "trace-without-counters"],
)
def test_folder_without_memory_data_says_so_in_one_line(
    vendor_samples, write, tmp_path, files, found
):
    """None is a 0-byte file: a warning beside readable files, never exit 2."""
    for name, sample in files.items():
        content = (
            (vendor_samples / "torch_npu_level1_rank0" / sample).read_bytes() if sample else b""
        )
        if name == "trace_view.json":  # keep only events that are not memory counters
            content = (
                b"["
                + b",".join(
                    line.rstrip(b",\r\n")
                    for line in content.splitlines()
                    if b'"ph": "X"' in line or b'"ph":"X"' in line
                )
                + b"]"
            )
        write(f"r_ascend_pt/ASCEND_PROFILER_OUTPUT/{name}", content)
    with pytest.warns(PartialReadWarning) as caught:
        report = read_torch_npu(tmp_path / "r_ascend_pt")
    # each 0-byte CSV is skipped with a warning of its own, then the folder's one line
    empty = sorted(name for name, sample in files.items() if sample is None)
    skipped = [str(w.message) for w in caught if "the file is empty" in str(w.message)]
    assert [Path(message.split(": ")[0]).name for message in skipped] == empty
    assert len(caught) == len(empty) + 1
    assert "no memory data found" in str(caught[-1].message)
    assert report.warnings[-1] == f"{tmp_path / 'r_ascend_pt'}: " + NO_MEMORY_DATA.format(found)
    assert sum("no memory data" in warning for warning in report.warnings) == 1


def test_folder_with_memory_data_has_no_such_warning(vendor_samples, tmp_path, recwarn):
    folder = tmp_path / "r_ascend_pt" / "ASCEND_PROFILER_OUTPUT"
    folder.mkdir(parents=True)
    for name in ("op_statistic.csv", "npu_module_mem.csv"):
        (folder / name).write_bytes((vendor_samples / "torch_npu_level1_rank0" / name).read_bytes())
    assert read_torch_npu(tmp_path / "r_ascend_pt").warnings == []


def test_summary_of_a_real_rank_from_its_csvs(vendor_samples):
    """The oracle reads the CSVs with the csv module: the caching allocator's
    (PTA) highest Total Reserved(MB), the most Total Allocated(MB) of its rows at
    that reserve, and the largest Size(KB) in operator_memory.csv."""

    folder = vendor_samples / "torch_npu_level1_rank0"
    with (folder / "memory_record.csv").open(newline="") as file:
        pta = [row for row in csv.DictReader(file) if row["Component"] == "PTA"]
    reserved = max(float(row["Total Reserved(MB)"]) for row in pta)
    allocated = max(
        float(row["Total Allocated(MB)"])
        for row in pta
        if float(row["Total Reserved(MB)"]) == reserved
    )
    with (folder / "operator_memory.csv").open(newline="") as file:
        largest = max(csv.DictReader(file), key=lambda row: float(row["Size(KB)"]))
    # 1452.0 MB, 1187.98 MB and aten::mm's 147456.5 KB in this sample: MB are MiB
    assert (reserved, round(allocated, 2), largest["Name"]) == (1452.0, 1187.98, "aten::mm")
    # 1452 MiB = 1.418 GiB, 1187.98 MiB = 1.160 GiB, 147456.5 KiB = 144.0005 MiB
    assert read_torch_npu(folder).summary == [
        "NPU:0: caching allocator (PTA) peak 1.4 GiB reserved, 1.2 GiB of it allocated; "
        "largest operator block 144.0 MiB (aten::mm)"
    ]
