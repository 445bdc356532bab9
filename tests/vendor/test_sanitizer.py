"""msSanitizer report reader: real doc examples and synthetic quirks."""

from __future__ import annotations

import time

import pytest

from ubscope.analyzers.findings import Severity
from ubscope.analyzers.vendor.sanitizer import reader as sanitizer
from ubscope.analyzers.vendor.sanitizer.reader import parse_blocks, read_sanitizer
from ubscope.probe.errors import PartialReadWarning, VendorFormatError


def _one(report):
    assert len(report.findings) == 1, report.findings
    return report.findings[0]


def test_illegal_write_on_ub(vendor_samples):
    report = read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / "illegal_write_ub.txt")
    finding = _one(report)
    assert (finding.code, finding.severity, finding.source) == (
        "SAN001",
        Severity.ERROR,
        "msSanitizer",
    )
    location = finding.location
    assert location.kernel == "bounds_write_demo(unsigned char*, unsigned char*)"
    assert (location.space, location.addr_start, location.addr_end) == ("UB", 0, 768)
    assert (location.core_kind, location.core, location.first_seq) == ("aiv", 0, None)
    assert location.file == "/path/to/sample_memcheck/memcheck.asc:33"
    assert finding.evidence["serialNo"] == 12 and finding.evidence["pc"] == "0x65c"
    assert finding.evidence["size"] == 768 and finding.evidence["device"] == 0
    assert finding.evidence["cores"] == [0] and finding.evidence["blocks"] == "aiv(0)"
    record = report.tables["records"].iloc[0]
    assert (record["kind"], record["tool"], record["serial_no"]) == (
        "illegal write",
        "memcheck",
        12,
    )


def test_first_user_frame_skips_cann_frames(vendor_samples):
    finding = _one(
        read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / "illegal_read_gm.txt")
    )
    assert finding.location.file == "illegal_read_and_write/add_custom.cpp:18"
    assert finding.location.addr_start == 0x12C0C0015000
    assert finding.location.addr_end == 0x12C0C0015000 + 224
    assert len(finding.evidence["frames"]) == 4
    sync = _one(
        read_sanitizer(
            vendor_samples / "mssanitizer_doc_examples" / "synccheck_unpaired_set_flag.txt"
        )
    )
    assert (
        sync.code == "SAN011"
        and sync.location.file == "/home/test/ascendc_test_syncall/kernel.cpp:26"
    )
    assert sync.evidence["device"] == 1 and sync.evidence["pipes"] == "PIPE_S to PIPE_MTE3"


@pytest.mark.parametrize(
    ("name", "code", "severity", "space", "address", "size", "serial"),
    [
        ("misaligned_access_ub.txt", "SAN002", Severity.ERROR, "UB", 0x6, 13, 33),
        ("inter_thread_out_of_bounds.txt", "SAN003", Severity.WARNING, "GM", 0x300000056000, 4, 16),
        (
            "initcheck_uninitialized_read.txt",
            "SAN004",
            Severity.ERROR,
            "GM",
            0x12C0C0015000,
            224,
            10,
        ),
        ("illegal_free.txt", "SAN006", Severity.ERROR, "GM", 0x124080013000, None, 63),
        ("unused_memory.txt", "SAN007", Severity.WARNING, "GM", 0x1240C0016000, 1000, 69),
        ("location_variant_file_line.txt", "SAN001", Severity.ERROR, "GM", 0x12C0C0015000, 224, 10),
        (
            "triton_session_with_banner.txt",
            "SAN001",
            Severity.ERROR,
            "GM",
            0x12C0C0053190,
            368,
            524,
        ),
    ],
)
def test_doc_examples(vendor_samples, name, code, severity, space, address, size, serial):
    finding = _one(read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / name))
    assert (finding.code, finding.severity, finding.location.space) == (code, severity, space)
    assert finding.location.addr_start == address
    assert finding.evidence.get("size") == size and finding.evidence["serialNo"] == serial


def test_leak_report_and_summary(vendor_samples):
    report = read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / "leak_check.txt")
    assert [f.code for f in report.findings] == ["SAN005", "SAN005"]
    assert [f.evidence["size"] for f in report.findings] == [100, 1000]
    assert [f.location.file for f in report.findings] == ["add_custom.cpp:14", "add_custom.cpp:15"]
    assert [f.evidence["serialNo"] for f in report.findings] == [37, 55]
    summary = report.tables["summaries"].iloc[0]
    assert (summary["kind"], summary["bytes"], summary["allocations"]) == ("leak", 1100, 2)
    unused = read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / "unused_memory.txt")
    assert unused.tables["summaries"].iloc[0][["kind", "bytes"]].tolist() == ["unused memory", 1100]


