"""Shared fixtures: the default chip and a device recording into memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from ubscope.probe.chip import load_chip
from ubscope.probe.device import Device
from ubscope.probe.recorder import Recorder

REPO = Path(__file__).resolve().parents[1]
VENDOR_SAMPLES = REPO.parent / "shared" / "vendor_samples"


@pytest.fixture(scope="session")
def chip():
    return load_chip()


@pytest.fixture
def recorder():
    return Recorder(batch_events=64)


@pytest.fixture
def device(chip, recorder):
    return Device(chip, recorder)


@pytest.fixture(scope="session")
def vendor_samples() -> Path:
    """The real vendor tool outputs; a test that needs them skips, saying why, without them."""
    if not VENDOR_SAMPLES.is_dir():
        pytest.skip(
            "../shared/vendor_samples not present (it exists only in the ubscope dev workspace)"
        )
    return VENDOR_SAMPLES
