"""Cost model against measured operators (issue 15, part 1: the validation table).

Run: python bench/validate_cost_model.py [--samples DIR] [--markdown] [--top N]

Predicts the duration of real operators measured on Ascend 910B hardware
(torch_npu ``kernel_details.csv`` in ../shared/vendor_samples) from ubscope's
chip profile alone, and compares:

  predicted = max(bytes / GM bandwidth, work / peak) + fixed cost

* bytes: every input and output tensor read or written once (shapes x dtype);
* GM bandwidth: ``CostModel.gm_bytes_per_s`` (the chip bandwidth shared by
  the cores used, each capped by ``gm.bytes_per_cycle_per_core``) times the
  cores used;
* cube work (MatMul, Conv2D and its gradients as implicit GEMMs): 2*M*N*K FLOPs
  at ``compute.fp16_tflops`` (BF16 too), FP32 at a quarter of it (the profile
  has no FP32 figure; CostModel.cube charges every dtype the FP16 rate);
* vector work (element-wise, casts, copies, layout changes, reductions): one
  operation per element of the largest tensor, at ``CostModel.vector``'s lanes;
* cores used: Block Dim, in waves of the chip's cube or vector core count;
* fixed cost: the profile has no launch figure; the model's only fixed cost
  is ``cost_model.gm_copy_latency_ns`` per GM copy, paid by the first load and
  the last store of any kernel (2 x 600 ns).

The bytes and FLOPs per operator type are ``ubscope.analyzers.vendor.torch_npu.
operator_work``'s; operators whose work does not follow from their shapes are
listed as skipped, with the reason. Then the same summary with each figure
scaled alone (sensitivity), and the per-pipe times of the one ``msprof op``
kernel against what the cost model charges for its copies. Repeats of one operator (same type, shapes, dtypes, Block
Dim) are one row with the median measured time. No timing: deterministic.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ubscope.analyzers.vendor.msprof_op.reader import read_msprof_op
from ubscope.analyzers.vendor.torch_npu.operator_work import Work, work_of
from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.costmodel import PS_PER_NS, PS_PER_S, CostModel

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "shared" / "vendor_samples"


@dataclass(frozen=True)
class Sample:
    file: str  # under the samples folder
    chip: str
    why: str


# Both samples run at 1800 MHz (cycles / (core time x Block Dim) in each file):
# 910B1 runs at 1850 and 910B4 at 1500, so the core counts decide.
SAMPLES = (
    Sample(
        "torch_npu_level1_rank0/kernel_details.csv",
        "Ascend910B2",
        "AI_CORE ops up to Block Dim 24, vector ops at 48: 24 AIC / 48 AIV at 1800 MHz",
    ),
    Sample(
        "mstt_advisor_fixtures/kernel_details.csv",
        "Ascend910B3",
        "MatMul at Block Dim 20, Add at 40, FlashAttention 20+40: 20 AIC / 40 AIV at 1800 MHz",
    ),
)

# FP32 on the cube runs at a quarter of the FP16 rate
# (../shared/reference/ascend_hardware.md 1.2, ASC-GUIDE 硬件约束 2201).
FP32_CUBE_SHARE = 0.25


@dataclass(frozen=True)
class Measured:
    source: str
    type: str
    shapes: str
    dtypes: str
    blocks: int
    micros: list[float]


@dataclass(frozen=True)
class Row:
    op: Measured
    work: Work
    chip: str
    bound: str
    predicted_us: float
    measured_us: float

    @property
    def ratio(self) -> float:
        return self.predicted_us / self.measured_us


@dataclass(frozen=True)
class Knobs:
    """Scales applied to the profile's figures (sensitivity runs)."""

    bandwidth: float = 1.0
    per_core_cap: bool = True
    peak: float = 1.0
    fixed: float = 1.0
    fp32_cube_share: float = FP32_CUBE_SHARE

    def chip(self, chip: ChipProfile) -> ChipProfile:
        # Without the cap: 64 KiB per cycle, far above any core's share of the chip's bandwidth.
        rate = chip.gm_rate_per_core if self.per_core_cap else 1 << 16
        return replace(
            chip,
            gm_bandwidth=chip.gm_bandwidth * self.bandwidth,
            gm_rate_per_core=rate,
            peak_fp16_flops=chip.peak_fp16_flops * self.peak,
            peak_int8_ops=chip.peak_int8_ops * self.peak,
            vector_fp16_ops_per_cycle=max(1, round(chip.vector_fp16_ops_per_cycle * self.peak)),
            gm_latency_ns=chip.gm_latency_ns * self.fixed,
        )


