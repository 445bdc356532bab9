"""Which paths are ``msprof op simulator`` output: its folders and core files."""

from __future__ import annotations

from ubscope.analyzers.vendor.simulator.reader import is_simulator_dir, simulator_file
from ubscope.analyzers.vendor.tool import Candidate


def is_simulator_output(candidate: Candidate) -> bool:
    if candidate.is_dir:
        return is_simulator_dir(candidate.path)
    return simulator_file(candidate.path) is not None
