"""Cost model against measured operators (issue 15, part 1: the validation table).

Run: python bench/validate_cost_model.py [--samples DIR] [--markdown] [--top N]

Predicts the duration of real operators measured on Ascend 910B hardware
(torch_npu ``kernel_details.csv`` in ../shared/vendor_samples) with ubscope's
cost model and chip profile alone, and compares:

  predicted = launch overhead + max(memory time, compute time)

* launch overhead: ``launch_overhead_ps(chip, mode, Block Dim)``, the mode
  from the Accelerator Core column (AI_VECTOR_CORE vector, AI_CORE cube,
  MIX_* mix);
* memory time, per core (Block Dim above the core count runs in waves):
  ``gm_copy_ps`` of its share, bytes from HBM at ``CostModel.gm_bytes_per_s``
  (the chip bandwidth shared by the cores used) and bytes still in L2 at the
  L2 rate, one ``cost_model.gm_copy_issue_ns`` per copy (a streamed tensor:
  one copy; a layout change: one per contiguous run, each rounded up to the
  32 B DataCopy unit by ``charged_bytes``), never below the HBM
  roof ``hbm_roof_ps``, plus ``2 x cost_model.gm_copy_latency_ns`` (the first
  load's and the last store's data on the critical path);
* L2 rule: an input is read from L2 when an earlier operator of the same file
  wrote a tensor of the same dtype and element count (a reshape is the same
  tensor), no other input took that output, and the output plus every byte
  the operators in between moved fit in ``gm.l2_bytes``; an all-reduce in
  between (its bytes are not recorded) evicts everything;
* cube work (MatMul, Conv2D and its gradients as implicit GEMMs):
  ``CostModel.mmad`` on whole fractals at the input width's rate;
* vector work: one operation per element of the largest tensor at
  ``CostModel.vector``'s lanes.

The bytes, GEMM shapes and runs per operator type are ``ubscope.analyzers.
vendor.torch_npu.operator_work``'s; operators whose work does not follow from
their shapes, and operators during which an all-reduce started on another
stream (the HBM was shared with the collective), are listed as skipped, with
the reason.

The launch figures are fitted here (the run prints the fit next to the
profile's figures, which were copied from it), on rows the summary keeps
apart: the vector overhead and the per-block cost on the torch_npu file's
AI_VECTOR_CORE operators whose median is under 5 µs, the mix overhead on the
one ``msprof op`` mix kernel (Block Dim 1). The cube overhead has no operator
small enough to isolate it: it is the vector one (an assumption). Then the
same summary with each figure scaled alone (sensitivity), and the per-pipe
times of the ``msprof op`` kernel against what the model charges for its
copies. Repeats of one operator (same type, shapes, dtypes, Block Dim, L2
bytes) are one row with the median measured time. No timing: deterministic.
"""

from __future__ import annotations

import argparse
import math
import statistics
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ubscope.analyzers.vendor.msprof_op.reader import read_msprof_op
from ubscope.analyzers.vendor.torch_npu.operator_work import (
    Work,
    dtype_bytes,
    parse_shapes,
    work_of,
)
from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.costmodel import (
    PS_PER_NS,
    PS_PER_S,
    CostModel,
    charged_bytes,
    gm_copy_ps,
    hbm_roof_ps,
    launch_overhead_ps,
)

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
FIT_FILE = SAMPLES[0].file
FIT_BELOW_US = 5.0
MIX_KERNEL = "msprof_op_mix_kernel"
# kernel_details' Accelerator Core -> ubscope's launch mode
MODES = {"AI_VECTOR_CORE": "vector", "AI_CORE": "cube", "MIX_AIV": "mix", "MIX_AIC": "mix"}
COLLECTIVE = "hcom_"


@dataclass(frozen=True)
class Measured:
    source: str
    type: str
    shapes: str
    dtypes: str
    formats: tuple[str, str]
    mode: str
    blocks: int
    l2_bytes: int  # input bytes still in L2 (the rule above)
    micros: list[float]

    @property
    def fitting(self) -> bool:
        """Whether the launch figures were fitted on this operator (its repeats'
        median, the time the table compares, is under FIT_BELOW_US)."""
        return self.source == FIT_FILE and self.mode == "vector" and self.measured_us < FIT_BELOW_US

    @property
    def measured_us(self) -> float:
        return statistics.median(self.micros)


