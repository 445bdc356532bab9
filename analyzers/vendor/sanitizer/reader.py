"""Reader for msSanitizer (memcheck / racecheck / initcheck / synccheck) text reports.

The report is a sequence of ``======``-prefixed records mixed with
``[mssanitizer]`` banners and whatever the checked program printed. One pass
over the lines with a small state machine; lines are length-bounded and every
pattern is anchored or split with string operations, so arbitrary input is
processed in linear time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.common import VendorReport, check_size
from ubscope.analyzers.vendor.sanitizer import SANITIZER
from ubscope.analyzers.vendor.textlog import (
    LINE_COST,
    MAX_KEPT_CHARS,
    MAX_LINE_BYTES,
    TextLog,
    known_location,
    user_frame,
)
from ubscope.probe.errors import VendorFormatError

MAX_BLOCK_INDICES = 4096
# What one report may keep in memory: records (and leak summaries), banner
# lines, and the text of the lines they hold (block indices count 8 each, a
# line 64 more than its length). Beyond that, records and lines are counted
# and skipped with one warning, so a log of millions of records stays small.
MAX_RECORDS = 10_000
MAX_BANNERS = 1_000
WHAT = "an msSanitizer report ('====== ERROR: ...' lines)"

SEVERITY_WORDS = {
    "ERROR": Severity.ERROR,
    "WARNING": Severity.WARNING,
    "WARNNING": Severity.WARNING,  # spelling in CANN 8.0RC1-era reports
    "INFO": Severity.INFO,
}

# kind -> (finding code, checking tool)
KINDS: dict[str, tuple[str | None, str]] = {
    "illegal read": ("SAN001", "memcheck"),
    "illegal write": ("SAN001", "memcheck"),
    "misaligned access": ("SAN002", "memcheck"),
    "out of bounds": ("SAN003", "memcheck"),
    "uninitialized read": ("SAN004", "initcheck"),
    "memory leak": ("SAN005", "memcheck"),
    "illegal free": ("SAN006", "memcheck"),
    "unused memory": ("SAN007", "memcheck"),
    "race hazard": ("SAN010", "racecheck"),
    "sync error": ("SAN011", "synccheck"),
    "missing dcci": ("SAN012", "racecheck"),
    "non-default mask": (None, "memcheck"),
    "internal error": (None, "sanitizer"),
    "leak check": (None, "memcheck"),
    "unknown": (None, "sanitizer"),
}


_HEX = r"(?:0x)?([0-9a-fA-F]{1,16})"
_SERIAL = re.compile(r"\(serialNo:(\d{1,18})\)")
_SIZE = re.compile(r"(\d{1,18})")
_DEVICE = re.compile(r" on device (\d{1,9})")
_BLOCK_GROUP = re.compile(r"(aicore|aiv|aic)\(([0-9, \-]{0,4096})\)")
_ADDRESS = re.compile(_HEX + r"(?: on ([A-Za-z0-9]{1,16}))?")
_GM_DISTANCE = re.compile(
    r"Access to " + _HEX + r" on (\w{1,16}) is (\d{1,18}) byte\(s\) (after|before) "
    r"the nearest allocation at " + _HEX + r" of size (\d{1,18})"
)
_SUMMARY = re.compile(r"(\d{1,18}) ?byte\(s\) (leaked|unused memory) in (\d{1,18}) allocation")
_RACE_ACCESS = re.compile(
    r"(PIPE_\w{1,32}) (Read|Write) at (\S{1,256}) in block (\d{1,9}) \((\w{1,8})\)"
)
_INVALID = re.compile(r"Invalid (\w{1,16}) (read|write) of size (\d{1,18})", re.IGNORECASE)
_INVALID_FIELD = re.compile(r"(aicore|type|block|pipe) \(([^()]{0,256})\)")
_RACE_OFFSET = re.compile(r"\(\)\+0x([0-9a-fA-F]{1,16})$")
_BARE_DETAILS = ("at ", "#", "code in ", "in block ", "by thread ")
_LOCATED_KINDS = {
    kind for kind, (code, _) in KINDS.items() if code in {f"SAN00{n}" for n in range(1, 8)}
}


def parse_blocks(text: str) -> dict[str, list[int]]:
    """``aiv(0-3,7),aic(1)`` -> ``{"aiv": [0, 1, 2, 3, 7], "aic": [1]}`` (bounded)."""
    blocks: dict[str, list[int]] = {}
    budget = MAX_BLOCK_INDICES
    for kind, listing in _BLOCK_GROUP.findall(text):
        indices = blocks.setdefault(kind, [])
        for item in listing.replace(" ", "").split(","):
            low, _, high = item.partition("-")
            if not low.isdigit() or (high and not high.isdigit()) or len(item) > 20:
                continue
            start, stop = int(low), int(high or low)
            count = min(max(stop - start + 1, 0), budget)
            indices.extend(range(start, start + count))
            budget -= count
    return blocks


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


class _Parser:
    """The state machine: the record being filled, the open leak group, counts."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.summaries: list[dict[str, Any]] = []
        self.banners: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.group: dict[str, Any] | None = None  # the LeakCheck header record
        self.not_understood = 0
        self.kept = 0  # characters held, see MAX_KEPT_CHARS
        self.skipped_records = 0
        self.skipped_lines = 0
        self.dropping = False  # the current record is past the caps
        self.bare = False  # in a record opened by a bare '=========' line (no prefixes)

    def full(self) -> bool:
        return self.kept > MAX_KEPT_CHARS

    def keep(self, line: str) -> None:
        self.kept += len(line) + LINE_COST

    # -- records -------------------------------------------------------------
    def _start(self, line_no: int, severity: Severity, kind: str, header: str) -> dict[str, Any]:
        """A new record; past the caps a detached one whose lines are skipped."""
        dropped = self.full() or len(self.records) >= MAX_RECORDS
        record: dict[str, Any] = {
            "line": line_no,
            "kind": kind,
            "severity": severity,
            "header": header[:500],
            "frames": [],
        }
        if dropped:
            self.skipped_records += kind != "leak check"
            self.current = None
        else:
            if kind != "leak check":
                self.records.append(record)
            self.current = record
        self.dropping = dropped
        return record

    def header(self, line_no: int, severity: Severity, rest: str) -> None:
        self.group = None
        lowered = rest.lower().replace("illegel", "illegal")
        head, sep, tail = lowered.partition(" of size ")
        if sep:
            kind = head.strip() if head.strip() in KINDS else "unknown"
            record = self._start(line_no, severity, kind, rest)
            if size := _SIZE.match(tail):
                record["size"] = int(size.group(1))
        elif lowered.startswith("illegal free"):
            self._start(line_no, severity, "illegal free", rest)
        elif lowered.startswith("leakcheck"):
            self.group = self._start(line_no, severity, "leak check", rest)
        elif lowered.startswith("unused memory of "):
            record = self._start(line_no, severity, "unused memory", rest)
            if size := _SIZE.match(lowered[len("unused memory of ") :]):
                record["size"] = int(size.group(1))
        elif lowered.startswith("potential ") and " hazard detected" in lowered:
            record = self._start(line_no, severity, "race hazard", rest)
            record["hazard"] = rest.split(" ", 2)[1]
            self._at_memory(record, rest.partition(" detected at ")[2])
            record["accesses"] = []
        elif lowered.startswith("missing dcci"):
            record = self._start(line_no, severity, "missing dcci", rest)
            self._at_memory(record, rest.partition(" dependency at ")[2])
            record["accesses"] = []
        elif (
            "sync error" in lowered or "locked up" in lowered or "instructions detected" in lowered
        ):
            record = self._start(line_no, severity, "sync error", rest)
            if (start := rest.find("from PIPE")) >= 0:
                _pipes_and_kernel(record, rest[start:])
        elif lowered.startswith("internal error"):
            self._start(line_no, severity, "internal error", rest)
        elif "non-default mask" in lowered:
            self._start(line_no, severity, "non-default mask", rest)
        else:
            self._start(line_no, severity, "unknown", rest)
        if (serial := _SERIAL.search(rest)) and self.current is not None:
            self.current["serial_no"] = int(serial.group(1))

    def invalid_access(self, line_no: int, text: str) -> None:
        """The newer record: ``Invalid UB write of size 32 by aicore (0) type (aiv)
        block (0) pipe (PIPE_MTE3) in launch (add_custom)``."""
        self.group = None
        found = _INVALID.match(text)
        if found is None:
            self._start(line_no, Severity.ERROR, "unknown", text)
            return
        record = self._start(line_no, Severity.ERROR, f"illegal {found.group(2).lower()}", text)
        record["space"], record["size"] = found.group(1), int(found.group(3))
        fields = dict(_INVALID_FIELD.findall(text[found.end() :].partition(" in launch (")[0]))
        record["kernel"] = text.partition(" in launch (")[2].removesuffix(")").strip() or None
        record["aicore"] = fields.get("aicore")
        record["pipe"] = fields.get("pipe")
        core_kind, block = fields.get("type") or "aicore", fields.get("block", "")
        if block.isdigit():
            record["blocks"] = f"{core_kind}({block})"
            record["cores_by_kind"] = {core_kind: [int(block)]}

    def _at_memory(self, record: dict[str, Any], text: str) -> None:
        """``GM in kernel_float on device 0:`` (race headers)."""
        text = text.rstrip(":").strip()
        space, _, rest = text.partition(" ")
        record["space"] = space or None
        if device := _DEVICE.search(rest):
            record["device"] = int(device.group(1))
            rest = rest[: device.start()]
        if rest.startswith("in "):
            record["kernel"] = _unquote(rest[3:])

    def summary(self, line_no: int, rest: str) -> None:
        self.group = None
        self.current = None
        self.dropping = False
        if self.full() or len(self.summaries) >= MAX_RECORDS:
            self.skipped_lines += 1
        elif found := _SUMMARY.search(rest):
            self.summaries.append(
                {
                    "line": line_no,
                    "kind": "leak" if found.group(2) == "leaked" else "unused memory",
                    "bytes": int(found.group(1)),
                    "allocations": int(found.group(3)),
                }
            )
        else:
            self.not_understood += 1

    # -- detail lines ----------------------------------------------------------
    def detail(self, line_no: int, body: str) -> None:
        if body.startswith(("Direct leak of ", "Indirect leak of ")) and self.group is not None:
            leak = self._start(line_no, self.group["severity"], "memory leak", body)
            leak["leak"] = body.split(" ", 1)[0].lower()
            if size := _SIZE.search(body):
                leak["size"] = int(size.group(1))
            return
        record = self.current
        if self.dropping or (record is not None and self.full()):
            self.skipped_lines += 1
            return
        if record is None:
            self.not_understood += 1
            return
        accesses = record.get("accesses")
        access = _RACE_ACCESS.match(body) if accesses is not None else None
        if access is not None and accesses is not None:
            accesses.append(self._access(access, body))
        target = accesses[-1] if accesses else record
        if body.startswith("#"):
            target["frames"].append(body.partition(" ")[2].strip())
        elif access is not None:
            pass
        elif body.startswith("at "):
            self._at(record, body[3:])
        elif body.startswith("Access to "):
            self._gm_distance(record, body)
        elif body.startswith("code in "):
            self._code(target, body[len("code in ") :])
        elif body.startswith("allocated in "):
            self._code(record, body[len("allocated in ") :])
        elif body.startswith(("in block ", "by thread ")):
            self._block(record, body)
        elif body.startswith("from PIPE"):
            _pipes_and_kernel(record, body)
        elif body.startswith("in ") and (device := _DEVICE.search(body)):
            record["device"] = int(device.group(1))
            kernel = body[3 : device.start()]
            record["kernel"] = _unquote(
                kernel[len("kernel ") :] if kernel.startswith("kernel ") else kernel
            )
        else:
            self.not_understood += 1
        if serial := _SERIAL.search(body):
            target.setdefault("serial_no", int(serial.group(1)))

    def _at(self, record: dict[str, Any], text: str) -> None:
        """``0x0 on UB[ when writing data][ in KERNEL]`` / ``... allocated in FILE``."""
        text, _, allocated = text.partition(" allocated in ")
        if allocated:
            self._code(record, allocated)
        address = _ADDRESS.match(text)
        if address is None:
            self.not_understood += 1
            return
        record["address"] = int(address.group(1), 16)
        record["space"] = address.group(2)
        rest = text[address.end() :].strip()
        if rest.startswith("when writing data"):
            record["writing"] = True
            rest = rest[len("when writing data") :].strip()
        if rest.startswith("by module "):
            module, _, rest = rest[len("by module ") :].partition(" ")
            record["module"] = module
        if rest.startswith("in "):
            record["kernel"] = _unquote(rest[3:])

    def _gm_distance(self, record: dict[str, Any], text: str) -> None:
        found = _GM_DISTANCE.match(text)
        if found is None:
            self.not_understood += 1
            return
        record["address"] = int(found.group(1), 16)
        record["space"] = found.group(2)
        record["distance"] = f"{found.group(3)} byte(s) {found.group(4)}"
        record["allocation"] = {"base": int(found.group(5), 16), "size": int(found.group(6))}

    def _code(self, target: dict[str, Any], text: str) -> None:
        """``pc current 0x65c (serialNo:12)`` or ``add_custom.cpp:84 (serialNo:63)``."""
        location = text.partition(" (serialNo:")[0].strip()
        if location.startswith("pc current "):
            pc = location[len("pc current ") :].strip()
            target["pc"] = pc if re.fullmatch(_HEX, pc) else None
        elif known_location(location):
            target["code"] = location

    def _block(self, record: dict[str, Any], text: str) -> None:
        if text.startswith("by thread "):
            record["thread"] = text[len("by thread ") :].partition(" ")[0]
        blocks_text = text.partition("in block ")[2].partition(" on device")[0]
        record["blocks"] = blocks_text.strip()
        record["cores_by_kind"] = parse_blocks(blocks_text)
        self.kept += 8 * sum(map(len, record["cores_by_kind"].values()))
        if device := _DEVICE.search(text):
            record["device"] = int(device.group(1))

    def _access(self, found: re.Match[str], body: str) -> dict[str, Any]:
        access: dict[str, Any] = {
            "pipe": found.group(1),
            "op": found.group(2),
            "at": found.group(3),
            "block": int(found.group(4)),
            "core_kind": found.group(5),
            "frames": [],
        }
        pc = body.partition(" at pc current ")[2].partition(" ")[0]
        if pc:
            access["pc"] = pc
        if offset := _RACE_OFFSET.search(access["at"]):
            access["address"] = int(offset.group(1), 16)
        return access

    # -- banners -----------------------------------------------------------------
    def banner(self, line_no: int, text: str) -> None:
        if self.full() or len(self.banners) >= MAX_BANNERS:
            self.skipped_lines += 1
        else:
            self.banners.append({"line": line_no, "text": text[:2000]})


