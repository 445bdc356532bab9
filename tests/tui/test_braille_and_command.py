"""The braille canvas and the command line the TUI suggests."""

from __future__ import annotations

import numpy as np

from ubscope.tui import tui_command
from ubscope.tui.widgets.braille import BrailleCanvas


def test_braille_steps_join_levels_vertically():
    canvas = BrailleCanvas(2, 1)  # 4 x 4 dots
    canvas.steps(np.array([0, 0, 3, 3]), layer=0)
    # x 0-1 on the bottom row; x=2 rises through all four rows (left column of
    # the second cell: dots 1,2,3,7); x=3 stays on the top row (dot 4)
    assert canvas.char(0, 0) == "⣀"
    assert canvas.char(0, 1) == chr(0x2800 + 0x01 + 0x02 + 0x04 + 0x40 + 0x08)
    assert int(canvas.layers[0, 0]) == 1


def test_tui_command_quotes_the_path():
    assert tui_command("demo out/a b.ubtrace") == "ubscope tui 'demo out/a b.ubtrace'"