@dataclass(frozen=True)
class Row:
    op: Measured
    work: Work
    chip: str
    bound: str
    predicted_us: float

    @property
    def ratio(self) -> float:
        return self.predicted_us / self.op.measured_us


@dataclass(frozen=True)
class Knobs:
    """Scales applied to the profile's figures (sensitivity runs)."""

    bandwidth: float = 1.0
    l2_rate: float = 1.0
    l2: bool = True
    peak: float = 1.0
    launch: float = 1.0
    per_block: float = 1.0
    issue: float = 1.0

    def chip(self, chip: ChipProfile) -> ChipProfile:
        return replace(
            chip,
            gm_bandwidth=chip.gm_bandwidth * self.bandwidth,
            l2_rate_per_core=max(1, round(chip.l2_rate_per_core * self.l2_rate)),
            peak_fp16_flops=chip.peak_fp16_flops * self.peak,
            peak_int8_ops=chip.peak_int8_ops * self.peak,
            vector_fp16_ops_per_cycle=max(1, round(chip.vector_fp16_ops_per_cycle * self.peak)),
            launch_overhead_ns={
                mode: ns * self.launch for mode, ns in chip.launch_overhead_ns.items()
            },
            launch_per_block_ns=chip.launch_per_block_ns * self.per_block,
            gm_issue_ns=chip.gm_issue_ns * self.issue,
        )


@dataclass(frozen=True)
class Times:
    """Seconds of one operator's parts on its busiest core."""

    launch: float
    memory: float
    compute: float

    @property
    def work(self) -> float:
        return max(self.memory, self.compute)


def times(op: Measured, work: Work, chip: ChipProfile, knobs: Knobs) -> Times:
    chip = knobs.chip(chip)
    cores = chip.cube_cores if work.engine == "cube" else chip.vector_cores
    blocks = max(1, op.blocks)
    # Blocks beyond the core count run in waves: each core does ceil(B/C) of B equal shares.
    share = math.ceil(blocks / cores) / blocks
    model = CostModel(chip, min(blocks, cores))
    l2_bytes = op.l2_bytes if knobs.l2 else 0
    # A layout change's runs are bursts rounded up to the DataCopy unit.
    rounding = sum(charged_bytes(chip, count, size) - count * size for count, size in work.runs)
    hbm_bytes = work.bytes - l2_bytes + rounding
    # One copy per contiguous run (a streamed tensor: one copy), and the first
    # load's and the last store's latency on the critical path.
    copy = gm_copy_ps(chip, hbm_bytes * share, l2_bytes * share, model.gm_bytes_per_s, True)
    extra_copies = max(0, math.ceil(work.run_count * share) - 1)
    latency = 2 * chip.gm_latency_ns * PS_PER_NS
    memory_ps = max(
        copy + extra_copies * chip.gm_issue_ns * PS_PER_NS, hbm_roof_ps(chip, hbm_bytes)
    )
    memory = (memory_ps + latency) / PS_PER_S
    if work.gemm is not None:
        compute = share * model.mmad(*work.gemm, work.element_bytes) / PS_PER_S
    else:
        elements = math.ceil(work.flops * share)
        compute = model.vector(elements, work.element_bytes) / PS_PER_S
    launch = launch_overhead_ps(chip, op.mode, blocks) / PS_PER_S
    return Times(launch, memory, compute)


def predict(op: Measured, work: Work, chip: ChipProfile, knobs: Knobs) -> tuple[float, str]:
    """Predicted µs and the bound (memory or compute)."""
    parts = times(op, work, chip, knobs)
    bound = "memory" if parts.memory >= parts.compute else "compute"
    return (parts.launch + parts.work) * 1e6, bound


def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value).strip()