def test_race_hazard_keeps_both_accesses(vendor_samples):
    finding = _one(
        read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / "racecheck_raw_hazard.txt")
    )
    assert finding.code == "SAN010" and finding.evidence["hazard"] == "RAW"
    assert (finding.location.kernel, finding.location.space) == ("kernel_float", "GM")
    assert (finding.location.core_kind, finding.location.core) == ("aiv", 0)
    assert finding.location.file == "Racecheck/add_custom.cpp:17"
    accesses = finding.evidence["accesses"]
    assert [(a["pipe"], a["op"], a["serial_no"], a["pc"]) for a in accesses] == [
        ("PIPE_MTE2", "Write", 14, "0xa98"),
        ("PIPE_MTE3", "Read", 17, "0xad4"),
    ]
    assert accesses[1]["frames"][-1] == "Racecheck/add_custom.cpp:22:5"


def test_banner_and_user_stdout(vendor_samples):
    report = read_sanitizer(
        vendor_samples / "mssanitizer_doc_examples" / "triton_session_with_banner.txt"
    )
    assert report.tables["banners"]["text"].str.contains("logging to file").any()
    assert report.warnings == []


def test_old_spellings(write):
    report = read_sanitizer(
        write(
            "old.log",
            "====== ERROR: illegel read of size 100\n"
            "====== at 0x124040017f9c on GM\n"
            "====== code in add_custom.cpp:52\n"
            "====== WARNNING: out of bounds of size 256\n"
            "====== at 0x1240c002e000 on GM when writing data\n"
            "====== code in add_custom.cpp:84\n",
        )
    )
    read, bounds = report.findings
    assert (read.code, read.severity, read.location.file, read.evidence["size"]) == (
        "SAN001",
        Severity.ERROR,
        "add_custom.cpp:52",
        100,
    )
    assert (bounds.code, bounds.severity, bounds.location.addr_start) == (
        "SAN003",
        Severity.WARNING,
        0x1240C002E000,
    )
    assert "serialNo" not in read.evidence


def test_current_leak_format_with_blank_lines_and_crlf(write):
    text = (
        "====== ERROR: LeakCheck: detected memory leaks\n\n"
        "======    Direct leak of 32800 byte(s)\n"
        "======      at 0x124080024000 on GM by module 3\n"
        "======      allocated in <unknown> (serialNo:0)\n\n"
        "======    Direct leak of 64 byte(s)\n"
        "======      at 124080025000 on GM\n"
        "======      allocated in main.cpp:10 (serialNo:7)\n\n"
        "====== SUMMARY: 32864 byte(s) leaked in 2 allocation(s)\n"
    ).replace("\n", "\r\n")
    report = read_sanitizer(write("leak.log", text))
    first, second = report.findings
    assert (first.evidence["size"], first.evidence["module"], first.location.file) == (
        32800,
        "3",
        None,
    )
    assert (second.location.addr_start, second.location.file, second.evidence["serialNo"]) == (
        0x124080025000,
        "main.cpp:10",
        7,
    )
    assert report.tables["summaries"]["bytes"].tolist() == [32864]
    assert report.warnings == []


def test_gm_out_of_allocation_variant(write):
    report = read_sanitizer(
        write(
            "gm.log",
            "====== ERROR: illegal write of size 32 byte(s)\n"
            "======    Access to 0x12c0c0016020 on GM is 32 byte(s) after the nearest allocation at 0x12c0c0016000 of size 32 byte(s)\n"
            "======    in add_custom_kernel on device 1\n",
        )
    )
    finding = _one(report)
    assert (finding.location.addr_start, finding.location.addr_end) == (
        0x12C0C0016020,
        0x12C0C0016040,
    )
    assert finding.location.kernel == "add_custom_kernel" and finding.evidence["device"] == 1
    assert finding.evidence["allocation"] == {"base": 0x12C0C0016000, "size": 32}
    assert finding.evidence["distance"] == "32 byte(s) after"
    assert report.warnings == []


