"""``ubscope run KERNEL.cpp`` from the command line: tensors from specs and
.npy files, outputs saved, user errors as one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.cli import main

pytestmark = pytest.mark.ascendc_twin

SCALE = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void scale(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x + 64 * GetBlockIdx(), 64);
    zGm.SetGlobalBuffer((__gm__ float*)z + 64 * GetBlockIdx(), 64);
    pipe.InitBuffer(buf, 64 * sizeof(float));
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 64);
    Muls(t, t, 2.0f, 64);
    DataCopy(zGm, t, 64);
}
"""


def test_run_source_with_npy_input_saves_outputs(tmp_path: Path, capsys) -> None:
    source = tmp_path / "scale.cpp"
    source.write_text(SCALE)
    x = np.arange(128, dtype=np.float32).reshape(2, 64)
    np.save(tmp_path / "x.npy", x)
    trace, saved = tmp_path / "scale.ubtrace", tmp_path / "out"
    rc = main(["run", str(source), "--block-dim", "2", "--input", f"x={tmp_path / 'x.npy'}",
               "--output", "z=float32:2x64", "-o", str(trace), "--save-outputs", str(saved)])  # fmt: skip
    assert rc == 0 and trace.is_file()
    np.testing.assert_array_equal(np.load(saved / "z.npy"), 2 * x)
    assert "trace written to" in capsys.readouterr().out


def test_compile_error_is_one_line_per_error_exit_2(tmp_path: Path, capsys) -> None:
    source = tmp_path / "scale.cpp"
    source.write_text(SCALE.replace("Muls(t, t, 2.0f, 64);", "Muls(t, t, 2.0f, 64)"))
    rc = main(["run", str(source), "--input", "x=float32:64", "--output", "z=float32:64",
               "-o", str(tmp_path / "t.ubtrace")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"{source}:12: expected ';'" in err


def test_missing_compiler_says_what_to_install(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-ubscope")
    source = tmp_path / "scale.cpp"
    source.write_text(SCALE)
    rc = main(["run", str(source), "--input", "x=float32:64", "--output", "z=float32:64",
               "-o", str(tmp_path / "t.ubtrace")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "install g++" in err[0]


def test_tensor_not_in_the_signature_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    source = tmp_path / "scale.cpp"
    source.write_text(SCALE)
    rc = main(["run", str(source), "--input", "w=float32:64", "--output", "z=float32:64",
               "-o", str(tmp_path / "t.ubtrace")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "no tensor given for x" in err[0] and "no parameter named w" in err[0]
