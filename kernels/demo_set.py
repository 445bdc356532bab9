"""The representative runs of ``ubscope demo`` and of ``sample_profiles/``:
each kernel healthy and in its planted-problem presets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DemoRun:
    kernel: str
    preset: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kernel}_{self.preset}" if self.preset else f"{self.kernel}_healthy"


DEMO_RUNS: tuple[DemoRun, ...] = (
    DemoRun("int4_gemm"),
    DemoRun("int4_gemm", "ub_overflow"),
    DemoRun("int4_gemm", "nd_tail_truncation"),
    DemoRun("int4_gemm", "gm_misaligned"),
    DemoRun("fp16_gemm"),
    DemoRun("sparse_matmul"),
    DemoRun("sparse_matmul", "fragmentation"),
    DemoRun("sparse_attention"),
    DemoRun("paged_attention"),
    DemoRun("paged_attention", "contiguous"),
    DemoRun("layernorm"),
    DemoRun("layernorm", "out_of_place"),
    DemoRun("pool_demo"),
    DemoRun("pool_demo", "pool_no_reset"),
    DemoRun("pool_demo", "freelist_fragmentation"),
)
