"""Reader for ``msprof op simulator`` output: a kernel run on CANN's
cycle-accurate simulator, on no NPU.

Layout: ``OPPROF_x/simulator/core<N>.<veccore|cubecore><k>/`` holds
``core<N>.<kind><k>_instr_exe.csv`` (one row per instruction address:
``instr,addr,pipe,call_count,cycles,running_time(us),detail``; cycles and
running time summed over the call_count runs, ``detail`` the operands of one) and
``..._code_exe.csv`` (``code,call_count,cycles,running_time(us)``); with
``--dump=on`` ``OPPROF_x/dump/core<N>.<kind><k>.instr_log.dump`` logs every
executed instruction in order (``[info] [<cycle>] (PC: 0x..) MTE2 : (Binary:
0x..) <INSTR> <operands>``).

The ``detail`` / operand text of data moves is decoded as far as its
encoding is known (docs/msprof-op-simulator.md): source and destination space,
destination (``XD``) and source (``XN``) address, and for ``MOV_OUT_TO_UB`` /
``MOV_UB_TO_OUT`` the burst configuration in ``XM``. Everything else keeps
its raw text and a ``decoded`` level saying how far decoding got.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ubscope.analyzers.vendor.common import (
    VendorReport,
    check_size,
    csv_header,
    find_column,
    read_csv_chunks,
    require_columns,
    whole_numbers,
)
from ubscope.analyzers.vendor.simulator import SIMULATOR
from ubscope.probe.errors import VendorFormatError

WHAT = "msprof op simulator output (OPPROF_*/simulator folder or core*_instr_exe.csv)"
CORE_LABEL = r"core(\d{1,4})\.(veccore|cubecore)(\d{1,2})"
_CORE = re.compile(CORE_LABEL)
_INSTR_FILE = re.compile(rf"({CORE_LABEL})_instr_exe(?:_\d{{1,20}})?\.csv")
_CODE_FILE = re.compile(rf"({CORE_LABEL})_code_exe(?:_\d{{1,20}})?\.csv")
_DUMP_FILE = re.compile(rf"({CORE_LABEL})\.instr_log\.dump")
NUMBER_COLUMNS = ("call_count", "cycles", "running_time(us)")
INSTR_COLUMNS = ("instr", "addr", "pipe", *NUMBER_COLUMNS, "detail")
CODE_COLUMNS = ("code", *NUMBER_COLUMNS)
MAX_FILES = 4096
MAX_DEPTH = 4
# A dump logs every executed instruction; only data moves are kept, at most
# MAX_TIMELINE_ROWS of them, and lines are read at most MAX_DUMP_LINE bytes long.
MAX_TIMELINE_ROWS = 500_000
MAX_DUMP_LINE = 4096
# Raw texts (pipe, instruction, operands) kept per dump: distinct ones, capped.
MAX_DUMP_TEXTS = 50_000
MAX_OPERAND_TEXT = 512
DUMP_BATCH = 65_536
BLOCK = 32  # bytes per burst-length unit (one DataBlock)
# Calls counted per instr_exe row; more would make more bursts than a trace holds anyway.
MAX_CALLS = 1 << 31
MAX_MOVE_US = 1e9  # running times beyond this (or negative) are junk, not durations

# Simulator memory names -> ubscope space names.
SPACES = {
    "OUT": "GM",
    "GM": "GM",
    "UB": "UB",
    "L1": "L1",
    "CBUF": "L1",
    "L0A": "L0A",
    "L0B": "L0B",
    "L0C": "L0C",
}
# Moves whose XM burst layout is known: sid [3:0], nBurst [15:4], lenBurst [31:16]
# (32 B units), srcStride [47:32], dstStride [63:48] — the operand order of the
# CCE intrinsics copy_gm_to_ubuf / copy_ubuf_to_gm.
BURST_LAYOUT_INSTRS = ("MOV_OUT_TO_UB", "MOV_UB_TO_OUT")
_MOVE_NAME = re.compile(r"(?:DMA_)?MOV_([A-Z0-9]+)_TO_([A-Z0-9]+)(?:_.*)?|DMA_MOV", re.IGNORECASE)
_OPERAND = r"(?:X\d{{1,2}}\s*=\s*)?(0x[0-9a-fA-F]{{1,16}}|\d{{1,20}})"
_FIELDS = {
    "src": re.compile(r"\bSrc\s*:\s*([A-Za-z0-9]+)"),
    "dst": re.compile(r"\bDst\s*:\s*([A-Za-z0-9]+)"),
    "xd": re.compile(r"\b(?:XD|xdValue)\s*:\s*" + _OPERAND.format()),
    "xn": re.compile(r"\b(?:XN|xnValue)\s*:\s*" + _OPERAND.format()),
    "xm": re.compile(r"\b(?:XM|xmValue)\s*:\s*" + _OPERAND.format()),
}
_DUMP_LINE = re.compile(
    r"(?:\[info\]\s*)?\[(\d{1,12})\]\s*\(PC:\s*(0x[0-9a-fA-F]{1,16})\)\s*([A-Za-z0-9_ ]{1,32}?)\s*:"
    r"\s*\(Binary:\s*0x[0-9a-fA-F]{1,16}\)\s*(?:\(ID:\s*\d{1,12}\)\s*)?([A-Za-z_][\w.]{0,63})\s*(.*)"
)
DECODED = ("none", "spaces", "addresses", "full")
CORE_COLUMNS = ("core_label", "block", "core_kind", "sub_core", "core")
MOVE_COLUMNS = (
    "src_space",
    "dst_space",
    "dst_addr",
    "src_addr",
    "n_burst",
    "burst_bytes",
    "src_stride",
    "dst_stride",
    "bytes",
    "decoded",
)


def core_of(label: str) -> tuple[int, str, int] | None:
    """``core3.veccore1`` -> (block 3, ``aiv``, sub-core 1)."""
    found = _CORE.fullmatch(label)
    if not found:
        return None
    return int(found.group(1)), "aiv" if found.group(2) == "veccore" else "aic", int(found.group(3))


def _number(text: pd.Series) -> pd.Series:
    """Hex (``0x200``) or decimal operand text as Int64 (NA where absent or over 2**63)."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return pd.NA
        number = int(value, 16) if value.lower().startswith("0x") else int(value)
        return number if number < 2**63 else pd.NA

    return text.map(parse).astype("Int64")


