"""Regenerate ``sample_profiles/``: a trace of every kernel healthy and in each
planted-problem preset, plus a manifest that a test uses to spot stale files.

Run: ``python -m ubscope.kernels.samples sample_profiles``
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.demo_set import DEMO_RUNS, DemoRun
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.events import SCHEMA_VERSION
from ubscope.probe.outputs import check_output_folder, write_text
from ubscope.probe.trace import read_trace
from ubscope.probe.version import __version__

MANIFEST = "MANIFEST.json"


def content_hash(events: pd.DataFrame) -> str:
    """A hash of the events that ignores what legitimately varies between runs
    (the host's RSS in host samples)."""
    stable = events.copy()
    stable.loc[stable["kind"] == "host_sample", "arg"] = 0
    for column in stable.columns:
        if isinstance(stable[column].dtype, pd.CategoricalDtype):
            stable[column] = stable[column].astype(str)
    hashes = pd.util.hash_pandas_object(stable, index=False).to_numpy()
    return hashlib.sha256(hashes.tobytes()).hexdigest()


def record_sample(run: DemoRun, path: Path) -> dict[str, Any]:
    spec = get_kernel(run.kernel)
    params = spec.resolve(preset=run.preset, overrides=run.params)
    outcome = run_kernel(spec, params, load_chip(), path, preset=run.preset)
    events = read_trace(path).events
    return {
        "file": path.name,
        "kernel": run.kernel,
        "preset": run.preset,
        "params": outcome.params,
        "events": len(events),
        "content_sha256": content_hash(events),
    }


def regenerate(out_dir: Path) -> dict[str, Any]:
    check_output_folder(out_dir)
    entries = [record_sample(run, out_dir / f"{run.label}.ubtrace") for run in DEMO_RUNS]
    manifest = {
        "ubscope_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "samples": entries,
    }
    write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "sample_profiles")
    for entry in regenerate(target)["samples"]:
        print(f"{entry['file']}: {entry['events']} events")
