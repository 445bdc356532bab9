"""DataCopyPad (both parameter forms) and TQueBind on the CPU twin: numerics
against numpy, events against hand-worked figures, ALN002 only for the
truncating DataCopy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import write_source
from ubscope.analyzers.api import analyze_trace
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")

# x: 3 rows of 500 floats (2000 B, not a multiple of 32 B); v: 12 floats.
PAD_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void pad(GM_ADDR x, GM_ADDR v, GM_ADDR y, GM_ADDR z, GM_ADDR w) {
    TPipe pipe;
    TQueBind<TPosition::VECIN, TPosition::VECOUT, 1> bind;
    TBuf<TPosition::VECCALC> small;
    GlobalTensor<float> xGm, vGm, yGm, zGm, wGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 1500);
    vGm.SetGlobalBuffer((__gm__ float*)v, 12);
    yGm.SetGlobalBuffer((__gm__ float*)y, 1512);
    zGm.SetGlobalBuffer((__gm__ float*)z, 1510);
    wGm.SetGlobalBuffer((__gm__ float*)w, 32);
    pipe.InitBuffer(bind, 1, 3 * 2016);
    pipe.InitBuffer(small, 128);
    LocalTensor<float> t = bind.AllocTensor<float>();
    DataCopyPad(t, xGm, DataCopyExtParams(3, 2000, 0, 0), DataCopyPadExtParams<float>(true, 0, 2, -1.0f));
    bind.EnQue(t);
    LocalTensor<float> u = bind.DeQue<float>();
    DataCopy(yGm, u, 1512);
    DataCopyPad(zGm, u, DataCopyExtParams(3, 2000, 0, 0));
    bind.FreeTensor(u);
    LocalTensor<float> s = small.Get<float>();
    Duplicate(s, 9.0f, 32);
    DataCopyPad(s, vGm, DataCopyParams(2, 20, 4, 1), DataCopyPadParams(true, 1, 1, 3));
    DataCopy(wGm, s, 32);
}
"""

