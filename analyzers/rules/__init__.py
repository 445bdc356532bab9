"""Rules: one file per code, one folder per family (``ub/ub001.py``, ``aln/``,
``frg/``, ``gm/``). Importing this package imports every rule module and every
vendor tool's rules, so each registers itself in
:data:`ubscope.analyzers.rules.base.REGISTRY`; rules of other packages come in
through the ``ubscope.rules`` entry point group when :func:`load_rules` is first
called."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import pkgutil
import warnings

from ubscope.analyzers.rules.base import REGISTRY, Rule, register
from ubscope.analyzers.vendor.registry import load_vendor_rules

ENTRY_POINT_GROUP = "ubscope.rules"


class RulePluginWarning(UserWarning):
    """A rule plugin (an ``ubscope.rules`` entry point) could not be loaded."""


_loaded_plugins: set[tuple[str, str]] = set()


def load_plugins() -> None:
    """Load every ``ubscope.rules`` entry point not loaded yet: one naming a module
    registers its rules on import, one naming a :class:`Rule` subclass is
    registered here. A plugin that fails is one warning naming the entry point;
    the other rules still run."""
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = (entry.name, entry.value)
        if key in _loaded_plugins:
            continue
        _loaded_plugins.add(key)
        try:
            loaded = entry.load()
            if inspect.isclass(loaded) and issubclass(loaded, Rule):
                register(loaded)
            elif not inspect.ismodule(loaded):
                raise TypeError(f"expected a module or a Rule subclass, got {loaded!r}")
        except Exception as exc:  # a broken plugin must not stop the built-in rules
            warnings.warn(
                f"rule plugin {entry.name} ({entry.value}) not loaded: {type(exc).__name__}: {exc}",
                RulePluginWarning,
                stacklevel=2,
            )


def _import_builtin_rules() -> None:
    for info in pkgutil.walk_packages(__path__, f"{__name__}."):
        importlib.import_module(info.name)
    load_vendor_rules()


@functools.cache
def _load_plugins_once() -> None:
    load_plugins()


def load_rules() -> dict[str, type[Rule]]:
    """The registry (code -> rule class): the built-in rules, registered when this
    package is imported, and the rule plugins, loaded on the first call (after
    import, so that a plugin may import the ``ubscope.analyzers`` facade)."""
    _load_plugins_once()
    return REGISTRY


_import_builtin_rules()

__all__ = [
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "Rule",
    "RulePluginWarning",
    "load_plugins",
    "load_rules",
]
