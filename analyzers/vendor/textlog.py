"""What the line-oriented vendor logs share: bounded line reading and stack frames.

msSanitizer reports, Ascend C CPU-debug logs and npuchk logs are text whose
lines are read one at a time with a length cap (a longer line is skipped and
counted), decoded leniently (bad bytes replaced and counted), and whose
stacks mix CANN's own frames with the user's; :func:`user_frame` picks the
user's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ubscope.analyzers.vendor.common import VendorReport
from ubscope.probe.errors import VendorFormatError

MAX_LINE_BYTES = 1 << 20
# What one report may keep of a log's text; each kept line counts LINE_COST
# more than its length. Past it, records are counted and skipped with a warning.
MAX_KEPT_CHARS = 16 << 20
LINE_COST = 64

# CANN's own frames, recognised by the installation's structure rather than one
# prefix: CANN 8.5 installs as .../cann-8.5.0/<arch>-linux/asc/impl/..., older
# ones under ascend-toolkit/<version or latest>, compiler/tikcpp/tikcfw, and the
# CPU-debug library under tools/tikicpulib.
_INTERNAL_FRAME = re.compile(
    r"\$\{ASCEND_HOME_PATH\}|/cann(?:-[^/]{1,64})?/|/ascend-toolkit/|/latest/|/basic_api/"
    r"|/highlevel_api/|(?:^|/)asc(?:endc)?/(?:impl|include)/|/tikcpp/|/tikcfw/|/tikicpulib/"
    r"|(?:^|/)(?:inner_)?kernel_operator_[^/]*\.(?:h|hpp|cppm|inc)$"
)


class TextLog:
    """Iterate a log's lines as text; count what had to be skipped or replaced."""

    def __init__(self, source: Path, what: str, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.source = source
        self.what = what
        self.max_line_bytes = max_line_bytes
        self.replaced = 0
        self.too_long = 0
        self.unterminated = False  # the last line has no line end: the file was cut

    def lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text without its line ending); lines over the cap are skipped."""
        try:
            with open(self.source, "rb") as handle:
                for line_no, raw in enumerate(self._raw_lines(handle), start=1):
                    if raw is None:
                        self.too_long += 1
                        continue
                    self.unterminated = not raw.endswith(b"\n")
                    text = raw.decode("utf-8", "replace")
                    self.replaced += "\ufffd" in text
                    yield line_no, text.rstrip("\r\n")
        except OSError as exc:
            raise VendorFormatError(
                self.source, f"expected {self.what}, cannot read it ({exc.strerror})"
            ) from None

    def _raw_lines(self, handle: BinaryIO) -> Iterator[bytes | None]:
        limit = self.max_line_bytes
        while line := handle.readline(limit):
            if len(line) == limit and not line.endswith(b"\n"):
                while (rest := handle.readline(limit)) and not rest.endswith(b"\n"):
                    pass
                yield None
            else:
                yield line

    def note_problems(self, report: VendorReport) -> None:
        if self.replaced:
            report.note_partial(
                self.source, f"{self.replaced} line(s) were not UTF-8; bad bytes replaced"
            )
        if self.too_long:
            report.note_partial(
                self.source,
                f"skipped {self.too_long} line(s) over {self.max_line_bytes >> 20} MiB",
            )


def frame_file(frame: str) -> str:
    """``dir/a.cpp:18:5`` -> ``dir/a.cpp:18``."""
    parts = frame.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return f"{parts[0]}:{parts[1]}"
    return frame


def source_path(location: str) -> str:
    """``dir/a.cpp:18`` -> ``dir/a.cpp``."""
    path, _, line = location.rpartition(":")
    return path if line.isdigit() else location


def known_location(location: str) -> bool:
    """False for the placeholders ``:0``, ``??:0``, ``<unknown>`` and ``<unknown>:0``."""
    path = source_path(location).strip()
    return bool(path) and not path.startswith(("<unknown>", "??"))


def is_internal(location: str) -> bool:
    """Whether a ``file[:line]`` lies inside the CANN installation."""
    return bool(_INTERNAL_FRAME.search(source_path(location)))


def user_frame(frames: list[str]) -> str | None:
    """The first ``file:line`` outside the CANN installation (else the outermost known one)."""
    located = [frame_file(frame) for frame in frames if known_location(frame_file(frame))]
    for frame in located:
        if not is_internal(frame):
            return frame
    return located[-1] if located else None