def decode_moves(instr: pd.Series, operands: pd.Series) -> pd.DataFrame:
    """Decoded operands of data moves (rows that are not data moves get NA).

    Columns: ``src_space``/``dst_space`` (ubscope names), ``src_addr``/``dst_addr``,
    ``n_burst``, ``burst_bytes``, ``src_stride``/``dst_stride`` (32 B units),
    ``bytes`` (n_burst x burst_bytes) and ``decoded``: how far decoding got
    (``none`` < ``spaces`` < ``addresses`` < ``full``).
    """
    names = instr.fillna("").astype(str)
    text = operands.fillna("").astype(str)
    move = names.str.fullmatch(_MOVE_NAME.pattern, case=False)
    by_name = names.str.upper().str.extract(r"MOV_([A-Z0-9]+)_TO_([A-Z0-9]+)")
    src = text.str.extract(_FIELDS["src"])[0].str.upper().fillna(by_name[0])
    dst = text.str.extract(_FIELDS["dst"])[0].str.upper().fillna(by_name[1])
    out = pd.DataFrame(index=instr.index)
    out["src_space"] = src.map(SPACES).where(move)
    out["dst_space"] = dst.map(SPACES).where(move)
    out["dst_addr"] = _number(text.str.extract(_FIELDS["xd"])[0].where(move))
    out["src_addr"] = _number(text.str.extract(_FIELDS["xn"])[0].where(move))
    config = _number(text.str.extract(_FIELDS["xm"])[0].where(move))
    layout = names.str.upper().isin(BURST_LAYOUT_INSTRS) & config.notna()
    bits = config.where(layout).fillna(0).astype("int64").to_numpy().astype(np.uint64)
    fields = {
        "n_burst": (bits >> np.uint64(4)) & np.uint64(0xFFF),
        "burst_bytes": ((bits >> np.uint64(16)) & np.uint64(0xFFFF)) * np.uint64(BLOCK),
        "src_stride": (bits >> np.uint64(32)) & np.uint64(0xFFFF),
        "dst_stride": (bits >> np.uint64(48)) & np.uint64(0xFFFF),
    }
    for name, values in fields.items():
        out[name] = pd.array(values.astype(np.int64), dtype="Int64").copy()
        out.loc[~layout.to_numpy(), name] = pd.NA
    out["bytes"] = out["n_burst"] * out["burst_bytes"]
    spaces = out["src_space"].notna() & out["dst_space"].notna()
    addresses = spaces & out["src_addr"].notna() & out["dst_addr"].notna()
    level = np.select(
        [addresses & layout, addresses, spaces, move], ["full", "addresses", "spaces", "none"], ""
    )
    out["decoded"] = pd.Series(level, index=instr.index).replace("", pd.NA)
    return out