def _pipes_and_kernel(record: dict[str, Any], text: str) -> None:
    """``from PIPE_V to PIPE_MTE2 in "copy_demo(...)"[ on device 0]`` (synccheck)."""
    pipes, _, kernel = text[len("from ") :].partition(" in ")
    record["pipes"] = pipes.strip()
    if device := _DEVICE.search(" " + kernel):
        record["device"] = int(device.group(1))
        kernel = kernel[: max(device.start() - 1, 0)]
    kernel = kernel.strip()
    # A bare ``in kernel`` names no kernel; ``in kernel NAME`` and ``in "NAME"`` do.
    kernel = _unquote(kernel[len("kernel ") :] if kernel.startswith("kernel ") else kernel)
    if kernel and kernel != "kernel":
        record["kernel"] = kernel


def _record_location(record: dict[str, Any]) -> Location:
    core_kind = core = None
    if cores := record.get("cores_by_kind"):
        core_kind, indices = next(iter(cores.items()))
        core = indices[0] if indices else None
    elif accesses := record.get("accesses"):
        core_kind, core = accesses[0]["core_kind"], accesses[0]["block"]
    address, size = record.get("address"), record.get("size")
    return Location(
        kernel=record.get("kernel"),
        core=core,
        core_kind=core_kind,
        space=record.get("space"),
        addr_start=address,
        addr_end=address + size if address is not None and size else None,
        file=record.get("file"),
    )


