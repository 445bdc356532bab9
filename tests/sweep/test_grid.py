"""``--grid`` and ``--chip`` parsing: the configurations a sweep crosses."""

from __future__ import annotations

import pytest

from ubscope.probe.chip import DEFAULT_CHIP
from ubscope.probe.errors import ParameterError
from ubscope.sweep.grid import combinations, parse_chips, parse_grid


def test_every_combination_in_order_the_last_name_fastest():
    grid = parse_grid(["m=1,16", "n=4096,11008", "tiling.tileNum=8"])
    assert combinations(grid) == [
        {"m": "1", "n": "4096", "tiling.tileNum": "8"},
        {"m": "1", "n": "11008", "tiling.tileNum": "8"},
        {"m": "16", "n": "4096", "tiling.tileNum": "8"},
        {"m": "16", "n": "11008", "tiling.tileNum": "8"},
    ]


def test_no_grid_is_one_configuration():
    assert combinations(parse_grid([])) == [{}]


@pytest.mark.parametrize(
    ("texts", "says"),
    [
        (["m"], "expected NAME=VALUE"),
        (["m=1,,2"], "expected NAME=VALUE"),
        (["1m=1"], "expected NAME=VALUE"),
        (["m=1", "m=2"], "--grid m: given twice"),
        (["m=1,2,1"], "--grid m: 1 listed twice"),
    ],
)
def test_malformed_grids_say_what_is_wrong(texts, says):
    with pytest.raises(ParameterError, match=says):
        parse_grid(texts)


def test_chips_by_comma_or_repeated_without_duplicates():
    assert parse_chips(["Ascend910B2,Ascend910A", "Ascend910B2"]) == ["Ascend910B2", "Ascend910A"]
    assert parse_chips([]) == [DEFAULT_CHIP]
    with pytest.raises(ParameterError):
        parse_chips(["Ascend910B2,"])
