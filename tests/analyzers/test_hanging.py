"""Wrapped terminal lines: a figure stays on the line of its unit."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from ubscope.analyzers import Hanging

UNITS = {"B", "KiB", "MiB", "ns", "µs", "GB/s", "FLOP"}
BODY = (
    "gm.read_bytes = 64.0 KiB exceeds the limit 60.0 KiB (budget b.yaml:4) by 4.0 KiB; "
    "copies of 16.0 KiB or more would save 994.3 ns at 18.51 GB/s, 1,024 FLOP, "
    "64 GM transfers of 256 B each"
)


def wrapped(width: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    console.print(Hanging(Text(" "), Text(BODY, style="bold"), hang=4))
    return out.getvalue().splitlines()


def test_a_unit_never_starts_a_line_after_its_figure():
    """At every width from 24 to 80 columns: no line begins with a unit while
    the line before ends in a digit (rich alone broke 'by 4.0' / 'KiB' at 48
    columns), the words are all there in order, and no line ends in a space."""
    for width in range(24, 81):
        lines = wrapped(width)
        assert " ".join(line.strip() for line in lines) == BODY, width
        for before, line in zip(lines, lines[1:], strict=False):
            first_word = line.split()[0]
            assert not (before[-1].isdigit() and first_word.rstrip(",;") in UNITS), (width, lines)
        assert [line for line in lines if line.endswith(" ")] == []


def test_words_that_only_start_like_a_unit_still_wrap():
    """'64 GM transfers' and '2 Bursts' are a count and a noun, not a figure and a
    unit: they wrap as two words, so the count can end a line."""
    out = io.StringIO()
    console = Console(file=out, width=28, color_system=None, highlight=False)
    console.print(Hanging(Text(""), Text("aaaaaaaaaaaaaaaaaaaaaaaa 64 GM transfers")))
    assert out.getvalue().splitlines() == ["aaaaaaaaaaaaaaaaaaaaaaaa 64", "GM transfers"]


def test_text_holding_the_private_use_stand_in_keeps_it():
    """The wrap glues a figure to its unit with a private-use character the
    text does not hold: a tensor named with U+E000 (text from a trace may hold
    any character) keeps it, and its figure still stays with its unit."""
    out = io.StringIO()
    console = Console(file=out, width=30, color_system=None, highlight=False)
    body = "tensor 'w\ue000q' moved in all 16.0 KiB"
    console.print(Hanging(Text(""), Text(body)))
    assert out.getvalue().splitlines() == ["tensor 'w\ue000q' moved in all", "16.0 KiB"]
