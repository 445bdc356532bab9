"""Imports every built-in kernel module so that each registers itself."""

from ubscope.kernels import (
    int4_gemm,  # noqa: F401
    layernorm,  # noqa: F401
    paged_attention,  # noqa: F401
    pool_demo,  # noqa: F401
    sparse_attention,  # noqa: F401
    sparse_matmul,  # noqa: F401
)
