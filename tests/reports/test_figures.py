"""The figure data users read: axes and units, the lines and marks that carry
the diagnosis (capacity, scratch, overflow, failed allocations, minimum traffic,
roofs), and decimation that keeps the peak and says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers.html_injection import EVIL
from ubscope.reports import views
from ubscope.reports.escape import plot_text
from ubscope.reports.figures_gm import MINIMAL_LABEL, roofline_figure, traffic_figure
from ubscope.reports.figures_memory import Limits, allocation_map_figure, occupancy_figure

UB = Limits("UB", capacity=192 * 1024, reserved_bytes=8 * 1024)


def _shape(figure, name):
    return next(s for s in figure.layout.shapes if s.name.startswith(name))


def _trace(figure, name):
    return next(t for t in figure.data if t.name == name)


def _steps(values, step_ps=1000):
    values = np.asarray(values)
    return pd.DataFrame({"t_ps": np.arange(values.size) * step_ps, "live_bytes": values})


def test_occupancy_has_units_a_line_per_core_and_the_capacity_and_scratch_lines():
    series = {"aiv0": _steps([0, 65536, 131072, 0]), "aiv1": _steps([0, 32768, 0])}
    figure = occupancy_figure(UB, series, max_points=1000, peak=("aiv0", 2000, 131072))
    assert figure.layout.xaxis.title.text == "modelled time (µs)"
    assert figure.layout.yaxis.title.text == "live bytes in UB (KiB)"
    assert [t.name for t in figure.data] == ["aiv0", "aiv1", "peak"]
    assert list(_trace(figure, "aiv0").y) == [0, 64, 128, 0]
    assert list(_trace(figure, "aiv0").x) == [0, 0.001, 0.002, 0.003]
    assert _shape(figure, "capacity").y0 == 192.0
    assert _shape(figure, "built-in API scratch (top 8.0 KiB)").y0 == 184.0
    # named in the legend: a label on the chart would sit under the core lines
    assert _shape(figure, "built-in API scratch").showlegend
    assert not any("scratch" in note.text for note in figure.layout.annotations)
    assert _trace(figure, "peak").y[0] == 128 and not figure.layout.meta["decimated"]


def test_occupancy_of_a_long_series_is_decimated_keeping_the_overflow_spike_and_says_so():
    live = np.full(200_000, 96 * 1024)
    live[123_457] = 256 * 1024  # one event past capacity
    live[50_001] = 0
    figure = occupancy_figure(UB, {"aiv0": _steps(live)}, max_points=1000)
    line = _trace(figure, "aiv0")
    assert len(line.y) <= 1000
    assert max(line.y) == 256 and min(line.y) == 0
    assert figure.layout.meta["decimated"] and "decimated" in figure.layout.title.text
    # the axis still shows the spike above the capacity line
    assert figure.layout.yaxis.range[1] > 256


def _blocks(count, overflow_at=None):
    addr = (np.arange(count) % 6) * 32 * 1024
    end = addr + 32 * 1024
    if overflow_at is not None:
        addr[overflow_at], end[overflow_at] = 190 * 1024, 200 * 1024
    return pd.DataFrame(
        {
            "addr": addr,
            "end": end,
            "size": end - addr,
            "name": [f"buf{i % 3}" for i in range(count)],
            "tag": [("copyin", "compute")[i % 2] for i in range(count)],
            "t_alloc_ps": np.arange(count) * 1000,
            "t_free_ps": np.where(np.arange(count) == 3, -1, np.arange(count) * 1000 + 5000),
        }
    )


def test_allocation_map_draws_a_rectangle_per_block_coloured_by_tag_and_marks_the_red_zone():
    writes = pd.DataFrame({"t_ps": [7000], "addr": [190 * 1024], "end": [200 * 1024]})
    failures = pd.DataFrame(
        {"t_ps": [9000], "aligned_size": [65536], "total_free": [98304], "largest_free": [32768]}
    )
    figure = allocation_map_figure(
        UB,
        "aiv0",
        _blocks(10, overflow_at=7),
        end_ps=20_000,
        max_blocks=100,
        redzone_writes=writes,
        failures=failures,
    )
    assert figure.layout.yaxis.title.text == "address in UB (KiB)"
    assert figure.layout.legend.title.text == "call-site tag"
    compute, copyin = _trace(figure, "compute"), _trace(figure, "copyin")
    # five rectangles each: 4 corners + closing point + gap
    assert len(compute.x) == len(copyin.x) == 5 * 6 and compute.fill == "toself"
    overflow = _trace(figure, "block past capacity (overflow)")
    assert list(overflow.y[:5]) == [190, 190, 200, 200, 190]
    never_freed = compute.x[6:11]  # block 3, the second "compute" one, lasts until end_ps
    assert max(never_freed) == pytest.approx(0.020)
    red_zone = _shape(figure, "red zone")
    assert red_zone.y0 == 192 and red_zone.y1 >= 200
    assert _shape(figure, "built-in API scratch (top 8.0 KiB)").y0 == 184
    assert not any("scratch" in note.text for note in figure.layout.annotations)  # under blocks
    assert _trace(figure, "write into the red zone").y[0] == 190
    assert _trace(figure, "allocation failed").x[0] == pytest.approx(0.009)


def test_allocation_map_limits_rectangles_but_keeps_overflow_long_lived_and_the_whole_run():
    figure = allocation_map_figure(
        UB, "aiv0", _blocks(500, overflow_at=321), end_ps=600_000, max_blocks=40
    )
    filled = [t for t in figure.data if t.fill == "toself"]
    assert sum(len(t.x) // 6 for t in filled) == 40
    starts = np.concatenate([np.asarray(t.x[::6]) for t in filled])
    assert starts.min() < 0.05 and starts.max() > 0.45  # the sample spans the 0.5 µs run
    ends = np.concatenate([np.asarray(t.x[1::6]) for t in filled])
    assert ends.max() == pytest.approx(0.6)  # block 3 is never freed: it is always drawn
    assert list(_trace(figure, "block past capacity (overflow)").y[:2]) == [190, 190]
    assert figure.layout.meta["decimated"] and "40 of 500 blocks" in figure.layout.title.text


def test_gm_traffic_stacks_tensors_per_direction_against_the_minimum():
    traffic = pd.DataFrame(
        {
            "tensor": ["x", "w", "y", "ws"],
            "direction": ["read", "read", "write", "write"],
            "bytes": [2 << 20, 1 << 20, 1 << 20, 1 << 19],
            "transfers": [64, 32, 32, 16],
            "distinct_bytes": [1 << 20, 1 << 20, 1 << 20, 1 << 19],
            "redundancy": [2.0, 1.0, 1.0, 1.0],
            "small_transfers": [0, 32, 0, 0],
            "workspace": [False, False, False, True],
        }
    )
    figure = traffic_figure(traffic, {"read": 2 << 20, "write": 1 << 20})
    assert (
        figure.layout.yaxis.title.text == "bytes moved (MiB)" and figure.layout.barmode == "stack"
    )
    assert list(_trace(figure, "x").y) == [2.0] and list(_trace(figure, "x").x) == ["read"]
    assert _trace(figure, "ws (L2 workspace)").marker.pattern.shape == "/"
    minimal = [s for s in figure.layout.shapes if s.name == MINIMAL_LABEL]
    assert [s.y0 for s in minimal] == [2.0, 1.0]


def test_roofline_has_both_roofs_meeting_at_the_ridge_and_the_kernel_point():
    roof = {
        "peak_flops": 3.539e14,
        "bandwidth": 1.6e12,
        "ridge": 3.539e14 / 1.6e12,
        "intensity": 0.5,
        "achieved_flops_per_s": 4e11,
        "bound": "memory",
    }
    figure = roofline_figure(roof, EVIL)
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    memory = next(t for t in figure.data if t.name.startswith("memory roof"))
    compute = next(t for t in figure.data if t.name.startswith("compute roof"))
    assert memory.x[-1] == compute.x[0] == pytest.approx(221.1875)
    assert memory.y[-1] == compute.y[0] == 3.539e14
    point = _trace(figure, plot_text(EVIL))
    assert (point.x[0], point.y[0]) == (0.5, 4e11)
    assert "50% of its roof" in point.text[0]  # 4e11 of 1.6e12 * 0.5


def test_roofline_without_compute_says_so_instead_of_plotting_a_point():
    roof = {
        "peak_flops": 3.539e14,
        "bandwidth": 1.6e12,
        "ridge": 221.1875,
        "intensity": 0.0,
        "achieved_flops_per_s": 0.0,
        "bound": "memory",
    }
    figure = roofline_figure(roof, "k")
    assert len(figure.data) == 3 and "no roofline point" in figure.layout.annotations[0].text


def test_views_of_a_real_analysis(hostile_analysis):
    """From the analyzers' data: the overflowing core is mapped, the fragmented
    free list is charted with its failed allocation, KV pages have a curve."""
    maps = views.allocation_maps(hostile_analysis)
    figure = maps["aiv/UB"]
    assert "aiv0" in figure.layout.title.text and "overflowing" in figure.layout.title.text
    assert {t.name for t in figure.data if t.fill == "toself"} == {
        "tile0",
        "tile1",
        "tile2",
        "tile3",
    }
    fragmentation = views.fragmentation_figures(hostile_analysis)["UB"]
    failed = _trace(fragmentation, "allocation failed with enough bytes free")
    assert [t.name for t in fragmentation.data if t.mode == "lines"] == ["aiv1"]
    assert failed.y[0] == pytest.approx(200 / 3)  # 64 of 96 KiB free were not in the largest block
    kv = views.kv_figures(hostile_analysis)["kv"]
    empty = _trace(kv, plot_text(f"{EVIL}: empty slots"))
    assert empty.y[2] == pytest.approx(25.0)  # 36 of 48 slots hold a token
    occupancy = views.occupancy_figures(hostile_analysis)["UB"]
    assert _trace(occupancy, "peak").y[0] == 256