def predict(work: Work, blocks: int, chip: ChipProfile, knobs: Knobs) -> tuple[float, str]:
    """Predicted µs and the bound (memory or compute) on ``blocks`` blocks."""
    chip = knobs.chip(chip)
    cores = chip.cube_cores if work.engine == "cube" else chip.vector_cores
    blocks = max(1, blocks)
    active = min(blocks, cores)
    # Blocks beyond the core count run in waves: each core does ceil(B/C) of B equal shares.
    share = math.ceil(blocks / cores) / blocks
    model = CostModel(chip, active_cores=active)
    memory_s = work.bytes * share / model.gm_bytes_per_s
    if work.engine == "cube":
        rate = model.cube_flops_per_s
        if work.dtype in ("INT8", "UINT8"):
            rate *= chip.peak_int8_ops / chip.peak_fp16_flops
        elif work.dtype in ("FLOAT", "FLOAT32"):
            rate *= knobs.fp32_cube_share
        compute_s = work.flops * share / rate
    else:
        elements = math.ceil(work.flops * share)
        compute_s = model.vector(elements, work.element_bytes) / PS_PER_S
    fixed_s = 2 * chip.gm_latency_ns * PS_PER_NS / PS_PER_S
    bound = "memory" if memory_s >= compute_s else "compute"
    return (max(memory_s, compute_s) + fixed_s) * 1e6, bound


def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value).strip()


def read_operators(path: Path, source: str) -> list[Measured]:
    """Measured operators of one kernel_details.csv, repeats merged."""
    table = read_torch_npu(path).tables["kernel_details"]
    merged: dict[tuple[str, ...], list[float]] = {}
    for row in table.to_dict("records"):
        key = (
            _text(row["Type"]),
            f"{_text(row['Input Shapes'])} -> {_text(row['Output Shapes'])}",
            f"{_text(row['Input Data Types'])} -> {_text(row['Output Data Types'])}",
            str(int(row["Block Dim"])),
        )
        merged.setdefault(key, []).append(float(row["Duration(us)"]))
    return [
        Measured(source, op_type, shapes, dtypes, int(blocks), micros)
        for (op_type, shapes, dtypes, blocks), micros in merged.items()
    ]


def measured_clock_mhz(path: Path) -> float:
    """Median clock over the rows: total cycles / (core time x Block Dim)."""
    table = read_torch_npu(path).tables["kernel_details"]
    clocks = []
    for cycles_column, time_column in (
        ("aic_total_cycles", "aicore_time(us)"),
        ("aiv_total_cycles", "aiv_time(us)"),
    ):
        cycles, micros = table[cycles_column], table[time_column]
        used = (cycles > 0) & (micros > 0)
        clocks += list(cycles[used] / micros[used] / table["Block Dim"][used])
    return statistics.median(clocks)


def evaluate(
    operators: Iterable[tuple[Measured, str]], knobs: Knobs
) -> tuple[list[Row], list[tuple[Measured, str]]]:
    rows, skipped = [], []
    chips: dict[str, ChipProfile] = {}
    for op, chip_name in operators:
        ins, outs = op.shapes.split(" -> ")
        in_types, out_types = op.dtypes.split(" -> ")
        work = work_of(op.type, ins, in_types, outs, out_types)
        if isinstance(work, str):
            skipped.append((op, work))
            continue
        chip = chips.setdefault(chip_name, load_chip(chip_name))
        micros, bound = predict(work, op.blocks, chip, knobs)
        rows.append(Row(op, work, chip_name, bound, micros, statistics.median(op.micros)))
    return rows, skipped


def spread(rows: Sequence[Row]) -> tuple[float, float, float]:
    """Median ratio, median and worst of max(r, 1/r)."""
    ratios = [row.ratio for row in rows]
    off = [max(r, 1 / r) for r in ratios]
    return statistics.median(ratios), statistics.median(off), max(off)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _number(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.0f}"


