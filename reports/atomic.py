"""Write an output file all at once or not at all.

Reports and exports are written to a temporary file in the target's own
folder and renamed over the target only when complete, so an error, a full
disk or Ctrl-C never leaves a half-written file and never destroys the
previous one. Only the path the user asked for is written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from ubscope.probe.errors import InputError


def check_output_path(
    path: str | os.PathLike[str], inputs: tuple[str | os.PathLike[str], ...] = ()
) -> Path:
    """``path`` as an output file: its folder must exist, it must not be a
    folder, and it must not be one of the ``inputs`` (a report written over
    its own trace would destroy the trace)."""
    target = Path(path)
    if target.is_dir():
        raise InputError(target, "is a directory, expected an output file name")
    if not target.parent.is_dir():
        raise InputError(target, f"cannot write: the folder {target.parent} does not exist")
    for source in inputs:
        if target.exists() and Path(source).exists() and target.samefile(source):
            raise InputError(target, "is an input of this command; choose another output file")
    return target


def _file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the umask's default."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(
    path: str | os.PathLike[str], *, binary: bool = False
) -> Iterator[IO[str] | IO[bytes]]:
    """A handle whose content replaces ``path`` when the block ends normally;
    on any exception the temporary file is removed and ``path`` is untouched."""
    target = check_output_path(path)
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
    except OSError as exc:
        raise InputError(target, f"cannot write ({exc.strerror})") from None
    try:
        if binary:
            handle: IO = os.fdopen(descriptor, "wb")
        else:
            handle = os.fdopen(descriptor, "w", encoding="utf-8", newline="\n")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _file_mode(target))
        os.replace(temporary, target)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(temporary)
        raise InputError(target, f"cannot write ({exc.strerror or exc})") from None
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
