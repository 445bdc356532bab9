"""Baseline files: one small JSON file per kernel configuration, kept in the repository.

A baseline is meant to be reviewed in pull requests, so it holds only what
identifies the configuration (kernel, parameters, chip) and its flat metrics,
with sorted keys, one value per line and a trailing newline: the same run
always gives a byte-identical file, and a change shows as a one-line diff per
metric. The file name is the kernel name plus a short hash of the sorted
parameters, so every configuration of a kernel has its own file; where several
chips are involved the chip's name follows, so one directory holds every
chip's baselines (a file without the chip is still the baseline of the chip it
was recorded on). Files are replaced atomically: an interrupted write never
leaves half a baseline behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ubscope.check.measurement import Measurement
from ubscope.probe.errors import ConfigError, read_input_text
from ubscope.probe.outputs import write_text
from ubscope.probe.text import printable_path

SCHEMA = "ubscope.baseline/1"
SUFFIX = ".json"
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
# Characters of the kernel and the chip name in a baseline file name (all
# ASCII after _UNSAFE_IN_NAME): with the parameter hash and suffix, at most 177 bytes.
MAX_KERNEL_IN_NAME = 120
MAX_CHIP_IN_NAME = 40


@dataclass
class Baseline:
    """A baseline file as read: what it is for, and its flat metrics."""

    path: Path
    kernel: str
    params: dict[str, Any]
    chip: str
    metrics: dict[str, float]


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def baseline_file_name(measurement: Measurement, with_chip: bool = False) -> str:
    """``pool_demo-3f2a9c1b0d.json``: the kernel plus a hash of its sorted
    parameters; ``with_chip``: ``pool_demo-3f2a9c1b0d-Ascend310P3.json``. A
    kernel name longer than :data:`MAX_KERNEL_IN_NAME` keeps its start and
    replaces the rest by a hash of the whole name, so the file name stays far
    below the 255 bytes file systems allow; a chip name that is long or not
    safe as it is gets such a hash too, so two chips never share a file."""
    kernel = _UNSAFE_IN_NAME.sub("_", measurement.kernel).strip("._") or "kernel"
    if len(kernel) > MAX_KERNEL_IN_NAME:
        kernel = f"{kernel[: MAX_KERNEL_IN_NAME - 11]}-{_short_hash(measurement.kernel)}"
    chip = ""
    if with_chip:
        chip = _UNSAFE_IN_NAME.sub("_", measurement.chip).strip("._")
        if chip != measurement.chip or len(chip) > MAX_CHIP_IN_NAME:
            chip = f"{chip[: MAX_CHIP_IN_NAME - 11]}-{_short_hash(measurement.chip)}".lstrip("-")
        chip = f"-{chip}"
    return f"{kernel}-{_short_hash(measurement.params_key)}{chip}{SUFFIX}"


def baseline_text(measurement: Measurement) -> str:
    """The file content for ``measurement``: stable, sorted, indented, newline-terminated."""
    document = {
        "schema": SCHEMA,
        "kernel": measurement.kernel,
        "params": measurement.params,
        "chip": measurement.chip,
        "metrics": measurement.metrics,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def read_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read and validate one baseline file; ConfigError naming the file otherwise."""
    path = Path(path)
    text = read_input_text(path, ConfigError, "a ubscope baseline JSON file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}", f"not valid JSON ({exc.msg})") from None
    except (RecursionError, ValueError) as exc:  # deep nesting; integers of thousands of digits
        raise ConfigError(path, f"not a usable baseline JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ConfigError(path, f'not a ubscope baseline (expected "schema": "{SCHEMA}")')
    metrics = document.get("metrics")
    if not isinstance(metrics, dict):
        raise ConfigError(path, "'metrics' must be an object of metric name to number")
    for name, value in metrics.items():
        if not _finite_number(value):
            raise ConfigError(
                path, f"metrics.{name}: expected a number (not NaN or infinite), got {value!r}"
            )
    params = document.get("params")
    if not isinstance(params, dict) or not isinstance(document.get("kernel"), str):
        raise ConfigError(path, "a baseline needs 'kernel' (a string) and 'params' (an object)")
    return Baseline(path, document["kernel"], params, str(document.get("chip", "?")), metrics)


def _finite_number(value: Any) -> bool:
    """A number that compares and formats: not NaN or infinite (JSON's ``NaN``,
    ``Infinity``, ``1e999``), not an integer too large for a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _recorded_chip(path: Path) -> str | None:
    """The chip a baseline file was recorded on; None when it does not read as
    a baseline (loading it says why, and ``--update`` may rewrite it)."""
    try:
        return read_baseline(path).chip
    except ConfigError:
        return None


def missing_baseline_message(path: str | os.PathLike[str], record_command: str) -> str:
    """What to say about a configuration without a baseline, with the fix."""
    return f"no baseline ({printable_path(path)} does not exist); record it with: {record_command}"


class BaselineStore:
    """Where baselines live: a directory (one file per configuration, named by
    :func:`baseline_file_name`) or a single ``.json`` file for one configuration."""

    def __init__(self, location: str | os.PathLike[str]):
        self.location = Path(location)
        self.single_file = self.location.suffix == SUFFIX or self.location.is_file()

    def path_for(self, measurement: Measurement) -> Path:
        """The file of ``measurement``'s baseline, whether it exists or not: in a
        directory, the file named with its chip if there is one, else the one
        named without a chip (:func:`baseline_file_name`) unless that one was
        recorded on another chip; a new file is named with the chip where
        several chips are involved (``measurement.chip_in_name``) or where the
        name without it is another chip's."""
        if self.single_file:
            return self.location
        on_chip = self.location / baseline_file_name(measurement, with_chip=True)
        plain = self.location / baseline_file_name(measurement)
        if on_chip.is_file():
            return on_chip
        if plain.is_file():
            return plain if _recorded_chip(plain) in (None, measurement.chip) else on_chip
        return on_chip if measurement.chip_in_name else plain

    def load(self, measurement: Measurement) -> Baseline | None:
        """The baseline of ``measurement``, or None when there is none yet. A
        file for another configuration or another chip is an error, not a match."""
        path = self.path_for(measurement)
        if not path.is_file():
            return None
        baseline = read_baseline(path)
        probe = Measurement(baseline.kernel, baseline.params, baseline.chip, {})
        if probe.kernel != measurement.kernel or probe.params_key != measurement.params_key:
            raise ConfigError(path, f"is the baseline of {probe.name}, not of {measurement.name}")
        if baseline.chip != measurement.chip:
            raise ConfigError(
                path,
                f"was recorded on {baseline.chip} but the trace is from {measurement.chip}; "
                f"a {SUFFIX} file is one chip's baseline, a directory holds every chip's",
            )
        return baseline

    def save(self, measurement: Measurement, update: bool = False) -> str:
        """Write the baseline of ``measurement``: ``created``, ``updated``,
        ``unchanged``, or ``kept`` (it exists, differs, and ``update`` is off)."""
        path = self.path_for(measurement)
        text = baseline_text(measurement)
        if path.is_file():
            if path.read_bytes() == text.encode("utf-8"):
                return "unchanged"
            if not update:
                return "kept"
            write_text(path, text)
            return "updated"
        write_text(path, text)
        return "created"
