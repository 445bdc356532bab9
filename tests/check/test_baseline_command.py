"""``ubscope baseline``: a warning before blessing error findings, and one
file per chip when traces of several chips are recorded together."""

from __future__ import annotations

import json

import pytest

from tests.helpers.small_shapes import SMALL_POOL
from ubscope.cli import main
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip


def test_recording_error_findings_warns_and_names_them(tmp_path, pool_trace, capsys):
    # 3 double-buffered queues of 32768 fp16 elements: 384 KiB against 192 KiB of UB.
    overflow = pool_trace("overflow", n=65536, tile=32768, cores=1)
    assert main(["baseline", str(overflow), "-o", str(tmp_path / "bl")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ubscope: warning: pool_demo["), err
    assert "UB001" in err and "UB002" in err and "device fault" in err
    assert "UB003" not in err  # a warning finding is not what the line is about
    assert len(list((tmp_path / "bl").iterdir())) == 1


def test_a_clean_trace_records_without_a_warning(tmp_path, pool_trace, capsys):
    assert main(["baseline", str(pool_trace("base")), "-o", str(tmp_path / "bl")]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def two_chips(tmp_path_factory):
    """The same pool_demo configuration traced on two chips."""
    folder = tmp_path_factory.mktemp("chips")
    spec = get_kernel("pool_demo")
    traces = {}
    for name in ("Ascend910B2", "Ascend310P3"):
        traces[name] = folder / f"{name}.ubtrace"
        run_kernel(spec, spec.resolve(overrides=SMALL_POOL), load_chip(name), traces[name])
    return traces


def test_traces_of_two_chips_get_a_baseline_each(tmp_path, two_chips, capsys):
    baselines = tmp_path / "bl"
    traces = [str(path) for path in two_chips.values()]
    assert main(["baseline", *traces, "-o", str(baselines)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("created: ") == 2
    assert "] on Ascend910B2)" in out and "] on Ascend310P3)" in out
    recorded = {path.name: json.loads(path.read_text())["chip"] for path in baselines.iterdir()}
    assert sorted(recorded.values()) == sorted(two_chips)
    assert all(chip in name for name, chip in recorded.items())
    assert main(["check", *traces, "--baseline", str(baselines)]) == 0
    # Each chip's trace alone finds its own file.
    for trace in traces:
        assert main(["check", trace, "--baseline", str(baselines)]) == 0
    assert main(["baseline", traces[1], "-o", str(baselines)]) == 0
    assert "unchanged: " in capsys.readouterr().out
