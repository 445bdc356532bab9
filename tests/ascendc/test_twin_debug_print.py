"""The kernel debugging APIs in the twin: AscendC::printf / PRINTF and DumpTensor
print what the kernel asks, labelled with the core when the launch has several,
without changing the trace; ascendc_assert / assert stop the run at the user's
line. Expected text is written here by hand from the inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.source_lines import stops_at, write_source
from ubscope.cli import main
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.memory.gm import GM_BASE
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")  # split cores: a vector launch runs one AIV per block

# Every documented conversion, a line printed in two calls and two lines in one.
TALK = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void talk(GM_ADDR x, GM_ADDR z) {
    const int32_t block = GetBlockIdx();
    uint32_t big = 4000000000u;
    int64_t wide = -2;
    AscendC::printf("fmt string %d\\n", 0x123);
    printf("block %i of %d\\n", block, (int32_t)GetBlockNum());
    printf("u=%u x=%x lx=%lx X=%X\\n", big, -1, wide, 255);
    printf("h=%f b=%.2f f=%5.1f|%-3d|%03d%%\\n", half(2.5f), bfloat16_t(0.75f), 3.3f, block, block);
    printf("s=%s p=%p\\n", "text", x + 64 * block);
    PRINTF("two lines: one\\nand two\\n");
    PRINTF("partial ");
    AscendC::PRINTF("line %d\\n", block);
}
"""


def talk_lines(block: int) -> list[str]:
    """What block ``block`` of TALK prints, worked out from its source."""
    return [
        "fmt string 291",
        f"block {block} of {{blocks}}",
        "u=4000000000 x=ffffffff lx=fffffffffffffffe X=FF",
        f"h=2.500000 b=0.75 f=  3.3|{block}  |00{block}%",
        # x is the launch's first GM tensor, at GM_BASE; block b points 64 B further each.
        f"s=text p={GM_BASE + 64 * block:#x}",
        "two lines: one",
        "and two",
        f"partial line {block}",
    ]