PLAIN_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void plain(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TQueBind<TPosition::VECIN, TPosition::VECOUT, 1> bind;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 500);
    zGm.SetGlobalBuffer((__gm__ float*)z, 504);
    pipe.InitBuffer(bind, 1, 2016);
    LocalTensor<float> t = bind.AllocTensor<float>();
    DataCopy(t, xGm, 500);
    bind.EnQue(t);
    LocalTensor<float> u = bind.DeQue<float>();
    DataCopy(zGm, u, 504);
    bind.FreeTensor(u);
}
"""


def run_pad(tmp_path: Path) -> tuple[dict[str, np.ndarray], Path, np.ndarray, np.ndarray]:
    x = np.arange(1500, dtype=np.float32) + 0.5
    v = np.arange(12, dtype=np.float32) * 10
    trace = tmp_path / "pad.ubtrace"
    outputs = {
        "y": np.zeros(1512, np.float32),
        "z": np.full(1510, 7.0, np.float32),
        "w": np.zeros(32, np.float32),
    }
    run = run_ascendc(
        write_source(tmp_path, "pad.cpp", PAD_KERNEL),
        "pad",
        1,
        {"x": x, "v": v},
        outputs,
        CHIP,
        trace,
    )
    return run.outputs, trace, x, v


def test_datacopypad_pads_rows_and_writes_exact_bytes(tmp_path: Path) -> None:
    out, _, x, v = run_pad(tmp_path)
    # GM->UB, Ext form: each 2000 B row, then 2 right-padding floats (8 B), then
    # dummy bytes to the 32 B boundary (2008 -> 2016 B); with isPad all 16 B
    # after the data hold -1. A UB row is 2016 B = 504 floats.
    rows = np.hstack([x.reshape(3, 500), np.full((3, 4), -1.0, np.float32)])
    np.testing.assert_array_equal(out["y"].reshape(3, 504), rows)
    # UB->GM writes exactly 3 x 2000 B, reading UB rows 2016 B apart; the 10
    # floats after them keep their initial 7.
    np.testing.assert_array_equal(out["z"][:1500], x)
    np.testing.assert_array_equal(out["z"][1500:], np.full(10, 7.0, np.float32))
    # Legacy form: 2 rows of 20 B (5 floats), GM gap 4 B (rows start at v[0],
    # v[6]); UB row = 1 left pad + 5 data + 1 right pad = 28 B -> 32 B, then a
    # 1-block UB gap: rows 64 B (16 floats) apart. Pads and dummy hold 3; the
    # gap keeps Duplicate's 9.
    want = np.full((2, 16), 9.0, np.float32)
    want[:, :8] = 3.0
    want[0, 1:6] = v[0:5]
    want[1, 1:6] = v[6:11]
    np.testing.assert_array_equal(out["w"].reshape(2, 16), want)


def test_datacopypad_events_are_byte_exact_and_flagged_padded(tmp_path: Path) -> None:
    _, trace, _, _ = run_pad(tmp_path)
    frame = read_trace(trace).events
    copies = frame[frame.kind == "copy"]
    pads = copies[copies["tag"].astype(str).isin(["pad.cpp:16", "pad.cpp:20", "pad.cpp:24"])]
    # size = moved = blockCount x blockLen; bursts of blockLen bytes.
    assert list(pads["size"]) == [6000, 6000, 40]
    assert list(pads["aligned_size"]) == [6000, 6000, 40]
    assert list(pads["burst_len"]) == [2000, 2000, 20]
    assert list(pads["burst_count"]) == [3, 3, 2]
    assert all(pads["flags"] & int(Flag.PADDED))
    assert not any(pads["flags"] & int(Flag.TRUNCATED))
    # The bound queue is one VECIN block of 3 x 2016 B at UB 0.
    init = frame[frame.kind == "queue_init"].iloc[0]
    assert (init["name"], init["addr"], init["size"], init["arg2"]) == ("bind", 0, 6048, 0)


def test_aln002_fires_for_datacopy_not_for_datacopypad_of_2000_byte_rows(tmp_path: Path) -> None:
    _, pad_trace, _, _ = run_pad(tmp_path)
    assert "ALN002" not in {f.code for f in analyze_trace(read_trace(pad_trace)).findings}
    x = np.arange(500, dtype=np.float32)
    trace = tmp_path / "plain.ubtrace"
    run = run_ascendc(
        write_source(tmp_path, "plain.cpp", PLAIN_KERNEL),
        "plain",
        1,
        {"x": x},
        {"z": np.zeros(504, np.float32)},
        CHIP,
        trace,
    )
    # 2000 B rounds down to 62 blocks = 1984 B = 496 floats.
    np.testing.assert_array_equal(run.outputs["z"][:496], x[:496])
    found = [f for f in analyze_trace(read_trace(trace)).findings if f.code == "ALN002"]
    assert found and found[0].location.tag == "plain.cpp:11"


def test_ub_limit_marker_fails_a_twin_kernel_over_its_budget(tmp_path: Path) -> None:
    source = write_source(tmp_path, "pad.cpp", PAD_KERNEL)
    # The kernel places 6048 B + 128 B = 6176 B of UB: within 8 KiB, over 4 KiB.
    (tmp_path / "test_twin_limit.py").write_text(
        textwrap.dedent(f"""\
        import numpy as np
        import pytest

        def run(ubscope_trace):
            x = np.arange(1500, dtype=np.float32)
            outputs = {{"y": np.zeros(1512, np.float32), "z": np.zeros(1510, np.float32),
                       "w": np.zeros(32, np.float32)}}
            out = ubscope_trace.run_ascendc({str(source)!r}, entry="pad", block_dim=1,
                                            inputs={{"x": x, "v": np.zeros(12, np.float32)}},
                                            outputs=outputs, chip="Ascend910B1")
            assert (out["z"][:1500] == x).all()

        @pytest.mark.ub_limit(peak_ub="8 KiB")
        def test_within(ubscope_trace):
            run(ubscope_trace)

        @pytest.mark.ub_limit(peak_ub="4 KiB")
        def test_over(ubscope_trace):
            run(ubscope_trace)
        """)
    )
    plugins = ["-p", "no:cacheprovider", "-p", "ubscope.check.pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, str(tmp_path / "test_twin_limit.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    # Named by the file, not its temporary path; 6176 B is 6176 - 4096 = 2080 B over.
    assert (
        "pad[block_dim=1,source=pad.cpp]: peak_bytes.UB = 6,176 B exceeds the limit 4,096 B "
        "(@ub_limit(peak_ub='4 KiB')) by 2,080 B"
    ) in done.stdout
