"""What a vendor tool plugin declares: :class:`VendorTool`, and the
:class:`Candidate` its detection looks at.

A plugin is one folder under ``analyzers/vendor/`` (reader, rules, detection)
whose ``__init__`` defines a ``TOOL``; ``registry.py`` lists the ``TOOL`` of
every plugin, and the engine, the API, correlation and the views iterate that
list, so nothing else names a tool. A ``TOOL`` names its functions with
:func:`lazy`: listing the tools (the CLI's options, ``COMMAND --help``) loads
no reader, and so none of pandas and pyarrow.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ubscope.analyzers.vendor.common import VendorReport
    from ubscope.probe.chip import ChipProfile
    from ubscope.probe.trace import Trace

SNIFF_BYTES = 65536
MAX_LISTED = 5000
# Suffixes of structured files (workbooks, web pages, JSON, CSV): tools that
# write text logs do not claim them, whatever their first lines say.
STRUCTURED_SUFFIXES = (".xlsx", ".html", ".htm", ".json", ".csv")


class Candidate:
    """A path being sniffed: its name, and (read once, bounded) the first
    64 KiB of a file or the first entries of a folder."""

    def __init__(self, path: Path):
        self.path = path
        self.is_dir = path.is_dir()
        self.suffix = path.suffix.lower()

    @cached_property
    def head(self) -> str:
        """The start of the file as text (undecodable bytes replaced, leading blanks dropped)."""
        with open(self.path, "rb") as handle:
            text = handle.read(SNIFF_BYTES).decode("utf-8", "replace")
        return text.lstrip("\ufeff \t\r\n")

    @cached_property
    def names(self) -> list[str]:
        """Names in the folder (at most MAX_LISTED)."""
        return listing(self.path)

    @property
    def is_text_log(self) -> bool:
        """A file whose suffix says nothing structured (``.log``, ``.txt``, none)."""
        return not self.is_dir and self.suffix not in STRUCTURED_SUFFIXES


def lazy(target: str) -> Callable[..., Any]:
    """The function ``target`` (``"package.module:function"``), its module
    imported on the first call."""
    return _LazyFunction(target)


class _LazyFunction:
    # A class, not a closure: picklable (the target is a string), for process executors.
    def __init__(self, target: str):
        self.target = target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"lazy({self.target!r})"


def listing(folder: Path, limit: int = MAX_LISTED) -> list[str]:
    """The first ``limit`` names in ``folder`` (never a whole huge listing)."""
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) >= limit:
                break
    return names


@dataclass(frozen=True)
class VendorTool:
    """One vendor tool plugin.

    ``name`` is the rule ``input_kind`` of its rules, the keyword of
    ``analyze_path`` and (with ``-`` for ``_``) the CLI option; ``sources`` are
    the ``VendorReport.tool`` values its reader writes (the first is the label
    views show); ``what`` names its output in messages ("this is WHAT");
    ``metavar`` and ``help`` describe the CLI option; ``rules`` is the module
    defining its rule classes.
    """

    name: str
    sources: tuple[str, ...]
    what: str
    metavar: str
    help: str
    detect: Callable[[Candidate], bool]
    read: Callable[[str | os.PathLike[str]], VendorReport]
    rules: str
    # Output of a kernel run with no NPU stands in for a trace when none is given:
    # to_trace builds it, save_trace writes it as a .ubtrace (what the TUI opens).
    to_trace: Callable[[VendorReport, ChipProfile | None], Trace] | None = None
    save_trace: (
        Callable[[VendorReport, str | os.PathLike[str], ChipProfile | None], None] | None
    ) = None

    @property
    def label(self) -> str:
        return self.sources[0]

    @property
    def option(self) -> str:
        """The command-line option naming an input of this tool."""
        return "--" + self.name.replace("_", "-")
