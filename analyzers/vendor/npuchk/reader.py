"""Reader for npuchk logs (``npuchk/<kernel>_<block>_<sub>_vec_npuchk.log``).

npu check runs with an Ascend C kernel in CPU-debug mode and writes one log
per core. An error is a line ``[V] [ErrorRead3] on read 0x7f328c11b010 0x800B``
(unit, class, what the access did); the instruction it checked is the last
``### vadd((__ubuf__ half*)...)`` line before it, and its stack the next
``# BackTrace #`` section: lines indented by two spaces, ``binary(symbol+0xoffset)``
as glibc's ``backtrace_symbols`` prints them. Like Huawei's own
``ascendc_npuchk_report.py``, repeated errors with the same class, instruction
and stack are reported once (with their count).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.common import VendorReport, check_size
from ubscope.analyzers.vendor.npuchk import NPUCHK
from ubscope.analyzers.vendor.textlog import LINE_COST, MAX_KEPT_CHARS, TextLog
from ubscope.probe.errors import VendorFormatError

WHAT = "npuchk logs ('*_npuchk.log' with '[ErrorRead3]'-style lines)"
LOG_SUFFIX = "_npuchk.log"
MAX_FILES = 4096
MAX_FINDINGS = 10_000  # distinct (class, instruction, stack) per report
MAX_FRAMES = 64
MAX_TEXT = 2000  # characters kept of an instruction or frame
MAX_LOG_BYTES = 1 << 62

_ERROR = re.compile(r"\[(\w{1,16})\] \[(Error\w{1,24})\] ?(.{0,2000})")
_ACCESS = re.compile(r"on (read|write) (0x[0-9a-fA-F]{1,16})(?: (\S{1,32}))?")
_LOG_NAME = re.compile(r"^(.{1,512})_(\d{1,9})_(\d{1,9})_([A-Za-z]{1,8})_npuchk\.log$")
_ACCESS_CLASSES = ("ErrorRead", "ErrorWrite", "ErrorSync")
_CORE_KINDS = {"vec": "aiv", "aiv": "aiv", "cube": "aic", "aic": "aic"}

# npuchk class -> (code, severity)
CLASSES: dict[str, tuple[str, Severity]] = {
    "ErrorRead1": ("NCK001", Severity.ERROR),
    "ErrorWrite1": ("NCK001", Severity.ERROR),
    "ErrorRead3": ("NCK002", Severity.ERROR),
    "ErrorWrite2": ("NCK002", Severity.ERROR),
    "ErrorRead4": ("NCK003", Severity.ERROR),
    "ErrorWrite4": ("NCK003", Severity.ERROR),
    "ErrorRead2": ("NCK004", Severity.WARNING),
    "ErrorWrite3": ("NCK004", Severity.WARNING),
    "ErrorSync1": ("NCK005", Severity.ERROR),
    "ErrorSync2": ("NCK005", Severity.ERROR),
    "ErrorSync3": ("NCK005", Severity.ERROR),
    "ErrorSync4": ("NCK005", Severity.ERROR),
    "ErrorLeak": ("NCK006", Severity.ERROR),
    "ErrorFree": ("NCK007", Severity.ERROR),
    **{f"ErrorBuffer{n}": ("NCK008", Severity.ERROR) for n in range(5)},
}
UNKNOWN = ("NCK009", Severity.WARNING)

# What each class means (npu_check documentation), for the finding's message.
MEANINGS = {
    "ErrorRead1": "read of memory not allocated by AllocTensor or already freed",
    "ErrorWrite1": "write to memory not allocated by AllocTensor or already freed",
    "ErrorRead2": "read of data never written (suspicious)",
    "ErrorRead3": "read past the start or end of the allocated tensor",
    "ErrorRead4": "read address not 32 B aligned",
    "ErrorWrite2": "write past the start or end of the allocated tensor",
    "ErrorWrite3": "data overwritten before it was read (suspicious)",
    "ErrorWrite4": "write address not 32 B aligned",
    "ErrorSync1": "write without synchronisation (missing PipeBarrier or set/wait)",
    "ErrorSync2": "read without synchronisation (missing PipeBarrier or set/wait)",
    "ErrorSync3": "set_flag/wait_flag not paired",
    "ErrorSync4": "set_flag/wait_flag event id reused before it was waited on",
    "ErrorLeak": "buffer allocated and never freed",
    "ErrorFree": "buffer freed twice",
    "ErrorBuffer0": "tensor memory not set up with InitBuffer",
    "ErrorBuffer1": "tensor used with a queue type other than the one it was set up with",
    "ErrorBuffer2": "VECIN/VECOUT/VECCALC tensor used in a state that is not allowed",
    "ErrorBuffer3": "tensor operation on memory not allocated or out of bounds",
    "ErrorBuffer4": "TBufPool not set up with InitBufPool",
}


def log_files(path: Path) -> list[Path]:
    """The npuchk logs ``path`` names: the file itself or the ``*_npuchk.log``
    of a folder (at most MAX_FILES, by name)."""
    if not path.is_dir():
        return [path]
    with os.scandir(path) as entries:
        names = sorted(
            entry.name
            for entry in entries
            if entry.name.endswith(LOG_SUFFIX) and entry.is_file(follow_symlinks=False)
        )
    return [path / name for name in names[:MAX_FILES]]


def is_npuchk_log(path: Path, head: str) -> bool:
    """A ``*_npuchk.log`` file, or a log whose start has an npuchk error line."""
    return path.name.endswith(LOG_SUFFIX) or _ERROR.search(head) is not None


def is_npuchk_dir(folder: Path) -> bool:
    """The ``npuchk`` folder, or a folder of ``*_npuchk.log`` files (first entries only)."""
    if folder.name == "npuchk":
        return True
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries):
            if entry.name.endswith(LOG_SUFFIX):
                return True
            if count >= MAX_FILES:
                break
    return False


def _core_of(name: str) -> dict[str, Any]:
    """``add_custom_3_1_vec_npuchk.log`` -> kernel add_custom, block 3, sub-block 1, aiv."""
    found = _LOG_NAME.match(name)
    if found is None:
        return {"kernel": None, "block": None, "sub_block": None, "core_kind": None}
    kernel, block, sub, kind = found.groups()
    return {
        "kernel": kernel,
        "block": int(block),
        "sub_block": int(sub),
        "core_kind": _CORE_KINDS.get(kind.lower()),
    }


def _user_frame(frames: list[str]) -> str | None:
    """The first frame outside shared libraries (the kernel's own binary), as
    ``binary(symbol+0xoffset)``; ``addr2line -f -C -e BINARY OFFSET`` gives its line."""
    for frame in frames:
        binary = frame.partition("(")[0]
        if ".so" not in binary.rpartition("/")[2]:
            return frame.partition(" [")[0]
    return None


class _Errors:
    """The distinct errors of all logs, within MAX_FINDINGS and MAX_KEPT_CHARS.

    An error takes its slot when it is read, not when its back-trace arrives,
    so errors waiting for a back-trace that never comes stay within the caps;
    past them, only repeats of kept errors still wait (to be counted).
    """

    def __init__(self) -> None:
        self.items: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.kept_sites: set[tuple[Any, ...]] = set()  # (log, class, instruction) of items
        self.slots = 0  # distinct errors kept or waiting for their back-trace
        self.kept = 0
        self.skipped = 0

    def _room_for(self, texts: tuple[str, ...]) -> bool:
        cost = _text_cost(texts)
        if self.kept + cost > MAX_KEPT_CHARS:
            return False
        self.kept += cost
        return True

    def reserve(self, site: tuple[Any, ...], error: dict[str, Any]) -> bool | None:
        """A slot for a new waiting error (True), none but it may repeat a kept
        error (False), or None: past the caps, skipped."""
        if self.slots < MAX_FINDINGS and self._room_for(_waiting_texts(error)):
            self.slots += 1
            return True
        if site in self.kept_sites:
            return False
        self.skipped += 1
        return None

    def add(self, key: tuple[Any, ...], error: dict[str, Any], slot: bool) -> None:
        """Merge a waiting error, now with its back-trace, into the kept ones."""
        if key in self.items:
            self.items[key]["count"] += error["count"]
        elif slot and self._room_for(tuple(error["frames"])):
            self.items[key] = error
            self.kept_sites.add(key[:3])
            return
        else:
            self.skipped += error["count"]
        if slot:
            self.slots -= 1
            self.kept -= _text_cost(_waiting_texts(error))


def _text_cost(texts: tuple[str, ...]) -> int:
    return sum(len(text) + LINE_COST for text in texts)


def _waiting_texts(error: dict[str, Any]) -> tuple[str, ...]:
    return (error["detail"], error["instruction"] or "")


class _LogParser:
    """One log: errors wait for the back-trace that follows them."""

    def __init__(self, errors: _Errors, core: dict[str, Any]):
        self.errors = errors
        self.core = core
        self.instruction: str | None = None
        # errors waiting for their back-trace by (class, instruction), with
        # whether each holds a slot of its own (see _Errors.reserve)
        self.pending: dict[tuple[str, str | None], tuple[dict[str, Any], bool]] = {}
        self.frames: list[str] | None = None  # inside a BackTrace section
        self.recognised = 0  # error, instruction and back-trace lines

    def feed(self, line_no: int, line: str) -> None:
        if self.frames is not None:
            if line.startswith("  ") and line.strip():
                if len(self.frames) < MAX_FRAMES:
                    self.frames.append(line.strip()[:MAX_TEXT])
                return
            self.flush()
        text = line.strip()
        if found := _ERROR.search(text):
            self._error(line_no, found)
        elif text.startswith("### "):
            self.instruction = text[4 : 4 + MAX_TEXT]
        elif "# BackTrace #" in text:
            self.frames = []
        else:
            return
        self.recognised += 1

    def _error(self, line_no: int, found: re.Match[str]) -> None:
        unit, klass, detail = found.groups()
        error: dict[str, Any] = {
            "line": line_no,
            "unit": unit,
            "class": klass,
            "detail": detail.strip(),
            # Only accesses belong to the instruction logged before them; a
            # leak, double free or buffer-state error does not.
            "instruction": self.instruction if klass.startswith(_ACCESS_CLASSES) else None,
        }
        if access := _ACCESS.search(detail):
            error["op"] = access.group(1)
            error["host_address"] = access.group(2)
            if access.group(3):
                error["extent"] = access.group(3)
        key = (klass, error["instruction"])
        if key in self.pending:
            self.pending[key][0]["count"] += 1
        elif (slot := self.errors.reserve((self.core["log"], *key), error)) is not None:
            self.pending[key] = ({**error, "count": 1}, slot)

    def flush(self) -> None:
        """Attach the back-trace read so far to the waiting errors, and merge them."""
        frames = self.frames or []
        for (klass, instruction), (error, slot) in self.pending.items():
            key = (self.core["log"], klass, instruction, tuple(frames))
            self.errors.add(key, {**error, **self.core, "frames": frames}, slot)
        self.pending = {}
        self.frames = None


def _finding(error: dict[str, Any], log: str) -> Finding:
    klass = error["class"]
    code, severity = CLASSES.get(klass, UNKNOWN)
    evidence: dict[str, Any] = {
        "class": klass,
        "unit": error["unit"],
        "detail": error["detail"],
        "occurrences": error["count"],
        "log": log,
        "report_line": error["line"],
    }
    for key in ("instruction", "op", "host_address", "extent", "sub_block"):
        if error.get(key) is not None:
            evidence[key] = error[key]
    if error["frames"]:
        evidence["frames"] = error["frames"]
    meaning = MEANINGS.get(klass, "class not documented by npu_check")
    instruction = (error.get("instruction") or "").partition("(")[0]
    return Finding(
        code=code,
        severity=severity,
        message=f"{klass}: {meaning}" + (f" in {instruction}" if instruction else ""),
        location=Location(
            kernel=error["kernel"],
            core=error["block"],
            core_kind=error["core_kind"],
            space="UB" if "__ubuf__" in (error.get("instruction") or "") else None,
            file=_user_frame(error["frames"]),
        ),
        evidence=evidence,
        source=NPUCHK,
    )


_COLUMNS = [
    "log",
    "line",
    "code",
    "class",
    "unit",
    "kernel",
    "block",
    "sub_block",
    "core_kind",
    "op",
    "host_address",
    "extent",
    "count",
    "instruction",
    "file",
    "frames",
]


def read_npuchk(path: str | os.PathLike[str]) -> VendorReport:
    """Read one ``*_npuchk.log`` or a folder of them (the ``npuchk`` folder).

    Every ``[ErrorXxx]`` line becomes an ``NCK0xx`` finding with the core from
    the file name and the first frame of the kernel's own binary from the
    back-trace; ``tables["errors"]`` holds one row per distinct error. Logs
    of a clean run (instructions, no errors) give no findings. A log cut in
    the middle of a line is kept with a partial-read warning; a folder without
    logs, or logs without a single npuchk line, raise :class:`VendorFormatError`.
    """
    source = Path(path)
    try:
        files = log_files(source)
    except OSError as exc:
        raise VendorFormatError(
            source, f"expected {WHAT}, cannot list it ({exc.strerror})"
        ) from None
    if not files:
        raise VendorFormatError(source, f"expected {WHAT}, found no *{LOG_SUFFIX} in the folder")
    report = VendorReport(tool=NPUCHK, path=os.fspath(source))
    errors = _Errors()
    recognised = 0
    for file in files:
        check_size(file, MAX_LOG_BYTES, WHAT)
        parser = _LogParser(errors, {**_core_of(file.name), "log": file.name})
        log = TextLog(file, WHAT)
        for line_no, text in log.lines():
            parser.feed(line_no, text)
        parser.flush()
        recognised += parser.recognised
        log.note_problems(report)
        if log.unterminated:
            report.note_partial(file, "the log ends in the middle of a line (truncated?)")
    if not recognised:
        raise VendorFormatError(source, f"expected {WHAT}, found none of their lines")
    if errors.skipped:
        report.note_partial(
            source,
            f"kept {len(errors.items):,} distinct errors (at most {MAX_FINDINGS:,} and "
            f"{MAX_KEPT_CHARS >> 20} MiB of text); skipped {errors.skipped:,} more",
        )
    rows = []
    for error in errors.items.values():
        finding = _finding(error, error["log"])
        report.findings.append(finding)
        rows.append(
            {
                **{key: error.get(key) for key in _COLUMNS},
                "code": finding.code,
                "file": finding.location.file,
                "frames": "\n".join(error["frames"]),
            }
        )
    table = pd.DataFrame(rows, columns=_COLUMNS)
    for column in ("block", "sub_block", "count"):
        table[column] = table[column].astype("Int64")
    report.tables["errors"] = table
    return report
