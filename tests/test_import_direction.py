"""The import direction of docs/architecture.md, checked over the source tree.

Data flows kernels -> probe (trace) -> analyzers -> views. A module may import
only what its layer allows; the test walks every ``import`` statement (also the
ones inside functions) with ``ast`` and names each that runs against the flow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Source folder -> the package it installs as (pyproject's package-dir).
PACKAGES = {
    "probe": "ubscope.probe",
    "kernels": "ubscope.kernels",
    "analyzers": "ubscope.analyzers",
    "tui": "ubscope.tui",
    "reports": "ubscope.reports",
    "ubscope": "ubscope",
}

# What views may take from probe: the public trace reader (trace_meta: its
# metadata alone, without pyarrow) and rendering helpers.
PROBE_FOR_VIEWS = tuple(
    f"ubscope.probe.{name}"
    for name in (
        "trace",
        "trace_meta",
        "units",
        "text",
        "outputs",
        "errors",
        "events",
        "chip",
        "version",
    )
)
ANALYSIS_FACADE = "ubscope.analyzers"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _allowed(importer: str, imported: str) -> bool:
    """Whether module ``importer`` may import ``imported`` (both ubscope names)."""
    layer = importer.split(".")[1] if importer.count(".") else "ubscope"
    if layer == "probe":
        return _within(imported, "ubscope.probe")
    if layer in ("kernels", "analyzers"):
        return _within(imported, "ubscope.probe") or _within(imported, f"ubscope.{layer}")
    if layer in ("tui", "reports"):
        return (
            _within(imported, f"ubscope.{layer}")
            or imported == ANALYSIS_FACADE
            or any(_within(imported, allowed) for allowed in PROBE_FOR_VIEWS)
        )
    # The CLI package drives everything (recording runs kernels on the probe), but
    # reaches the analysis only through its facade.
    return not _within(imported, "ubscope.analyzers") or imported == ANALYSIS_FACADE


def _module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [*PACKAGES[folder].split("."), *rest]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) of every ubscope import in the source of ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from ubscope.analyzers import x` takes a name from the facade, unless
            # x is itself a submodule (`from ubscope.analyzers import api`).
            found += [
                (node.lineno, f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
                for alias in node.names
            ]
    return [(line, name) for line, name in found if _within(name, "ubscope")]


def _sources() -> list[Path]:
    return sorted(p for folder in PACKAGES for p in (ROOT / folder).rglob("*.py"))


MODULES = frozenset(_module_name(path) for path in _sources())


def test_every_import_runs_with_the_data_flow() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {_module_name(path)} imports {imported}"
        for path in _sources()
        for line, imported in _imports(
            path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py"
        )
        if not _allowed(_module_name(path), imported)
    ]
    assert not wrong, "imports against the flow (docs/architecture.md):\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("ubscope.probe.trace", "ubscope.analyzers", False),
        ("ubscope.probe.trace", "ubscope.probe.events", True),
        ("ubscope.kernels.layernorm", "ubscope.probe.memory.tpipe", True),
        ("ubscope.kernels.layernorm", "ubscope.analyzers", False),
        ("ubscope.analyzers.engine", "ubscope.config", False),
        ("ubscope.analyzers.engine", "ubscope.kernels.registry", False),
        ("ubscope.tui.app", "ubscope.analyzers", True),
        ("ubscope.tui.app", "ubscope.analyzers.context", False),
        ("ubscope.tui.app", "ubscope.reports.page", False),
        ("ubscope.reports.page", "ubscope.probe.recorder", False),
        ("ubscope.reports.page", "ubscope.probe.units", True),
        ("ubscope.commands.run", "ubscope.kernels.registry", True),
        ("ubscope.commands.analyze", "ubscope.analyzers.api", False),
    ],
)
def test_the_rule_itself(importer: str, imported: str, allowed: bool) -> None:
    assert _allowed(importer, imported) is allowed


def test_the_walk_sees_relative_imports_and_imports_inside_functions() -> None:
    source = "from .text import literal\ndef f():\n    from ubscope.analyzers.context import X\n"
    assert _imports(source, "ubscope.tui.app") == [
        (1, "ubscope.tui.text"),
        (3, "ubscope.analyzers.context"),
    ]


def test_a_submodule_taken_by_name_from_the_facade_is_a_deep_import() -> None:
    source = "from ubscope.analyzers import api, Finding\n"
    assert _imports(source, "ubscope.tui.app") == [
        (1, "ubscope.analyzers.api"),
        (1, "ubscope.analyzers"),
    ]