@dataclass
class _Residency:
    """Outputs that may still be in L2, by (dtype, element count), newest last."""

    capacity: int
    moved: int = 0  # bytes every operator so far moved
    # (dtype, elements) -> (bytes moved when written, size) of each output
    outputs: dict[tuple[str, int], list[tuple[int, int]]] = field(default_factory=dict)

    def take(self, key: tuple[str, int], taken: int) -> bool:
        """Whether an input reads an output still in L2 (and claim it), when
        the operator's inputs before it already took ``taken`` bytes of L2."""
        written = self.outputs.get(key, [])
        while written:
            at, size = written.pop()
            if self.moved - at + size + taken <= self.capacity:
                return True
        return False

    def evict(self) -> None:
        self.outputs = {}

    def wrote(self, key: tuple[str, int], nbytes: int) -> None:
        self.outputs.setdefault(key, []).append((self.moved, nbytes))


def _tensors(shapes: str, dtypes: str) -> list[tuple[tuple[str, int], int]]:
    """((dtype, elements), bytes) of each tensor of a shape cell; unknown dtypes skipped."""
    tensors = []
    for shape, dtype in zip(parse_shapes(shapes), dtypes.split(";"), strict=False):
        size = dtype_bytes(dtype)
        if size is not None:
            elements = math.prod(shape)
            tensors.append(((dtype.strip(), elements), elements * size))
    return tensors


CONCURRENT = "an all-reduce started while it ran: the HBM was shared with the collective"


def read_operators(
    path: Path, source: str, l2_bytes: int
) -> tuple[list[Measured], list[tuple[str, str]]]:
    """Measured operators of one kernel_details.csv in file order, repeats
    merged, and the (type, reason) of each row left out."""
    table = read_torch_npu(path).tables["kernel_details"]
    records = table.to_dict("records")
    collective_starts = [
        int(row["Start Time(ns)"]) for row in records if _text(row["Type"]).startswith(COLLECTIVE)
    ]
    residency = _Residency(l2_bytes)
    # type, shapes, dtypes, formats, mode, Block Dim, bytes still in L2
    merged: dict[tuple[str, str, str, tuple[str, str], str, int, int], list[float]] = {}
    left_out = []
    for row in records:
        op_type = _text(row["Type"])
        ins, outs = _text(row["Input Shapes"]), _text(row["Output Shapes"])
        in_types, out_types = _text(row["Input Data Types"]), _text(row["Output Data Types"])
        if op_type.startswith(COLLECTIVE):
            residency.evict()
            left_out.append((op_type, "collective communication, not a kernel on one chip"))
            continue
        cached = 0
        if "N/A" not in (ins, outs):
            for key, nbytes in _tensors(ins, in_types):
                cached += nbytes if residency.take(key, cached) else 0
            inputs, outputs = _tensors(ins, in_types), _tensors(outs, out_types)
            residency.moved += sum(nbytes for _, nbytes in inputs + outputs)
            for key, nbytes in outputs:
                residency.wrote(key, nbytes)
        start = int(row["Start Time(ns)"])
        end = start + row["Duration(us)"] * 1e3
        if any(start <= began <= end for began in collective_starts):
            left_out.append((op_type, CONCURRENT))
            continue
        op_key = (
            op_type,
            f"{ins} -> {outs}",
            f"{in_types} -> {out_types}",
            (_text(row["Input Formats"]), _text(row["Output Formats"])),
            MODES.get(_text(row["Accelerator Core"]), ""),
            int(row["Block Dim"]),
            cached,
        )
        merged.setdefault(op_key, []).append(float(row["Duration(us)"]))
    return [Measured(source, *op_key, micros) for op_key, micros in merged.items()], left_out


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


def work_of_operator(op: Measured) -> Work | str:
    ins, outs = op.shapes.split(" -> ")
    in_types, out_types = op.dtypes.split(" -> ")
    work = work_of(op.type, ins, in_types, outs, out_types, op.formats)
    return "not an AI-core kernel" if not op.mode and isinstance(work, Work) else work


def evaluate(
    operators: Iterable[tuple[Measured, str]], knobs: Knobs, chips: dict[str, ChipProfile]
) -> tuple[list[Row], list[tuple[Measured, str]]]:
    rows, skipped = [], []
    for op, chip_name in operators:
        work = work_of_operator(op)
        if isinstance(work, str):
            skipped.append((op, work))
            continue
        micros, bound = predict(op, work, chips[chip_name], knobs)
        rows.append(Row(op, work, chip_name, bound, micros))
    return rows, skipped


@dataclass(frozen=True)
class LaunchFit:
    vector_ns: float
    per_block_ns: float
    mix_ns: float
    operators: int
    rows: int