def _finalise(record: dict[str, Any]) -> None:
    """Derive ``file``/``pc``/``serial_no`` shared by plain and race records."""
    accesses = record.get("accesses") or []
    first = accesses[0] if accesses else record
    record["file"] = user_frame(first["frames"]) or first.get("code") or record.get("code")
    for key in ("pc", "serial_no", "address"):
        if record.get(key) is None and first.get(key) is not None:
            record[key] = first[key]


def _message(record: dict[str, Any]) -> str:
    kind = record["kind"]
    if kind == "race hazard":
        return f"potential {record.get('hazard', '')} hazard on {record.get('space') or 'memory'}"
    if kind in ("sync error", "missing dcci"):
        return record["header"].rstrip(":")
    size = f" of {record['size']} bytes" if record.get("size") is not None else ""
    address = f" at 0x{record['address']:x}" if record.get("address") is not None else ""
    space = f" on {record['space']}" if record.get("space") else ""
    return f"{kind}{size}{address}{space}"


def _finding(record: dict[str, Any]) -> Finding | None:
    code = KINDS.get(record["kind"], (None, ""))[0]
    if code is None or record["severity"] < Severity.WARNING:
        return None
    evidence = {
        key: record[key] for key in _EVIDENCE_KEYS if record.get(key) not in (None, [], {}, "")
    }
    if "serial_no" in evidence:
        evidence["serialNo"] = evidence.pop("serial_no")
    location = _record_location(record)
    if location.core_kind and location.core_kind in record.get("cores_by_kind", {}):
        evidence["cores"] = record["cores_by_kind"][location.core_kind]  # ubscope's convention
    if record.get("accesses"):
        evidence["accesses"] = record["accesses"]
    evidence["report_line"] = record["line"]
    return Finding(
        code=code,
        severity=record["severity"],
        message=_message(record),
        location=location,
        evidence=evidence,
        source=SANITIZER,
    )


