"""Imports every built-in kernel module so that each registers itself."""

from ubscope.kernels import pool_demo  # noqa: F401
