"""Worker processes import the tests' task functions by reference: they need
the repository root on their path (pytest's importlib mode leaves it off)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _repo_on_worker_path(monkeypatch):
    # Spawned and forkserver children take the parent's sys.path when they start.
    monkeypatch.syspath_prepend(str(REPO))


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster of 2 CPUs for the session; skipped without the extra."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install .[ray])")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
    )
    yield ray
    ray.shutdown()
