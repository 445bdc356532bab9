"""``ubscope run case.yaml``: the samples' case format, a reference named as
``ref.py:function`` (never an evaluated expression), exit 1 on a mismatch and
one-line ``file: field`` errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers.api import analyze_trace
from ubscope.analyzers.findings import Severity
from ubscope.cli import main
from ubscope.probe.ascendc.case import CaseError, load_case, make_tensors
from ubscope.probe.errors import InputError, ParameterError
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin

CASE = """\
kernel: scale.cpp
entry: {name: scale}
launch: {block_dim: 2}
inputs:
- {name: x, dtype: float32, shape: [2, 64], gen: "uniform(-1,1)"}
outputs:
- {name: z, dtype: float32, shape: [2, 64]}
reference: ref.py:REF
tolerance: {rtol: 1.0e-6, atol: 0}
"""
REFERENCES = "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n"


@pytest.fixture
def case_folder(scale_kernel: Path) -> Path:
    (scale_kernel.parent / "ref.py").write_text(REFERENCES)
    return scale_kernel.parent


@pytest.mark.parametrize(("reference", "code"), [("double", 0), ("triple", 1)])
def test_case_output_is_compared_with_its_reference(
    case_folder: Path, reference: str, code: int, capsys
) -> None:
    case = case_folder / "case.yaml"
    case.write_text(CASE.replace("REF", reference))
    trace, saved = case_folder / "t.ubtrace", case_folder / "out"
    rc = main(["run", str(case), "-o", str(trace), "--save-outputs", str(saved)])
    out = capsys.readouterr().out
    assert rc == code
    assert ("z matches the reference" in out) == (code == 0)
    x = np.load(saved / "z.npy") / 2  # the kernel doubles x
    assert np.all((x >= -1) & (x <= 1))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("dtype: float32, shape: [2, 64], gen", "dtype: float33, shape: [2, 64], gen"),
            "inputs[0].dtype: expected one of",
        ),
        (("reference: ref.py:REF", "reference: x * 2"), "reference: expected FILE.py:FUNCTION"),
        (("launch: {block_dim: 2}", "launch: {block_dim: two}"), "launch.block_dim: expected int"),
    ],
)
def test_case_errors_name_file_and_field(
    case_folder: Path, edit: tuple[str, str], message: str, capsys
) -> None:
    case = case_folder / "case.yaml"
    case.write_text(CASE.replace(*edit))
    rc = main(["run", str(case), "-o", str(case_folder / "t.ubtrace")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert f"{case}: {message}" in err[0]


def test_sample_case_files_load(samples: Path) -> None:
    found = {p.parent.name: load_case(p) for p in sorted(samples.glob("*/case.yaml"))}
    assert {name: (c.entry, c.block_dim, c.source.name) for name, c in found.items()} == {
        "01_add_custom_neo": ("add_custom", 8, "add_custom.cpp"),
        "04_addcdiv": ("addcdiv_custom", 8, "addcdiv_custom.cpp"),
        "05_leakyrelu": ("leaky_relu_custom", 8, "leakyrelu.cpp"),
        "08_layer_norm": ("layer_norm_custom", 48, "layer_norm_custom.cpp"),
        "11_mkb_layer_norm": ("layer_norm_custom", 48, "kernel.cpp"),
        "23_matmul_tik2_legacy": ("matmul_custom", 1, "matmul_custom.cpp"),
    }
    assert all(c.reference is None for c in found.values())  # reference_numpy is not evaluated
    # Only 11 takes a tiling struct; the others' tiling blocks describe values
    # baked into the kernel ("compile-time constants", "hard-coded members").
    assert [name for name, c in found.items() if c.launch_values.tiling] == ["11_mkb_layer_norm"]


def test_sample_case_runs_unchanged(samples: Path, tmp_path: Path, capsys) -> None:
    """The sample's case has only a reference_numpy expression, which is never
    evaluated: the run says its outputs were not checked."""
    trace = tmp_path / "add.ubtrace"
    rc = main(["run", str(samples / "01_add_custom_neo" / "case.yaml"), "-o", str(trace)])
    assert rc == 0 and trace.is_file()
    assert "  outputs not checked: the case has no reference: FILE.py:FUNCTION" in (
        capsys.readouterr().out.splitlines()
    )


def test_case_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("- just a list\n")
    with pytest.raises(CaseError, match="expected a mapping"):
        load_case(case)


def test_sample_23_case_runs_on_910a(samples: Path, tmp_path: Path) -> None:
    # Its tiling block is prose ("kind: hard-coded members", "B split: 2 halves
    # of n (16 columns)") and its inputs are randint(1,10): c = a @ b is exact in
    # fp32 (run.sh compares md5 sums).
    case_path = samples / "23_matmul_tik2_legacy" / "case.yaml"
    trace = tmp_path / "23.ubtrace"
    argv = ["run", str(case_path), "--chip", "Ascend910A", "-o", str(trace)]
    assert main([*argv, "--save-outputs", str(tmp_path)]) == 0
    case = load_case(case_path)
    inputs = make_tensors(case.inputs, np.random.default_rng(0), case.path)
    a, b = (inputs[name].astype(np.float64) for name in ("a", "b"))
    assert set(np.unique(a)) <= set(range(1, 10))
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), a @ b)
    analysis = analyze_trace(read_trace(trace))
    assert [f.code for f in analysis.findings if f.severity >= Severity.ERROR] == []


DESCRIBED = """\
kernel: k.cpp
entry: k
launch: {block_dim: 1}
inputs: [{name: a, dtype: float16, shape: [4, 8], gen: "randint(1,10)"}]
outputs: [{name: c, dtype: float32, shape: [4, 4]}]
tiling: {kind: KIND, m: 32, B split: 2 halves of n (16 columns), queues: 'A1, B1 depth 1'}
"""


@pytest.mark.parametrize(
    "kind", ["hard-coded members", "Hardcoded class members", "compile-time constants"]
)
def test_tiling_block_of_baked_in_values_is_a_description(tmp_path: Path, kind: str) -> None:
    case_path = tmp_path / "case.yaml"
    case_path.write_text(DESCRIBED.replace("KIND", kind))
    case = load_case(case_path)
    assert case.launch_values.tiling == {} and case.launch_values.tiling_key == 0
    a = make_tensors(case.inputs, np.random.default_rng(0), case.path)["a"]
    assert a.dtype == np.float16 and set(np.unique(a)) <= set(range(1, 10))


def test_baked_in_tiling_block_keeps_its_tiling_key(tmp_path: Path) -> None:
    case_path = tmp_path / "case.yaml"
    case_path.write_text(DESCRIBED.replace("KIND", "hard-coded").replace("m: 32", "tiling_key: 2"))
    assert load_case(case_path).launch_values.tiling_key == 2
    case_path.write_text(DESCRIBED.replace("KIND", "hard-coded").replace("m: 32", "tiling_key: x"))
    with pytest.raises(InputError, match="tiling.tiling_key: expected an integer"):
        load_case(case_path)


@pytest.mark.parametrize("kind", ["kind: MatmulTilingData, ", ""])
def test_tiling_struct_values_must_still_be_numbers(tmp_path: Path, kind: str) -> None:
    case_path = tmp_path / "case.yaml"
    case_path.write_text(DESCRIBED.replace("kind: KIND, ", kind))
    message = "case.yaml: tiling.B split: expected a number, got '2 halves of n (16 columns)'"
    with pytest.raises(InputError, match=re.escape(message)):
        load_case(case_path)


def test_randint_high_must_exceed_low(tmp_path: Path) -> None:
    case_path = tmp_path / "case.yaml"
    case_path.write_text(DESCRIBED.replace("KIND", "hard-coded").replace("(1,10)", "(3,3)"))
    case = load_case(case_path)
    with pytest.raises(ParameterError, match=r"randint\(3,3\): HIGH is exclusive"):
        make_tensors(case.inputs, np.random.default_rng(0), case.path)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(
    ("script", "where", "problem"),
    [
        ("def double(x):\n    return 1 / 0\n", "ref.py:2:", "ZeroDivisionError: division by zero"),
        ("def double(x):\n    return (x +\n", "ref.py:2:", "SyntaxError"),
        ("import no_such_module_here\n", "ref.py:1:", "No module named 'no_such_module_here'"),
        ("def double(x):\n    return None\n", "ref.py:", "double returned None"),
        ("def double(x):\n    return (2 * x)[:1]\n", "ref.py:", "shape [1, 64]"),
    ],
)
def test_failing_reference_script_is_one_line_exit_2(
    scale_kernel: Path, script: str, where: str, problem: str, capsys
) -> None:
    (scale_kernel.parent / "case.yaml").write_text(CASE.replace("REF", "double"))
    (scale_kernel.parent / "ref.py").write_text(script)
    rc = main(
        [
            "run",
            str(scale_kernel.parent / "case.yaml"),
            "-o",
            str(scale_kernel.parent / "t.ubtrace"),
        ]
    )
    line = one_error_line(capsys)
    assert rc == 2
    assert where in line and problem in line
    if "shape" in problem:
        assert "[2, 64]" in line  # the output's own shape beside the returned one


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("ref.py:double", "ref.py:nothing"),
            "case.yaml: reference: ref.py has no function nothing",
        ),
        (
            ("block_dim: 2", "block_dim: -1"),
            "case.yaml: launch.block_dim: expected at least 1, got -1",
        ),
        (("block_dim: 2", "block_dim: 4096"), "case.yaml: launch.block_dim: 4096 outside 1.."),
    ],
)
def test_case_problems_come_before_the_compile(
    tmp_path: Path, edit: tuple[str, str], message: str, capsys
) -> None:
    # The kernel does not compile: a compile first would report that instead.
    (tmp_path / "scale.cpp").write_text("this is not C++\n")
    (tmp_path / "ref.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "case.yaml").write_text(CASE.replace("REF", "double").replace(*edit))
    rc = main(["run", str(tmp_path / "case.yaml"), "-o", str(tmp_path / "t.ubtrace")])
    assert rc == 2
    assert message in one_error_line(capsys)