def test_illegal_free_with_trailing_space_and_blocks(write):
    report = read_sanitizer(
        write(
            "mixed.log",
            '[mssanitizer] Start memcheck sanitizer on kernel "k(int)"\n'
            "some user output ====== not a record\n"
            "====== ERROR: illegal free() \n"
            "======    at 0x124080013000 on GM\n"
            "======    code in add_custom.cpp:84 (serialNo:63)\n"
            "====== ERROR: illegal read of size 8\n"
            '======    at 0x20 on L1 in "k(int)"\n'
            "======    in block aic(2-3),aiv(0-3,7) on device 0\n"
            "======    code in pc current 0x10 (serialNo:5)\n"
            "======    #0 ${ASCEND_HOME_PATH}/x.h:1:1\n"
            "====== INFO: Vadd is using non-default mask. MaskMode: Normal, MaskHigh: 0x0, MaskLow: 0xff\n"
            "======    in kernel k on device 0\n"
            "====== ERROR: internal errors (serialNo:9)\n"
            "[mssanitizer] Sanitizer finished on kernel k. See all detected errors above.\n",
        )
    )
    free, read = report.findings
    assert free.code == "SAN006" and free.location.file == "add_custom.cpp:84"
    assert (read.location.core_kind, read.location.core, read.location.space) == ("aic", 2, "L1")
    assert read.evidence["blocks"] == "aic(2-3),aiv(0-3,7)"
    assert read.evidence["cores"] == [2, 3]
    assert read.evidence["cores_by_kind"] == {"aic": [2, 3], "aiv": [0, 1, 2, 3, 7]}
    assert read.location.file == "${ASCEND_HOME_PATH}/x.h:1"  # no user frame: the outermost one
    records = report.tables["records"]
    assert records["kind"].tolist() == [
        "illegal free",
        "illegal read",
        "non-default mask",
        "internal error",
    ]
    assert records["severity"].tolist() == ["error", "error", "info", "error"]
    assert records["cores_by_kind"].tolist()[1] == {"aic": [2, 3], "aiv": [0, 1, 2, 3, 7]}
    assert len(report.tables["banners"]) == 2


def test_racecheck_variants(write):
    report = read_sanitizer(
        write(
            "race.log",
            '====== ERROR: Potential WAW hazard detected at UB in "kern(float*)" on device 2:\n'
            "======    PIPE_V Write at WAW()+0x40 in block 3 (aiv) on device 2 at pc current 0x10 (serialNo:1)\n"
            "======    #0 kern.cpp:10:1\n"
            "======    PIPE_MTE3 Write at WAW()+0x40 in block 3 (aiv) on device 2 at pc current 0x20 (serialNo:2)\n"
            "======    #0 kern.cpp:12:1\n"
            "====== ERROR: Missing DCCI instructions detected on cross core data dependency at GM in kern on device 2:\n"
            "======    PIPE_S Write at RAW()+0x0 in block 1 (aic) on device 2 at pc current 0x30 (serialNo:3)\n"
            "====== ERROR: Sync error detected. Divergent thread(s) in block aiv(0)\n",
        )
    )
    race, dcci, sync = report.findings
    assert (race.code, race.evidence["hazard"], race.location.kernel, race.location.core) == (
        "SAN010",
        "WAW",
        "kern(float*)",
        3,
    )
    assert (
        race.evidence["device"] == 2
        and race.evidence["serialNo"] == 1
        and race.location.file == "kern.cpp:10"
    )
    assert (dcci.code, dcci.location.core_kind, dcci.location.core) == ("SAN012", "aic", 1)
    assert sync.code == "SAN011" and sync.severity == Severity.ERROR


def test_parse_blocks():
    assert parse_blocks("aiv(0-3,7),aic(1)") == {"aiv": [0, 1, 2, 3, 7], "aic": [1]}
    assert parse_blocks("aicore(0-7)") == {"aicore": list(range(8))}
    assert len(parse_blocks("aiv(0-99999999999)")["aiv"]) == sanitizer.MAX_BLOCK_INDICES
    assert parse_blocks("aiv(1--2,3)") == {"aiv": [3]}
    assert parse_blocks("aiv(x)") == {}


def test_truncated_record_is_kept_with_warning(write):
    path = write(
        "cut.log", "====== ERROR: illegal read of size 224\n======    at 0x12c0c0015000 on GM"
    )
    with pytest.warns(PartialReadWarning, match="truncated"):
        report = read_sanitizer(path)
    assert _one(report).location.addr_start == 0x12C0C0015000


def test_truncated_leak_report_warns(write):
    with pytest.warns(PartialReadWarning, match="SUMMARY"):
        read_sanitizer(
            write(
                "leak.log",
                "====== ERROR: LeakCheck: detected memory leaks\n======    Direct leak of 4 byte(s)\n======      at 0x1 on GM allocated in a.cpp:1 (serialNo:1)\n",
            )
        )


