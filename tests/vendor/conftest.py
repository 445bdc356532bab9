"""Shared fixtures: the real vendor samples (dev workspace only) and file writers."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "vendor_samples"


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/vendor_samples not present (only in the ubscope dev workspace)")
    return SAMPLES


@pytest.fixture
def write(tmp_path: Path):
    """Write text (exact bytes: no newline translation) or bytes to tmp_path/name."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    return _write


@pytest.fixture
def quiet():
    """Silence partial-read warnings in tests that check report.warnings instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
