"""No line ubscope prints is a CI workflow command unless ubscope means it.

GitHub Actions (and runners that copy it) execute every output line that
starts with ``::`` after leading whitespace: ``::add-mask::``,
``::stop-commands::``, ``::warning ...``. Text from inputs is made safe where
it is read (:mod:`ubscope.probe.text`), but Rich folds a long word at any
column, so a name can still be cut right before a ``::``. While a command
runs, stdout and stderr therefore pass through :class:`CommandGuard`, which
escapes the first colon of any line that would start with ``::``. ubscope's
own annotations (``check`` under GitHub Actions) go around it through
:func:`write_workflow_commands`, already escaped as GitHub documents.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from ubscope.probe.text import no_command_at_line_start

# Runners split lines at \n, \r and \r\n.
_LINE_ENDS = re.compile(r"(?<=[\r\n])")
_LONE_COLON = re.compile(r"[^\S\r\n]*:")


class CommandGuard:
    """A text stream that writes to ``stream`` with no line starting with ``::``.

    Writes may cut a line anywhere, so it remembers whether the current line
    holds only whitespace so far, and holds back a lone ``:`` at the start of
    a line until the next write shows whether a second one follows.
    """

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._line_start = True  # nothing but whitespace on the current line yet
        self._held = ""

    def write(self, text: str) -> int:
        pieces = _LINE_ENDS.split(self._held + text)
        self._held = ""
        out = []
        for index, piece in enumerate(pieces):
            if self._line_start:
                if index == len(pieces) - 1 and _LONE_COLON.fullmatch(piece):
                    out.append(piece[:-1])
                    self._held = ":"
                    break
                piece = no_command_at_line_start(piece)
            out.append(piece)
            ends_line = piece.endswith(("\r", "\n"))
            self._line_start = ends_line or (self._line_start and (not piece or piece.isspace()))
        self.stream.write("".join(out))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def finish(self) -> None:
        """Write a held-back colon (the output ended there)."""
        if self._held:
            self.stream.write(self._held)
            self._held = ""
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, flush, ...
        return getattr(self.stream, name)


@contextmanager
def guarded_output() -> Iterator[None]:
    """Run the body with ``sys.stdout`` and ``sys.stderr`` behind a :class:`CommandGuard`."""
    guards = CommandGuard(sys.stdout), CommandGuard(sys.stderr)
    sys.stdout, sys.stderr = guards
    try:
        yield
    finally:
        sys.stdout, sys.stderr = guards[0].stream, guards[1].stream
        for guard in guards:
            guard.finish()


def write_workflow_commands(lines: Iterable[str]) -> None:
    """Print ubscope's own workflow commands (already escaped) on stdout,
    one per line, around the guard."""
    stream = sys.stdout
    if isinstance(stream, CommandGuard):
        stream.finish()
        stream = stream.stream
    stream.write("".join(f"{line}\n" for line in lines))
