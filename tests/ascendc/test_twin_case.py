"""``ubscope run case.yaml``: the samples' case format, a reference named as
``ref.py:function`` (never an evaluated expression), exit 1 on a mismatch and
one-line ``file: field`` errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.cli import main
from ubscope.probe.ascendc.case import CaseError, load_case

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
    found = {p.parent.name: load_case(p) for p in sorted(samples.glob("0*/case.yaml"))}
    assert {name: (c.entry, c.block_dim, c.source.name) for name, c in found.items()} == {
        "01_add_custom_neo": ("add_custom", 8, "add_custom.cpp"),
        "04_addcdiv": ("addcdiv_custom", 8, "addcdiv_custom.cpp"),
        "05_leakyrelu": ("leaky_relu_custom", 8, "leakyrelu.cpp"),
        "08_layer_norm": ("layer_norm_custom", 48, "layer_norm_custom.cpp"),
    }
    assert all(c.reference is None for c in found.values())  # reference_numpy is not evaluated


def test_sample_case_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    trace = tmp_path / "add.ubtrace"
    rc = main(["run", str(samples / "01_add_custom_neo" / "case.yaml"), "-o", str(trace)])
    assert rc == 0 and trace.is_file()


def test_case_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("- just a list\n")
    with pytest.raises(CaseError, match="expected a mapping"):
        load_case(case)
