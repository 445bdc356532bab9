"""Rules over ``msprof op simulator`` output (``SIM0xx``): data moves whose
decoded on-chip operand is misaligned, and data moves that could not be
decoded. The alignment and traffic rules of the trace run on the trace built
from the same moves (:func:`~ubscope.analyzers.vendor.simulator.trace.simulator_trace`)."""

from __future__ import annotations

from typing import TypedDict

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules.base import register
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.rule import VendorRule
from ubscope.analyzers.vendor.simulator.reader import SIMULATOR, calls, data_moves
from ubscope.probe.chip import load_chip

EVIDENCE_ITEMS = 8


def _on_chip_side(moves: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(space, address) of each move's on-chip operand (the destination of a load)."""
    load = moves["dst_space"] != "GM"
    space = moves["dst_space"].where(load, moves["src_space"])
    addr = moves["dst_addr"].where(load, moves["src_addr"])
    return space, addr


class MoveSite(TypedDict):
    """One instruction address's data moves: what ran there, where, how often."""

    instr: str
    pc: str
    cores: list[int]
    core_labels: list[str]
    executions: int


def _where(rows: pd.DataFrame) -> MoveSite:
    return {
        "instr": str(rows["instr"].iloc[0]),
        "pc": f"0x{int(rows['pc'].iloc[0]):x}",
        "cores": sorted({int(c) for c in rows["core"]}),
        "core_labels": sorted({str(c) for c in rows["core_label"]})[:EVIDENCE_ITEMS],
        "executions": int(calls(rows).sum()),
    }


class SimulatorRule(VendorRule):
    """A rule over the decoded data moves of simulator output."""

    input_kind = "simulator"


def _addressed(data: VendorReport) -> pd.DataFrame:
    """Data moves whose source and destination addresses were decoded."""
    moves = data_moves(data)
    return moves[moves["decoded"].isin(("addresses", "full"))]


@register
class SimulatorMisalignedMove(SimulatorRule):
    """msprof op simulator: a data move's on-chip address is not aligned.

    ## What it does

    Data moves (``MOV_OUT_TO_UB``, ``MOV_UB_TO_OUT``, ``DMA_MOV``...) in
    the simulator's instr_exe.csv or instr_log.dump whose decoded UB/L1
    address is not a multiple of 32 B (L0A/L0B 512 B, L0C 64 B); one finding
    per instruction address, with the cores and the raw operand text.

    ## Why it matters

    The hardware requires these alignments; on an NPU the same move
    raises "Illegal instruction ... unaligned UB addresses" or moves the
    wrong bytes, so the simulator run already shows the bug.

    ## Example

    ``MOV_OUT_TO_UB ... XD:X19=0x210`` (UB 0x210 is 16 B past a
    32 B boundary) -> "MOV_OUT_TO_UB at pc 0x1130a3a0 writes UB 0x210, not
    32 B aligned".

    ## How to fix

    Allocate through TPipe / an aligned pool and offset sub-tensors by
    whole 32 B blocks (16 fp16 / 8 fp32 elements).
    """

    code = "SIM001"
    explained_by = ("ALN001",)
    name = "simulator-misaligned-move"
    severity = Severity.ERROR

    def check(self, data: VendorReport) -> list[Finding]:
        moves = _addressed(data)
        if moves.empty:
            return []
        chip = load_chip()
        space, addr = _on_chip_side(moves)
        alignment = space.map(lambda s: chip.space_alignment(s) if isinstance(s, str) else 1)
        bad = moves[(addr % alignment.astype("Int64")).fillna(0) != 0].assign(
            space=space, addr=addr, alignment=alignment
        )
        findings = []
        for _, rows in bad.groupby(["instr", "pc"], sort=True, observed=True):
            first = rows.iloc[0]
            start = int(first["addr"])
            size = first["bytes"] if "bytes" in rows and pd.notna(first["bytes"]) else None
            action = "writes" if first["dst_space"] == first["space"] else "reads"
            where = _where(rows)
            findings.append(
                self.finding(
                    f"{where['instr']} at pc {where['pc']} {action} {first['space']} "
                    f"0x{start:x}, not {int(first['alignment'])} B aligned "
                    f"({where['executions']} execution(s) on {len(where['cores'])} core(s))",
                    Location(
                        core=int(first["core"]),
                        core_kind=str(first["core_kind"]),
                        space=str(first["space"]),
                        addr_start=start,
                        addr_end=start + int(size) if size else None,
                    ),
                    evidence={
                        **where,
                        "addresses": [f"0x{int(a):x}" for a in rows["addr"].head(EVIDENCE_ITEMS)],
                        "operands": str(first.get("detail", first.get("operands", ""))),
                        "decoded": str(first["decoded"]),
                    },
                    suggestion=self.fix(),
                    source=SIMULATOR,
                )
            )
        return findings


@register
class SimulatorUndecodedMove(SimulatorRule):
    """msprof op simulator: data moves whose operands could not be decoded.

    ## What it does

    Data-move instructions whose operand text gave no source or
    destination space, no addresses (``decoded`` = none/spaces), or no
    length because the instruction's ``XM`` burst layout is not known (only
    ``MOV_OUT_TO_UB`` and ``MOV_UB_TO_OUT`` are decoded); one info finding
    listing the instructions and their raw operand text.

    ## Why it matters

    Moves that are not decoded are left out of the alignment checks
    and of the trace built from the simulator output, so the analysis of
    those copies is incomplete; the finding says exactly what is missing.

    ## Example

    ``MOV_OUT_TO_UB_ALIGN_V2 ... config0 ...`` -> "1 data-move
    instruction(s) not fully decoded: MOV_OUT_TO_UB_ALIGN_V2 (length unknown)".

    ## How to fix

    Nothing in the kernel; record with ``--dump=on`` for per-execution
    operands, and check these moves in the simulator's own views.
    """

    code = "SIM002"
    name = "simulator-undecoded-move"
    severity = Severity.INFO

    def check(self, data: VendorReport) -> list[Finding]:
        moves = data_moves(data)
        partial = moves[moves["decoded"] != "full"]
        if partial.empty:
            return []
        missing = {
            "none": "spaces and addresses unknown",
            "spaces": "addresses unknown",
            "addresses": "length unknown",
        }
        kinds = partial.groupby(["instr", "decoded"], observed=True).size()
        parts = [
            f"{instr} ({missing[level]}, {count}x)"
            for instr, level, count in kinds.reset_index(name="count").itertuples(index=False)
        ]
        operands = partial.get("detail", partial.get("operands"))
        return [
            self.finding(
                f"{len(kinds)} data-move instruction(s) not fully decoded: "
                + ", ".join(parts[:EVIDENCE_ITEMS])
                + (" ..." if len(parts) > EVIDENCE_ITEMS else ""),
                evidence={
                    "instructions": parts,
                    "raw_operands": [str(t) for t in operands.head(EVIDENCE_ITEMS)]
                    if operands is not None
                    else [],
                },
                suggestion=self.fix(),
                source=SIMULATOR,
            )
        ]


@register
class SimulatorDataMoves(SimulatorRule):
    """msprof op simulator: the data moves the kernel made, with their on-chip ranges.

    ## What it does

    One info finding per core listing the decoded data moves (pipe,
    direction, on-chip range, GM address, bytes per call and, without a
    dump, the call count) of the simulated kernel, so a run on no NPU shows
    where its copies land in UB/L1.

    ## Why it matters

    The simulator's instr_exe.csv shows operands only as register text;
    the decoded ranges are what the buffer layout and the alignment and
    traffic rules of the derived trace are checked against.

    ## Example

    ``MOV_OUT_TO_UB ... XD:X19=0x200,XN:X15=0x112fa600,XM:X20=0x80010``
    called 16 times -> "aiv3: 2 data move(s): MTE2 GM 0x112fa600 -> UB
    0x200-0x300 (256 B x 16 calls), ...": the bytes and range of one call.

    ## How to fix

    Nothing to fix; compare the ranges with the intended buffer layout.
    """

    code = "SIM003"
    descriptive = True
    name = "simulator-data-moves"
    severity = Severity.INFO

    def check(self, data: VendorReport) -> list[Finding]:
        moves = _addressed(data)
        findings = []
        for _, rows in moves.groupby(["core_kind", "core"], sort=True):
            kind, core = str(rows["core_kind"].iloc[0]), int(rows["core"].iloc[0])
            space, addr = _on_chip_side(rows)
            shown = rows.head(EVIDENCE_ITEMS)
            lines = [
                _describe(row, runs)
                for (_, row), runs in zip(shown.iterrows(), calls(shown), strict=True)
            ]
            findings.append(
                self.finding(
                    f"{kind}{core}: {len(rows)} data move(s): {', '.join(lines[:3])}"
                    + (" ..." if len(rows) > 3 else ""),
                    Location(
                        core=core,
                        core_kind=kind,
                        space=str(space.iloc[0]),
                        addr_start=int(addr.min()),
                    ),
                    evidence={"moves": lines, "count": len(rows)},
                    source=SIMULATOR,
                )
            )
        return findings


def _describe(move: pd.Series, runs: int) -> str:
    """``MTE2 GM 0x112fa600 -> UB 0x200-0x300 (256 B x 16 calls)``: one call's
    range and bytes, and how often it ran when more than once (no end when the
    length is unknown)."""
    size = None if pd.isna(move["bytes"]) else int(move["bytes"])
    times = f" x {runs} calls" if runs > 1 else ""

    def side(space: str, addr: int) -> str:
        end = f"-0x{addr + size:x}" if size is not None and space != "GM" else ""
        return f"{space} 0x{addr:x}{end}"

    route = (
        f"{side(move['src_space'], int(move['src_addr']))} -> "
        f"{side(move['dst_space'], int(move['dst_addr']))}"
    )
    if size is None:
        return f"{move['pipe']} {route}" + (f" ({runs} calls)" if times else "")
    return f"{move['pipe']} {route} ({size} B{times})"
