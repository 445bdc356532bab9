"""Packaging: every source folder is installed under the ``ubscope`` namespace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]


def setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    config = setuptools_config()
    mapping = config["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *relative.parts]))
    assert found == set(config["packages"])


def test_short_names_are_not_installed_top_level():
    mapping = setuptools_config()["package-dir"]
    assert all(name == "ubscope" or name.startswith("ubscope.") for name in mapping)
    assert mapping["ubscope.kernels"] == "kernels" and mapping["ubscope.probe"] == "probe"
