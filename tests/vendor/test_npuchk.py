"""npuchk logs: error classes with their core and the kernel's own frame."""

from __future__ import annotations

import tracemalloc

import pytest

from tests.helpers.vendor_logs import NPUCHK_LOG
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.vendor.npuchk import reader as npuchk
from ubscope.analyzers.vendor.npuchk.reader import CLASSES, read_npuchk
from ubscope.analyzers.vendor.registry import detect_vendor_input
from ubscope.probe.errors import PartialReadWarning, VendorFormatError


def test_documented_example(write):
    path = write("npuchk/add_custom_3_1_vec_npuchk.log", NPUCHK_LOG)
    report = read_npuchk(path.parent)
    (finding,) = report.findings
    assert (finding.code, finding.severity, finding.source) == ("NCK002", Severity.ERROR, "npuchk")
    location = finding.location
    # the file name says kernel add_custom, block 3, sub-block 1, vector core
    assert (location.kernel, location.core_kind, location.core) == ("add_custom", "aiv", 3)
    assert finding.evidence["sub_block"] == 1
    # the libnpuchk.so frame is skipped: the first frame of the kernel's binary
    assert location.file == "./add(_ZN9KernelAdd7ComputeEi+0x1a4)"
    assert location.space == "UB"
    assert finding.evidence["instruction"].startswith("vadd((__ubuf__ half*)0x7f328c11b810")
    assert (finding.evidence["op"], finding.evidence["host_address"]) == ("read", "0x7f328c11b010")
    assert finding.evidence["extent"] == "0x800B"
    assert "vadd" in finding.message and "ErrorRead3" in finding.message
    assert report.warnings == []


def test_repeats_are_merged_and_cores_kept_apart(write):
    again = NPUCHK_LOG + NPUCHK_LOG.partition("\n")[2]  # the same error once more
    write("npuchk/k_0_0_vec_npuchk.log", again)
    write("npuchk/k_1_0_vec_npuchk.log", NPUCHK_LOG)
    path = write("npuchk/notes.txt", "not a log")
    report = read_npuchk(path.parent)
    counts = sorted((f.location.core, f.evidence["occurrences"]) for f in report.findings)
    assert counts == [(0, 2), (1, 1)]


@pytest.mark.parametrize(
    ("klass", "code", "severity"),
    [
        ("ErrorRead1", "NCK001", Severity.ERROR),
        ("ErrorWrite1", "NCK001", Severity.ERROR),
        ("ErrorWrite2", "NCK002", Severity.ERROR),
        ("ErrorRead4", "NCK003", Severity.ERROR),
        ("ErrorWrite4", "NCK003", Severity.ERROR),
        ("ErrorRead2", "NCK004", Severity.WARNING),
        ("ErrorWrite3", "NCK004", Severity.WARNING),
        ("ErrorSync1", "NCK005", Severity.ERROR),
        ("ErrorSync4", "NCK005", Severity.ERROR),
        ("ErrorLeak", "NCK006", Severity.ERROR),
        ("ErrorFree", "NCK007", Severity.ERROR),
        ("ErrorBuffer0", "NCK008", Severity.ERROR),
        ("ErrorBuffer4", "NCK008", Severity.ERROR),
        ("ErrorRead9", "NCK009", Severity.WARNING),
    ],
)
def test_classes(write, klass, code, severity):
    log = f"### vadd((__ubuf__ half*)0x10);\n[V] [{klass}] on write 0x7f0000000020 0x20B\n"
    (finding,) = read_npuchk(write("x_0_0_vec_npuchk.log", log)).findings
    assert (finding.code, finding.severity, finding.evidence["class"]) == (code, severity, klass)
    assert finding.location.file is None  # no back-trace


def test_every_documented_class_has_a_code():
    documented = {f"Error{kind}{n}" for kind in ("Read", "Write", "Sync") for n in range(1, 5)}
    documented |= {"ErrorLeak", "ErrorFree"} | {f"ErrorBuffer{n}" for n in range(5)}
    assert documented == set(CLASSES)


