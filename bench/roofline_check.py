"""Roofline check: bandwidth-bound kernels of ours at large shapes (issue 15, part 1).

Run: python bench/roofline_check.py [--chip NAME]

Each kernel's modelled time (the cost model, run without recording) against
its roofline bound max(bytes / HBM bandwidth, work / peak), where bytes are the
kernel's minimal traffic (``KernelSpec.minimal_traffic``: every input read and
every output written once), a GEMM's work is 2*M*K*N FLOPs at the chip's FP16
peak, and layernorm's is a lower bound of 8 vector operations per element
(residual add, mean, centre, square, variance, scale by the inverse deviation,
gamma, beta) at the vector lanes of every core. The issue's target: within
1.3x. int4_gemm also passes its dequantized fp16 weights through L2 (910B has
no UB -> L1 path): the cube cores read K x N x 2 bytes from the workspace at
their L2 rate, a second bound of that design (``L2 pass``). Takes about a
minute.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.gemm.plan import plan_fp16, plan_int4
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.costmodel import vector_lanes
from ubscope.probe.device import max_blocks

LAYERNORM_OPS_PER_ELEMENT = 8
POOL_DEMO_OPS_PER_ELEMENT = 2
TARGET = 1.3


@dataclass(frozen=True)
class Case:
    kernel: str
    params: dict[str, Any]

    def work_s(self, chip: ChipProfile, resolved: dict[str, Any]) -> float:
        if self.kernel == "layernorm":
            elements = resolved["rows"] * resolved["hidden"]
            per_s = vector_lanes(chip, 2) * chip.vector_cores * chip.clock_hz
            return elements * LAYERNORM_OPS_PER_ELEMENT / per_s
        if self.kernel == "pool_demo":  # a multiply and an add per element
            per_s = vector_lanes(chip, 2) * chip.vector_cores * chip.clock_hz
            return resolved["n"] * POOL_DEMO_OPS_PER_ELEMENT / per_s
        return 2 * resolved["m"] * resolved["k"] * resolved["n"] / chip.peak_fp16_flops

    def l2_pass_s(self, chip: ChipProfile, resolved: dict[str, Any]) -> float | None:
        """int4_gemm: the fp16 weights every cube core of a mix launch reads
        from the L2 workspace at its L2 rate; None for the other kernels."""
        if self.kernel != "int4_gemm":
            return None
        readers = max_blocks(chip, "mix") * chip.l2_rate_per_core * chip.clock_hz
        return resolved["k"] * resolved["n"] * 2 / readers

    def cores(self, chip: ChipProfile, resolved: dict[str, Any]) -> int:
        """The blocks the run takes: the resolved ``cores``, or the GEMM plan's."""
        if self.kernel == "int4_gemm":
            return plan_int4(resolved, chip).blocks
        if self.kernel == "fp16_gemm":
            return plan_fp16(resolved, chip).blocks
        return int(resolved["cores"])


CASES = (
    Case("layernorm", {"rows": 4096, "hidden": 4096}),
    Case("layernorm", {"rows": 16384, "hidden": 4096}),
    Case("layernorm", {"rows": 16384, "hidden": 4096, "cores": 8}),
    Case("pool_demo", {"n": 1 << 24}),
    Case("int4_gemm", {"m": 1, "k": 8192, "n": 8192}),
    Case("int4_gemm", {"m": 1, "k": 4096, "n": 4096}),
    Case("fp16_gemm", {"m": 1, "k": 8192, "n": 8192}),
    Case("fp16_gemm", {"m": 1, "k": 4096, "n": 4096}),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chip", default=None, help="chip profile (default: the default chip)")
    args = parser.parse_args(argv)
    chip = load_chip(args.chip)
    print(f"{chip.name}: {chip.gm_bandwidth / 1e12:.2f} TB/s, target within {TARGET}x")
    print(
        "| kernel | shape | cores | bytes | roofline µs | bound | modelled µs | ratio "
        "| L2 pass µs | ratio to it | run s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        spec = get_kernel(case.kernel)
        params = spec.check(spec.resolve(overrides=case.params), chip)
        if spec.minimal_traffic is None:
            raise SystemExit(f"{case.kernel} declares no minimal traffic")
        traffic = spec.minimal_traffic(params)
        moved = traffic["read"] + traffic["write"]
        memory_s, work_s = moved / chip.gm_bandwidth, case.work_s(chip, params)
        bound = "memory" if memory_s >= work_s else "compute"
        roof_us = max(memory_s, work_s) * 1e6
        start = time.perf_counter()
        modelled_us = run_kernel(spec, params, chip).duration_ps / 1e6
        seconds = time.perf_counter() - start
        shape = ", ".join(f"{key}={value}" for key, value in case.params.items())
        l2_s = case.l2_pass_s(chip, params)
        l2 = f"{l2_s * 1e6:.1f} | {modelled_us / (l2_s * 1e6):.2f}" if l2_s else "- | -"
        print(
            f"| {case.kernel} | {shape} | {case.cores(chip, params)} | {moved / 2**20:.1f} MiB | "
            f"{roof_us:.1f} | {bound} | {modelled_us:.1f} | {modelled_us / roof_us:.2f} | {l2} | "
            f"{seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
