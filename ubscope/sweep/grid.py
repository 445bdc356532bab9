"""``--grid NAME=V1,V2,...`` and ``--chip A,B``: the values a sweep crosses."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from ubscope.probe.chip import DEFAULT_CHIP
from ubscope.probe.errors import ParameterError

# A kernel parameter, or a dotted case field (tiling.tileNum, define.BUFFER_NUM).
_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")

Grid = dict[str, tuple[str, ...]]


def parse_grid(texts: Sequence[str]) -> Grid:
    """The swept values by name, in the order given; a malformed ``--grid``, a
    name given twice or a repeated value is one line."""
    grid: Grid = {}
    for text in texts:
        name, sep, listed = text.partition("=")
        name = name.strip()
        values = tuple(value.strip() for value in listed.split(","))
        if not sep or not _NAME.fullmatch(name) or not all(values):
            raise ParameterError(f"--grid {text!r}: expected NAME=VALUE[,VALUE...]")
        if name in grid:
            raise ParameterError(f"--grid {name}: given twice; list every value in one --grid")
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ParameterError(f"--grid {name}: {', '.join(repeated)} listed twice")
        grid[name] = values
    return grid


def combinations(grid: Grid) -> list[dict[str, str]]:
    """Every configuration of the grid (its cartesian product), the last name
    varying fastest; one empty configuration for an empty grid."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def parse_chips(texts: Sequence[str]) -> list[str]:
    """``--chip A,B`` (repeatable) as chip names or profile files, in order;
    the default chip when none is given."""
    chips = [chip.strip() for text in texts for chip in text.split(",")]
    if not all(chips):
        raise ParameterError(f"--chip {','.join(texts)}: expected NAME|FILE[,NAME|FILE...]")
    return list(dict.fromkeys(chips)) or [DEFAULT_CHIP]