def test_non_utf8_user_output_is_partial(write):
    path = write(
        "gbk.log",
        "运行失败\n".encode("gbk")
        + b"====== ERROR: illegal read of size 4\n======    at 0x10 on UB\n======    code in a.cpp:1 (serialNo:2)\n",
    )
    with pytest.warns(PartialReadWarning, match="not UTF-8"):
        report = read_sanitizer(path)
    assert _one(report).evidence["serialNo"] == 2


def test_overlong_lines_are_skipped(write, monkeypatch):
    monkeypatch.setattr(sanitizer, "MAX_LINE_BYTES", 64)
    path = write(
        "long.log",
        "x" * 1000
        + "\n====== ERROR: illegal read of size 4\n======    at 0x10 on UB\n======    code in a.cpp:1 (serialNo:2)\n",
    )
    with pytest.warns(PartialReadWarning, match="skipped 1 line"):
        report = read_sanitizer(path)
    assert _one(report).code == "SAN001"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02\xff" * 100,
        b"hello world\nno sanitizer here\n",
        b"======garbage\n====== at 0x1 on GM\n",
    ],
    ids=["empty", "binary", "plain-text", "details-only"],
)
def test_unreadable_reports(write, content, quiet):
    with pytest.raises(VendorFormatError, match="r.log: expected an msSanitizer report"):
        read_sanitizer(write("r.log", content))


def test_missing_file(tmp_path):
    with pytest.raises(VendorFormatError, match="cannot read"):
        read_sanitizer(tmp_path / "missing.log")


@pytest.mark.parametrize(
    "line",
    [
        "====== ERROR: " + "illegal read of size " * 20000,
        "======    in block " + "aiv(" * 50000,
        "======    at " + "0" * 200000 + " on GM in " + '"' * 100000,
        "======    " + "(serialNo:" * 50000,
        "======    PIPE_V Write at " + "x" * 200000,
        "====== SUMMARY: " + "1 " * 100000,
        "====== ERROR: Potential " + " hazard detected at" * 20000,
    ],
)
def test_adversarial_lines_are_linear(write, line, quiet):
    content = "====== ERROR: illegal read of size 4\n" + (line + "\n") * 5
    start = time.perf_counter()
    try:
        read_sanitizer(write("adv.log", content))
    except VendorFormatError:
        pass
    assert time.perf_counter() - start < 2.0


# -- issue 13: what real CANN 8.3/8.5 reports showed --------------------------------------

CANN85 = "/usr/local/Ascend/cann-8.5.0/aarch64-linux/asc"


@pytest.mark.parametrize(
    ("frames", "user"),
    [
        # CANN 8.5 layout: asc/impl/basic_api and asc/include under cann-<version>
        (
            [
                f"{CANN85}/impl/basic_api/dav_c220/kernel_operator_data_copy_impl.h:124:9",
                f"{CANN85}/include/basic_api/kernel_operator_data_copy_intf.h:443:5",
                "/home/dev/ops/add_custom.cpp:126:5",
            ],
            "/home/dev/ops/add_custom.cpp:126",
        ),
        # ascend-toolkit/latest symlinked install, then a user file whose name
        # merely starts like CANN's headers (a .cpp, so it is the user's)
        (
            [
                "/opt/Ascend/ascend-toolkit/latest/x86_64-linux/tikcpp/impl/vec.h:7:1",
                "/data/latest_ops/kernel_operator_add.cpp:30:2",
            ],
            "/data/latest_ops/kernel_operator_add.cpp:30",
        ),
        # a CANN header copied next to the user's code is still CANN's
        (["inc/kernel_operator_vec_binary_impl.h:12:3", "my_kernel.cpp:9:1"], "my_kernel.cpp:9"),
    ],
    ids=["cann-8.5", "toolkit-latest", "operator-header"],
)
def test_cann_frames_are_recognised_by_structure(write, frames, user):
    stack = "".join(f"======    #{i} {frame}\n" for i, frame in enumerate(frames))
    report = read_sanitizer(
        write(
            "r.log",
            "====== ERROR: illegal read of size 32\n======    at 0x100 on UB in add_custom\n"
            "======    in block aiv(0) on device 0\n"
            "======    code in pc current 0x77c (serialNo:10)\n" + stack,
        )
    )
    finding = _one(report)
    assert finding.location.file == user
    assert finding.evidence["frames"] == frames  # the full stack stays as evidence