def _core_columns(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    block, kind, sub = core_of(label) or (-1, "aicore", 0)
    frame.insert(0, "core_label", label)
    frame.insert(1, "block", block)
    frame.insert(2, "core_kind", kind)
    frame.insert(3, "sub_core", sub)
    return frame


def _named_chunks(
    file: Path, report: VendorReport, what: str, columns: Sequence[str]
) -> Iterator[pd.DataFrame]:
    """The chunks of ``columns``, found in the header as tolerantly as
    :func:`require_columns` checks them (``Running Time(us)`` is
    ``running_time(us)``) and named as asked; the NUMBER_COLUMNS as numbers."""
    header = csv_header(file, what)
    require_columns(file, header, what, *((c,) for c in columns))
    named = {found: column for column in columns if (found := find_column(header, column))}
    numbers = [found for found, column in named.items() if column in NUMBER_COLUMNS]
    for chunk in read_csv_chunks(file, report, what, columns=list(named), numbers=numbers):
        yield chunk.rename(columns=named)


def _read_instr(file: Path, label: str, report: VendorReport) -> pd.DataFrame:
    what = "an msprof op simulator instr_exe CSV"
    chunks = []
    for chunk in _named_chunks(file, report, what, INSTR_COLUMNS):
        chunk["pc"] = whole_numbers(chunk.pop("addr"))
        chunks.append(chunk.join(decode_moves(chunk["instr"], chunk["detail"])))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    return _core_columns(frame, label)


def _read_code(file: Path, label: str, report: VendorReport) -> pd.DataFrame:
    what = "an msprof op simulator code_exe CSV"
    chunks = list(_named_chunks(file, report, what, CODE_COLUMNS))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    return _core_columns(frame, label)


class _Interner(dict):
    """Text -> code for at most ``limit`` distinct texts (then -1): a column of
    codes instead of one string object per row."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.dropped = 0

    def code(self, text: str) -> int:
        found = self.get(text)
        if found is None:
            if len(self) >= self.limit:
                self.dropped += 1
                return -1
            found = self[text] = len(self)
        return found

    def column(self, codes: array) -> pd.Categorical:
        return pd.Categorical.from_codes(np.frombuffer(codes, dtype=np.int64), pd.Index(list(self)))


def _typed_moves(moves: pd.DataFrame) -> pd.DataFrame:
    """Decoded moves with fixed categories, so batches concatenate without objects."""
    spaces = sorted(set(SPACES.values()))
    for column in ("src_space", "dst_space"):
        moves[column] = pd.Categorical(moves[column], categories=spaces)
    moves["decoded"] = pd.Categorical(moves["decoded"], categories=DECODED)
    return moves


def _read_dump(file: Path, label: str, report: VendorReport) -> pd.DataFrame:
    """The data moves of an instr_log.dump, in execution order, decoded in
    batches of DUMP_BATCH lines; raw texts are kept once each (interned)."""
    check_size(file, 1 << 62, "an msprof op simulator instr_log.dump")
    columns = {name: array("q") for name in ("cycle", "pc", "pipe", "instr", "operands")}
    texts = {name: _Interner(MAX_DUMP_TEXTS) for name in ("pipe", "instr", "operands")}
    decoded: list[pd.DataFrame] = []
    batch: tuple[list[str], list[str]] = ([], [])
    long_lines = unreadable = 0
    kept_all = True

    def flush() -> None:
        if batch[0]:
            decoded.append(_typed_moves(decode_moves(pd.Series(batch[0]), pd.Series(batch[1]))))
            batch[0].clear()
            batch[1].clear()

    with open(file, "rb") as handle:
        for raw in iter(lambda: handle.readline(MAX_DUMP_LINE), b""):
            if not raw.endswith(b"\n") and len(raw) == MAX_DUMP_LINE:
                long_lines += 1
                while (rest := handle.readline(MAX_DUMP_LINE)) and not rest.endswith(b"\n"):
                    pass
                continue
            line = raw.decode("utf-8", "replace").strip()
            found = _DUMP_LINE.fullmatch(line)
            if found is None:
                unreadable += bool(line) and "(PC:" in line
                continue
            instr, operands = found.group(4), found.group(5)[:MAX_OPERAND_TEXT]
            if not _MOVE_NAME.fullmatch(instr):
                continue
            if len(columns["cycle"]) >= MAX_TIMELINE_ROWS:
                kept_all = False
                break
            columns["cycle"].append(int(found.group(1)))
            columns["pc"].append(int(found.group(2), 16) & (2**63 - 1))
            for name, text in (
                ("pipe", found.group(3).strip()),
                ("instr", instr),
                ("operands", operands),
            ):
                columns[name].append(texts[name].code(text))
            batch[0].append(instr)
            batch[1].append(operands)
            if len(batch[0]) >= DUMP_BATCH:
                flush()
    flush()
    if long_lines:
        report.note_partial(file, f"skipped {long_lines} line(s) over {MAX_DUMP_LINE} bytes")
    if unreadable:
        report.note_partial(file, f"skipped {unreadable} instruction line(s) of unknown shape")
    if not kept_all:
        report.note_partial(file, f"kept the first {MAX_TIMELINE_ROWS:,} data moves")
    if texts["operands"].dropped:
        report.note_partial(
            file,
            f"kept the raw text of the first {MAX_DUMP_TEXTS:,} "
            "distinct operand texts (all were decoded)",
        )
    frame = pd.DataFrame(
        {
            "cycle": np.frombuffer(columns["cycle"], dtype=np.int64),
            "pc": np.frombuffer(columns["pc"], dtype=np.int64),
            **{name: texts[name].column(columns[name]) for name in texts},
        }
    )
    moves = (
        pd.concat(decoded, ignore_index=True)
        if decoded
        else _typed_moves(decode_moves(pd.Series([], dtype=str), pd.Series([], dtype=str)))
    )
    return _core_columns(frame.join(moves), label)


def _files(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """instr/code/dump files under ``root`` (bounded walk), with their core labels."""
    found: dict[str, list[tuple[Path, str]]] = {"instructions": [], "code": [], "timeline": []}
    patterns = (("instructions", _INSTR_FILE), ("code", _CODE_FILE), ("timeline", _DUMP_FILE))
    count = 0
    for folder, subfolders, names in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        subfolders[:] = sorted(d for d in subfolders if depth < MAX_DEPTH)
        for name in sorted(names):
            for table, pattern in patterns:
                if match := pattern.fullmatch(name):
                    found[table].append((Path(folder, name), match.group(1)))
                    count += 1
        if count > MAX_FILES:
            raise VendorFormatError(root, f"expected {WHAT}, found over {MAX_FILES} core files")
    return found


def simulator_file(path: Path) -> str | None:
    """Which simulator table a file name belongs to (``instructions``, ``code``,
    ``timeline``), or None."""
    for table, pattern in (
        ("instructions", _INSTR_FILE),
        ("code", _CODE_FILE),
        ("timeline", _DUMP_FILE),
    ):
        if pattern.fullmatch(path.name):
            return table
    return None


def is_simulator_dir(folder: Path) -> bool:
    """An ``OPPROF_*`` folder with a ``simulator`` folder, the ``simulator``
    folder itself, or one of its ``core*.veccore*`` folders."""
    if (folder / "simulator").is_dir():
        return True
    return folder.name == "simulator" or (
        core_of(folder.name) is not None and any(folder.glob("*_instr_exe*.csv"))
    )


READERS = {"instructions": _read_instr, "code": _read_code, "timeline": _read_dump}


def read_simulator(dir_or_file: str | os.PathLike[str]) -> VendorReport:
    """Read ``msprof op simulator`` output: an ``OPPROF_*`` folder, its
    ``simulator`` folder, a core folder or one core file.

    ``tables``: ``instructions`` (instr_exe rows), ``code`` (code_exe rows) and,
    with a dump, ``timeline`` (every executed data move in order), each with
    ``core_label``, ``block``, ``core_kind`` (aiv/aic) and ``sub_core`` first
    and the decoded data-move columns of :func:`decode_moves`. ``findings`` is
    empty: the ``SIM`` rules and the trace from
    :func:`~ubscope.analyzers.vendor.simulator.trace.simulator_trace` derive them.
    """
    source = Path(dir_or_file)
    report = VendorReport(tool=SIMULATOR, path=os.fspath(source))
    if source.is_dir():
        files = _files(source)
    elif (table := simulator_file(source)) is not None:
        match = re.match(CORE_LABEL, source.name)
        assert match is not None
        files = {table: [(source, match.group(0))]}
    else:
        raise VendorFormatError(source, f"expected {WHAT}")
    if not any(files.values()):
        raise VendorFormatError(source, f"expected {WHAT}, found no core*_instr_exe.csv")
    first_error: VendorFormatError | None = None
    total = sum(len(entries) for entries in files.values())
    for table, entries in files.items():
        frames = []
        for file, label in entries:
            try:
                frames.append(READERS[table](file, label, report))
            except VendorFormatError as error:
                if total == 1:
                    raise
                first_error = first_error or error
                report.note_partial(file, f"skipped: {error.problem}")
            except OSError as exc:
                raise VendorFormatError(file, f"expected {WHAT}, cannot read it ({exc})") from None
        if frames:
            report.tables[table] = pd.concat(frames, ignore_index=True)
    if not report.tables:
        assert first_error is not None
        raise first_error
    _number_cores(report.tables)
    return report


def _number_cores(tables: dict[str, pd.DataFrame]) -> None:
    """ubscope core index: the block for cube cores and for vector-only runs; in
    mix runs (two vector cores per block) ``2 x block + sub_core``, as GetBlockIdx
    numbers AIV cores."""
    subs = [t.loc[t["core_kind"] == "aiv", "sub_core"] for t in tables.values() if len(t)]
    per_block = int(max((s.max() for s in subs if len(s)), default=0)) + 1
    for table in tables.values():
        vector = table["core_kind"] == "aiv"
        table["core"] = np.where(
            vector, table["block"] * per_block + table["sub_core"], table["block"]
        ).astype(np.int64)


def data_moves(report: VendorReport) -> pd.DataFrame:
    """The data moves to analyse: every execution from the dump's timeline
    when there is one, else one row per move instruction of instr_exe (which
    stands for its :func:`calls`)."""
    table = report.tables.get("timeline")
    if table is None or table.empty:
        table = report.tables.get("instructions", pd.DataFrame())
    if "decoded" not in table:
        return pd.DataFrame(columns=[*CORE_COLUMNS, *MOVE_COLUMNS, "instr", "pc", "pipe"])
    return table[table["decoded"].notna()]


def calls(moves: pd.DataFrame) -> pd.Series:
    """How many executions each row of :func:`data_moves` stands for: a dump
    row is one; an instr_exe row is its instruction run ``call_count`` times
    (1 where the cell is missing or below 1, at most MAX_CALLS), with the
    operands, so the length, of one run printed in ``detail``."""
    if "call_count" not in moves:
        return pd.Series(1, index=moves.index, dtype="int64")
    count = moves["call_count"]
    return count.where(count >= 1).fillna(1).clip(upper=MAX_CALLS).astype("int64")
