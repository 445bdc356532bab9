"""The error hierarchy every ubscope layer raises for user-facing problems.

Anything derived from :class:`UbscopeError` is reported by the command line as
one line on stderr with exit code 2; other exceptions are bugs and keep their
traceback (shown with ``--debug``).
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from typing import BinaryIO


class UbscopeError(Exception):
    """A problem the user can fix: bad input, bad parameters, bad configuration."""

    exit_code = 2

    def message_lines(self) -> list[str]:
        """The message as the command line prints it: one line, unless the
        error is a list of problems (a compiler's errors), one a line."""
        return [str(self)]


class InputError(UbscopeError):
    """A file that could not be read as what it was expected to be."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = os.fspath(path)
        # Parser messages (PyYAML's, for one) span lines; a user error is one line.
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


class OutputError(InputError):
    """A file ubscope was asked to write but cannot: a folder, an unwritable
    place, one of the command's own inputs, a full disk."""


class TraceError(InputError):
    """A trace file that is missing, foreign, empty or of an unsupported schema."""


class ChipProfileError(InputError):
    """A chip profile YAML with a missing or invalid field (message names file:field)."""


class ConfigError(InputError):
    """A configuration, budget or baseline file with an unknown key or bad value."""


class VendorFormatError(InputError):
    """Output of a Huawei tool that does not have the expected format."""


class ParameterError(UbscopeError):
    """Kernel parameters that cannot work on the selected chip."""


class EmulationError(UbscopeError):
    """A kernel did something the emulated device cannot model (for example an
    access beyond the red zone)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM raised as an exception (by the command line), so that outputs
    being written end as after Ctrl-C: a trace is kept as truncated, any other
    file is left as it was."""


class PartialReadWarning(UserWarning):
    """Part of an input was unreadable; what could be read was kept."""


def warn_partial(path: str | os.PathLike[str], problem: str) -> None:
    """Report that only part of ``path`` could be read."""
    warnings.warn(f"{os.fspath(path)}: {problem}", PartialReadWarning, stacklevel=2)


def open_input(path: str | os.PathLike[str], error: type[InputError], expected: str) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (a symlink to
    one is fine), or raise ``error`` naming the file and what was ``expected``.
    The open never blocks: a FIFO named like an input is refused, not waited on."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(path, "no such file") from None
    except IsADirectoryError:
        raise error(path, f"is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(path, f"cannot open ({exc.strerror})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise error(path, f"is {kind}, expected {expected}")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def read_input_text(
    path: str | os.PathLike[str], error: type[InputError], expected: str, max_bytes: int = 1 << 20
) -> str:
    """Read a small UTF-8 input file (a profile, a configuration) or raise
    ``error`` naming the file and what was ``expected`` there."""
    with open_input(path, error, expected) as handle:
        try:
            if os.fstat(handle.fileno()).st_size > max_bytes:
                raise error(path, f"too large for {expected} (over {max_bytes // 1024} KiB)")
            return io.TextIOWrapper(handle, encoding="utf-8").read()
        except UnicodeDecodeError:
            raise error(path, f"not UTF-8 text, expected {expected}") from None
        except OSError as exc:
            raise error(path, f"cannot read ({exc.strerror})") from None