def fit_launch(
    operators: Iterable[tuple[Measured, str]], chips: dict[str, ChipProfile], mix: float
) -> LaunchFit:
    """Least squares of measured - modelled work = overhead + per_block x Block Dim
    over the fitting rows; the mix overhead is the mix kernel's measured task
    time (``mix``: seconds beyond its work) less one block."""
    points, fitted = [], 0
    for op, chip_name in operators:
        work = work_of_operator(op)
        if op.fitting and not isinstance(work, str):
            parts = times(op, work, chips[chip_name], Knobs(launch=0, per_block=0))
            points += [(op.blocks, micros * 1e-6 - parts.work) for micros in op.micros]
            fitted += 1
    n = len(points)
    mean_b = sum(b for b, _ in points) / n
    mean_t = sum(t for _, t in points) / n
    spread_b = sum((b - mean_b) ** 2 for b, _ in points)
    per_block = sum((b - mean_b) * (t - mean_t) for b, t in points) / spread_b
    vector = mean_t - per_block * mean_b
    return LaunchFit(vector * 1e9, per_block * 1e9, (mix - per_block) * 1e9, fitted, n)


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
    "blk",
    "bytes",
    "L2",
    "bound",
    "pred µs",
    "meas µs",
    "ratio",
)


def _cells(row: Row, text_width: int | None) -> list[str]:
    """One table row; ``text_width``: cut the operator and shapes to fit 80 columns."""
    op = row.op
    repeats = f" x{len(op.micros)}" if len(op.micros) > 1 else ""
    fitted = " (fit)" if op.fitting else ""
    name = f"{op.type}{repeats}{fitted}"
    if text_width is None:
        return [
            name,
            _short(op.shapes, 48),
            row.work.dtype,
            str(op.blocks),
            _number(row.work.bytes),
            _number(op.l2_bytes) if op.l2_bytes else "-",
            row.bound,
            f"{row.predicted_us:.1f}",
            f"{op.measured_us:.1f}",
            f"{row.ratio:.2f}",
        ]
    return [
        _short(name, text_width),
        _short(op.shapes, text_width - 5),
        row.work.dtype[:5],
        str(op.blocks),
        _number(row.work.bytes),
        _number(op.l2_bytes) if op.l2_bytes else "-",
        row.bound[:3],
        f"{row.predicted_us:.1f}",
        f"{op.measured_us:.1f}",
        f"{row.ratio:.2f}",
    ]


