"""Terminal lines that wrap with a hanging indent, and tables, with no trailing spaces.

Only rich is loaded here: the CLI's light views (``ubscope kernels``, the
outcome of ``ubscope run``) wrap their long lines the way the analysis report
wraps its findings without loading the analysis.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from ubscope.probe.units import FIGURE_UNIT_SPACE

# The text keeps at least this many columns beside its indent.
_MIN_BODY_WIDTH = 20

# Stands in for the space between a figure and its unit while the body wraps:
# rich breaks at every space, the no-break ones too, so "by 4.0" ended one line
# and "KiB" began the next. A private-use character the text does not hold
# (text from a trace may hold any), one column wide like the space it replaces.
_PRIVATE_USE = range(0xE000, 0xF900)


def _glue_for(text: str) -> str:
    return next(chr(code) for code in _PRIVATE_USE if chr(code) not in text)


class Hanging:
    """``prefix``, a space (none after an empty prefix), then ``body`` wrapped
    at spaces to the console's width, never between a figure and its unit. The
    lines it wraps onto start ``hang`` columns in (default: under the body's
    first line), so a finding's code or an entry's label stands alone in the
    left margin; no line ends in spaces."""

    def __init__(self, prefix: Text, body: Text, hang: int | None = None) -> None:
        self.prefix, self.body = prefix, body
        self.first = prefix.cell_len + 1 if prefix.cell_len else 0
        self.hang = self.first if hang is None else hang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = max(options.max_width - self.hang, _MIN_BODY_WIDTH)
        # A first line that starts further in than the rest is wrapped with a
        # stand-in word as wide as the difference in front, then cut off.
        skip = max(self.first - self.hang, 0)
        body = Text.assemble("x" * (skip - 1) + " ", self.body) if skip else self.body
        glue = _glue_for(body.plain)
        body = _with_text(body, FIGURE_UNIT_SPACE.sub(glue, body.plain))
        for number, wrapped in enumerate(body.wrap(console, width)):
            wrapped.rstrip()
            line = _with_text(wrapped, wrapped.plain.replace(glue, " "))
            if number == 0:
                lead = Text.assemble(self.prefix, " ") if self.first else Text()
                line = line[skip:]
            else:
                lead = Text(" " * self.hang)
            # a first word too wide for the first line leaves it empty: no
            # space after the prefix then
            shown = Text.assemble(lead, line)
            shown.rstrip()
            yield shown


def indented_lines(text: str, hang: int = 2) -> list[Text | Hanging]:
    """Each line of plain ``text`` wrapped at words to the console's width, the
    lines it wraps onto ``hang`` columns further in than its own indent (a
    threshold's meaning under its name, a source's note under its key)."""
    shown: list[Text | Hanging] = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        # rich keeps a line's leading spaces on its first wrapped line
        shown.append(Hanging(Text(), Text(line), hang=indent + hang) if line.strip() else Text())
    return shown


class Trimmed:
    """``renderable`` (a table, say) with no line ending in spaces: rich pads
    every cell to its column's width, the last column's too, which a pipe or a
    file keeps as trailing spaces."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for line in console.render_lines(self.renderable, options, pad=False):
            yield from _rstrip(line)
            yield Segment.line()


def _with_text(text: Text, plain: str) -> Text:
    """``text`` with its characters replaced by ``plain``, of the same length,
    keeping its styles."""
    return Text(plain, style=text.style, justify=text.justify, end=text.end, spans=text.spans)


def _rstrip(line: list[Segment]) -> list[Segment]:
    """The segments of one line without the spaces at its end."""
    segments = list(line)
    while segments and not segments[-1].control:
        last = segments.pop()
        text = last.text.rstrip(" ")
        if text:
            segments.append(Segment(text, last.style))
            break
    return segments