_EVIDENCE_KEYS = (
    "serial_no",
    "pc",
    "device",
    "blocks",
    "size",
    "hazard",
    "pipes",
    "thread",
    "distance",
    "allocation",
    "module",
    "aicore",
    "pipe",
    "cores_by_kind",
    "frames",
)
_RECORD_COLUMNS = [
    "line",
    "tool",
    "kind",
    "severity",
    "size",
    "address",
    "space",
    "kernel",
    "blocks",
    "cores_by_kind",
    "core_kind",
    "core",
    "device",
    "pc",
    "serial_no",
    "file",
    "header",
]


def _records_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for record in records:
        location = _record_location(record)
        rows.append(
            {
                **{key: record.get(key) for key in _RECORD_COLUMNS},
                "tool": KINDS.get(record["kind"], (None, "sanitizer"))[1],
                "severity": str(record["severity"]),
                "core_kind": location.core_kind,
                "core": location.core,
                "frames": "\n".join(record["frames"]),
            }
        )
    table = pd.DataFrame(rows, columns=[*_RECORD_COLUMNS, "frames"])
    for column in ("size", "core", "device", "serial_no"):
        table[column] = table[column].astype("Int64")
    table["address"] = table["address"].astype("UInt64")
    return table


def read_sanitizer(path: str | os.PathLike[str]) -> VendorReport:
    """Read an msSanitizer report (terminal capture or ``--log-file``).

    Every ERROR/WARNING record becomes a ``SAN0xx`` finding; ``tables`` holds
    ``records`` (one row per record), ``summaries`` (leak / unused-memory
    totals) and ``banners`` (``[mssanitizer]`` lines). Undecodable bytes and
    lines that look like report lines but cannot be parsed are skipped with a
    partial-read warning.
    """
    source = Path(path)
    check_size(source, 1 << 62, WHAT)
    report = VendorReport(tool=SANITIZER, path=os.fspath(source))
    parser = _Parser()
    log = TextLog(source, WHAT, MAX_LINE_BYTES)
    for line_no, text in log.lines():
        _feed(parser, line_no, text.strip())
    if not parser.records and not parser.summaries and not parser.banners:
        raise VendorFormatError(source, f"expected {WHAT}, found none")
    log.note_problems(report)
    _note_problems(report, source, parser)
    for record in parser.records:
        _finalise(record)
        if (finding := _finding(record)) is not None:
            report.findings.append(finding)
    report.tables["records"] = _records_table(parser.records)
    report.tables["summaries"] = pd.DataFrame(
        parser.summaries, columns=["line", "kind", "bytes", "allocations"]
    )
    report.tables["banners"] = pd.DataFrame(parser.banners, columns=["line", "text"])
    return report


