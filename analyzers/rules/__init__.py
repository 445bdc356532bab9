"""Rules: importing this package imports every rule module, so each registers
itself in :data:`ubscope.analyzers.rules.base.REGISTRY`."""

from __future__ import annotations

import importlib
import pkgutil

from ubscope.analyzers.rules.base import REGISTRY, Rule
from ubscope.analyzers.vendor.registry import load_vendor_rules


def load_rules() -> dict[str, type[Rule]]:
    """Import every module of this package (trace rules) and every vendor tool's
    rules module, and return the registry."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    load_vendor_rules()
    return REGISTRY


load_rules()

__all__ = ["REGISTRY", "Rule", "load_rules"]
