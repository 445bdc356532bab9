"""Parameter limits several built-in kernels share, for their ``validate``:
a value refused there is one line and exit 2 from ``ubscope run`` and an
``invalid`` configuration in a sweep, where the same value reaching the kernel
body would fail midway with a traceback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import max_blocks
from ubscope.probe.errors import ParameterError


def check_range(
    kernel: str, name: str, value: int, least: int, most: int | None = None, why: str = ""
) -> None:
    """Refuse ``name`` below ``least`` or above ``most`` (None: no upper
    limit); ``why`` (with its leading space) says where the limit comes from."""
    if value < least or (most is not None and value > most):
        expected = f"at least {least}" if most is None else f"{least}..{most}"
        raise ParameterError(f"{kernel}: {name}={value}, expected {expected}{why}")


def check_cores(cores: int, chip: ChipProfile) -> None:
    """Refuse a block count a vector launch on ``chip`` cannot have."""
    total = max_blocks(chip, "vector")
    if not 1 <= cores <= total:
        raise ParameterError(
            f"cores={cores}: {chip.name} has {total} cores for a vector launch (1..{total})"
        )


def check_seed(kernel: str, params: Mapping[str, Any]) -> None:
    """numpy's random generators take no negative seed."""
    check_range(kernel, "seed", int(params["seed"]), 0)
