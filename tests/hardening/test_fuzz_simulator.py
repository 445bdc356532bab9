"""Fuzzing the msprof op simulator reader: instr_exe.csv and instr_log.dump
mutated alone or inside an OPPROF folder, read, analyzed as vendor output and
through ``ubscope analyze`` (which also builds and analyzes the derived trace).

Allowed outcomes: a VendorReport / exit 0-1, or a one-line error naming the
input (exit 2); never a traceback.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from .fuzzkit import check_stages, fuzz, hostile_bytes, read_then_analyze, scratch, write_input

CORE = "OPPROF_20250101_X/simulator/core3.veccore0"
INSTR_CSV = (
    b"instr,addr,pipe,call_count,cycles,running_time(us),detail\n"
    b'MOV_UB_TO_OUT,288400416,MTE3,16,5391,2.900000,"Src:UB,Dst:OUT,XD:X13=0x11301800,'
    b'XN:X15=0x410,XM:X14=0x80010,id:7"\n'
    b'MOV_OUT_TO_UB,288400800,MTE2,16,5376,2.990000,"Src:OUT,Dst:UB,XD:X19=0x200,'
    b'XN:X15=0x112fa600,XM:X20=0x3000200040050,id:6"\n'
    b'VADD,288401332,VECTOR,8,2944,0.104000,"XD:X16=0x400,XN:X13=0,XM:X14=0x200,Id:517"\n'
)
INSTR_LOG = (
    b"[info] [00000254] (PC: 0x10cfa000) SCALAR   : (Binary: 0x07000001) MOV_XD_IMM  XD:X0=0x1\n"
    b"[info] [00000545] (PC: 0x10cfa058) MTE2     : (Binary: 0x74401100) DMA_MOV  Src:OUT, "
    b"Dst:UB, XD:X0=0\n"
    b"[info] [00000350](PC: 0x10cfa03c) MTE2 : (Binary: 0x74401100) mov_out_to_ub(xd:0, xn:1, "
    b"xm:2, xdValue:0x20, xnValue:0x1068be00, xmValue:0x10012, srcIDValue:2, destIDValue:1)\n"
)
FILES = {
    f"{CORE}/core3.veccore0_instr_exe.csv": INSTR_CSV,
    "OPPROF_20250101_X/dump/core3.veccore0.instr_log.dump": INSTR_LOG,
}


@fuzz(0.5)
@given(name=st.sampled_from(sorted(FILES)), in_folder=st.booleans(), data=st.data())
def test_simulator_files(worker, name, in_folder, data):
    """One core file alone, or mutated inside an OPPROF folder of good ones; the
    folder also goes through ``ubscope analyze`` and its derived trace."""
    content = data.draw(hostile_bytes([FILES[name]]))
    with scratch() as folder:
        path = write_input(folder, name, content)
        if in_folder:
            for other, good in FILES.items():
                if other != name:
                    write_input(folder, other, good)
            path = folder / "OPPROF_20250101_X"
        stages = read_then_analyze(worker, "msprof op simulator", "simulator", path)
        if stages[0]["outcome"] == "parsed":
            cli = worker.run("cli", argv=["analyze", "--simulator", str(path)], cwd=str(folder))
            check_stages(cli, "msprof op simulator: analyze")
            assert cli[0]["info"]["code"] in (0, 1), cli[0]["info"]["stderr"]
