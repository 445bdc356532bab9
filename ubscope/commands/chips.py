"""``ubscope chips`` and ``ubscope chips NAME``: the chip profiles, with the
figures that are not the chip's own marked as such.

A profile names such figures in two ``sources:`` entries, each written as
``FIELD, FIELD: reason``: ``copied_from_910B1`` (rates of the Ascend910B1 ini
reused for a chip whose own are not public) and ``placeholders`` (figures with
no public source that stand in so the model can run).
"""

from __future__ import annotations

import argparse

from rich.text import Text

import ubscope.analyzers as analyzers
from ubscope.commands.common import console
from ubscope.probe.chip import ChipProfile, builtin_chips, load_chip

COPIED = "copied_from_910B1"
PLACEHOLDERS = "placeholders"
# Marker of each kind in the listing's notes column, and its legend.
MARKERS = {
    COPIED: ("r", "rates copied from the Ascend910B1 ini, not the chip's own"),
    PLACEHOLDERS: ("p", "placeholder figures: no public source"),
}


def setup(chips: argparse.ArgumentParser) -> None:
    chips.description = (
        "List the built-in chip profiles (cores, clock, memory sizes, GM), "
        "marking figures that are not the chip's own: rates copied from the "
        "Ascend910B1 ini and placeholders. With NAME (a built-in name or a YAML "
        "file), show every figure of that profile and its source."
    )
    chips.add_argument("name", nargs="?", metavar="NAME", help="a built-in chip or a YAML file")
    chips.set_defaults(handler=_chips)


def borrowed_fields(profile: ChipProfile, kind: str) -> tuple[list[str], str]:
    """The YAML fields a profile's ``sources[kind]`` names, and the reason given."""
    text = profile.sources.get(kind, "")
    fields, _, reason = text.partition(": ")
    return [field.strip() for field in fields.split(",") if field.strip()], reason.strip()


def _marks(profile: ChipProfile, keys: tuple[str, ...] | None = None) -> str:
    """The markers of the borrowed figures among ``keys`` (YAML fields or their
    mappings), or among all of the profile's figures."""
    marks = []
    for kind, (mark, _) in MARKERS.items():
        fields = borrowed_fields(profile, kind)[0]
        if any(keys is None or field.startswith(keys) for field in fields):
            marks.append(mark)
    return " ".join(marks)


def _size(nbytes: float) -> str:
    """``524160`` -> ``511.9 KiB``, ``8589934592`` -> ``8 GiB``: no decimals when whole."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{round(value, 1):g} {unit}"
        value /= 1024
    return f"{round(value, 1):g} GiB"


def _bandwidth(bytes_per_second: float) -> str:
    return f"{bytes_per_second / 1e9:g} GB/s"


def _chips(args: argparse.Namespace) -> int:
    out = console()
    if args.name:
        # a profile's sources run to several lines each: wrapped at words
        for entry in _profile_entries(load_chip(args.name)):
            out.print(entry)
    else:
        for line in _listing():
            out.print(line, markup=False, soft_wrap=True)
    return 0


def _listing() -> list[str]:
    header = ("chip", "arch", "AIC+AIV", "MHz", "UB", "L1", "GM", "GM rate", "notes")
    rows = [header]
    profiles = [load_chip(name) for name in builtin_chips()]
    for chip in profiles:
        rows.append(
            (
                chip.name,
                str(chip.arch),
                f"{chip.cube_cores}+{chip.vector_cores}",
                f"{chip.clock_hz / 1e6:g}",
                _size(chip.capacity["UB"]),
                _size(chip.capacity["L1"]),
                _size(chip.gm_bytes),
                _bandwidth(chip.gm_bandwidth),
                _marks(chip),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    used = {mark for chip in profiles for mark in _marks(chip).split()}
    lines += [f"{mark}: {legend}" for mark, legend in MARKERS.values() if mark in used]
    if used:
        lines.append("`ubscope chips NAME` names the marked fields of a chip and why")
    return lines


def _profile_entries(chip: ChipProfile) -> list[analyzers.Hanging]:
    """The profile's figures, one per labelled row, its borrowed figures and
    their reasons, then its sources, each wrapped under its label."""

    def row(label: str, text: str, keys: tuple[str, ...]) -> analyzers.Hanging:
        marks = _marks(chip, keys)
        return analyzers.Hanging(
            Text(f"{label:<8}"), Text(text + (f"  [{marks}]" if marks else ""))
        )

    capacity = ", ".join(f"{space} {_size(size)}" for space, size in chip.capacity.items())
    onchip = ", ".join(f"{route} {rate}" for route, rate in chip.onchip_rate.items())
    layout = "split AIC/AIV" if chip.split_cores else "coupled AI Cores"
    title = f"{chip.name} (__NPU_ARCH__ {chip.arch}): {chip.description}".rstrip(": ")
    entries = [
        analyzers.Hanging(Text(), Text(title), hang=2),
        row("cores", f"{chip.cube_cores} cube + {chip.vector_cores} vector ({layout})", ("cores",)),
        row("clock", f"{chip.clock_hz / 1e6:g} MHz", ("clock_mhz",)),
        row(
            "memory",
            f"{capacity} per core; UB scratch {_size(chip.ub_scratch_bytes)}",
            ("memory",),
        ),
        row(
            "GM",
            f"{_size(chip.gm_bytes)} at {_bandwidth(chip.gm_bandwidth)}; L2 {_size(chip.l2_bytes)}",
            ("gm.size_bytes", "gm.bandwidth_gb_per_s"),
        ),
        row(
            "rates",
            f"{onchip} B/cycle; L2 {chip.l2_rate_per_core} B/cycle per core",
            ("onchip_bytes_per_cycle", "gm.l2_bytes_per_cycle_per_core"),
        ),
        row(
            "compute",
            f"FP16 {chip.peak_fp16_flops / 1e12:g} TFLOPS, INT8 {chip.peak_int8_ops / 1e12:g} TOPS, "
            f"vector {chip.vector_fp16_ops_per_cycle} fp16 ops/cycle per core",
            ("compute",),
        ),
        row(
            "queues",
            f"{chip.que_max_event} buffers per TPosition, {chip.qbuf_max_len} per TPipe",
            ("queues",),
        ),
    ]
    for kind, (mark, legend) in MARKERS.items():
        fields, reason = borrowed_fields(chip, kind)
        if fields:
            entries.append(
                analyzers.Hanging(Text(f"[{mark}]"), Text(f"{legend}: {', '.join(fields)}"), hang=4)
            )
            entries.append(analyzers.Hanging(Text("   "), Text(reason)))
    entries.append(analyzers.Hanging(Text(), Text("sources:")))
    entries += [
        analyzers.Hanging(Text(f"  {key}:"), Text(text), hang=4)
        for key, text in chip.sources.items()
        if key not in MARKERS
    ]
    return entries
