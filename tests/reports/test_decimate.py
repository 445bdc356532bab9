"""Min/max envelope decimation keeps what a memory chart must show: spikes and dips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ubscope.reports.decimate import decimate_frame, envelope_indices


def test_short_series_are_left_alone():
    frame = pd.DataFrame({"t_ps": np.arange(10), "live_bytes": np.arange(10) * 32})
    shown, decimated = decimate_frame(frame, "live_bytes", 100)
    assert not decimated and shown is frame


def test_a_one_event_spike_and_dip_survive_a_million_points():
    rng = np.random.default_rng(7)
    live = rng.integers(90_000, 100_000, size=1_000_000)
    live[612_345] = 262_144  # the single overflow event
    live[77_777] = 0  # the single moment the pool is empty
    frame = pd.DataFrame({"t_ps": np.arange(live.size) * 1000, "live_bytes": live})
    shown, decimated = decimate_frame(frame, "live_bytes", 2000)
    assert decimated and len(shown) <= 2000
    assert shown["live_bytes"].max() == 262_144 and shown["live_bytes"].min() == 0
    # the spike keeps its own time, and the series keeps its ends and its order
    assert shown.loc[shown["live_bytes"] == 262_144, "t_ps"].item() == 612_345_000
    assert shown["t_ps"].iloc[0] == 0 and shown["t_ps"].iloc[-1] == (live.size - 1) * 1000
    assert shown["t_ps"].is_monotonic_increasing


def test_too_few_points_is_refused():
    with pytest.raises(ValueError, match="at least 4"):
        envelope_indices(np.arange(100), 3)


def test_every_separate_spike_survives_not_only_the_highest():
    rng = np.random.default_rng(3)
    values = np.full(100_000, 50, dtype=np.int64)
    spikes = np.arange(500, 100_000, 2_500)  # 40 spikes, further apart than any bucket
    values[spikes] = rng.integers(60, 1_000, size=spikes.size)
    values[spikes + 1] = -rng.integers(1, 100, size=spikes.size)
    keep = envelope_indices(values, 1000)
    assert set(spikes) <= set(keep) and set(spikes + 1) <= set(keep)


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(np.int64, st.integers(1, 3000), elements=st.integers(-(10**9), 10**9)),
    max_points=st.integers(4, 500),
)
def test_any_series_keeps_its_ends_extremes_and_order(values, max_points):
    keep = envelope_indices(values, max_points)
    assert len(keep) <= max_points if len(values) > max_points else len(keep) == len(values)
    assert np.all(np.diff(keep) > 0) and keep[0] == 0 and keep[-1] == len(values) - 1
    assert values[keep].max() == values.max() and values[keep].min() == values.min()
