"""Shared fixtures: file writers (the real vendor samples are tests/conftest.py's vendor_samples)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest


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
