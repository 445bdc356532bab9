"""Where ubscope writes, and how: the one output-path policy and atomic writer.

Every file a command writes (traces, reports, exports, baselines, ``analyze
-o``, ``check --junit/--markdown``) goes through :func:`check_output_path`
before any work starts and through :class:`AtomicFile` when written:

- missing parent folders are created; an empty path (``-o ""``), a folder,
  an unwritable target or a target that is one of the command's own inputs is
  a one-line error (exit 2). An option not given is ``None``, and only then
  does a command's default name apply (``default=``), never to an empty path;
- a regular file is written to a hidden temporary file in the target's own
  folder and renamed over the target (``os.replace``) when complete, so an
  error, a full disk or Ctrl-C never leaves half a file and never destroys the
  previous one. A symlink at the output path is followed: the file it points
  to is replaced, the link stays;
- a character device or a pipe (``/dev/null``, ``/dev/stdout``) is written
  to, never replaced; ``-`` means standard output where a command allows it.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from ubscope.probe.errors import OutputError

STDOUT = "-"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_BUFFER_BYTES = 1 << 20


def is_stdout(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``-``, standard output (``./-`` names a file)."""
    return os.fspath(path) == STDOUT


def _is_stream(target: Path) -> bool:
    """A character device or a pipe: written to in place, never replaced."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _ensure_folder(target: Path, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            target, f"cannot create the folder {folder}: a file is in the way"
        ) from None
    except OSError as exc:
        raise OutputError(target, f"cannot create the folder {folder} ({exc.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(target, f"cannot write in the folder {folder} (permission denied)")


def _named(path: str | os.PathLike[str], give: str) -> None:
    """Refuse an empty path: ``Path("")`` is the current folder, and ``-o ""``
    (an unset shell variable, say) is no choice of a place to write."""
    if not os.fspath(path):
        raise OutputError("''", f"the output path is empty; give {give}")


def check_output_path(
    path: str | os.PathLike[str] | None,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    *,
    stdout: bool = False,
    default: str | os.PathLike[str] | None = None,
) -> Path:
    """Check ``path`` as an output file before any work starts and create its
    folder; return it as given, or ``default`` when ``path`` is None (the
    option was not given). ``inputs`` are the command's own input files,
    which it must not overwrite; ``stdout`` allows ``-``."""
    if path is None:
        if default is None:
            raise TypeError("check_output_path: no path and no default")
        path = default
    _named(path, "a file name, or - for standard output" if stdout else "a file name")
    if is_stdout(path):
        if not stdout:
            raise OutputError(path, "cannot be standard output here; give a file name")
        return Path(STDOUT)
    target = Path(path)
    if target.is_dir():
        raise OutputError(target, "is a directory, expected an output file name")
    if _is_stream(target):
        if not os.access(target, os.W_OK):
            raise OutputError(target, "cannot write (permission denied)")
        return target
    real = Path(os.path.realpath(target))
    if real.exists():
        if not real.is_file():
            raise OutputError(target, "is not a regular file, a character device or a pipe")
        if not os.access(real, os.W_OK):
            raise OutputError(target, "cannot write (permission denied)")
        for source in inputs:
            if source is not None and Path(source).exists() and real.samefile(source):
                raise OutputError(target, "is an input of this command; choose another output file")
    _ensure_folder(target, real.parent)
    return target


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` (and its parents) for a command's outputs, or
    fail with one line when that is impossible."""
    _named(path, "a folder name")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(folder, "exists and is not a folder, expected an output folder")
    _ensure_folder(folder, folder)
    return folder


def write_error(target: str | os.PathLike[str], exc: OSError) -> OSError | OutputError:
    """The error to raise for a failed write of ``target``: a one-line error, or
    the broken pipe itself when the reader of a pipe left (`| head`), which is
    no error of ubscope's: the CLI ends quietly on it."""
    if isinstance(exc, BrokenPipeError):
        return exc
    if exc.errno in _DISK_FULL:
        return OutputError(target, f"cannot write: the disk is full ({exc.strerror})")
    return OutputError(target, f"cannot write ({exc.strerror or exc})")


def _file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the umask's default."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicFile:
    """An output being written. ``handle`` writes to a temporary file beside
    the target; :meth:`commit` renames it over the target, :meth:`discard`
    removes it. Standard output and devices are written to directly."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        binary: bool = False,
        inputs: Iterable[str | os.PathLike[str] | None] = (),
        stdout: bool = True,
    ):
        self.path = check_output_path(path, inputs, stdout=stdout)
        self._temporary: Path | None = None
        self._real = self.path
        mode = "wb" if binary else "w"
        # One flush, one write: a trace's header reaches the file whole or not at all.
        options: dict = {"buffering": _BUFFER_BYTES}
        if not binary:
            options.update(encoding="utf-8", newline="\n")
        try:
            if is_stdout(self.path):
                self.handle: IO = sys.stdout.buffer if binary else sys.stdout
            elif _is_stream(self.path):
                self.handle = open(self.path, mode, **options)  # closed in commit()
            else:
                self._real = Path(os.path.realpath(self.path))
                descriptor, temporary = tempfile.mkstemp(
                    prefix=f".{self._real.name}.", suffix=".partial", dir=self._real.parent
                )
                self._temporary = Path(temporary)
                self.handle = os.fdopen(descriptor, mode, **options)
        except OSError as exc:
            raise write_error(self.path, exc) from None

    @property
    def temporary(self) -> Path | None:
        """The file being written until :meth:`commit` (None for streams)."""
        return self._temporary

    def commit(self) -> None:
        """Make the written content the target's (raise :class:`OutputError`
        and leave the target untouched when that fails)."""
        try:
            self.handle.flush()
            if self._temporary is None:
                if not is_stdout(self.path):
                    self.handle.close()
                return
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.chmod(self._temporary, _file_mode(self._real))
            os.replace(self._temporary, self._real)
            self._temporary = None
        except BaseException as exc:  # Ctrl-C included: no temporary file is left behind
            self.discard()
            if isinstance(exc, OSError):
                raise write_error(self.path, exc) from None
            raise

    def discard(self) -> None:
        """Give up: remove the temporary file; the target keeps its old content."""
        if not is_stdout(self.path):
            with suppress(OSError):
                self.handle.close()
        if self._temporary is not None:
            with suppress(OSError):
                os.unlink(self._temporary)
            self._temporary = None


def release_written(handle: IO[bytes]) -> None:
    """Put what ``handle`` wrote so far on disk and out of the page cache, when
    it is a regular file (streams: nothing). A writer of a multi-GB output calls
    this every few tens of MB: the kernel then reuses the same few cache pages
    instead of filling memory with dirty ones that the final fsync would write
    out all at once (on a VM, fresh pages cost as much CPU as the formatting)."""
    handle.flush()
    try:
        descriptor = handle.fileno()
        regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
    except (OSError, ValueError):  # a stream without a descriptor
        return
    if regular and hasattr(os, "posix_fadvise"):
        os.fdatasync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)


@contextmanager
def atomic_output(
    path: str | os.PathLike[str],
    *,
    binary: bool = False,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    stdout: bool = True,
) -> Iterator[IO]:
    """A handle whose content replaces ``path`` when the block ends normally;
    on any exception the temporary file is removed and ``path`` is untouched."""
    output = AtomicFile(path, binary=binary, inputs=inputs, stdout=stdout)
    try:
        yield output.handle
    except OSError as exc:
        output.discard()
        raise write_error(output.path, exc) from None
    except BaseException:
        output.discard()
        raise
    output.commit()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_output(path) as handle:
        handle.write(text)
