"""The one list of vendor tool plugins, and what is derived from it.

Adding a tool: its folder (reader, rules, detection, a ``TOOL`` in its
``__init__``) and one line in :data:`TOOLS`. The engine, the API, correlation,
the rule ``input_kind`` check, the CLI options and the views iterate this list.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ubscope.analyzers.vendor import (
    cpu_debug,
    msadvisor,
    msprof_op,
    npuchk,
    sanitizer,
    simulator,
    torch_npu,
)
from ubscope.analyzers.vendor.tool import Candidate, VendorTool

if TYPE_CHECKING:  # the readers' module: loaded with the first reader used
    from ubscope.analyzers.vendor.common import VendorReport

# Detection asks the tools in this order; the first that claims a path reads it.
# torch_npu before the advisor: a profiler folder keeps its kind when the
# advisor's report was written into it.
TOOLS: tuple[VendorTool, ...] = (
    simulator.TOOL,
    npuchk.TOOL,
    torch_npu.TOOL,
    msadvisor.TOOL,
    msprof_op.TOOL,
    cpu_debug.TOOL,
    sanitizer.TOOL,
)


def vendor_tools() -> tuple[VendorTool, ...]:
    """The registered tools, in detection order."""
    return TOOLS


def tool_names() -> tuple[str, ...]:
    """The registered tools' names (the vendor rule ``input_kind`` values)."""
    return tuple(tool.name for tool in TOOLS)


def tool_named(name: str) -> VendorTool:
    """The tool called ``name``; KeyError naming the known ones otherwise."""
    for tool in TOOLS:
        if tool.name == name:
            return tool
    raise KeyError(f"no vendor tool {name!r} (known: {', '.join(tool_names())})")


def tool_of(report: VendorReport) -> VendorTool | None:
    """The tool whose reader wrote ``report``."""
    return next((tool for tool in TOOLS if report.tool in tool.sources), None)


def readers() -> dict[str, Callable[[str | os.PathLike[str]], VendorReport]]:
    """Each tool's reader by tool name."""
    return {tool.name: tool.read for tool in TOOLS}


def load_vendor_rules() -> None:
    """Import every tool's rules module, so its rules register themselves."""
    for tool in TOOLS:
        importlib.import_module(tool.rules)


def detect_vendor_input(path: str | os.PathLike[str]) -> str | None:
    """Which tool produced ``path`` (its name), or None.

    Looks only at names, folder listings and the first 64 KiB, so it is cheap
    and never raises for unreadable paths.
    """
    source = Path(path)
    try:
        if not (source.is_dir() or source.is_file()):
            return None
        candidate = Candidate(source)
        return next((tool.name for tool in TOOLS if tool.detect(candidate)), None)
    except OSError:
        return None
