"""Imports every built-in kernel module so that each registers itself."""

import ubscope.kernels.gemm.specs  # noqa: F401
from ubscope.kernels import (
    layernorm,  # noqa: F401
    paged_attention,  # noqa: F401
    pool_demo,  # noqa: F401
    sparse_attention,  # noqa: F401
    sparse_matmul,  # noqa: F401
)
