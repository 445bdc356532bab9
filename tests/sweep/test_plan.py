"""Planning a sweep: what each kind of kernel sweeps, refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ubscope.probe.errors import ParameterError
from ubscope.sweep.plan import plan_sweep

CASE = """\
kernel: scaled.cpp
entry: scaled
launch: {block_dim: 1}
inputs: [{name: x, dtype: float32, shape: [64]}]
outputs: [{name: z, dtype: float32, shape: [64]}]
tiling: {totalLength: 64, tileNum: 2}
"""


@pytest.fixture
def case(tmp_path: Path) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(CASE)
    return path


def test_a_case_plans_one_task_per_configuration(case, tmp_path):
    grid = {"tiling.tileNum": ("2", "4"), "define.BUFFERS": ("1", "2"), "block_dim": ("1",)}
    plan = plan_sweep(str(case), grid, ["Ascend910B2"], tmp_path / "out")
    assert plan.kernel == "scaled" and len(plan.tasks) == 4 and not plan.refused
    assert [task.grid for task in plan.tasks][:2] == [
        {"tiling.tileNum": 2, "define.BUFFERS": 1, "block_dim": 1},
        {"tiling.tileNum": 2, "define.BUFFERS": 2, "block_dim": 1},
    ]
    assert len({task.key for task in plan.tasks}) == 4
    assert len({task.trace for task in plan.tasks}) == 4


@pytest.mark.parametrize(
    ("grid", "says"),
    [
        ({"tileNum": ("2",)}, "a case file sweeps tiling.FIELD"),
        ({"tiling.tileNum": ("two",)}, "tiling.tileNum=two: expected a number"),
        ({"block_dim": ("1.5",)}, "block_dim=1.5: expected an integer"),
    ],
)
def test_a_case_refuses_what_it_cannot_sweep(case, tmp_path, grid, says):
    with pytest.raises(ParameterError, match=says):
        plan_sweep(str(case), grid, ["Ascend910B2"], tmp_path / "out")


def test_a_source_is_swept_through_a_case_file(tmp_path):
    with pytest.raises(ParameterError, match="through a case file"):
        plan_sweep("kernel.cpp", {}, ["Ascend910B2"], tmp_path / "out")


def test_the_same_configuration_has_the_same_key_and_another_chip_another(tmp_path):
    def keys(chips: list[str]) -> list[str]:
        plan = plan_sweep("pool_demo", {"tile": ("1024",)}, chips, tmp_path / "out")
        return [task.key for task in plan.tasks]

    (b2,) = keys(["Ascend910B2"])
    assert keys(["Ascend910B2"]) == [b2]
    assert keys(["Ascend910B2", "Ascend910B4"])[0] == b2
    assert keys(["Ascend910B4"]) != [b2]
