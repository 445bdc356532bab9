"""ubscope: memory profiler and diagnostics for Ascend C-style NPU kernels.

The subpackages follow the data flow: ``ubscope.kernels`` run on the emulated
device and record through ``ubscope.probe`` into traces; ``ubscope.analyzers``
turn traces and vendor tool output into findings and metrics; ``ubscope.tui``
and ``ubscope.reports`` present them; ``ubscope.check`` judges metrics against
baselines and budgets. This package itself holds the command line; the version
lives in the leaf module ``ubscope.probe.version``.
"""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Resolved on use, so importing this package (as the pytest entry point does
    # in every pytest session) never fails on its own.
    if name == "__version__":
        from ubscope.probe.version import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