def test_leak_is_not_tied_to_the_last_instruction(write):
    log = "### vadd((__ubuf__ half*)0x10);\n[S] [ErrorLeak] tensor never freed\n"
    (finding,) = read_npuchk(write("x_0_0_vec_npuchk.log", log)).findings
    assert "instruction" not in finding.evidence and finding.location.space is None


def test_clean_run_has_no_findings(write):
    report = read_npuchk(write("npuchk/k_0_0_vec_npuchk.log", "### vadd((__ubuf__ half*)0x10);\n"))
    assert report.findings == [] and report.warnings == []


def test_cut_log_warns(write):
    cut = NPUCHK_LOG[: NPUCHK_LOG.index("[V]") + 20]
    with pytest.warns(PartialReadWarning, match="truncated"):
        report = read_npuchk(write("k_0_0_vec_npuchk.log", cut))
    assert report.findings[0].code == "NCK002"


def test_unreadable(write, tmp_path, quiet):
    (tmp_path / "npuchk").mkdir()
    with pytest.raises(VendorFormatError, match="npuchk: expected npuchk logs.*no \\*_npuchk.log"):
        read_npuchk(tmp_path / "npuchk")
    with pytest.raises(VendorFormatError, match="found none of their lines"):
        read_npuchk(write("k_0_0_vec_npuchk.log", b"\x00\xff" * 40))


def test_detected(write, tmp_path):
    path = write("npuchk/add_custom_0_0_vec_npuchk.log", NPUCHK_LOG)
    assert detect_vendor_input(path) == "npuchk"
    assert detect_vendor_input(path.parent) == "npuchk"
    assert detect_vendor_input(write("elsewhere/run.log", NPUCHK_LOG)) == "npuchk"


def test_distinct_errors_past_the_cap_are_counted(write, monkeypatch):
    monkeypatch.setattr(npuchk, "MAX_FINDINGS", 1)
    log = "".join(f"### vadd(x{n});\n[V] [ErrorRead3] on read 0x10 0x20B\n" for n in range(3))
    with pytest.warns(PartialReadWarning, match="kept 1 distinct errors .* skipped 2 more"):
        report = read_npuchk(write("k_0_0_vec_npuchk.log", log))
    assert len(report.findings) == 1


def test_errors_without_back_traces_wait_within_the_cap(write, monkeypatch):
    """20 000 distinct errors and no back-trace: all wait for one until the end
    of the log. With a cap of 10 only 10 may wait; holding all 20 000 (about
    1 KiB of dicts and text each, 20 MB) is what made a 10**6-error log
    exceed the reader's memory allowance."""
    monkeypatch.setattr(npuchk, "MAX_FINDINGS", 10)
    path = write(
        "k_0_0_vec_npuchk.log",
        "".join(f"### vadd(x{n});\n[V] [ErrorRead3] on read 0x10 0x20B\n" for n in range(20_000)),
    )
    tracemalloc.start()
    try:
        with pytest.warns(PartialReadWarning, match="kept 10 distinct errors .* skipped 19,990"):
            report = read_npuchk(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(report.findings) == 10
    assert peak < 4 << 20


def test_repeats_of_kept_errors_are_counted_past_the_cap(write, monkeypatch):
    """Cap 1: the first error is kept, a second distinct one is skipped, and
    two more repeats of the first (each with its back-trace) still count: 3."""
    monkeypatch.setattr(npuchk, "MAX_FINDINGS", 1)
    repeat = NPUCHK_LOG.partition("\n")[2]
    other = repeat.replace("ErrorRead3", "ErrorRead1")
    log = NPUCHK_LOG + other + repeat + repeat
    with pytest.warns(PartialReadWarning, match="kept 1 distinct errors .* skipped 1 more"):
        report = read_npuchk(write("k_0_0_vec_npuchk.log", log))
    (finding,) = report.findings
    assert (finding.evidence["class"], finding.evidence["occurrences"]) == ("ErrorRead3", 3)
