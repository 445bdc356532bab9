"""sample_profiles/ stays readable and fresh: regenerating gives the same events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ubscope.kernels.demo_set import DEMO_RUNS
from ubscope.kernels.samples import MANIFEST, content_hash, record_sample
from ubscope.probe.events import SCHEMA_VERSION
from ubscope.probe.trace import read_trace

SAMPLES = Path(__file__).resolve().parents[2] / "sample_profiles"
REGENERATE = "python -m ubscope.kernels.samples sample_profiles"


def manifest() -> dict:
    return json.loads((SAMPLES / MANIFEST).read_text("utf-8"))


def test_manifest_lists_every_demo_run():
    data = manifest()
    assert data["schema_version"] == SCHEMA_VERSION, f"stale sample_profiles: run {REGENERATE}"
    assert [s["file"] for s in data["samples"]] == [f"{r.label}.ubtrace" for r in DEMO_RUNS]


@pytest.mark.parametrize("entry", manifest()["samples"], ids=lambda e: e["file"])
def test_sample_is_readable_small_and_fresh(entry, tmp_path):
    path = SAMPLES / entry["file"]
    assert path.stat().st_size < 2 * 1024 * 1024
    trace = read_trace(path)
    assert trace.complete and len(trace.events) == entry["events"]
    assert content_hash(trace.events) == entry["content_sha256"]
    run = next(r for r in DEMO_RUNS if f"{r.label}.ubtrace" == entry["file"])
    fresh = record_sample(run, tmp_path / entry["file"])
    assert fresh["params"] == entry["params"], f"stale: run {REGENERATE}"
    assert fresh["content_sha256"] == entry["content_sha256"], f"stale: run {REGENERATE}"
