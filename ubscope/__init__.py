"""ubscope: memory profiler and diagnostics for Ascend C-style NPU kernels.

The subpackages follow the data flow: ``ubscope.kernels`` run on the emulated
device and record through ``ubscope.probe`` into traces; ``ubscope.analyzers``
turn traces and vendor tool output into findings and metrics; ``ubscope.tui``
and ``ubscope.reports`` present them. This package itself only holds the
command line, configuration loading and the version.
"""

from ubscope._version import __version__

__all__ = ["__version__"]
