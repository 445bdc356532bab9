"""msprof op simulator output: decoding data moves, the derived trace, the SIM
rules, detection and bad input.

Fixture files are written here in the shape of the real files in
``../shared/vendor_samples/msprof_op_simulator`` (instr_exe.csv) and of the
instr_log.dump lines in vendor_formats.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ubscope.analyzers.api import analyze_path, analyze_trace
from ubscope.analyzers.vendor.registry import detect_vendor_input
from ubscope.analyzers.vendor.simulator.reader import decode_moves, read_simulator
from ubscope.analyzers.vendor.simulator.trace import simulator_trace, write_simulator_trace
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import VendorFormatError
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import Trace, new_metadata, read_trace
from ubscope.tui.loading import TraceRequest

HEADER = "instr,addr,pipe,call_count,cycles,running_time(us),detail\n"
# The two data moves of the real sample: UB 0x200 <- GM, UB 0x400 -> GM, 256 B each.
LOAD = 'MOV_OUT_TO_UB,288400800,MTE2,16,5376,2.990000,"Src:OUT,Dst:UB,XD:X19=0x200,XN:X15=0x112fa600,XM:X20=0x80010,id:6"\n'
STORE = 'MOV_UB_TO_OUT,288400416,MTE3,16,5391,2.900000,"Src:UB,Dst:OUT,XD:X13=0x11301800,XN:X15=0x400,XM:X14=0x80010,id:7"\n'
VADD = (
    'VADD,288401332,VECTOR,8,2944,0.104000,"XD:X16=0x400,XN:X13=0,XM:X14=0x200,Dtype:F16,Id:517"\n'
)
# A load into UB 0x210: 16 B past a 32 B boundary.
MISALIGNED = 'MOV_OUT_TO_UB,288400900,MTE2,4,900,0.800000,"Src:OUT,Dst:UB,XD:X19=0x210,XN:X15=0x10000000,XM:X20=0x40010,id:8"\n'
ALIGN_V2 = 'MOV_OUT_TO_UB_ALIGN_V2,288401000,MTE2,1,300,0.200000,"Src:OUT,Dst:UB,XD:X1=0x800,XN:X2=0x10001000,config0:0x123"\n'


def opprof(write, *rows: str, core: str = "core3.veccore0") -> Path:
    path = write(f"OPPROF_20250101_X/simulator/{core}/{core}_instr_exe.csv", HEADER + "".join(rows))
    return path.parents[2]


def test_xm_burst_fields_decode_by_hand():
    """0x80010: nBurst = bits 4-15 = 1, lenBurst = bits 16-31 = 8 blocks x 32 B = 256 B.
    The stride case packs nBurst 5, lenBurst 4 (128 B), srcStride 2, dstStride 3:
    (3 << 48) | (2 << 32) | (4 << 16) | (5 << 4) = 0x3000200040050 -> 5 x 128 = 640 B."""
    instr = pd.Series(["MOV_OUT_TO_UB", "MOV_UB_TO_OUT"])
    operands = pd.Series(
        [
            "Src:OUT,Dst:UB,XD:X19=0x200,XN:X15=0x112fa600,XM:X20=0x80010,id:6",
            "Src:UB,Dst:OUT,XD:X1=0x10000000,XN:X2=0x40,XM:X3=0x3000200040050",
        ]
    )
    moves = decode_moves(instr, operands)
    first, second = moves.iloc[0], moves.iloc[1]
    assert (first["src_space"], first["dst_space"]) == ("GM", "UB")
    assert (first["src_addr"], first["dst_addr"]) == (0x112FA600, 0x200)
    assert (first["n_burst"], first["burst_bytes"], first["bytes"]) == (1, 256, 256)
    assert (second["src_space"], second["src_addr"], second["dst_addr"]) == ("UB", 0x40, 0x10000000)
    assert (second["n_burst"], second["burst_bytes"], second["bytes"]) == (5, 128, 640)
    assert (second["src_stride"], second["dst_stride"]) == (2, 3)
    assert list(moves["decoded"]) == ["full", "full"]


def test_310p_dump_operands_and_partial_decoding():
    """310P dumps write ``xdValue:``/``xnValue:``/``xmValue:``; xmValue 0x10012 is
    1 burst of 1 block (32 B). ``DMA_MOV Src:OUT, Dst:UB, XD:X0=0`` names no source
    address; ALIGN_V2 moves have no known XM layout; VADD is no data move."""
    instr = pd.Series(["mov_out_to_ub", "DMA_MOV", "MOV_OUT_TO_UB_ALIGN_V2", "VADD"])
    operands = pd.Series(
        [
            "(xd:0, xn:1, xm:2, xdValue:0x0, xnValue:0x1068be00, xmValue:0x10012, srcIDValue:2)",
            "Src:OUT, Dst:UB, XD:X0=0",
            ALIGN_V2.split(',"')[1],
            "XD:X16=0x400,XN:X13=0,XM:X14=0x200",
        ]
    )
    moves = decode_moves(instr, operands)
    assert moves.loc[0, ["src_space", "dst_space", "dst_addr", "src_addr", "bytes"]].tolist() == [
        "GM",
        "UB",
        0,
        0x1068BE00,
        32,
    ]
    assert moves["decoded"].tolist()[:3] == ["full", "spaces", "addresses"]
    assert pd.isna(moves.loc[2, "bytes"]) and pd.isna(moves.loc[3, "decoded"])


def test_folder_reads_cores_and_numbers_them(write):
    """Vector-only runs: the AIV core is the block (core3.veccore0 -> aiv3)."""
    root = opprof(write, STORE, LOAD, VADD)
    report = read_simulator(root)
    table = report.tables["instructions"]
    assert set(table["core"]) == {3} and set(table["core_kind"]) == {"aiv"}
    load = table[table["instr"] == "MOV_OUT_TO_UB"].iloc[0]
    assert (load["pipe"], load["dst_addr"], load["bytes"]) == ("MTE2", 0x200, 256)
    assert report.warnings == []


def test_a_cycle_count_that_is_text_is_missing_and_named_in_a_warning(write, quiet):
    # the VADD row's cycles (2944) replaced by text; the moves keep theirs
    root = opprof(write, STORE, LOAD, VADD.replace(",2944,", ",many,"))
    report = read_simulator(root)
    csv = root / "simulator/core3.veccore0/core3.veccore0_instr_exe.csv"
    assert report.warnings == [
        f"{csv}: column 'cycles': 1 cell is not a number ('many'), read as missing"
    ]
    cycles = report.tables["instructions"].set_index("instr")["cycles"]
    assert cycles["MOV_UB_TO_OUT"] == 5391 and cycles["MOV_OUT_TO_UB"] == 5376
    assert pd.isna(cycles["VADD"])


def test_mix_run_numbers_vector_cores_per_block(write):
    """Two vector cores per block: core1.veccore1 is AIV 2 x 1 + 1 = 3; cube core = block."""
    write("sim/simulator/core1.cubecore0/core1.cubecore0_instr_exe.csv", HEADER + VADD)
    write("sim/simulator/core1.veccore1/core1.veccore1_instr_exe.csv", HEADER + LOAD)
    table = read_simulator(write("sim/x", "").parent / "simulator").tables["instructions"]
    cores = dict(zip(table["core_label"], table["core"], strict=True))
    assert cores == {"core1.cubecore0": 1, "core1.veccore1": 3}


def test_dump_gives_the_execution_order_and_times(write):
    """Only the data moves of the dump are kept, in cycle order; the derived trace
    starts each copy at its cycle (910B profile clock: 1 cycle = 1e12 / clock_hz ps)."""
    root = opprof(write, LOAD)
    write(
        "OPPROF_20250101_X/dump/core3.veccore0.instr_log.dump",
        "[info] [00000254] (PC: 0x10cfa000) SCALAR   : (Binary: 0x07000001) MOV_XD_IMM  XD:X0=0x1, IMM:0x1,\n"
        "[info] [00000545] (PC: 0x10cfa058) MTE2     : (Binary: 0x74401100) MOV_OUT_TO_UB  Src:OUT, Dst:UB, XD:X0=0x100, XN:X1=0x10000000, XM:X2=0x10010\n"
        "[info] [00000900] (PC: 0x10cfa060) MTE3     : (Binary: 0x74401101) MOV_UB_TO_OUT  Src:UB, Dst:OUT, XD:X3=0x10000200, XN:X4=0x100, XM:X2=0x10010\n",
    )
    report = read_simulator(root)
    timeline = report.tables["timeline"]
    assert timeline["cycle"].tolist() == [545, 900]
    assert timeline["instr"].astype(str).tolist() == ["MOV_OUT_TO_UB", "MOV_UB_TO_OUT"]
    trace = simulator_trace(report)
    copies = trace.events[trace.events["kind"] == "copy"]
    ps_per_cycle = 1e12 / trace.chip.clock_hz
    assert copies["start_ps"].tolist() == [int(545 * ps_per_cycle), int(900 * ps_per_cycle)]
    assert copies["size"].tolist() == [32, 32]  # 1 burst x 1 block


def test_misaligned_ub_move_is_flagged_and_confirmed_by_the_trace(write):
    """UB 0x210 % 32 = 16: SIM001 names the address; the derived trace's ALN001
    finds the same copy and the two are correlated."""
    root = opprof(write, LOAD, MISALIGNED)
    analysis = analyze_path(None, simulator=root)
    by_code = {f.code: f for f in analysis.findings}
    sim = by_code["SIM001"]
    assert (sim.location.space, sim.location.addr_start, sim.location.core) == ("UB", 0x210, 3)
    assert sim.location.addr_end == 0x210 + 4 * 32  # 0x40010: 1 burst of 4 blocks
    assert "XD:X19=0x210" in sim.evidence["operands"]
    assert "ALN001" in by_code
    assert any(note.startswith("explained by ALN001") for note in sim.correlations)
    flags = analysis.trace.events["flags"]
    assert (flags & int(Flag.MISALIGNED)).astype(bool).sum() == 1


def test_aligned_moves_are_listed_with_ub_ranges(write):
    """SIM003 lists what the kernel moved: GM 0x112fa600 -> UB 0x200..0x300, 256 B
    per call, 16 calls (the rows' call_count)."""
    analysis = analyze_path(None, simulator=opprof(write, LOAD, STORE))
    listed = [f for f in analysis.findings if f.code == "SIM003"]
    assert len(listed) == 1 and listed[0].location.describe().startswith("aiv3 UB 0x200")
    moves = listed[0].evidence["moves"]
    assert "MTE2 GM 0x112fa600 -> UB 0x200-0x300 (256 B x 16 calls)" in moves
    assert "MTE3 UB 0x400-0x500 -> GM 0x11301800 (256 B x 16 calls)" in moves
    assert listed[0].correlations == []
    assert not {"SIM001", "SIM002", "ALN001"} & {f.code for f in analysis.findings}


def test_undecoded_moves_get_a_precise_note(write):
    analysis = analyze_path(None, simulator=opprof(write, ALIGN_V2))
    note = next(f for f in analysis.findings if f.code == "SIM002")
    assert "MOV_OUT_TO_UB_ALIGN_V2 (length unknown, 1x)" in note.message
    assert "config0:0x123" in note.evidence["raw_operands"][0]
    assert analysis.trace.events["kind"].eq("copy").sum() == 0  # no length: not in the trace


def test_detection(write):
    root = opprof(write, LOAD)
    write("OPPROF_20250101_X/OpBasicInfo.csv", "Op Name,Block Dim\nadd_custom,8,\n")
    csv = root / "simulator/core3.veccore0/core3.veccore0_instr_exe.csv"
    assert detect_vendor_input(root) == "simulator"
    assert detect_vendor_input(root / "simulator") == "simulator"
    assert detect_vendor_input(csv.parent) == "simulator"
    assert detect_vendor_input(csv) == "simulator"
    plain = write("OPPROF_20250102_Y/OpBasicInfo.csv", "Op Name,Block Dim\nadd_custom,8,\n")
    assert detect_vendor_input(plain.parent) == "msprof_op"


def test_bad_input_is_one_line(write, quiet):
    wrong = write("core0.veccore0_instr_exe.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(VendorFormatError, match="instr_exe CSV with column"):
        read_simulator(wrong)
    empty = write("OPPROF_1/simulator/readme.txt", "x").parent
    with pytest.raises(VendorFormatError, match="found no core"):
        read_simulator(empty)


def test_one_bad_core_file_is_skipped_with_a_warning(write, quiet):
    root = opprof(write, LOAD)
    write("OPPROF_20250101_X/simulator/core4.veccore0/core4.veccore0_instr_exe.csv", "junk\n")
    report = read_simulator(root)
    assert set(report.tables["instructions"]["core"]) == {3}
    assert any("core4.veccore0_instr_exe.csv: skipped" in w for w in report.warnings)


def test_dump_garbage_and_long_lines_warn(write, quiet):
    root = opprof(write, LOAD)
    write(
        "OPPROF_20250101_X/dump/core3.veccore0.instr_log.dump",
        "[info] [00000545] (PC: 0x10cfa058) MTE2 : (Binary: 0x7440) MOV_OUT_TO_UB  XD:X0=0x100\n"
        "[info] [0000 (PC: garbage\n" + "x" * 10000 + "\n",
    )
    report = read_simulator(root)
    assert len(report.tables["timeline"]) == 1
    assert any("unknown shape" in w for w in report.warnings)
    assert any("over 4096 bytes" in w for w in report.warnings)


def test_cli_analyze_prints_ub_ranges_and_exit_codes(write, tmp_path):
    root = opprof(write, LOAD, MISALIGNED)
    run = subprocess.run(
        [sys.executable, "-m", "ubscope", "analyze", str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    assert "SIM001" in run.stdout and "UB 0x210" in run.stdout
    bad = write("OPPROF_2/simulator/core0.veccore0/core0.veccore0_instr_exe.csv", "a\n")
    run = subprocess.run(
        [sys.executable, "-m", "ubscope", "analyze", "--simulator", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert str(bad) in run.stderr


@pytest.mark.vendor_samples
def test_real_sample_decodes_both_moves(vendor_samples, tmp_path):
    """The real instr_exe.csv of a vector add: loads to UB 0x200 and stores from UB
    0x400, 256 B each (the VADD in the same file reads 0x0/0x200, writes 0x400)."""
    report = read_simulator(vendor_samples / "msprof_op_simulator/core3.veccore0_instr_exe.csv")
    moves = report.tables["instructions"].dropna(subset=["decoded"]).set_index("instr")
    assert moves.loc["MOV_OUT_TO_UB", ["dst_space", "dst_addr", "bytes"]].tolist() == [
        "UB",
        0x200,
        256,
    ]
    assert moves.loc["MOV_UB_TO_OUT", ["src_space", "src_addr", "bytes"]].tolist() == [
        "UB",
        0x400,
        256,
    ]
    assert set(moves["decoded"]) == {"full"}


@pytest.mark.vendor_samples
def test_real_sample_gm_traffic_counts_every_call(vendor_samples):
    """Without a dump, an instr_exe row is one instruction run call_count times and
    its operands are those of one run. Both moves of the real sample have
    XM 0x80010: nBurst = (0x80010 >> 4) & 0xfff = 1, lenBurst = (0x80010 >> 16) &
    0xffff = 8 blocks x 32 B = 256 B per call; call_count 16, so
    16 x 256 = 4096 B read (MOV_OUT_TO_UB) and 4096 B written (MOV_UB_TO_OUT).
    (core0's file has no data move; trace.json is not read.)"""
    analysis = analyze_path(None, simulator=vendor_samples / "msprof_op_simulator")
    gm = analysis.metrics["gm"]
    assert (gm["read_bytes"], gm["write_bytes"]) == (4096, 4096)
    copies = analysis.trace.events[analysis.trace.events["kind"] == "copy"]
    # each copy: 16 calls x 1 burst of 256 B
    assert copies[["size", "burst_len", "burst_count"]].values.tolist() == [[4096, 256, 16]] * 2


def test_instr_exe_rows_stand_for_all_their_calls(write):
    """LOAD: XM 0x80010 = 1 burst x 8 blocks x 32 B = 256 B per call, 16 calls = 4096 B
    in 2.99 us; MISALIGNED: XM 0x40010 = 1 x 4 x 32 = 128 B per call, 4 calls = 512 B in
    0.8 us. GM read: 4096 + 512 = 4608 B. Each copy lasts its row's whole running time
    and they follow each other: 2.99 us = 2_990_000 ps, then 0.8 us = 800_000 ps."""
    analysis = analyze_path(None, simulator=opprof(write, LOAD, MISALIGNED))
    assert analysis.metrics["gm"]["read_bytes"] == 4608
    copies = analysis.trace.events[analysis.trace.events["kind"] == "copy"]
    assert copies["size"].tolist() == [4096, 512]
    assert copies["burst_count"].tolist() == [16, 4]
    assert copies["dur_ps"].tolist() == [2_990_000, 800_000]
    assert copies["start_ps"].tolist() == [0, 2_990_000]
    # the findings say how often a listed move ran
    sim = next(f for f in analysis.findings if f.code == "SIM001")
    assert "(4 execution(s) on 1 core(s))" in sim.message
    listed = next(f for f in analysis.findings if f.code == "SIM003")
    assert "MTE2 GM 0x112fa600 -> UB 0x200-0x300 (256 B x 16 calls)" in listed.evidence["moves"]


def test_moves_a_trace_cannot_hold_are_left_out_with_a_note(write):
    """XD 0x7000000000000000 is beyond the trace's 2**62 address range."""
    huge = LOAD.replace("XD:X19=0x200", "XD:X19=0x7000000000000000")
    analysis = analyze_path(None, simulator=opprof(write, huge, STORE))
    assert analysis.trace.events["kind"].eq("copy").sum() == 1
    assert any("1 data move(s) with addresses" in note for note in analysis.warnings)


def test_tui_opens_the_trace_of_a_simulator_folder(write, tmp_path):
    """What ``ubscope tui OPPROF_x`` opens: the saved trace of the data moves,
    analyzed together with the simulator output."""
    root = opprof(write, LOAD, MISALIGNED)
    saved = tmp_path / "simulator.ubtrace"
    write_simulator_trace(read_simulator(root), saved)
    assert read_trace(saved).events["kind"].eq("copy").sum() == 2
    request = TraceRequest(trace=saved, vendor=(("simulator", root),))
    request.check()
    analysis, _ = request.analyze()
    assert {"SIM001", "ALN001"} <= {f.code for f in analysis.findings}


def _own_trace(core: int) -> Trace:
    """A ubscope trace of one misaligned load into UB 0x210 on AIV ``core``."""
    recorder = Recorder()
    recorder.kernel_begin("add_custom", 8, 0, "vector")
    recorder.copy(
        int(CoreKind.AIV),
        core,
        int(Space.GM),
        0x10000000,
        int(Space.UB),
        0x210,
        128,
        128,
        128,
        1,
        "x",
        "load",
        0,
        1000,
        int(Flag.MISALIGNED),
    )
    recorder.kernel_end("add_custom", 1000, 1000)
    meta = new_metadata(load_chip().to_dict(), "add_custom", {})
    return Trace(path=Path("add_custom.ubtrace"), meta=meta, events=recorder.table().to_pandas())


@pytest.mark.parametrize(("core", "explained"), [(3, True), (5, False)])
def test_correlation_with_a_given_trace(write, core, explained):
    """SIM001 at aiv3 UB 0x210 is explained by the trace's ALN001 on the same core
    and address, and not by one on another core."""
    report = read_simulator(opprof(write, MISALIGNED))
    analysis = analyze_trace(_own_trace(core), vendor=[report])
    sim = next(f for f in analysis.findings if f.code == "SIM001")
    assert any(n.startswith("explained by ALN001") for n in sim.correlations) is explained
    if not explained:
        assert sim.correlations[0].startswith("not explained by the trace")


def test_move_whose_addr_cell_is_not_a_number_keeps_its_instruction_name(write):
    """The fuzzer's input: the store's ``addr`` (its PC) is YAML text, so the
    move has no PC; it is still traced, tagged with the bare instruction."""
    garbled = STORE.replace("288400416", "!!python/object/apply:os.system ['true']")
    analysis = analyze_path(None, simulator=opprof(write, LOAD, garbled))
    tags = sorted(analysis.trace.events.loc[analysis.trace.events["kind"].eq("copy"), "tag"])
    # the load's addr 288400800 = 0x1130a5a0 (17 * 2**24 + 0x30a5a0 = 285212672 + 3188128)
    assert tags == ["MOV_OUT_TO_UB@pc 0x1130a5a0", "MOV_UB_TO_OUT"]


def test_header_names_match_as_tolerantly_as_they_are_checked(write):
    """The fuzzer's input: ``running_tim<TAB><FF>e(us)`` passes the header check
    (whitespace and underscores are ignored, as in ``Running Time(us)``), so the
    column must also be read under that spelling, not crash with a KeyError."""
    header = HEADER.replace("running_time(us)", "Running\tTime(us)").replace(
        "call_count", "Call Count"
    )
    root = opprof(write, LOAD, STORE)
    path = next(root.rglob("*_instr_exe.csv"))
    path.write_text(header + LOAD + STORE)
    table = read_simulator(root).tables["instructions"]
    # the two rows' own cells: 2.99 and 2.9 µs, 16 calls each
    assert table["running_time(us)"].tolist() == [2.99, 2.9]
    assert table["call_count"].tolist() == [16, 16]
