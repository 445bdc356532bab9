"""Analyzer configuration: ``[tool.ubscope]`` in pyproject.toml or a ``ubscope.yaml``.

Keys (all optional)::

    select = ["UB", "ALN002"]        # rule code prefixes to run (default: all)
    ignore = ["GM003"]               # prefixes to skip (wins over select)
    fail_on = "warning"              # exit 1 at or above this severity (default: error)
    chip = "Ascend910B4"             # chip profile name or YAML path (relative to the file)
    [tool.ubscope.thresholds.FRG002]
    max_external = 0.6               # per rule code, threshold name -> number

An unknown key, code or threshold name raises :class:`ConfigError` naming the
file and the key. YAML is read by the capped safe loader of ``probe/yamlfile.py``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ubscope.analyzers.findings import Severity
from ubscope.probe.errors import ConfigError, read_input_text
from ubscope.probe.yamlfile import parse_yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

YAML_NAMES = ("ubscope.yaml", "ubscope.yml")
KEYS = ("select", "ignore", "thresholds", "chip", "fail_on")
_PREFIX = re.compile(r"^[A-Z]{1,4}[0-9]{0,3}$")
_MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class Config:
    """What to run and how strictly. ``select`` None means every rule."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    chip: str | None = None
    fail_on: Severity = Severity.ERROR
    source: str | None = None  # the file it came from

    def enabled(self, code: str) -> bool:
        """Whether rule ``code`` runs: selected (or no selection) and not ignored."""
        if any(code.startswith(prefix) for prefix in self.ignore):
            return False
        return self.select is None or any(code.startswith(prefix) for prefix in self.select)

    def with_overrides(
        self,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        chip: str | None = None,
        fail_on: str | None = None,
    ) -> Config:
        """A copy with command-line options replacing the file's values."""
        where = "command line"
        return Config(
            select=self.select if select is None else _prefixes(list(select), where, "--select"),
            ignore=self.ignore if ignore is None else _prefixes(list(ignore), where, "--ignore"),
            thresholds=self.thresholds,
            chip=chip if chip is not None else self.chip,
            fail_on=_severity(fail_on, where, "--fail-on") if fail_on else self.fail_on,
            source=self.source,
        )


def _known_codes() -> dict[str, Any]:
    from ubscope.analyzers.rules import load_rules

    return load_rules()


def _prefixes(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(where, f"{key}: expected a list of rule codes or prefixes")
    codes = _known_codes()
    for prefix in value:
        if not _PREFIX.match(prefix) or not any(code.startswith(prefix) for code in codes):
            raise ConfigError(
                where, f"{key}: {prefix!r} matches no rule code (see `ubscope rules`)"
            )
    return tuple(value)


def _severity(value: Any, where: str, key: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(where, f"{key}: {exc}") from None


def _thresholds(value: Any, where: str) -> dict[str, dict[str, float]]:
    if not isinstance(value, dict):
        raise ConfigError(where, "thresholds: expected a mapping of rule code to thresholds")
    codes = _known_codes()
    out: dict[str, dict[str, float]] = {}
    for code, items in value.items():
        rule = codes.get(str(code))
        if rule is None:
            raise ConfigError(where, f"thresholds.{code}: no such rule (see `ubscope rules`)")
        if not isinstance(items, dict):
            raise ConfigError(where, f"thresholds.{code}: expected a mapping of name to number")
        for name, number in items.items():
            if name not in rule.thresholds:
                known = ", ".join(sorted(rule.thresholds)) or "none"
                raise ConfigError(
                    where, f"thresholds.{code}.{name}: unknown threshold (known: {known})"
                )
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ConfigError(where, f"thresholds.{code}.{name}: expected a number")
        out[str(code)] = {str(k): float(v) for k, v in items.items()}
    return out


def config_from_mapping(data: Any, where: str, base_dir: Path | None = None) -> Config:
    """Validate a parsed ``[tool.ubscope]`` table / YAML mapping."""
    if data is None:
        return Config(source=where)
    if not isinstance(data, dict):
        raise ConfigError(where, "expected a mapping of ubscope settings")
    for key in data:
        if key not in KEYS:
            raise ConfigError(where, f"unknown key {key!r} (known: {', '.join(KEYS)})")
    chip = data.get("chip")
    if chip is not None:
        if not isinstance(chip, str) or not chip.strip():
            raise ConfigError(where, "chip: expected a chip name or a profile path")
        if base_dir is not None and chip.endswith((".yaml", ".yml")):
            chip = os.fspath(base_dir / chip)
    return Config(
        select=_prefixes(data["select"], where, "select") if "select" in data else None,
        ignore=_prefixes(data.get("ignore", []), where, "ignore"),
        thresholds=_thresholds(data.get("thresholds", {}), where),
        chip=chip,
        fail_on=_severity(data.get("fail_on", "error"), where, "fail_on"),
        source=where,
    )


def _read_text(path: Path) -> str:
    return read_input_text(path, ConfigError, "pyproject.toml or ubscope.yaml", _MAX_CONFIG_BYTES)


def _pyproject_table(path: Path) -> tuple[bool, Any]:
    """(whether the file has a [tool.ubscope] table, the table)."""
    try:
        document = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML ({exc})") from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise ConfigError(path, "not valid TOML (a number of too many digits)") from None
    except RecursionError:
        raise ConfigError(path, "TOML nested too deeply") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict) or "ubscope" not in tool:
        return False, None
    return True, tool["ubscope"]


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read a configuration file: a ``.toml`` (its ``[tool.ubscope]`` table) or a YAML file."""
    path = Path(path)
    where = os.fspath(path)
    if path.suffix == ".toml":
        found, table = _pyproject_table(path)
        if not found:
            raise ConfigError(path, "has no [tool.ubscope] table")
        return config_from_mapping(table, where, path.parent)
    if path.suffix not in (".yaml", ".yml"):
        raise ConfigError(path, "expected pyproject.toml (or another .toml) or a .yaml file")
    data = parse_yaml(_read_text(path), where, ConfigError)
    return config_from_mapping(data, where, path.parent)


def discover_config(start: str | os.PathLike[str] | None = None) -> Config:
    """The configuration for ``start`` (default: the working directory): the
    nearest directory up the tree with a ubscope.yaml or a pyproject.toml that
    has a [tool.ubscope] table; defaults when there is none."""
    folder = Path(start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        for name in YAML_NAMES:
            if (directory / name).is_file():
                return load_config(directory / name)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            found, table = _pyproject_table(pyproject)
            if found:
                return config_from_mapping(table, os.fspath(pyproject), directory)
    return Config()
