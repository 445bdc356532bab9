"""Standard output as a command's text reaches it, and what happens when it
cannot be written.

* The reader of a pipe leaves (``ubscope analyze T | head -3``): the rest of the
  text is dropped and the command runs on to its own exit code, so a pipeline
  under ``set -o pipefail`` still fails when the trace has problems (exit 1).
* Any other failed write (a full disk, ``> /dev/full``) ends the command with
  one line and exit 2, as a failed write of an output file does.

Either way file descriptor 1 is pointed at ``/dev/null`` then, so the text
still buffered when Python exits is not written (and failed) once more.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from ubscope.probe.outputs import write_error

NAME = "standard output"


class StandardOutput:
    """A text stream over ``stream`` (the process's standard output) that
    drops what follows once the reader left and turns other failed writes into
    a one-line :class:`~ubscope.probe.errors.OutputError`."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                self.stream.write(text)
            except OSError as exc:
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self.stream.flush()
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.reader_left = True
        _discard_what_follows(self.stream)
        error = write_error(NAME, exc)
        if not isinstance(error, BrokenPipeError):
            raise error from None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer, ...
        return getattr(self.stream, name)


def _discard_what_follows(stream: TextIO) -> None:
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # not a file (a test's StringIO): nothing to flush at exit
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)


@contextmanager
def standard_output() -> Iterator[StandardOutput]:
    """Run the body with ``sys.stdout`` behind a :class:`StandardOutput`."""
    wrapped = StandardOutput(sys.stdout)
    sys.stdout = wrapped  # a TextIO in all but name
    try:
        yield wrapped
    finally:
        sys.stdout = wrapped.stream
