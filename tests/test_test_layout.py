"""Test modules import no other test module, no conftest and nothing from bench/:
what tests share lives in tests/helpers/ (or in a folder's non-test helper
module, such as tests/hardening/fuzzkit.py) and in conftest fixtures."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
BENCH_MODULES = {path.stem for path in (TESTS.parent / "bench").glob("*.py")}


def _imported_modules(path: Path) -> list[str]:
    """Each module ``path`` imports, relative ones written with their leading dots."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append(base)
            if node.module is None:  # "from . import x": x is the module
                found += [base + alias.name for alias in node.names]
    return found


def _forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    top = module.lstrip(".").split(".", 1)[0]
    return (
        last.startswith("test_")
        or last == "conftest"
        or top == "bench"
        or (not module.startswith(".") and top in BENCH_MODULES)
    )


def test_no_test_imports_another_test_module_a_conftest_or_bench():
    offenders = [
        f"{path.relative_to(TESTS.parent)}: {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in _imported_modules(path)
        if _forbidden(module)
    ]
    assert not offenders, "shared test code belongs in tests/helpers/:\n" + "\n".join(offenders)
