"""``ubscope run KERNEL.cpp`` from the command line: tensors from specs and
.npy files, outputs saved, user errors as one line with exit code 2."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from ubscope.cli import main
from ubscope.commands import twin as twin_command
from ubscope.probe.text import printable_path

pytestmark = pytest.mark.ascendc_twin


def run_one_block(source: Path, tmp_path: Path, given: str) -> int:
    """``ubscope run SOURCE`` on one block, tensor ``given`` (NAME=SPEC) in, z out."""
    trace = tmp_path / "t.ubtrace"
    return main(
        ["run", str(source), "--input", given, "--output", "z=float32:64", "-o", str(trace)]
    )


def test_run_source_with_npy_input_saves_outputs(
    scale_kernel: Path, tmp_path: Path, capsys
) -> None:
    x = np.arange(128, dtype=np.float32).reshape(2, 64)
    npy, trace, saved = tmp_path / "x.npy", tmp_path / "scale.ubtrace", tmp_path / "out"
    np.save(npy, x)
    outputs = ["--output", "z=float32:2x64", "--save-outputs", str(saved), "-o", str(trace)]
    rc = main(["run", str(scale_kernel), "--block-dim", "2", "--input", f"x={npy}", *outputs])
    assert rc == 0 and trace.is_file()
    np.testing.assert_array_equal(np.load(saved / "z.npy"), 2 * x)
    assert "trace written to" in capsys.readouterr().out


def test_compile_error_is_one_line_per_error_exit_2(
    scale_kernel: Path, tmp_path: Path, capsys
) -> None:
    text = scale_kernel.read_text()
    scale_kernel.write_text(text.replace("Muls(t, t, 2.0f, 64);", "Muls(t, t, 2.0f, 64)"))
    rc = run_one_block(scale_kernel, tmp_path, "x=float32:64")
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"{scale_kernel}:12: expected ';'" in err


def test_each_compiler_error_is_its_own_sanitized_line(
    scale_kernel: Path, tmp_path: Path, capsys
) -> None:
    text = scale_kernel.read_text().replace("Muls(t, t, 2.0f, 64);", "Muls(t, t, 2.0f, 64)")
    # The compiler quotes the file name, which may hold a terminal escape.
    source = scale_kernel.with_name("sc\x1b]0;ale.cpp")
    source.write_text(text.replace("DataCopy(t, xGm, 64);", "undefined_call(t);"))
    tensors = ["--input", "x=float32:64", "--output", "z=float32:64"]
    rc = main(["run", str(source), "--entry", "scale", *tensors, "-o", str(tmp_path / "t.ubtrace")])
    err = capsys.readouterr().err.splitlines()
    shown = f"ubscope: error: {printable_path(source)}:"
    assert rc == 2 and len(err) >= 2 and all(line.startswith(shown) for line in err)
    assert err[0].startswith(f"{shown}11: ") and "undefined_call" in err[0]
    assert err[1].startswith(f"{shown}12: expected ';'")
    assert not any(char < " " for char in "".join(err))


def test_without_entry_the_files_only_global_function_runs(
    scale_kernel: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """A sample's file is rarely named as its entry (leakyrelu.cpp holds
    leaky_relu_custom): its one __global__ function is the entry."""
    renamed = scale_kernel.rename(tmp_path / "my_kernel.cpp")
    x = np.arange(64, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    monkeypatch.chdir(tmp_path)
    tensors = ["--input", "x=x.npy", "--output", "z=float32:64", "--save-outputs", "out"]
    rc = main(["run", str(renamed), *tensors])
    assert rc == 0, capsys.readouterr().err
    # the trace is named after the entry it ran; the kernel doubles x
    assert (tmp_path / "scale.ubtrace").is_file()
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "z.npy"), 2 * x)


def test_without_entry_several_global_functions_are_listed(
    scale_kernel: Path, tmp_path: Path, capsys
) -> None:
    text = scale_kernel.read_text() + 'extern "C" __global__ __aicore__ void other(GM_ADDR x) {}\n'
    two = tmp_path / "two.cpp"
    two.write_text(text)
    rc = run_one_block(two, tmp_path, "x=float32:64")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [
        f"ubscope: error: {two}: no kernel entry 'void two(...)' defined in it; "
        "its __global__ functions: scale, other"
    ]


def test_missing_compiler_says_what_to_install(
    scale_kernel: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-ubscope")
    rc = run_one_block(scale_kernel, tmp_path, "x=float32:64")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "install g++" in err[0]


def test_cxx_may_be_a_command_with_arguments(tmp_path: Path, capsys, monkeypatch) -> None:
    """CXX holds a command line, as ``ccache g++`` is: its words run the
    compiler. The kernel compiles only with the macro the command's own
    argument defines, so it ran as given."""
    source = tmp_path / "flagged.cpp"
    source.write_text(
        '#include "kernel_operator.h"\n'
        "#ifndef UBSCOPE_FROM_CXX\n"
        '#error "CXX\'s argument did not reach the compiler"\n'
        "#endif\n"
        'extern "C" __global__ __aicore__ void flagged(GM_ADDR x, GM_ADDR z) {}\n'
    )
    monkeypatch.setenv("CXX", f"{shutil.which('g++')} -DUBSCOPE_FROM_CXX=1")
    assert run_one_block(source, tmp_path, "x=float32:64") == 0
    monkeypatch.setenv("CXX", "'g++ -O2")  # an unbalanced quote
    assert run_one_block(source, tmp_path, "x=float32:64") == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        'ubscope: error: CXX: No closing quotation in "\'g++ -O2"'
    )


def test_a_spinner_shows_the_compile_and_the_run(
    scale_kernel: Path, tmp_path: Path, monkeypatch
) -> None:
    """`ubscope run` names the source it compiles and the launch it runs (on a
    terminal, as spinners on standard error); the compile shows only when it
    happens: a second run reuses the build."""
    shown: list[str] = []

    @contextmanager
    def spinner(description: str, total: int | None) -> Iterator[None]:
        shown.append(f"start {description}")
        yield
        shown.append(f"end {description}")

    monkeypatch.setattr(twin_command, "progress", spinner)
    # a comment no other test's source holds: the first build is not cached
    scale_kernel.write_text(f"// {tmp_path.name}\n{scale_kernel.read_text()}")
    assert run_one_block(scale_kernel, tmp_path, "x=float32:64") == 0
    compiled, ran = "compiling scale.cpp (cached for later runs)", "running scale on 1 block"
    assert shown == [f"start {compiled}", f"end {compiled}", f"start {ran}", f"end {ran}"]
    shown.clear()
    assert run_one_block(scale_kernel, tmp_path, "x=float32:64") == 0
    assert shown == [f"start {ran}", f"end {ran}"]


def test_tensor_not_in_the_signature_is_a_one_line_error(
    scale_kernel: Path, tmp_path: Path, capsys
) -> None:
    rc = run_one_block(scale_kernel, tmp_path, "w=float32:64")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "no tensor given for x" in err[0] and "no parameter named w" in err[0]
