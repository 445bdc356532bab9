"""ubscope: memory profiler and diagnostics for Ascend C-style NPU kernels.

The subpackages follow the data flow: ``ubscope.kernels`` run on the emulated
device and record through ``ubscope.probe`` into traces; ``ubscope.analyzers``
turn traces and vendor tool output into findings and metrics; ``ubscope.tui``
and ``ubscope.reports`` present them; ``ubscope.check`` judges metrics against
baselines and budgets. This package itself holds the command line; the version
lives in the leaf module ``ubscope.probe.version``.
"""

from ubscope.probe.version import __version__

__all__ = ["__version__"]