# Per block: 16 halves of x and 8 floats of y into UB, y doubled into z; the
# debug lines are those holding "printf" or "DumpTensor".
DUMP = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void dump(GM_ADDR x, GM_ADDR y, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> hb, fb;
    GlobalTensor<half> xGm;
    GlobalTensor<float> yGm, zGm;
    xGm.SetGlobalBuffer((__gm__ half*)x + 16 * GetBlockIdx(), 16);
    yGm.SetGlobalBuffer((__gm__ float*)y + 8 * GetBlockIdx(), 8);
    zGm.SetGlobalBuffer((__gm__ float*)z + 8 * GetBlockIdx(), 8);
    pipe.InitBuffer(hb, 16 * sizeof(half));
    pipe.InitBuffer(fb, 8 * sizeof(float));
    LocalTensor<half> h = hb.Get<half>();
    LocalTensor<float> f = fb.Get<float>();
    DataCopy(h, xGm, 16);
    DataCopy(f, yGm, 8);
    printf("block %d loaded\\n", (int32_t)GetBlockIdx());
    DumpTensor(h, 5, 6);
    Muls(f, f, 2.0f, 8);
    DumpTensor(f, 6, 8);
    DumpTensor(yGm[2], 7, 3);
    DataCopy(zGm, f, 8);
}
"""
X = np.arange(32, dtype=np.float16) / 4  # block 0: 0, 0.25, ...; block 1: 4, 4.25, ...
Y = np.arange(16, dtype=np.float32) - 3.5  # block 0: -3.5 .. 3.5; block 1: 4.5 .. 11.5
# y follows x (64 B) at the next 512 B boundary; block b's yGm[2] is 8 B into its 32 B.
Y_ADDR = GM_BASE + 512

DUMP_LINES = [
    "[AIV-0] block 0 loaded",
    "[AIV-0] DumpTensor: desc=5, addr=0x0, data_type=float16, position=UB, dump_size=6",
    "[AIV-0] [0.000000, 0.250000, 0.500000, 0.750000, 1.000000, 1.250000]",
    "[AIV-0] DumpTensor: desc=6, addr=0x20, data_type=float32, position=UB, dump_size=8",
    "[AIV-0] [-7.000000, -5.000000, -3.000000, -1.000000, 1.000000, 3.000000, 5.000000, 7.000000]",
    f"[AIV-0] DumpTensor: desc=7, addr={Y_ADDR + 8:#x}, data_type=float32, position=GM, dump_size=3",
    "[AIV-0] [-1.500000, -0.500000, 0.500000]",
    "[AIV-1] block 1 loaded",
    "[AIV-1] DumpTensor: desc=5, addr=0x0, data_type=float16, position=UB, dump_size=6",
    "[AIV-1] [4.000000, 4.250000, 4.500000, 4.750000, 5.000000, 5.250000]",
    "[AIV-1] DumpTensor: desc=6, addr=0x20, data_type=float32, position=UB, dump_size=8",
    "[AIV-1] [9.000000, 11.000000, 13.000000, 15.000000, 17.000000, 19.000000, 21.000000, 23.000000]",
    f"[AIV-1] DumpTensor: desc=7, addr={Y_ADDR + 32 + 8:#x}, data_type=float32, position=GM, dump_size=3",
    "[AIV-1] [6.500000, 7.500000, 8.500000]",
]

# flag 10 fails the ascendc_assert, 20 the assert; anything else passes both.
CHECK = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void check(GM_ADDR z, int32_t flag) {
    GlobalTensor<float> zGm;
    zGm.SetGlobalBuffer((__gm__ float*)z, 8);
    ascendc_assert(flag >= 0);
    AscendC::printf("checking %d\\n", flag);
    ascendc_assert(flag != 10, "The flag value is %d.\\n", flag);
    assert(flag != 20);
    zGm.SetValue(0, 1.0f);
}
"""


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module's kernels: a kernel built by one test is the
    next one's cache hit (the build key includes the source's folder)."""
    return tmp_path_factory.mktemp("debug-print")


def err_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    captured = capsys.readouterr()
    assert captured.out == ""  # the kernel's output is on standard error only
    return captured.err.splitlines()


def run_talk(folder: Path, blocks: int) -> None:
    source = write_source(folder, "talk.cpp", TALK)
    x = np.zeros(16 * blocks, np.float32)
    run_ascendc(source, "talk", blocks, {"x": x}, {"z": np.zeros(1, np.float32)}, CHIP)


def test_printf_lines_are_bare_on_one_core_and_labelled_on_several(kernels: Path, capsys) -> None:
    run_talk(kernels, 1)
    assert err_lines(capsys) == [line.format(blocks=1) for line in talk_lines(0)]
    run_talk(kernels, 3)
    assert err_lines(capsys) == [
        f"[AIV-{block}] " + line.format(blocks=3)
        for block in range(3)
        for line in talk_lines(block)
    ]


def test_dump_tensor_prints_half_and_float_tensors_in_ub_and_gm(kernels: Path, capsys) -> None:
    source = write_source(kernels, "dump.cpp", DUMP)
    run = run_ascendc(source, "dump", 2, {"x": X, "y": Y}, {"z": np.zeros(16, np.float32)}, CHIP)
    np.testing.assert_array_equal(run.outputs["z"], 2 * Y)
    assert err_lines(capsys) == DUMP_LINES


def test_printf_and_dump_tensor_leave_the_trace_unchanged(kernels: Path, capsys) -> None:
    # The quiet kernel keeps every line number: its debug lines become comments.
    quiet_text = "\n".join(
        "//" if "printf" in line or "DumpTensor" in line else line for line in DUMP.splitlines()
    )
    runs, frames = [], []
    for name, text in (("dump.cpp", DUMP), ("quiet/dump.cpp", quiet_text + "\n")):
        (kernels / name).parent.mkdir(exist_ok=True)
        source = write_source(kernels, name, text)
        trace = source.with_suffix(".ubtrace")
        outputs = {"z": np.zeros(16, np.float32)}
        runs.append(run_ascendc(source, "dump", 2, {"x": X, "y": Y}, outputs, CHIP, trace))
        frame = read_trace(trace).events
        # The host's memory samples measure the ubscope process, not the kernel.
        frames.append(frame[frame.kind != "host_sample"].reset_index(drop=True))
    loud, quiet = runs
    assert len(err_lines(capsys)) == len(DUMP_LINES)  # the loud run printed, the quiet one not
    assert loud.events == quiet.events > 0
    assert loud.duration_ps == quiet.duration_ps
    np.testing.assert_array_equal(loud.outputs["z"], quiet.outputs["z"])
    gm_bytes = [int(f[(f.kind == "copy")]["size"].sum()) for f in frames]
    assert gm_bytes[0] == gm_bytes[1] == 2 * (32 + 32 + 32)  # per block: x, y in, z out
    pd.testing.assert_frame_equal(frames[0], frames[1])


@pytest.mark.parametrize(
    ("flag", "marker", "problem"),
    [
        (10, "flag != 10", "Assertion `flag != 10' failed: The flag value is 10."),
        (20, "assert(flag != 20)", "Assertion `flag != 20' failed"),
    ],
)
def test_failed_assert_stops_at_its_line_with_its_message(
    kernels: Path, capsys, flag: int, marker: str, problem: str
) -> None:
    source = write_source(kernels, "check.cpp", CHECK)
    values = LaunchValues(scalars={"flag": str(flag)})
    outputs = {"z": np.zeros(8, np.float32)}
    with stops_at("check.cpp", CHECK, marker, problem) as stopped:
        run_ascendc(source, "check", 1, {}, outputs, CHIP, values=values)
    assert "\n" not in str(stopped.value)  # one line
    assert err_lines(capsys) == [f"checking {flag}"]  # printed before the stop, not lost


def test_passing_asserts_let_the_kernel_finish(kernels: Path, capsys) -> None:
    source = write_source(kernels, "check.cpp", CHECK)
    values = LaunchValues(scalars={"flag": "3"})
    run = run_ascendc(source, "check", 1, {}, {"z": np.zeros(8, np.float32)}, CHIP, values=values)
    assert run.outputs["z"][0] == 1.0
    assert err_lines(capsys) == ["checking 3"]


def test_dump_past_the_gm_tensor_stops_at_its_line(tmp_path: Path) -> None:
    kernel = """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void over(GM_ADDR x) {
            GlobalTensor<float> xGm;
            xGm.SetGlobalBuffer((__gm__ float*)x, 16);
            DumpTensor(xGm[12], 1, 5);
        }
        """
    source = write_source(tmp_path, "over.cpp", kernel)
    problem = (
        "DumpTensor of 5 elements (20 B) from byte 48 of GM tensor 'x' reaches past its end (64 B)"
    )
    with stops_at("over.cpp", source.read_text(), "DumpTensor", problem):
        run_ascendc(source, "over", 1, {"x": np.zeros(16, np.float32)}, {}, CHIP)


def test_ascendc_dump_0_silences_printf_upper_case_and_dump_tensor(tmp_path: Path, capsys) -> None:
    kernel = """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void hush(GM_ADDR x) {
            GlobalTensor<float> xGm;
            xGm.SetGlobalBuffer((__gm__ float*)x, 8);
            PRINTF("PRINTF %d\\n", 1);
            DumpTensor(xGm, 1, 8);
            printf("printf %d\\n", 2);
        }
        """
    source = write_source(tmp_path, "hush.cpp", kernel)
    x = {"x": np.zeros(8, np.float32)}
    run_ascendc(source, "hush", 1, x, {}, CHIP, defines=("ASCENDC_DUMP=0",))
    assert err_lines(capsys) == ["printf 2"]  # the page: on the CPU, only PRINTF is switched off


def test_mix_launch_labels_each_core_by_its_kind_and_index(tmp_path: Path, capsys) -> None:
    kernel = """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void mixed(GM_ADDR z) {
            KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
            if ASCEND_IS_AIV {
                printf("vector %d of block %d\\n", (int32_t)GetSubBlockIdx(),
                       (int32_t)(GetBlockIdx() / GetTaskRatio()));
            } else {
                printf("cube of block %d\\n", (int32_t)GetBlockIdx());
            }
        }
        """
    source = write_source(tmp_path, "mixed.cpp", kernel)
    run_ascendc(source, "mixed", 2, {}, {"z": np.zeros(8, np.float32)}, CHIP)
    # A mix block is AIC i and AIVs 2i, 2i + 1; its AIVs run first, each to its end.
    assert err_lines(capsys) == [
        "[AIV-0] vector 0 of block 0",
        "[AIV-1] vector 1 of block 0",
        "[AIC-0] cube of block 0",
        "[AIV-2] vector 0 of block 1",
        "[AIV-3] vector 1 of block 1",
        "[AIC-1] cube of block 1",
    ]


def test_ubscope_run_shows_the_kernel_output_on_standard_error(kernels: Path, capsys) -> None:
    source = write_source(kernels, "talk.cpp", TALK)
    trace = kernels / "talk.ubtrace"
    launch = ["--chip", "Ascend910B1", "--block-dim", "2"]
    tensors = ["--input", "x=float32:32", "--output", "z=float32:1"]
    rc = main(["run", str(source), *launch, *tensors, "-o", str(trace)])
    captured = capsys.readouterr()
    assert rc == 0
    printed = [f"[AIV-{b}] " + line.format(blocks=2) for b in range(2) for line in talk_lines(b)]
    assert [line for line in captured.err.splitlines() if line.startswith("[AIV-")] == printed
    assert "fmt string" not in captured.out  # standard output stays ubscope's summary