def test_zero_locations_are_no_location(write):
    report = read_sanitizer(
        write(
            "zero.log",
            "====== ERROR: LeakCheck: detected memory leaks\n"
            "======    Direct leak of 64 byte(s)\n"
            "======      at 0x1000 on GM allocated in :0 (serialNo:0)\n"
            "====== SUMMARY: 64 byte(s) leaked in 1 allocation(s)\n"
            "====== ERROR: illegal read of size 4\n======    at 0x10 on UB\n"
            "======    code in :0 (serialNo:7)\n"
            "====== ERROR: illegal read of size 4\n======    at 0x20 on UB\n"
            "======    code in <unknown>:0 (serialNo:8)\n",
        )
    )
    assert [f.location.file for f in report.findings] == [None, None, None]
    assert [f.evidence["serialNo"] for f in report.findings] == [0, 7, 8]


def test_race_offsets_become_addresses(write):
    report = read_sanitizer(
        write(
            "race.log",
            "====== ERROR: Potential RAW hazard detected at UB in add_custom on device 0:\n"
            "======    PIPE_MTE2 Write at RAW()+0x4000 in block 1 (aiv) on device 0 at pc current 0x10 (serialNo:1)\n"
            "======    #0 add_custom.cpp:10:1\n"
            "======    PIPE_V Read at RAW()+0x4000 in block 1 (aiv) on device 0 at pc current 0x20 (serialNo:2)\n"
            "======    #0 add_custom.cpp:12:1\n"
            "====== ERROR: Potential WAR hazard detected at GM in add_custom on device 0:\n"
            "======    PIPE_MTE2 Read at WAR()+0x400 in block 0 (aiv) on device 0 at pc current 0x30 (serialNo:3)\n"
            "======    PIPE_MTE3 Write at WAR()+0x400 in block 0 (aiv) on device 0 at pc current 0x40 (serialNo:4)\n",
        )
    )
    ub, gm = report.findings
    assert (ub.location.space, ub.location.addr_start, ub.location.core) == ("UB", 0x4000, 1)
    assert [access["address"] for access in ub.evidence["accesses"]] == [0x4000, 0x4000]
    assert (gm.location.space, gm.location.addr_start) == ("GM", 0x400)


@pytest.mark.parametrize(
    "lines",
    [
        '====== WARNING: Unpaired set_flag instructions detected from PIPE_V to PIPE_MTE2 in "copy_demo(uint8_t*)"\n',
        "====== WARNING: Unpaired set_flag instructions detected\n"
        '======    from PIPE_V to PIPE_MTE2 in "copy_demo(uint8_t*)"\n',
        "====== WARNING: Unpaired set_flag instructions detected\n"
        "======    from PIPE_V to PIPE_MTE2 in kernel copy_demo(uint8_t*) on device 3\n",
    ],
    ids=["on-header", "on-detail", "kernel-word"],
)
def test_synccheck_keeps_the_kernel(write, lines):
    report = read_sanitizer(
        write("sync.log", lines + "======    in block aiv(2) on device 3\n======    #0 k.cpp:5:1\n")
    )
    finding = _one(report)
    assert (finding.code, finding.location.kernel) == ("SAN011", "copy_demo(uint8_t*)")
    assert (finding.evidence["pipes"], finding.location.core) == ("PIPE_V to PIPE_MTE2", 2)


NEWER_RECORD = (
    "Invalid UB write of size 64 by aicore (5) type (aiv) block (3) pipe (PIPE_MTE2) "
    "in launch (add_custom(half*, half*))"
)


@pytest.mark.parametrize(
    "content",
    [
        f"=========\n{NEWER_RECORD}\nat 0x3fff0 on UB\n#0 add_custom.cpp:40:3\n\nprogram output\n",
        f"========= {NEWER_RECORD}\n=========     at 0x3fff0 on UB\n=========     #0 add_custom.cpp:40:3\n",
    ],
    ids=["opener-line", "prefixed"],
)
def test_newer_record_style(write, content):
    finding = _one(read_sanitizer(write("new.log", content)))
    location = finding.location
    assert (finding.code, finding.severity) == ("SAN001", Severity.ERROR)
    assert (location.kernel, location.space, location.core_kind, location.core) == (
        "add_custom(half*, half*)",
        "UB",
        "aiv",
        3,
    )
    assert (location.addr_start, location.addr_end) == (0x3FFF0, 0x3FFF0 + 64)
    assert location.file == "add_custom.cpp:40"
    assert (finding.evidence["pipe"], finding.evidence["aicore"]) == ("PIPE_MTE2", "5")


def test_unknown_record_shape_warns(write):
    content = "=========\nInvalid instruction 0xdead in launch (k)\n"
    with pytest.warns(PartialReadWarning, match="1 record.*unknown shape"):
        report = read_sanitizer(write("odd.log", content))
    assert report.findings == [] and report.tables["records"]["kind"].tolist() == ["unknown"]
