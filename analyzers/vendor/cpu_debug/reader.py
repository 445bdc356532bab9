"""Reader for Ascend C CPU-debug logs (``-DCMAKE_ASC_RUN_MODE=cpu``, ``ICPU_RUN_KF``).

A kernel built for the CPU runs its checks as assertions; each failed check
prints ``[ERROR][Block_<n>][AIV_<sub>][<file>:<line>][<func>][<pid>] <message>``
(older builds: ``[ERROR][Core_<n>][...]``), then the process aborts with
``[ERROR][CORE_<n>][pid <pid>] error happened! =========``, a ``SIGABRT``
line and back-trace lines ``[#i] 0x...: <function> at <file>:<line>``. The
``<file>:<line>`` of the record is CANN's header that holds the check; the
user's line is the first back-trace frame outside CANN.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.common import VendorReport, check_size
from ubscope.analyzers.vendor.cpu_debug import CPU_DEBUG
from ubscope.analyzers.vendor.textlog import (
    LINE_COST,
    MAX_KEPT_CHARS,
    TextLog,
    is_internal,
    known_location,
    user_frame,
)
from ubscope.probe.errors import VendorFormatError

WHAT = "an Ascend C CPU-debug log ('[ERROR][Block_0][AIV_0][file:line][func][pid] ...' lines)"
MAX_RECORDS = 10_000
MAX_FRAMES = 64  # back-trace frames kept per record
MAX_TEXT = 2000  # characters kept of a message or frame

_RECORD = re.compile(
    r"\[ERROR\]\[(?:Block|Core|CORE)_(\d{1,9})\](?:\[(AIV|AIC)_(\d{1,9})\])?"
    r"\[([^\[\]]{1,1024})\]\[([^\[\]]{0,1024})\]\[(?:pid )?(\d{1,12})\] ?"
)

_ABORT = re.compile(r"\[ERROR\]\[(?:Block|Core|CORE)_\d{1,9}\].{0,200}error happened")
_FRAME = re.compile(r"\[#(\d{1,4})\] (?:0x[0-9a-fA-F]{1,16}: )?")
_FILE_LINE = re.compile(r"\S:\d{1,9}$")
_HEX_OR_INT = r"(0x[0-9a-fA-F]{1,16}|\d{1,20})"


def _number(text: str) -> int:
    return int(text, 16) if text.lower().startswith("0x") else int(text)


# (code, message pattern, names of its groups); the first match wins.
CHECKS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    (
        "CPU001",
        re.compile(
            rf"absUbAddr is {_HEX_OR_INT}, tensorSize is (\d{{1,20}}), "
            rf"which exceeds the limit of ub (\d{{1,20}})"
        ),
        ("address", "size", "limit"),
    ),
    (
        "CPU001",
        re.compile(rf"absUbAddr is {_HEX_OR_INT}, which should be in range of \[0, (\d{{1,20}})\)"),
        ("address", "limit"),
    ),
    (
        "CPU002",
        re.compile(rf"absUbAddr is {_HEX_OR_INT}, which (?:should|must) be 32B aligned"),
        ("address",),
    ),
    (
        "CPU002",
        re.compile(
            r"start address alignment in .{0,256}must align with (\d{1,6}) ?(?:B|bytes)"
            rf"(?:, current start address is {_HEX_OR_INT})?"
        ),
        ("alignment", "address"),
    ),
    ("CPU002", re.compile(r"address should be (\d{1,6})B aligned"), ("alignment",)),
    (
        "CPU003",
        re.compile(
            r"buffer size is (\d{1,20}).{0,64}?exceeds the limit(?: of)?\D{0,16}(\d{1,20})?"
        ),
        ("size", "limit"),
    ),
    (
        "CPU003",
        re.compile(rf"curPoolAddr is {_HEX_OR_INT}, limits is (\d{{1,20}})"),
        ("pool_end", "limit"),
    ),
    (
        "CPU004",
        re.compile(
            r"current (?:size|id) is (\d{1,20}), max buffer number in same queue position "
            r"is (\d{1,20})"
        ),
        ("current", "limit"),
    ),
]
OTHER = "CPU009"

MESSAGES = {
    "CPU001": "UB access outside the Unified Buffer",
    "CPU002": "address not aligned as the instruction requires",
    "CPU003": "buffers set up beyond the UB pool",
    "CPU004": "too many buffers in one queue position",
    OTHER: "Ascend C CPU-debug check failed",
}


def is_cpu_debug_log(head: str) -> bool:
    """Whether the start of a file holds a CPU-debug check record."""
    return _RECORD.search(head) is not None


def classify(message: str) -> tuple[str, dict[str, int]]:
    """The finding code and the numbers a check message carries."""
    for code, pattern, names in CHECKS:
        if found := pattern.search(message):
            values = {
                name: _number(value)
                for name, value in zip(names, found.groups(), strict=True)
                if value
            }
            return code, values
    return OTHER, {}


class _Parser:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.skipped = 0  # records past MAX_RECORDS or MAX_KEPT_CHARS
        self.kept = 0  # characters held
        self.dropping = False  # the current record was skipped: so are its frames
        self.aborted = False

    def _keep(self, text: str) -> bool:
        self.kept += len(text) + LINE_COST
        return self.kept <= MAX_KEPT_CHARS

    def feed(self, line_no: int, line: str) -> None:
        if found := _RECORD.search(line):
            self._record(line_no, found, line[found.end() :].strip())
        elif _ABORT.search(line):
            self.aborted = True
        elif (found := _FRAME.match(line)) and self.records and not self.dropping:
            frame = line[found.end() : found.end() + MAX_TEXT].strip()
            if len(frames := self.records[-1]["frames"]) < MAX_FRAMES and self._keep(frame):
                frames.append(frame)

    def _record(self, line_no: int, found: re.Match[str], message: str) -> None:
        block, kind, sub, where, function, pid = found.groups()
        message = message[:MAX_TEXT]
        self.dropping = len(self.records) >= MAX_RECORDS or not self._keep(message + where)
        if self.dropping:
            self.skipped += 1
            return
        self.records.append(
            {
                "line": line_no,
                "block": int(block),
                "core_kind": kind.lower() if kind else None,
                "sub_block": int(sub) if sub is not None else None,
                "check_at": where.strip(),
                "function": function.strip(),
                "pid": int(pid),
                "message": message,
                "frames": [],
            }
        )


def _finding(record: dict[str, Any]) -> Finding:
    code, values = classify(record["message"])
    check_at = record["check_at"]
    # "[#3] 0x..: KernelAdd::CopyIn(int) at /home/dev/add_custom.cpp:45"
    wheres = (frame.rpartition(" at ")[2] for frame in record["frames"] if " at " in frame)
    stack = [where for where in wheres if _FILE_LINE.search(where)]
    if known_location(check_at):
        # The check's own line leads when it is the user's (an assertion in the
        # kernel); CANN's is the last resort when no frame is the user's.
        stack.insert(len(stack) if is_internal(check_at) else 0, check_at)
    user = user_frame(stack)
    address, size = values.get("address"), values.get("size")
    evidence: dict[str, Any] = {
        "message": record["message"],
        "check_at": check_at,
        "function": record["function"],
        "pid": record["pid"],
        "report_line": record["line"],
        **values,
    }
    if record["sub_block"] is not None:
        evidence["sub_block"] = record["sub_block"]
    if record["frames"]:
        evidence["frames"] = record["frames"]
    return Finding(
        code=code,
        severity=Severity.ERROR,
        message=f"{MESSAGES[code]}: {record['message'][:200]}",
        location=Location(
            core=record["block"],
            core_kind=record["core_kind"],
            space="UB" if code in ("CPU001", "CPU003") or address is not None else None,
            addr_start=address,
            addr_end=address + size if address is not None and size else None,
            file=user,
        ),
        evidence=evidence,
        source=CPU_DEBUG,
    )


_COLUMNS = [
    "line",
    "code",
    "block",
    "core_kind",
    "sub_block",
    "check_at",
    "function",
    "pid",
    "message",
    "file",
    "frames",
]


def read_cpu_debug(path: str | os.PathLike[str]) -> VendorReport:
    """Read an Ascend C CPU-debug log (the stdout/stderr of the CPU-built kernel).

    Every ``[ERROR][Block_n]...`` check record becomes a ``CPU0xx`` finding
    located at the user's file:line from the back-trace; ``tables["records"]``
    holds one row per record. A log without records raises
    :class:`VendorFormatError`; a record without a back-trace (the log was cut
    before the abort) is kept with a partial-read warning.
    """
    source = Path(path)
    check_size(source, 1 << 62, WHAT)
    parser = _Parser()
    log = TextLog(source, WHAT)
    for line_no, text in log.lines():
        parser.feed(line_no, text.strip())
    if not parser.records:
        raise VendorFormatError(source, f"expected {WHAT}, found none")
    report = VendorReport(tool=CPU_DEBUG, path=os.fspath(source))
    log.note_problems(report)
    if parser.skipped:
        report.note_partial(
            source,
            f"kept {len(parser.records):,} records (at most {MAX_RECORDS:,} and "
            f"{MAX_KEPT_CHARS >> 20} MiB of text); skipped {parser.skipped:,} more",
        )
    if log.unterminated or (not parser.aborted and not parser.records[-1]["frames"]):
        report.note_partial(source, "the log ends before the abort's back-trace (truncated?)")
    rows = []
    for record in parser.records:
        finding = _finding(record)
        report.findings.append(finding)
        rows.append(
            {
                **{key: record[key] for key in _COLUMNS if key in record},
                "code": finding.code,
                "file": finding.location.file,
                "frames": "\n".join(record["frames"]),
            }
        )
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["sub_block"] = table["sub_block"].astype("Int64")
    report.tables["records"] = table
    return report
