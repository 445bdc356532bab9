"""CPU-debug and npuchk logs through `ubscope analyze`, alone and with a trace."""

from __future__ import annotations

import pytest

from tests.helpers.vendor_logs import CANN, CPU_DEBUG_QUEUE, NPUCHK_LOG
from ubscope.analyzers.api import analyze_inputs
from ubscope.cli import main
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.tui.loading import TraceRequest


@pytest.fixture(scope="module")
def overflow_trace(tmp_path_factory):
    """pool_demo without pool resets: UB001 at UB 0x30000-0x3c000 on the vector cores."""
    path = tmp_path_factory.mktemp("trace") / "pool_no_reset.ubtrace"
    spec = get_kernel("pool_demo")
    params = spec.resolve(preset="pool_no_reset", overrides={})
    run_kernel(spec, params, load_chip(), path, preset="pool_no_reset")
    return path


def test_cpu_debug_log_is_detected_and_fails_the_run(write, capsys):
    log = write("run.log", CPU_DEBUG_QUEUE)
    assert main(["analyze", str(log)]) == 1
    out = capsys.readouterr().out
    assert "CPU004" in out and "add_custom.cpp:45" in out


def test_npuchk_folder_is_detected(write, capsys):
    log = write("npuchk/add_custom_0_0_vec_npuchk.log", NPUCHK_LOG)
    assert main(["analyze", str(log.parent)]) == 1
    assert "NCK002" in capsys.readouterr().out
    assert main(["analyze", "--npuchk", str(log.parent), "--format", "json"]) == 1


def test_cpu_debug_ub_range_is_explained_by_the_trace(write, overflow_trace):
    # 0x32000 + 20480 = 0x37000 lies inside the trace's UB001 range 0x30000-0x3c000
    log = write(
        "run.log",
        f"[ERROR][Block_3][AIV_0][{CANN}/impl/kernel_operator_data_copy_impl.h:124][DataCopy][7] "
        "absUbAddr is 0x32000, tensorSize is 20480, which exceeds the limit of ub 196608)\n"
        "[ERROR][CORE_3][pid 7] error happened! =========\n"
        "[#0] 0x1: KernelPool::CopyIn(int) at /src/pool_demo.cpp:40\n",
    )
    analysis = analyze_inputs(overflow_trace, [("cpu_debug", log)])
    (vendor,) = [f for f in analysis.findings if f.code == "CPU001"]
    assert any(note.startswith("explained by UB001") for note in vendor.correlations)
    overflow = next(f for f in analysis.findings if f.code == "UB001")
    assert "confirmed by Ascend C CPU debug (line 1)" in overflow.correlations


def test_npuchk_without_a_matching_problem_is_not_explained(write, overflow_trace):
    path = write("npuchk/other_0_0_vec_npuchk.log", NPUCHK_LOG)
    analysis = analyze_inputs(overflow_trace, [("npuchk", path.parent)])
    (vendor,) = [f for f in analysis.findings if f.code == "NCK002"]
    assert vendor.correlations == ["not explained by the trace: kernel 'other' is not in it"]


def test_tui_takes_the_logs_with_a_trace(write, overflow_trace, capsys):
    log = write("run.log", CPU_DEBUG_QUEUE)
    folder = write("npuchk/add_custom_0_0_vec_npuchk.log", NPUCHK_LOG).parent
    analysis, _ = TraceRequest(
        overflow_trace, vendor=(("cpu_debug", log), ("npuchk", folder))
    ).analyze()
    assert {"CPU004", "NCK002"} <= {f.code for f in analysis.findings}
    # alone, a log is no trace to open: one line that says what to do instead
    assert main(["tui", str(log)]) == 2
    err = capsys.readouterr().err
    assert "CPU-debug log; open a trace with --cpu-debug" in err and len(err.splitlines()) == 1
    assert main(["tui", str(folder)]) == 2
    assert "--npuchk" in capsys.readouterr().err
