"""The facade ``ubscope.analyzers``: every public name resolves, type checkers see
the same names as run time, and importing it stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ubscope.analyzers as facade

FACADE_SOURCE = Path(facade.__file__).read_text(encoding="utf-8")


def _type_checking_imports() -> dict[str, set[str]]:
    """Module -> names, from the ``if TYPE_CHECKING:`` block of the facade."""
    block = next(
        node
        for node in ast.parse(FACADE_SOURCE).body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    )
    return {
        node.module.removeprefix("ubscope.analyzers."): {alias.name for alias in node.names}
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
    }


def test_every_public_name_resolves_to_the_module_it_is_listed_under() -> None:
    for name in facade.__all__:
        value = getattr(facade, name)
        module = facade._MODULE_OF[name]
        assert value is getattr(sys.modules[f"ubscope.analyzers.{module}"], name)


def test_type_checkers_see_the_names_run_time_provides() -> None:
    runtime = {module: set(names) for module, names in facade._SOURCES.items()}
    assert _type_checking_imports() == runtime


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        facade.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_facade_or_the_pytest_plugin_does_not_load_pandas() -> None:
    # The pytest plugin loads in every pytest session of an environment with
    # ubscope installed: it must not pull in the analysis stack until a test
    # records a kernel.
    code = (
        "import sys, ubscope.analyzers, ubscope.check.pytest_plugin; "
        "print(sorted(m for m in ('pandas', 'plotly', 'textual', 'ubscope.analyzers.api') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
