"""What a streamed analysis gives the charts (issue 17): occupancy and
fragmentation series kept in bounded memory that never hide a peak or a dip, and
GM traffic per tensor. The oracle is the in-memory analysis (its own occupancy,
fragmentation and traffic models),
on the sample traces cut into batches of 7 events so that buckets span batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.rebatch import rebatch
from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.series import places
from ubscope.analyzers.streaming import analyze_streamed, sketch

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_profiles").glob("*.ubtrace"))
# samples whose busiest core and space has hundreds of ALLOC/FREE events
LONG = [p for p in SAMPLES if p.stem in ("sparse_matmul_fragmentation", "paged_attention_healthy")]


def _both(sample: Path, tmp_path: Path):
    path = rebatch(sample, tmp_path / sample.name, 7)
    whole, streamed = analyze_path(path, stream=False), analyze_streamed(path)
    assert whole.context is not None and streamed.context is not None
    return whole.context, streamed.context


# the series a streamed analysis sketches, and the value whose extremes it keeps
SERIES = [("occupancy", "live_bytes"), ("fragmentation", "external")]


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_a_series_that_fits_is_kept_whole(sample, tmp_path):
    # fewer events per core than MAX_POINTS: every point is an extreme of its
    # one-event bucket, so the series is the whole trace's, point for point
    whole, streamed = _both(sample, tmp_path)
    # the places are the cores and spaces that allocated, as the whole trace's peaks
    peaks = whole.peaks
    allocated = zip(peaks["core_kind"], peaks["core"], peaks["space"], strict=True)
    assert sorted(p.key for p in places(streamed)) == sorted(allocated)
    for place in places(streamed):
        for series, _ in SERIES:
            expected = getattr(whole, series)(*place.key)
            got = getattr(streamed, series)(*place.key)
            pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@pytest.mark.parametrize("series, value", SERIES)
@pytest.mark.parametrize("sample", LONG, ids=[p.stem for p in LONG])
def test_a_long_series_keeps_its_extremes_in_bounded_points(
    sample, series, value, tmp_path, monkeypatch
):
    monkeypatch.setattr(sketch, "MAX_POINTS", 8)
    whole, streamed = _both(sample, tmp_path)
    longest = 0
    for place in places(streamed):
        expected = getattr(whole, series)(*place.key)
        got = getattr(streamed, series)(*place.key)
        longest = max(longest, len(expected))
        assert 0 < len(got) <= 8
        # every kept point is an event of the whole series, in program order
        merged = got.merge(expected, on=["seq"], suffixes=("", "_whole"), validate="1:1")
        assert len(merged) == len(got)
        for column in got.columns.drop("seq"):
            assert (merged[column] == merged[f"{column}_whole"]).all(), column
        assert np.all(np.diff(got["seq"].to_numpy()) > 0)
        # the highest point (at the first event that reached it) and the lowest stay
        values = expected[value].to_numpy()
        assert got[value].max() == values.max()
        assert (
            got["seq"].iloc[int(got[value].argmax())] == expected["seq"].iloc[int(values.argmax())]
        )
        assert got[value].min() == values.min()
    assert longest > 8 * 4, "the sample no longer needs compacting: pick a longer one"


def test_buckets_merge_by_doubling_and_keep_each_buckets_extremes(monkeypatch):
    # one group, events 0..11 with live bytes below, in two batches. The first
    # (events 0-4) keeps its 5 points; the second brings 12 > MAX_POINTS = 8, so
    # buckets double (1, 2, 4, 8 events) until at most 8 / 2 points are left.
    # With 8-event buckets [0-7] and [8-11]: bucket 0 max 9 (first at event 3),
    # min 0 (event 0); bucket 1 max 7 (event 8), min 1 (event 11): 4 points.
    monkeypatch.setattr(sketch, "MAX_POINTS", 8)
    live = np.array([0, 5, 2, 9, 9, 4, 3, 1, 7, 6, 6, 1])
    kept = sketch.SeriesSketch("live_bytes", ("live_bytes",))
    gid = np.full(live.size, 42)
    for part in (slice(0, 5), slice(5, 12)):  # two batches
        n = live[part].size
        kept.add(gid[part], np.arange(live.size)[part], np.arange(n) * 10, live_bytes=live[part])
    series = kept.series(42)
    assert series["seq"].tolist() == [0, 3, 8, 11]
    assert series["live_bytes"].tolist() == [0, 9, 7, 1]
    # times never go back: the second batch restarts at 0, shown as the 40 reached before
    assert series["t_ps"].tolist() == [0, 30, 40, 60]


def _held_bytes(arrays) -> int:
    """Bytes of the memory ``arrays`` keep alive: each one's own buffer, or the
    whole array it is a view of (counted once)."""
    roots = {}
    for array in arrays:
        while isinstance(array.base, np.ndarray):
            array = array.base
        roots[id(array)] = array.nbytes
    return sum(roots.values())


def test_a_quiet_group_holds_only_its_own_points():
    # Each batch: 5,000 events of a busy group (gid 1), then one of a quiet one
    # (gid 2) whose live bytes rise, so each of its events is its own bucket's
    # extreme and all 300 are kept. Its memory must be its 300 points x 5 columns
    # x 8 bytes, not the batches' arrays of both groups that its points were cut
    # from (memory that grew with the trace), and in few arrays.
    kept = sketch.SeriesSketch("live_bytes", ("live_bytes",))
    busy = 5000
    for batch in range(300):
        gid = np.r_[np.full(busy, 1), 2]
        seq = batch * (busy + 1) + np.arange(busy + 1)
        live = np.r_[np.arange(busy) % 7, batch]
        kept.add(gid, seq, seq * 10, live_bytes=live)
    quiet = kept.series(2)
    assert quiet["seq"].tolist() == [b * (busy + 1) + busy for b in range(300)]
    assert quiet["live_bytes"].tolist() == list(range(300))
    arrays = [values for chunk in kept._chunks[2] for values in chunk.values()]
    assert _held_bytes(arrays) == 300 * 5 * 8
    assert len(kept._chunks[2]) <= sketch.MAX_CHUNKS


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_streamed_traffic_matches_the_whole_traces(sample, tmp_path):
    whole, streamed = _both(sample, tmp_path)
    key = ["tensor", "direction"]
    expected = whole.traffic.sort_values(key).reset_index(drop=True)
    got = streamed.traffic.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert streamed.roofline == whole.roofline
