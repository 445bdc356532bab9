"""A long msprof op simulator dump stays within the memory cap of
tests/helpers/capped_read.py: data moves beyond MAX_TIMELINE_ROWS are dropped with a
warning and raw operand texts are kept once each, not once per row."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.capped_read import FULL_SCALE, read_capped
from ubscope.analyzers.vendor.simulator.reader import MAX_TIMELINE_ROWS

LINE = (
    "[info] [{cycle:08d}] (PC: 0x10cfa058) MTE2 : (Binary: 0x74401100) MOV_OUT_TO_UB  "
    "Src:OUT, Dst:UB, XD:X0=0x{ub:x}, XN:X1=0x{gm:x}, XM:X2=0x80010, note:{pad}\n"
)


def test_dump_of_more_moves_than_the_cap(tmp_path: Path):
    """More moves than MAX_TIMELINE_ROWS (100,000 more at full scale), every
    operand text distinct: the reader keeps the cap's worth of rows, warns, and
    stays within the allowance."""
    lines = MAX_TIMELINE_ROWS + 100_000 if FULL_SCALE else MAX_TIMELINE_ROWS + 1000
    path = tmp_path / "OPPROF_1" / "dump" / "core0.veccore0.instr_log.dump"
    path.parent.mkdir(parents=True)
    pad = "x" * 120
    with open(path, "w") as handle:
        for row in range(lines):
            handle.write(LINE.format(cycle=row, ub=row * 32 % 0x30000, gm=row * 256, pad=pad))
    outcome = read_capped("simulator", path.parents[1])
    assert outcome["result"] == "parsed", outcome
    assert outcome["tables"]["timeline"][0] == MAX_TIMELINE_ROWS
    assert any(f"kept the first {MAX_TIMELINE_ROWS:,} data moves" in w for w in outcome["warnings"])
