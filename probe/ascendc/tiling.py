"""Tiling values, the tiling key and scalar parameters of a twin launch, from
``ubscope run --tiling/--scalar/--tiling-key`` or a case file's ``tiling:``,
``scalars:`` and ``files:`` keys. Values stay text: the twin parses each one
with the type its field or parameter declares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ubscope.probe.errors import InputError, ParameterError

_VALUE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|true|false")
_TILING_DEF = "BEGIN_TILING_DATA_DEF"


@dataclass(frozen=True)
class LaunchValues:
    tiling: dict[str, str] = field(default_factory=dict)
    tiling_key: int = 0
    scalars: dict[str, str] = field(default_factory=dict)
    tiling_headers: tuple[Path, ...] = ()


def parse_assignments(option: str, texts: list[str]) -> dict[str, str]:
    """``NAME=VALUE,NAME=VALUE`` (repeatable) as a mapping; a bad item is one line."""
    values: dict[str, str] = {}
    for text in texts:
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep or not name.strip().isidentifier() or not _VALUE.fullmatch(value.strip()):
                raise ParameterError(f"{option} {item}: expected NAME=NUMBER[,NAME=NUMBER...]")
            values[name.strip()] = value.strip()
    return values


def _numbers(data: Any, key: str, path: Path, skip: tuple[str, ...]) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, f"{key}: expected a mapping of name to number")
    values = {}
    for name, value in data.items():
        if name in skip:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(path, f"{key}.{name}: expected a number, got {value!r}")
        values[str(name)] = repr(value)
    return values


def _tiling_headers(data: dict[str, Any], path: Path) -> tuple[Path, ...]:
    """The case's header files that define tiling data (BEGIN_TILING_DATA_DEF)."""
    headers = []
    for item in data.get("files", []) or []:
        name = item.get("file") if isinstance(item, dict) else None
        if isinstance(name, str) and name.endswith(".h"):
            header = path.parent / name
            try:
                text = header.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise InputError(path, f"files: cannot read {name} ({exc.strerror})") from None
            if _TILING_DEF in text:
                headers.append(header)
    return tuple(headers)


def case_launch_values(data: dict[str, Any], path: Path) -> LaunchValues:
    """``tiling: {FIELD: NUMBER, ..., tiling_key: K}`` (``kind`` is prose),
    ``scalars: {NAME: NUMBER}`` and the tiling headers among ``files``."""
    tiling = data.get("tiling")
    key = tiling.get("tiling_key", 0) if isinstance(tiling, dict) else 0
    if not isinstance(key, int) or isinstance(key, bool):
        raise InputError(path, f"tiling.tiling_key: expected an integer, got {key!r}")
    return LaunchValues(
        _numbers(tiling, "tiling", path, ("kind", "tiling_key")),
        key,
        _numbers(data.get("scalars"), "scalars", path, ()),
        _tiling_headers(data, path),
    )


def cli_launch_values(
    tiling: list[str], tiling_key: int, scalars: list[str], headers: list[str]
) -> LaunchValues:
    """The values of ``--tiling``, ``--tiling-key``, ``--scalar`` and ``--tiling-header``."""
    for header in headers:
        if not Path(header).is_file():
            raise InputError(header, "cannot read the tiling header (no such file)")
    return LaunchValues(
        parse_assignments("--tiling", tiling),
        tiling_key,
        parse_assignments("--scalar", scalars),
        tuple(Path(h) for h in headers),
    )
