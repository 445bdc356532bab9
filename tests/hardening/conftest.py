"""Hypothesis profiles and shared inputs of the hardening tests.

Profiles: ``ci`` (default; 150 examples per reader, scaled down for slow
ones, the whole hardening suite in a few minutes on 2 cores) and ``long``
(thousands of examples per reader, no deadline; ``HYPOTHESIS_PROFILE=long``,
see ``bench/fuzz_long.py``). Environment: ``UBSCOPE_FUZZ_EXAMPLES`` (the long
profile's examples per reader), ``UBSCOPE_FUZZ_SHRINK=1`` (shrink failures in
the long profile), ``UBSCOPE_FUZZ_TIMEOUT`` (seconds before an example counts
as a hang, default 20), ``UBSCOPE_FUZZ_STATS=FILE`` (write the per-reader
counts of the run to FILE.<worker> as JSON at the end of the session).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip

from .fuzzkit import SUPPRESSED, ReaderWorker, stats_document
from .hostile import ESCAPES_SPEC, HOSTILE_SPEC

# Without shrinking, a failure is reported with the input as found (shrinking a
# slow reader's input can take minutes): CI runs that way; the long profile
# shrinks when UBSCOPE_FUZZ_SHRINK=1.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=SUPPRESSED,
    phases=NO_SHRINK,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("UBSCOPE_FUZZ_EXAMPLES", "3000")),
    deadline=None,
    database=None,
    suppress_health_check=SUPPRESSED,
    phases=tuple(Phase) if os.environ.get("UBSCOPE_FUZZ_SHRINK") == "1" else NO_SHRINK,
)

# pool_demo runs whose traces seed the trace fuzzing (small batches: many boundaries).
SEED_RUNS = (None, "pool_no_reset", "freelist_fragmentation")


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("UBSCOPE_FUZZ_STATS")
    if target:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(f"{target}.{worker}").write_text(json.dumps(stats_document(), indent=1))


@pytest.fixture(scope="session")
def seed_traces(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real traces written by ``run_kernel`` in batches of 16 events."""
    folder = tmp_path_factory.mktemp("seed_traces")
    spec = get_kernel("pool_demo")
    chip = load_chip()
    paths = []
    for preset in SEED_RUNS:
        path = folder / f"pool_demo_{preset or 'default'}.ubtrace"
        params = spec.resolve(preset=preset)
        run_kernel(spec, params, chip, path, preset=preset, batch_events=16)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def hostile_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trace whose kernel, tensor, buffer and tag names are HTML, Rich
    markup and path traversal."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.ubtrace"
    run_kernel(HOSTILE_SPEC, {"n": 256}, load_chip(), path)
    return path


@pytest.fixture(scope="session")
def escapes_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trace whose names carry terminal escape sequences (title, colour,
    clear screen, clipboard write)."""
    path = tmp_path_factory.mktemp("escapes") / "escapes.ubtrace"
    run_kernel(ESCAPES_SPEC, {"n": 256}, load_chip(), path)
    return path


@pytest.fixture(scope="session")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReaderWorker]:
    """The process readers run in during fuzzing (see reader_worker.py)."""
    reader_worker = ReaderWorker(tmp_path_factory.mktemp("worker_cwd"))
    yield reader_worker
    reader_worker.close()