def print_table(rows: Sequence[Row], markdown: bool, top: int | None) -> None:
    """By ratio; ``top``: only the operators with the longest measured time."""
    longest = sorted(rows, key=lambda row: -row.op.measured_us)[:top]
    ordered = sorted(longest, key=lambda row: row.ratio)
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for row in ordered:
            cells = [cell.replace("|", "/") for cell in _cells(row, None)]
            print("| " + " | ".join(cells) + " |")
        return
    header = ["op", "shapes", "dtype", "blk", "bytes", "L2", "is", "pred", "meas", "ratio"]
    lines = [header] + [_cells(row, 18) for row in ordered]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    for line in lines:
        print(" ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def summary_cells(rows: Sequence[Row]) -> list[str]:
    if not rows:
        return ["0", "-", "-", "-", "0"]
    median, median_off, worst = spread(rows)
    within = sum(max(row.ratio, 1 / row.ratio) <= 2 for row in rows)
    return [str(len(rows)), f"{median:.2f}", f"{median_off:.2f}x", f"{worst:.2f}x", str(within)]


def print_rows(header: Sequence[str], lines: Sequence[Sequence[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    for line in [header, *lines]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


CLASSES: dict[str, Callable[[Row], bool]] = {
    "all": lambda row: True,
    "validation (not fitted)": lambda row: not row.op.fitting,
    "fitting rows": lambda row: row.op.fitting,
    "cube": lambda row: row.work.engine == "cube",
    "TransData/Transpose": lambda row: row.op.type in ("TransData", "Transpose"),
    "other vector": lambda row: (
        row.work.engine == "vector" and row.op.type not in ("TransData", "Transpose")
    ),
    "under 5 µs": lambda row: row.op.measured_us < 5,
}
SUMMARY_HEADER = ("class", "ops", "median ratio", "median off", "worst off", "within 2x")


def print_summary(rows: Sequence[Row], markdown: bool) -> None:
    lines = [
        [name, *summary_cells([row for row in rows if keep(row)])] for name, keep in CLASSES.items()
    ]
    print_rows(SUMMARY_HEADER, lines, markdown)


SENSITIVITY: tuple[tuple[str, Knobs], ...] = (
    ("as profiled", Knobs()),
    ("HBM bandwidth x0.5", Knobs(bandwidth=0.5)),
    ("HBM bandwidth x2", Knobs(bandwidth=2.0)),
    ("L2 rate x0.5", Knobs(l2_rate=0.5)),
    ("L2 rate x2", Knobs(l2_rate=2.0)),
    ("no L2 hits", Knobs(l2=False)),
    ("peak compute x0.5", Knobs(peak=0.5)),
    ("peak compute x2", Knobs(peak=2.0)),
    ("launch overhead x0", Knobs(launch=0.0)),
    ("launch overhead x2", Knobs(launch=2.0)),
    ("per-block launch x0", Knobs(per_block=0.0)),
    ("per-block launch x2", Knobs(per_block=2.0)),
    ("copy issue x0", Knobs(issue=0.0)),
    ("copy issue x2", Knobs(issue=2.0)),
)
SENSITIVITY_CLASSES = ("validation (not fitted)", "cube", "TransData/Transpose", "other vector")


def print_sensitivity(
    operators: list[tuple[Measured, str]], chips: dict[str, ChipProfile], markdown: bool
) -> None:
    header = ["figures", "off", "worst", "<=2x"] + [
        f"{name} median" if markdown else name.split("/")[0][:9] for name in SENSITIVITY_CLASSES[1:]
    ]
    lines = []
    for label, knobs in SENSITIVITY:
        rows, _ = evaluate(operators, knobs, chips)
        kept = [row for row in rows if CLASSES[SENSITIVITY_CLASSES[0]](row)]
        _, median_off, worst, within = summary_cells(kept)[1:]
        cells = [label, median_off, worst, within]
        for name in SENSITIVITY_CLASSES[1:]:
            picked = [row.ratio for row in kept if CLASSES[name](row)]
            cells.append(f"{statistics.median(picked):.2f}" if picked else "-")
        lines.append(cells)
    print_rows(header, lines, markdown)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == value


@dataclass(frozen=True)
class MixKernel:
    """The one ``msprof op`` kernel (mix, Block Dim 1): its AIV row."""

    memory: dict[str, float]
    pipes: dict[str, float]
    vector_ops: int
    task_us: float

    @classmethod
    def read(cls, folder: Path) -> MixKernel:
        report = read_msprof_op(folder)

        def vector_row(table: str) -> dict[str, float]:
            frame = report.tables[table]
            row = frame[frame["sub_block_id"] == "vector0"].iloc[0]
            return {str(key): float(value) for key, value in row.items() if _is_number(value)}

        fops = int(vector_row("ArithmeticUtilization")["aiv_vec_fops"])
        task_us = float(report.tables["OpBasicInfo"]["Task Duration(us)"].iloc[0])
        return cls(vector_row("Memory"), vector_row("PipeUtilization"), fops, task_us)

    def moved(self) -> int:
        kib = ("read_main_memory_datas(KB)", "write_main_memory_datas(KB)")
        return round(sum(self.memory[column] for column in kib) * 1024)

    def work_s(self, chip: ChipProfile) -> float:
        """Its roofline work on one core: bytes over the core's GM rate, or its
        vector operations (the element type is not reported: fp32 lanes)."""
        model = CostModel(chip, 1)
        return max(self.moved() / model.gm_bytes_per_s, model.vector(self.vector_ops, 4) / PS_PER_S)


def print_pipes(kernel: MixKernel, chip: ChipProfile, markdown: bool) -> None:
    """Each AIV pipe's measured time against what the cost model charges for
    the same instructions and bytes; the whole task against launch + work."""
    model = CostModel(chip, 1)
    header = ["AIV pipe", "copies", "bytes", "model µs", "meas µs", "ratio"]
    lines = []
    # A read's pipe time includes its round trip (the latency), a write's does not
    # (the reading the profile's gm_copy_issue_ns and gm_copy_latency_ns were fitted on).
    for pipe, copies, kib, waits in (
        ("MTE2 (GM->UB)", "aiv_mte2_instructions", "GM_to_UB_datas(KB)", 1),
        ("MTE3 (UB->GM)", "aiv_mte3_instructions", "UB_to_GM_datas(KB)", 0),
    ):
        count, nbytes = int(kernel.memory[copies]), round(kernel.memory[kib] * 1024)
        one = gm_copy_ps(chip, nbytes / count, 0, model.gm_bytes_per_s, True)
        occupied = count * (one + waits * model.gm_latency_ps) / 1e6
        measured = kernel.pipes[f"aiv_{pipe[:4].lower()}_time(us)"]
        lines.append([pipe, str(count), str(nbytes), f"{occupied:.3f}", f"{measured:.3f}"])
    modelled = model.vector(kernel.vector_ops, 4) / 1e6
    lines.append(
        [
            "V",
            f"{kernel.vector_ops} ops",
            "-",
            f"{modelled:.3f}",
            f"{kernel.pipes['aiv_vec_time(us)']:.3f}",
        ]
    )
    whole = (launch_overhead_ps(chip, "mix", 1) / PS_PER_S + kernel.work_s(chip)) * 1e6
    lines.append(["task (fit)", "-", str(kernel.moved()), f"{whole:.3f}", f"{kernel.task_us:.3f}"])
    for line in lines:
        line.append(f"{float(line[3]) / float(line[4]):.2f}")
    print_rows(header, lines, markdown)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Predict measured 910B operator durations with ubscope's cost model "
        "and chip profiles (launch + max(memory, compute)) and print prediction vs "
        "measurement.",
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
    chips = {sample.chip: load_chip(sample.chip) for sample in SAMPLES}
    operators: list[tuple[Measured, str]] = []
    reasons: dict[str, list[str]] = {}
    for sample in SAMPLES:
        path = args.samples / sample.file
        clock = measured_clock_mhz(path)
        print(f"{sample.file}: {sample.chip}, measured clock {clock:.0f} MHz")
        print(textwrap.fill(sample.why, 80, initial_indent="  ", subsequent_indent="  "))
        ops, left_out = read_operators(path, sample.file, chips[sample.chip].l2_bytes)
        operators += [(op, sample.chip) for op in ops]
        for op_type, why in left_out:
            reasons.setdefault(why, []).append(op_type)
    fit_chip = chips[SAMPLES[0].chip]
    kernel = MixKernel.read(args.samples / MIX_KERNEL)
    fit = fit_launch(operators, chips, kernel.task_us * 1e-6 - kernel.work_s(fit_chip))
    profile = fit_chip.launch_overhead_ns
    print()
    print(
        textwrap.fill(
            f"launch fit on {fit.operators} vector operators ({fit.rows} measured rows) under "
            f"{FIT_BELOW_US:g} µs of {FIT_FILE} and the {MIX_KERNEL} task: vector "
            f"{fit.vector_ns:.0f} ns + {fit.per_block_ns:.1f} ns per block, mix "
            f"{fit.mix_ns:.0f} ns (profile: vector {profile['vector']:g}, cube "
            f"{profile['cube']:g}, mix {profile['mix']:g}, per block "
            f"{fit_chip.launch_per_block_ns:g} ns)",
            80,
        )
    )
    rows, skipped = evaluate(operators, Knobs(), chips)
    print()
    print_table(rows, args.markdown, args.top)
    print()
    print_summary(rows, args.markdown)
    print()
    print_sensitivity(operators, chips, args.markdown)
    print()
    print(f"{MIX_KERNEL} (msprof op, mix kernel, Block Dim 1) on {SAMPLES[0].chip}:")
    print_pipes(kernel, fit_chip, args.markdown)
    print()
    for op, why in skipped:
        reasons.setdefault(why, []).extend([op.type] * len(op.micros))
    print(f"skipped {sum(len(types) for types in reasons.values())} measured rows:")
    for why, types in sorted(reasons.items()):
        line = f"{', '.join(sorted(set(types)))}: {why}"
        print(textwrap.fill(line, 80, initial_indent="  ", subsequent_indent="    "))


if __name__ == "__main__":
    main()
