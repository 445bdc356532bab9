"""The trace of a kernel run on the simulator: its decoded data moves as copy
events of one launch, so the trace rules (alignment, GM traffic) run on a
kernel that ran on no NPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.simulator.reader import MAX_MOVE_US, SIMULATOR, calls, data_moves
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import Trace, new_metadata, write_table
from ubscope.probe.validate import VALUE_RANGES


def _recordable(moves: pd.DataFrame) -> pd.Series:
    """Moves whose fields are within the trace's value ranges (probe/validate.py)."""
    ok = pd.Series(True, index=moves.index)
    for column, field in (
        ("src_addr", "src_addr"),
        ("dst_addr", "addr"),
        ("bytes", "size"),
        ("burst_bytes", "burst_len"),
        ("n_burst", "burst_count"),
        ("core", "core"),
    ):
        low, high = VALUE_RANGES[field]
        ok &= moves[column].between(low, high).fillna(False).astype(bool)
    end = moves["dst_addr"].astype("float64") + moves["bytes"].astype("float64")
    return ok & (end < VALUE_RANGES["addr"][1])


def _all_calls(moves: pd.DataFrame) -> pd.DataFrame:
    """The moves with each row's length over all the runs it stands for
    (:func:`~ubscope.analyzers.vendor.simulator.reader.calls`): an instr_exe
    row's decoded nBurst x lenBurst is that of one call, so its copy moves
    call_count x nBurst bursts of lenBurst. Beyond what a trace holds, the
    burst count is left one over its limit, for :func:`_recordable` to drop."""
    over = VALUE_RANGES["burst_count"][1] + 1
    bursts = (moves["n_burst"] * calls(moves)).clip(upper=over)
    return moves.assign(n_burst=bursts, bytes=bursts * moves["burst_bytes"])


def _move_tag(instr: str, pc: float | None) -> str:
    """``MOV_OUT_TO_UB@pc 0x...``; just the instruction when its address cell was not a number."""
    return instr if pd.isna(pc) else f"{instr}@pc 0x{int(pc):x}"


def simulator_trace(report: VendorReport, chip: ChipProfile | None = None) -> Trace:
    """The decoded data moves as a ubscope trace (see :func:`simulator_events`)."""
    meta, table = simulator_events(report, chip)
    return Trace(path=Path(report.path), meta=meta, events=table.to_pandas())


def write_simulator_trace(
    report: VendorReport, path: str | os.PathLike[str], chip: ChipProfile | None = None
) -> None:
    """Save the trace of :func:`simulator_trace` as a ``.ubtrace`` file (for the TUI)."""
    write_table(path, *simulator_events(report, chip))


def simulator_events(
    report: VendorReport, chip: ChipProfile | None = None
) -> tuple[dict[str, object], pa.Table]:
    """Metadata and events of the decoded data moves as a trace (one launch, one
    copy event per move whose length is known), so the trace rules run on a
    simulated kernel. Without a dump, one copy stands for all the calls of an
    instr_exe row: call_count x its bytes, from the addresses of the one call
    the simulator printed (those of the others are not in the file).

    Times: the dump's cycle stamps at the chip clock; without a dump the moves
    of each core follow each other, each lasting its instr_exe running time
    (that of all its calls).
    """
    chip = chip or load_chip()
    moves = data_moves(report)
    moves = moves[(moves["decoded"] == "full") & moves["src_space"].isin(list(Space.__members__))]
    moves = _all_calls(moves[moves["dst_space"].isin(list(Space.__members__))])
    recordable = _recordable(moves)
    if not recordable.all():
        report.warnings.append(
            f"{report.path}: {int((~recordable).sum())} data move(s) with addresses, sizes or "
            "core numbers beyond what a trace holds were left out of the derived trace"
        )
        moves = moves[recordable]
    kernel = f"simulator:{Path(report.path).name}"
    blocks = int(moves["block"].nunique()) if len(moves) else 0
    kinds = set(moves["core_kind"]) if len(moves) else set()
    mode = "mix" if len(kinds) > 1 else "cube" if kinds == {"aic"} else "vector"
    ps_per_cycle = 1e12 / chip.clock_hz
    if moves.empty:
        start = duration = np.zeros(0, dtype=np.int64)
    elif "cycle" in moves:
        start = (moves["cycle"].to_numpy(dtype=np.float64) * ps_per_cycle).astype(np.int64)
        duration = np.full(len(moves), int(ps_per_cycle), dtype=np.int64)
    else:
        # instr_exe sums the running time of all call_count executions, as the copy does
        running = moves["running_time(us)"]
        running = running.where((running >= 0) & (running < MAX_MOVE_US))
        duration = (running.fillna(0).to_numpy(np.float64) * 1e6).astype(np.int64)
        end = pd.Series(duration, index=moves.index).groupby(moves["core_label"]).cumsum()
        start = end.to_numpy(np.int64) - duration
    recorder = Recorder()
    recorder.kernel_begin(kernel, max(blocks, 1), 0, mode)
    core_kinds = {"aiv": int(CoreKind.AIV), "aic": int(CoreKind.AIC)}
    columns = zip(
        moves["core_kind"],
        moves["core"],
        moves["src_space"],
        moves["src_addr"],
        moves["dst_space"],
        moves["dst_addr"],
        moves["bytes"],
        moves["burst_bytes"],
        moves["n_burst"],
        moves["instr"].astype(str),
        moves["pc"],
        start,
        duration,
        strict=True,
    )
    for kind, core, src, src_addr, dst, dst_addr, size, burst, count, instr, pc, t, dur in columns:
        src_space, dst_space = Space[src], Space[dst]
        flags = 0
        for space, addr in ((src_space, src_addr), (dst_space, dst_addr)):
            if space == Space.GM and addr % chip.gm_alignment:
                flags |= Flag.GM_UNALIGNED
            elif space != Space.GM and addr % chip.space_alignment(space):
                flags |= Flag.MISALIGNED
        recorder.copy(
            core_kinds.get(kind, int(CoreKind.AICORE)),
            int(core),
            int(src_space),
            int(src_addr),
            int(dst_space),
            int(dst_addr),
            int(size),
            int(size),
            int(burst),
            int(count),
            "GM",
            _move_tag(instr, pc),
            int(t),
            int(dur),
            int(flags),
        )
    end_ps = int((start + duration).max()) if len(moves) else 0
    recorder.kernel_end(kernel, end_ps, end_ps)
    meta = new_metadata(
        chip.to_dict(), kernel, {}, extra={"source": SIMULATOR, "vendor_path": report.path}
    )
    return meta, recorder.table()