HEADER = (
    "operator",
    "shapes (in -> out)",
    "dtype",
    "blocks",
    "bytes",
    "FLOPs",
    "bound",
    "pred µs",
    "meas µs",
    "ratio",
)


def _cells(row: Row, shape_width: int) -> list[str]:
    op = row.op
    repeats = f" x{len(op.micros)}" if len(op.micros) > 1 else ""
    return [
        f"{op.type}{repeats}",
        _short(op.shapes, shape_width),
        row.work.dtype,
        str(op.blocks),
        _number(row.work.bytes),
        _number(row.work.flops),
        row.bound,
        f"{row.predicted_us:.1f}",
        f"{row.measured_us:.1f}",
        f"{row.ratio:.2f}",
    ]


def print_table(rows: Sequence[Row], markdown: bool, top: int | None) -> None:
    """By ratio; ``top``: only the operators with the longest measured time."""
    longest = sorted(rows, key=lambda row: -row.measured_us)[:top]
    ordered = sorted(longest, key=lambda row: row.ratio)
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for row in ordered:
            cells = [cell.replace("|", "/") for cell in _cells(row, 48)]
            print("| " + " | ".join(cells) + " |")
        return
    lines = [list(HEADER)] + [_cells(row, 34) for row in ordered]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def print_summary(rows: Sequence[Row], label: str = "all") -> None:
    median, median_off, worst = spread(rows)
    within = sum(max(row.ratio, 1 / row.ratio) <= 2 for row in rows)
    print(
        f"{label}: {len(rows)} operators, median ratio {median:.2f}, median off "
        f"{median_off:.2f}x, worst {worst:.2f}x, {within} within 2x"
    )


SENSITIVITY: tuple[tuple[str, Knobs], ...] = (
    ("as profiled", Knobs()),
    ("GM bandwidth x0.5", Knobs(bandwidth=0.5)),
    ("GM bandwidth x2", Knobs(bandwidth=2.0)),
    ("no per-core GM cap (32 B/cycle)", Knobs(per_core_cap=False)),
    ("peak compute x0.5", Knobs(peak=0.5)),
    ("peak compute x2", Knobs(peak=2.0)),
    ("fixed cost x0 (no launch cost)", Knobs(fixed=0.0)),
    ("fixed cost x2 (2.4 µs)", Knobs(fixed=2.0)),
    ("FP32 cube at the FP16 rate", Knobs(fp32_cube_share=1.0)),
)


def print_sensitivity(
    operators: list[tuple[Measured, str]], markdown: bool, classes: dict[str, Callable[[Row], bool]]
) -> None:
    header = ["figures", "median ratio", "median off", "worst"] + [
        f"{name} median" for name in classes
    ]
    print("| " + " | ".join(header) + " |" if markdown else "  ".join(header))
    if markdown:
        print("|" + "---|" * len(header))
    for label, knobs in SENSITIVITY:
        rows, _ = evaluate(operators, knobs)
        median, median_off, worst = spread(rows)
        cells = [label, f"{median:.2f}", f"{median_off:.2f}x", f"{worst:.2f}x"]
        for keep in classes.values():
            picked = [row.ratio for row in rows if keep(row)]
            cells.append(f"{statistics.median(picked):.2f}" if picked else "-")
        print("| " + " | ".join(cells) + " |" if markdown else "  ".join(cells))


CLASSES: dict[str, Callable[[Row], bool]] = {
    "cube": lambda row: row.work.engine == "cube",
    "TransData/Transpose": lambda row: row.op.type in ("TransData", "Transpose"),
    "other vector": lambda row: (
        row.work.engine == "vector" and row.op.type not in ("TransData", "Transpose")
    ),
    "under 5 µs": lambda row: row.measured_us < 5,
}


MIX_KERNEL = "msprof_op_mix_kernel"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == value


