"""Where kernels come from: the built-in kernels, kernels other packages
install (entry point group ``ubscope.kernels``, each entry naming a
:class:`KernelSpec`), and a user's own file or module
(``ubscope run my_kernel.py``, ``my_kernel.py:NAME``, ``pkg.module:NAME``)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from importlib import metadata
from pathlib import Path

from ubscope.kernels import pool_demo
from ubscope.kernels.gemm import specs as gemm
from ubscope.kernels.layernorm import specs as layernorm
from ubscope.kernels.paged_attention import specs as paged_attention
from ubscope.kernels.registry import REGISTRY
from ubscope.kernels.sparse_attention import specs as sparse_attention
from ubscope.kernels.sparse_matmul import specs as sparse_matmul
from ubscope.probe.errors import ParameterError
from ubscope.probe.kernel_spec import KernelSpec

ENTRY_POINT_GROUP = "ubscope.kernels"
# The modules whose import registers the built-in kernels.
KERNEL_MODULES = (gemm, layernorm, paged_attention, pool_demo, sparse_attention, sparse_matmul)


def builtin_kernels() -> dict[str, KernelSpec]:
    """The kernels ubscope ships, by name."""
    return dict(REGISTRY)


def plugin_kernels() -> dict[str, KernelSpec]:
    """Kernels of installed packages, by name. A plugin that fails to load,
    names no KernelSpec or reuses a taken name is one warning and left out."""
    found: dict[str, KernelSpec] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = entry.load()
        except Exception as exc:  # a plugin's import may fail in any way
            warnings.warn(
                f"kernel plugin {entry.name} ({entry.value}) failed to load: "
                f"{type(exc).__name__}: {exc}",
                stacklevel=2,
            )
            continue
        if not isinstance(spec, KernelSpec):
            warnings.warn(
                f"kernel plugin {entry.name} ({entry.value}) is a {type(spec).__name__}, "
                "not a KernelSpec",
                stacklevel=2,
            )
        elif spec.name in REGISTRY or spec.name in found:
            warnings.warn(
                f"kernel plugin {entry.name} ({entry.value}): the name {spec.name!r} is taken",
                stacklevel=2,
            )
        else:
            found[spec.name] = spec
    return found


def load_kernels() -> dict[str, KernelSpec]:
    """Built-in and plugin kernels, by name."""
    return builtin_kernels() | plugin_kernels()


def get_kernel(name: str) -> KernelSpec:
    """A built-in or plugin kernel by name."""
    if name in REGISTRY:
        return REGISTRY[name]
    kernels = load_kernels()
    try:
        return kernels[name]
    except KeyError:
        known = ", ".join(sorted(kernels))
        raise ParameterError(f"unknown kernel {name!r} (kernels: {known})") from None


def is_user_kernel(target: str) -> bool:
    """Whether ``ubscope run TARGET`` names a Python file or ``module:NAME``
    rather than a kernel by name."""
    file, _, _ = target.partition(":")
    return file.endswith(".py") or ":" in target


def load_user_kernel(target: str) -> KernelSpec:
    """The KernelSpec of ``path.py`` (its only one), ``path.py:NAME`` or
    ``pkg.module:NAME``; a file is imported by its path, nothing else is."""
    location, _, attribute = target.partition(":")
    if location.endswith(".py"):
        module = _import_file(Path(location))
    else:
        if not attribute:
            raise ParameterError(f"{target}: name the spec as pkg.module:NAME")
        try:
            module = importlib.import_module(location)
        except ImportError as exc:
            raise ParameterError(f"{target}: cannot import {location} ({exc})") from None
    if attribute:
        spec = getattr(module, attribute, None)
        if not isinstance(spec, KernelSpec):
            raise ParameterError(f"{target}: {location} has no KernelSpec named {attribute}")
        return spec
    specs = {name: value for name, value in vars(module).items() if isinstance(value, KernelSpec)}
    if len(specs) != 1:
        found = f"{len(specs)} KernelSpecs ({', '.join(specs)})" if specs else "no KernelSpec"
        raise ParameterError(f"{location} defines {found}: choose one with {location}:NAME")
    return next(iter(specs.values()))


def _import_file(path: Path) -> object:
    if not path.is_file():
        raise ParameterError(f"{path}: no such kernel file")
    name = f"ubscope_user_kernel_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ParameterError(f"{path}: not a Python file ubscope can import")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # the user's code may fail in any way
        del sys.modules[name]
        raise ParameterError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    return module
