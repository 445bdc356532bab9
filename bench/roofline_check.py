"""Roofline check: bandwidth-bound kernels of ours at large shapes (issue 15, part 1).

Run: python bench/roofline_check.py [--chip NAME]

Each kernel's modelled time (the cost model, run without recording) against
its roofline bound max(bytes / HBM bandwidth, work / peak), where bytes are the
kernel's minimal traffic (``KernelSpec.minimal_traffic``: every input read and
every output written once), a GEMM's work is 2*M*K*N FLOPs at the chip's FP16
peak, and layernorm's is a lower bound of 8 vector operations per element
(residual add, mean, centre, square, variance, scale by the inverse deviation,
gamma, beta) at the vector lanes of every core. The issue's target: within
1.3x. Takes about a minute.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.costmodel import vector_lanes

LAYERNORM_OPS_PER_ELEMENT = 8
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
        return 2 * resolved["m"] * resolved["k"] * resolved["n"] / chip.peak_fp16_flops


CASES = (
    Case("layernorm", {"rows": 4096, "hidden": 4096, "cores": 48}),
    Case("layernorm", {"rows": 16384, "hidden": 4096, "cores": 48}),
    Case("int4_gemm", {"m": 1, "k": 8192, "n": 8192}),
    Case("fp16_gemm", {"m": 1, "k": 8192, "n": 8192}),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chip", default=None, help="chip profile (default: the default chip)")
    args = parser.parse_args(argv)
    chip = load_chip(args.chip)
    print(f"{chip.name}: {chip.gm_bandwidth / 1e12:.2f} TB/s, target within {TARGET}x")
    print("| kernel | shape | bytes | roofline µs | bound | modelled µs | ratio | run s |")
    print("|---|---|---|---|---|---|---|---|")
    for case in CASES:
        spec = get_kernel(case.kernel)
        params = spec.resolve(overrides=case.params)
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
        print(
            f"| {case.kernel} | {shape} | {moved / 2**20:.1f} MiB | {roof_us:.1f} | {bound} | "
            f"{modelled_us:.1f} | {modelled_us / roof_us:.2f} | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