def _feed(parser: _Parser, line_no: int, line: str) -> None:
    if line.startswith(("======", "[mssanitizer]")) and not parser.dropping:
        parser.keep(line)
    if line.startswith("======"):
        body = line.lstrip("=").strip()
        parser.bare = not body  # a line of only '=' opens a newer-style record
        if not body:
            return
        word, colon, rest = body.partition(":")
        if body.startswith("Invalid "):
            parser.invalid_access(line_no, body)
        elif colon and word in SEVERITY_WORDS:
            parser.header(line_no, SEVERITY_WORDS[word], rest.strip())
        elif colon and word == "SUMMARY":
            parser.summary(line_no, rest)
        else:
            parser.detail(line_no, body)
    elif line.startswith("[mssanitizer]"):
        parser.banner(line_no, line)
    elif parser.bare and line.startswith("Invalid "):
        parser.keep(line)
        parser.invalid_access(line_no, line)
    elif parser.bare and line.startswith(_BARE_DETAILS) and parser.current is not None:
        parser.keep(line)
        parser.detail(line_no, line)
    else:
        parser.bare = False


def _note_problems(report: VendorReport, source: Path, parser: _Parser) -> None:
    if unknown := sum(record["kind"] == "unknown" for record in parser.records):
        report.note_partial(
            source, f"{unknown} record(s) of an unknown shape kept only in the records table"
        )
    if parser.not_understood:
        report.note_partial(source, f"{parser.not_understood} report line(s) not understood")
    if parser.skipped_records or parser.skipped_lines:
        report.note_partial(
            source,
            f"kept {len(parser.records)} records (at most {MAX_RECORDS:,} and "
            f"{MAX_KEPT_CHARS >> 20} MiB of text); skipped {parser.skipped_records:,} more "
            f"records and {parser.skipped_lines:,} lines",
        )
    last = parser.records[-1] if parser.records else None
    if last is not None and last["kind"] in _LOCATED_KINDS:
        where = ("frames", "code", "pc", "serial_no", "allocation")
        if all(last.get(key) in (None, []) for key in where):
            report.note_partial(source, "the last record has no code location (truncated?)")
    if last is not None and last["kind"] == "race hazard" and not last["accesses"]:
        report.note_partial(source, "the last race record lists no accesses (truncated?)")
    if parser.group is not None:
        report.note_partial(source, "the leak report has no SUMMARY line (truncated?)")
