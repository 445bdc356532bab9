"""Baselines, chip profiles and folders that are hostile or absurd end in one
line and exit 2, never a traceback or a hang (docs/security.md §2)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from ubscope.check.baseline import baseline_file_name
from ubscope.check.measurement import Measurement
from ubscope.cli import main
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import DEFAULT_CHIP, ChipProfile, check_chip_figures, load_chip
from ubscope.probe.errors import ChipProfileError
from ubscope.probe.trace import find_traces

from .hostile import HOSTILE_SPEC, _run

REPO = Path(__file__).resolve().parents[2]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ubscope: error: "), err
    return lines[0]


# -- baselines -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 400])
def test_a_baseline_with_a_non_finite_number_is_one_line(seed_traces, tmp_path, capsys, value):
    trace = str(seed_traces[0])
    assert main(["baseline", trace, "-o", str(tmp_path)]) == 0
    (path,) = tmp_path.glob("*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    first = sorted(document["metrics"])[0]
    text = json.dumps(document).replace(
        f'"{first}": {json.dumps(document["metrics"][first])}', f'"{first}": {value}'
    )
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["check", trace, "--baseline", str(tmp_path)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert path.name in line and f"metrics.{first}: expected a number (not NaN or infinite)" in line


def test_a_kernel_name_of_any_length_gets_a_baseline_file(tmp_path, capsys):
    """Linux allows 255 bytes per file name; a 300-character kernel name used
    to make ``baseline`` exit 2 and ``check`` crash with ``File name too long``."""
    names = ["k" * 300 + "A", "k" * 300 + "B"]  # differ only beyond the kept start
    traces = []
    for index, name in enumerate(names):
        spec = dataclasses.replace(
            HOSTILE_SPEC,
            name=name,
            run=lambda device, params, name=name: _run(device, params, (name, "t", "b", "x")),
        )
        traces.append(str(tmp_path / f"{index}.ubtrace"))
        run_kernel(spec, {"n": 256}, load_chip(), traces[-1])
    assert main(["baseline", *traces, "-o", str(tmp_path / "base")]) == 0
    files = sorted(p.name for p in (tmp_path / "base").iterdir())
    assert len(files) == 2 and all(len(name.encode()) <= 255 for name in files)
    assert main(["check", *traces, "--baseline", str(tmp_path / "base")]) == 0
    short = Measurement("pool_demo", {"n": 16}, DEFAULT_CHIP, {})
    assert baseline_file_name(short).startswith("pool_demo-")  # short names unchanged


# -- chip profiles --------------------------------------------------------------


def _profile(tmp_path: Path, section: str, key: str, value: object) -> Path:
    source = REPO / "probe" / "chips" / f"{DEFAULT_CHIP}.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data[section][key] = value
    path = tmp_path / "chip.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        (
            "memory",
            "UB",
            2**63,
            "memory.UB: must be from 1 to 67,108,864, got 9,223,372,036,854,775,808",
        ),
        ("memory", "UB", 1e30, "memory.UB: must be from 1 to 67,108,864"),
        ("alignment", "UB", 1e30, "alignment.UB: must be from 1 to 65,536"),
        ("gm", "size_bytes", 2**63, "gm.size_bytes: must be from 1 to 1,125,899,906,842,624"),
        (
            "compute",
            "fp16_tflops",
            1e30,
            "compute.fp16_tflops: must be from 0.001 to 100,000, got 1e+30",
        ),
        ("cores", "cube", 10**9, "cores.cube: must be from 1 to 1,024"),
    ],
)
def test_absurd_chip_figures_are_one_line_naming_field_and_range(
    tmp_path, capsys, section, key, value, message
):
    chip = _profile(tmp_path, section, key, value)
    code = main(["run", "pool_demo", "--chip", str(chip), "-o", str(tmp_path / "t.ubtrace")])
    assert code == 2
    assert message in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "t.ubtrace").exists()


def test_the_range_check_also_takes_a_profile_built_from_trace_metadata():
    figures = load_chip().to_dict()
    check_chip_figures(ChipProfile(**figures), "t.ubtrace")
    figures["capacity"] = {**figures["capacity"], "L1": 2**63}
    with pytest.raises(ChipProfileError, match=r"^t\.ubtrace: memory\.L1: must be from 1 to"):
        check_chip_figures(ChipProfile(**figures), "t.ubtrace")
    figures = {**load_chip().to_dict(), "clock_hz": "fast"}
    with pytest.raises(ChipProfileError, match="clock_mhz: expected a number"):
        check_chip_figures(ChipProfile(**figures), "t.ubtrace")


def test_the_range_check_accepts_the_chips_of_recorded_traces():
    """Traces recorded so far store ``split_cores`` as 1, not true."""
    for trace in sorted((REPO / "sample_profiles").glob("*.ubtrace")):
        with pa.ipc.open_stream(trace.read_bytes()) as reader:
            chip = json.loads(reader.schema.metadata[b"ubscope"])["chip"]
        check_chip_figures(ChipProfile.from_dict(chip), str(trace))


# -- folders --------------------------------------------------------------------


@pytest.fixture
def hostile_folder(seed_traces, tmp_path) -> Path:
    """A good trace beside a dangling symlink, a symlink loop, a folder and a
    FIFO, all named ``*.ubtrace``."""
    folder = tmp_path / "runs"
    folder.mkdir()
    shutil.copy(seed_traces[0], folder / "good.ubtrace")
    (folder / "dangling.ubtrace").symlink_to(folder / "nowhere")
    (folder / "loop.ubtrace").symlink_to(folder / "loop.ubtrace")
    (folder / "folder.ubtrace").mkdir()
    os.mkfifo(folder / "fifo.ubtrace")
    return folder


def test_a_folder_lists_what_is_not_a_trace_without_opening_it(hostile_folder):
    entries = {entry.path.name: entry for entry in find_traces(hostile_folder)}
    assert entries["good.ubtrace"].meta is not None
    assert entries["fifo.ubtrace"].problem == "not a regular file, not a trace"
    assert entries["folder.ubtrace"].problem == "a folder, not a trace"
    assert "cannot open" in entries["dangling.ubtrace"].problem
    assert "cannot open" in entries["loop.ubtrace"].problem


def test_trace_info_refuses_a_fifo_instead_of_waiting(hostile_folder):
    """Run in a child process: before the fix it blocked forever in open()."""
    fifo = hostile_folder / "fifo.ubtrace"
    done = subprocess.run(
        [sys.executable, "-m", "ubscope", "trace", "info", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert _one_error_line(done.stderr).endswith("is not a regular file, expected a .ubtrace file")