def print_pipes(folder: Path, chip: ChipProfile, markdown: bool) -> None:
    """The one ``msprof op`` kernel (Block Dim 1): each AIV pipe's measured time
    against what the cost model charges for the same instructions and bytes."""
    report = read_msprof_op(folder)

    def vector_row(table: str) -> dict[str, float]:
        frame = report.tables[table]
        row = frame[frame["sub_block_id"] == "vector0"].iloc[0]
        return {str(key): float(value) for key, value in row.items() if _is_number(value)}

    memory, pipes = vector_row("Memory"), vector_row("PipeUtilization")
    fops = int(vector_row("ArithmeticUtilization")["aiv_vec_fops"])
    task_us = float(report.tables["OpBasicInfo"]["Task Duration(us)"].iloc[0])
    model = CostModel(chip, active_cores=1)
    header = ["AIV pipe", "instructions", "bytes", "model µs", "measured µs", "ratio"]
    lines = []
    for pipe, copies, kib in (
        ("MTE2 (GM->UB)", "aiv_mte2_instructions", "GM_to_UB_datas(KB)"),
        ("MTE3 (UB->GM)", "aiv_mte3_instructions", "UB_to_GM_datas(KB)"),
    ):
        count, nbytes = int(memory[copies]), round(float(memory[kib]) * 1024)
        modelled = count * model.gm_copy(nbytes // count, 1, 0) / 1e6
        measured = float(pipes[f"aiv_{pipe[:4].lower()}_time(us)"])
        lines.append([pipe, str(count), str(nbytes), f"{modelled:.3f}", f"{measured:.3f}"])
    modelled = model.vector(fops, 4) / 1e6  # the element type is not reported: fp32 lanes
    lines.append(
        ["V", f"{fops} ops", "-", f"{modelled:.3f}", f"{float(pipes['aiv_vec_time(us)']):.3f}"]
    )
    moved = sum(
        float(memory[c]) for c in ("read_main_memory_datas(KB)", "write_main_memory_datas(KB)")
    )
    whole = (moved * 1024 / model.gm_bytes_per_s + 2 * chip.gm_latency_ns / 1e9) * 1e6
    lines.append(
        ["whole task (roofline)", "-", f"{round(moved * 1024)}", f"{whole:.3f}", f"{task_us:.3f}"]
    )
    for line in lines:
        line.append(f"{float(line[3]) / float(line[4]):.2f}")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    for line in [header, *lines] if not markdown else lines:
        print("| " + " | ".join(line) + " |" if markdown else "  ".join(c.ljust(14) for c in line))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Predict measured 910B operator durations with ubscope's chip "
        "profiles (roofline + fixed cost) and print prediction vs measurement.",
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=SAMPLES_DIR,
        help="the vendor_samples folder (default: ../shared/vendor_samples)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print markdown tables for BENCHMARKS.md"
    )
    parser.add_argument(
        "--top",
        type=int,
        metavar="N",
        help="list only the N operators with the longest measured time (the summary "
        "still covers all)",
    )
    args = parser.parse_args(argv)
    operators: list[tuple[Measured, str]] = []
    for sample in SAMPLES:
        path = args.samples / sample.file
        clock = measured_clock_mhz(path)
        print(f"{sample.file}: {sample.chip} ({sample.why}; measured clock {clock:.0f} MHz)")
        operators += [(op, sample.chip) for op in read_operators(path, sample.file)]
    rows, skipped = evaluate(operators, Knobs())
    print()
    print_table(rows, args.markdown, args.top)
    print()
    print_summary(rows)
    for name, keep in CLASSES.items():
        print_summary([row for row in rows if keep(row)], name)
    print()
    print_sensitivity(operators, args.markdown, CLASSES)
    print()
    print(f"{MIX_KERNEL} (msprof op, mix kernel, Block Dim 1) on {SAMPLES[0].chip}:")
    print_pipes(args.samples / MIX_KERNEL, load_chip(SAMPLES[0].chip), args.markdown)
    print()
    reasons: dict[str, list[str]] = {}
    for op, why in skipped:
        reasons.setdefault(why, []).append(op.type)
    print(f"skipped {sum(len(op.micros) for op, _ in skipped)} measured rows:")
    for why, types in sorted(reasons.items()):
        print(f"  {', '.join(sorted(set(types)))}: {why}")


if __name__ == "__main__":
    main()
