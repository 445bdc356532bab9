"""Ascend C CPU-debug logs: check records located at the user's line."""

from __future__ import annotations

import pytest

from tests.helpers.vendor_logs import CANN, CPU_DEBUG_QUEUE
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.vendor.cpu_debug import reader as cpu_debug
from ubscope.analyzers.vendor.cpu_debug.reader import read_cpu_debug
from ubscope.analyzers.vendor.registry import detect_vendor_input
from ubscope.probe.errors import PartialReadWarning, VendorFormatError


def _record(message: str, where: str = f"{CANN}/impl/kernel_operator_data_copy_impl.h:124") -> str:
    return (
        f"[ERROR][Block_0][AIV_0][{where}][DataCopyImpl][1234] {message}\n"
        "[ERROR][CORE_0][pid 1234] error happened! =========\n"
        f"[#0] 0x1: AscendC::DataCopy() at {where}\n"
        "[#1] 0x2: KernelAdd::CopyIn(int) at add_custom.cpp:126\n"
    )


def test_queue_limit_record_is_located_in_user_code(write):
    report = read_cpu_debug(write("run.log", CPU_DEBUG_QUEUE))
    (finding,) = report.findings
    assert (finding.code, finding.severity, finding.source) == (
        "CPU004",
        Severity.ERROR,
        "Ascend C CPU debug",
    )
    # [#0]-[#2] are CANN (cann/, tikicpulib/), [#3] is the first frame of the user's code
    assert finding.location.file == "/home/dev/add/add_custom.cpp:45"
    assert (finding.location.core_kind, finding.location.core) == ("aiv", 2)
    assert finding.evidence["sub_block"] == 1
    assert (finding.evidence["current"], finding.evidence["limit"]) == (4, 4)
    assert finding.evidence["check_at"].endswith("kernel_tpipe.h:730")
    assert len(finding.evidence["frames"]) == 6  # the whole back-trace as evidence
    assert report.warnings == []
    assert report.tables["records"]["code"].tolist() == ["CPU004"]


@pytest.mark.parametrize(
    ("message", "code", "values", "addresses"),
    [
        (
            # 0x2f000 + 0x2000 = 200704 > 196608 (192 KiB)
            "absUbAddr is 0x2f000, tensorSize is 8192, which exceeds the limit of ub 196608)",
            "CPU001",
            {"address": 0x2F000, "size": 8192, "limit": 196608},
            (0x2F000, 0x31000),
        ),
        (
            "absUbAddr is 0x30000, which should be in range of [0, 196608)",
            "CPU001",
            {"address": 0x30000, "limit": 196608},
            (0x30000, None),
        ),
        ("dst address should be 32B aligned", "CPU002", {"alignment": 32}, (None, None)),
        (
            "absUbAddr is 0x6, which must be 32B aligned",
            "CPU002",
            {"address": 6},
            (6, None),
        ),
        (
            "Failed to check dst start address alignment in DataCopy, its start address must "
            "align with 32B.",
            "CPU002",
            {"alignment": 32},
            (None, None),
        ),
        (
            "buffer size is 262144, exceeds the limit 196608",
            "CPU003",
            {"size": 262144, "limit": 196608},
            (None, None),
        ),
        (
            "curPoolAddr is 200704, limits is 196608",
            "CPU003",
            {"pool_end": 200704, "limit": 196608},
            (None, None),
        ),
        (
            "tiling_.GetDepthA1() is 0 , which should be larger than 0",
            "CPU009",
            {},
            (None, None),
        ),
    ],
    ids=[
        "ub-size",
        "ub-range",
        "dst-aligned",
        "abs-aligned",
        "start-align",
        "buffer",
        "pool",
        "other",
    ],
)
def test_known_messages(write, message, code, values, addresses):
    (finding,) = read_cpu_debug(write("run.log", _record(message))).findings
    assert finding.code == code
    assert {key: finding.evidence[key] for key in values} == values
    assert (finding.location.addr_start, finding.location.addr_end) == addresses
    assert finding.location.file == "add_custom.cpp:126"


def test_older_core_form_and_several_records(write):
    log = (
        f"[ERROR][Core_0][{CANN}/interface/kernel_tpipe.h:730][AllocEventID][9] "
        "current id is 8, max buffer number in same queue position is 8\n"
        + _record("dst address should be 32B aligned")
    )
    report = read_cpu_debug(write("run.log", log))
    assert [f.code for f in report.findings] == ["CPU004", "CPU002"]
    assert report.findings[0].location.core_kind is None
    # the first record has no back-trace of its own: CANN's line is all there is
    assert report.findings[0].location.file == f"{CANN}/interface/kernel_tpipe.h:730"


def test_log_cut_before_the_back_trace_warns(write):
    cut = CPU_DEBUG_QUEUE[: CPU_DEBUG_QUEUE.index("[ERROR][CORE_2]")]
    with pytest.warns(PartialReadWarning, match="truncated"):
        report = read_cpu_debug(write("run.log", cut))
    assert report.findings[0].code == "CPU004"


@pytest.mark.parametrize(
    "content",
    [b"", b"plain program output\n", b"\x00\xff" * 50, b"[ERROR] something else\n"],
    ids=["empty", "plain", "binary", "other-error"],
)
def test_not_a_cpu_debug_log(write, content, quiet):
    with pytest.raises(VendorFormatError, match="r.log: expected an Ascend C CPU-debug log"):
        read_cpu_debug(write("r.log", content))


def test_detected(write):
    assert detect_vendor_input(write("run.log", CPU_DEBUG_QUEUE)) == "cpu_debug"
    assert detect_vendor_input(write("out.txt", "hello\n")) is None


def test_records_past_the_cap_are_counted_not_kept(write, monkeypatch):
    monkeypatch.setattr(cpu_debug, "MAX_RECORDS", 2)
    log = "".join(_record(f"check {n} failed") for n in range(5))
    with pytest.warns(PartialReadWarning, match="kept 2 records .* skipped 3 more"):
        report = read_cpu_debug(write("run.log", log))
    assert len(report.findings) == 2
    # the skipped records' back-traces do not land on the kept ones
    assert all(len(f.evidence["frames"]) == 2 for f in report.findings)
