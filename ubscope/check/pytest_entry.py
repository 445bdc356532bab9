"""The ``pytest11`` entry point: registers :mod:`ubscope.check.pytest_plugin`.

pytest loads every installed plugin in every session of the environment, for
every project. When ubscope itself cannot be imported (a broken or half-removed
install, or a source checkout without ``pip install`` shadowing it on
``sys.path``), one line on stderr says so and pytest goes on without ubscope's
markers and fixtures, instead of every pytest run failing.
"""

from __future__ import annotations

import sys

import pytest


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    try:
        from ubscope.check import pytest_plugin
    except ImportError as error:
        print(
            f"ubscope: pytest plugin not loaded ({error}); its markers and fixtures "
            "are unavailable (reinstall ubscope in this environment)",
            file=sys.stderr,
        )
        return
    if not pluginmanager.is_registered(pytest_plugin):
        pluginmanager.register(pytest_plugin, "ubscope.check.pytest_plugin")
