"""The W4A16 GEMM (int4_gemm) and its fp16 baseline (fp16_gemm) on the emulated 910B."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.cli import run_ubscope
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.gemm import int4_pack
from ubscope.kernels.gemm.plan import plan_fp16, plan_int4
from ubscope.kernels.gemm.reference import check_antiquant_shape, dequantize
from ubscope.kernels.gemm.specs import modelled_time_ps, weight_bytes
from ubscope.kernels.registry import run_kernel
from ubscope.probe.costmodel import launch_overhead_ps
from ubscope.probe.device import Device
from ubscope.probe.errors import ParameterError
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.kernel_spec import ATOL, RTOL
from ubscope.probe.recorder import Recorder

HEALTHY_FLAGS = (
    "TRUNCATED",
    "MISALIGNED",
    "REDZONE",
    "OUT_OF_BOUNDS",
    "PARTIAL_OVERLAP",
    "QUEUE_LIMIT",
    "PIPE_LIMIT",
)


def run(chip, kernel="int4_gemm", preset=None, record=True, **overrides):
    spec = get_kernel(kernel)
    params = spec.resolve(preset=preset, overrides=overrides)
    recorder = Recorder() if record else None
    outcome = run_kernel(spec, params, chip, recorder=recorder)
    return outcome, (recorder.table().to_pandas() if record else None)


def copies(events):
    return events[events["kind"] == "copy"]


def flagged(events, flag):
    return events[(events["flags"].to_numpy() & int(flag)) != 0]


def gm_side(events):
    """COPY events with GM at either end."""
    found = copies(events)
    gm = int(Space.GM)
    return found[(found["space"].cat.codes == gm) | (found["src_space"].cat.codes == gm)]


def hbm_bytes(events):
    """Bytes moved to or from GM outside the (L2-resident) workspace."""
    found = gm_side(events)
    workspace = (found["flags"].to_numpy() & int(Flag.WORKSPACE)) != 0
    return int(found["aligned_size"][~workspace].sum())


def tensor_bytes(events, name):
    found = gm_side(events)
    return int(found["aligned_size"][found["tensor"] == name].sum())


def assert_close(outcome):
    out, ref = outcome.result.outputs["y"], outcome.result.reference("y")
    np.testing.assert_allclose(out.astype(np.float64), ref, rtol=RTOL, atol=ATOL)


# -- numerics --------------------------------------------------------------------

NUMERIC_CASES = {
    "ragged_k_and_n_block16": dict(m=3, k=100, n=200, tile_k=32, tile_n=64),
    "ragged_k_and_n_nd": dict(m=3, k=100, n=200, tile_k=32, tile_n=64, layout="nd"),
    "k_below_one_fractal": dict(m=2, k=8, n=64),
    "group_equals_tile_nd": dict(
        m=2, k=300, n=136, group_size=64, tile_k=64, tile_n=64, layout="nd"
    ),
    "group_straddles_tiles_bump": dict(
        m=2, k=300, n=136, group_size=96, tile_k=64, tile_n=64, pool="bump"
    ),
    "groups_inside_tile_single_buffer": dict(
        m=4, k=256, n=128, group_size=32, tile_k=64, double_buffer=False, layout="nd"
    ),
    "bump_single_buffer": dict(
        m=4, k=200, n=192, tile_k=48, tile_n=64, pool="bump", double_buffer=False
    ),
    "x_streamed_two_blocks": dict(
        m=5, k=160, n=192, tile_k=32, tile_n=64, cores=2, x_resident=False
    ),
    "default_tiles_two_blocks": dict(m=16, k=256, n=512, cores=2, layout="nd"),
}


@pytest.mark.parametrize("overrides", NUMERIC_CASES.values(), ids=NUMERIC_CASES.keys())
def test_int4_gemm_matches_float64_reference(chip, overrides):
    outcome, events = run(chip, **overrides)
    assert_close(outcome)
    for name in HEALTHY_FLAGS:
        assert flagged(events, Flag[name]).empty, name
    assert (events["kind"] == "redzone_write").sum() == 0


@pytest.mark.parametrize("layout", int4_pack.LAYOUTS)
def test_on_chip_garbage_does_not_reach_y(chip, layout):
    """Device memory starts with garbage; NaN bytes in every arena must not leak
    through the rows and columns that pad tiles to the cube's 16."""
    spec = get_kernel("int4_gemm")
    params = spec.resolve(
        overrides=dict(m=3, k=100, n=200, tile_k=32, tile_n=64, cores=2, layout=layout)
    )
    device = Device(chip, Recorder())
    for idx in range(2):
        for core in (
            device.core(CoreKind.AIC, idx),
            device.core(CoreKind.AIV, 2 * idx),
            device.core(CoreKind.AIV, 2 * idx + 1),
        ):
            for arena in core.arenas.values():
                arena.data[:] = 0xFF  # fp16 NaN
    result = spec.run(device, params)
    out = result.outputs["y"].astype(np.float64)
    np.testing.assert_allclose(out, result.reference("y"), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("x_resident", [True, False])
def test_fp16_gemm_matches_float64_reference(chip, x_resident):
    outcome, events = run(
        chip, "fp16_gemm", m=3, k=96, n=192, tile_k=32, tile_n=64, cores=2, x_resident=x_resident
    )
    assert_close(outcome)
    assert not (events["space"] == "UB").any()  # a cube launch: no AIV, no workspace
    assert flagged(events, Flag.WORKSPACE).empty


def test_dequantize_adds_offset_then_multiplies_scale():
    w = np.array([[1, -8], [7, 0], [-2, 3]], dtype=np.int8)
    scale = np.array([[2.0, 0.5], [4.0, 1.0]], dtype=np.float16)
    offset = np.array([[-3.0, 1.0], [0.5, -1.0]], dtype=np.float16)
    weights = dequantize(w, scale, offset, group_size=2)  # rows 0-1 group 0, row 2 group 1
    np.testing.assert_array_equal(weights, [[-4.0, -3.5], [8.0, 0.5], [-6.0, 2.0]])


def test_antiquant_shape_must_match_group_count():
    check_antiquant_shape((3, 64), 96, 64, 32)
    with pytest.raises(ParameterError, match=r"ceil\(K/32\)=3 x N=64"):
        check_antiquant_shape((4, 64), 96, 64, 32)
    with pytest.raises(ParameterError, match="per channel"):
        dequantize(np.zeros((96, 64), np.int8), np.ones((3, 64)), np.ones((3, 64)), 0)


def test_both_aivs_of_a_block_dequantize(chip):
    _, events = run(chip, m=2, k=256, n=64, tile_k=32, cores=1)
    weight_reads = copies(events)[copies(events)["tag"] == "copy_w"]
    assert sorted(weight_reads["core"].unique()) == [0, 1]
    assert set(weight_reads["core_kind"]) == {"aiv"}
    assert set(copies(events)[copies(events)["tag"] == "copy_w_l1"]["core_kind"]) == {"aic"}


# -- parameters and validation ---------------------------------------------------

INVALID = {
    "ub_footprint": (
        dict(tile_k=256, tile_n=256),
        "UB footprint 329728 B exceeds Ascend910B2's 188416 B UB budget "
        r"\(196608 B less 8192 B .*tile_n=256, tile_k=256\)",
    ),
    # 65 rows pad to 80 (whole 16-row fractals): 80 x 256 x 4 B x 2 buffers
    "l0c": (dict(m=65, tile_n=256), "L0C tile 163840 B"),
    "l0b": (dict(tile_n=2048), "L0B tile 131072 B"),
    "l0a": (dict(m=2000, tile_n=64), "L0A tile"),
    "group_not_multiple_of_32": (dict(group_size=48), "multiple of 32"),
    "group_not_below_k": (dict(k=256, group_size=256), r"K-1=255"),
    "n_not_packable": (dict(n=100), "multiple of 8"),
    "tile_n": (dict(tile_n=100), "tile_n=100"),
    "tile_k": (dict(tile_k=40), "tile_k=40"),
    "k_limit": (dict(k=70000), "k=70000 outside 1..65535"),
    "cores": (dict(cores=25), r"cores=25 outside 0..24"),
    "gm_misalign": (dict(gm_misalign=20), "gm_misalign=20"),
    "layout": (dict(layout="nz"), "layout='nz'"),
}


@pytest.mark.parametrize(("overrides", "message"), INVALID.values(), ids=INVALID.keys())
def test_impossible_parameters_name_the_limit(chip, overrides, message):
    spec = get_kernel("int4_gemm")
    with pytest.raises(ParameterError, match=message):
        run_kernel(spec, spec.resolve(overrides=overrides), chip)


@pytest.mark.parametrize(
    ("kernel", "m", "tile_n", "needed"),
    [
        # 17 rows pad to 32: 32 x 960 fp32 x 2 buffers = 245,760 B (130,560 B unpadded)
        ("fp16_gemm", 17, 960, 245_760),
        ("int4_gemm", 17, 960, 245_760),
        # 33 rows pad to 48: 48 x 448 fp32 x 2 buffers = 172,032 B
        ("fp16_gemm", 33, 448, 172_032),
    ],
)
def test_l0c_is_checked_on_whole_fractals(chip, kernel, m, tile_n, needed):
    spec = get_kernel(kernel)
    params = spec.resolve(overrides={"m": m, "tile_n": tile_n, "n": 4096})
    assert chip.space_capacity("L0C") == 131_072 < needed
    with pytest.raises(ParameterError, match=f"L0C tile {needed} B"):
        spec.check(params, chip)


@pytest.mark.parametrize("m", [17, 33, 100])
def test_the_planner_picks_only_tiles_whose_padded_l0c_fits(chip, m):
    """With tile_n=0 the planner never takes a tile the padded L0C refuses:
    m=100 pads to 112 rows, 112 x tile_n x 4 B x 2 buffers <= 131,072 B leaves
    tile_n <= 146, so 64 or 128."""
    plan = plan_fp16(get_kernel("fp16_gemm").resolve(overrides={"m": m}), chip)
    rows = -(-m // 16) * 16
    assert plan.footprint["L0C"] == 2 * rows * plan.tile_cols * 4 <= chip.space_capacity("L0C")
    if m == 100:
        assert plan.tile_n in (64, 128)


def test_ub_plan_stays_inside_the_budget_left_by_api_scratch(chip):
    """tile_k=304, tile_n=128, double-buffered: packed 304 x 128 / 2 = 19,456 B,
    dequantized 304 x 128 x 2 = 77,824 B, scale and offset rows 2 x 128 x 2 =
    512 B; x 2 buffers = 195,584 B: inside the 192 KiB UB but past the 184 KiB
    that built-in APIs leave (UB003), so the plan is refused."""
    spec = get_kernel("int4_gemm")
    params = spec.resolve(overrides={"tile_k": 304, "tile_n": 128})
    assert chip.ub_safe_budget == 188_416
    with pytest.raises(ParameterError, match="UB footprint 195584 B exceeds .* 188416 B"):
        spec.check(params, chip)


def test_m1_l0a_blocks_are_whole_fractals_on_512_byte_boundaries(chip):
    """m=1 pads to a 16-row fractal: the L0A blocks are 16 x l0_k x 2 B, a
    multiple of 512 B, so the second block of the pair stays aligned."""
    outcome, events = run(chip, m=1, k=256, n=256, tile_k=64, tile_n=64, cores=1)
    plan = plan_int4(outcome.params, chip)
    l0a = events[(events["kind"] == "alloc") & (events["space"] == "L0A")]
    assert set(l0a["aligned_size"]) == {16 * plan.l0_k * 2}
    assert (l0a["addr"] % 512 == 0).all()
    assert flagged(events, Flag.MISALIGNED).empty
    assert_close(outcome)


def test_fp16_gemm_limits(chip):
    spec = get_kernel("fp16_gemm")
    with pytest.raises(ParameterError, match="multiples of 16"):
        spec.check(spec.resolve(overrides={"n": 200}), chip)
    with pytest.raises(ParameterError, match="L1 footprint"):
        spec.check(spec.resolve(overrides={"tile_k": 2048, "tile_n": 128}), chip)


# Values wrong whatever the tile: with tile_n or tile_k left to the planner
# (0, the default) they were reported as "no tile fits (...)".
PLAIN_ERRORS = {
    "m": ("int4_gemm", {"m": 0}, "int4_gemm: m=0, expected at least 1"),
    "tile_n": (
        "int4_gemm",
        {"tile_n": 63},
        r"int4_gemm: tile_n=63 must be a multiple of 64 \(0 = auto\)",
    ),
    "group_size": ("int4_gemm", {"group_size": 31}, "int4_gemm: group_size=31 must be 0"),
    "cores": ("int4_gemm", {"cores": -1}, "int4_gemm: cores=-1 outside 0..24"),
    "fp16_n": ("fp16_gemm", {"n": 0}, "fp16_gemm: n=0 outside 1..65535"),
}


@pytest.mark.parametrize(
    ("kernel", "overrides", "message"), PLAIN_ERRORS.values(), ids=PLAIN_ERRORS
)
def test_a_plain_parameter_error_is_reported_as_itself(chip, kernel, overrides, message):
    spec = get_kernel(kernel)
    with pytest.raises(ParameterError, match=f"^{message}"):
        spec.check(spec.resolve(overrides=overrides), chip)


def test_cli_reports_a_plain_parameter_error_as_itself(tmp_path):
    result = run_ubscope("run", "int4_gemm", "-p", "m=0", "-o", tmp_path / "gemm.ubtrace")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "ubscope: error: int4_gemm: m=0, expected at least 1"
    ]


def test_no_tile_fits_when_valid_values_fit_no_tile(chip):
    # m=2000 rows: even 16 rows of K are 2 buffers x 2000 x 16 x 2 B = 128,000 B
    # of L0A, past the 64 KiB the chip has, whatever the tile.
    spec = get_kernel("int4_gemm")
    with pytest.raises(ParameterError, match=r"^int4_gemm: no tile fits \(int4_gemm: L0A tile"):
        spec.check(spec.resolve(overrides={"m": 2000}), chip)


def test_capacity_check_off_lets_an_oversized_tiling_through(chip):
    spec = get_kernel("int4_gemm")
    params = spec.resolve(overrides={"tile_k": 256, "tile_n": 256, "check_capacity": False})
    assert plan_int4(params, chip).footprint["UB"] > chip.space_capacity("UB")


def test_default_plan_fills_the_chip_within_its_capacities(chip):
    plan = plan_int4(get_kernel("int4_gemm").defaults(), chip)
    assert plan.footprint["UB"] <= chip.ub_safe_budget
    for space in ("L1", "L0A", "L0B", "L0C"):
        assert plan.footprint[space] <= chip.space_capacity(space)
    assert plan.x_resident
    # N=4096 in 256-column tiles (512 B of fp16: y, scale and offset rows stay
    # 512 B aligned): 16 tiles, one per block on 16 of the 24 cube cores
    assert (plan.tile_n, plan.blocks) == (256, 16)


def test_narrow_layers_split_over_most_cores(chip):
    """N=1024 gives 4 tiles of 256 columns: 4 of 24 cube cores. The planner
    then tries narrower tiles and the model takes 16 tiles of 64 columns."""
    spec, layer = get_kernel("int4_gemm"), {"k": 1024, "n": 1024}
    plan = plan_int4(spec.resolve(overrides=layer), chip)
    assert (plan.tile_n, plan.blocks) == (64, 16)
    four = plan_int4(spec.resolve(overrides={**layer, "tile_n": 256}), chip)
    assert four.blocks == 4 and plan.estimate_ps < four.estimate_ps


def test_the_planner_picks_the_block_count_the_model_finishes_soonest_with(chip):
    spec = get_kernel("int4_gemm")
    params = spec.resolve(overrides={"tile_n": 256})  # 16 column tiles
    chosen = plan_int4(params, chip)
    others = [plan_int4({**params, "cores": cores}, chip) for cores in (4, 8, 16)]
    assert chosen.blocks == 16  # one column tile per block
    assert all(chosen.estimate_ps <= other.estimate_ps for other in others)
    assert others[0].estimate_ps > 2 * chosen.estimate_ps  # 4 blocks of 4 tiles


def test_trace_allocates_the_planned_footprint(chip):
    params = dict(m=4, k=512, n=512, group_size=128)
    outcome, events = run(chip, **params)
    plan = plan_int4(outcome.params, chip)
    inits = events[events["kind"] == "queue_init"]
    per_core = inits.groupby(["core_kind", "core", "space"], observed=True)["size"].sum()
    for (core_kind, _, space), used in per_core.items():
        assert used == plan.footprint[space], (core_kind, space)
    assert set(inits["space"]) == {"UB", "L1", "L0A", "L0B", "L0C"}


def test_x_too_large_for_l1_is_streamed(chip):
    spec = get_kernel("int4_gemm")
    plan = plan_int4(spec.resolve(overrides={"m": 64, "tile_n": 64}), chip)
    assert not plan.x_resident


# -- traffic --------------------------------------------------------------------


def test_each_operand_crosses_gm_once_and_workspace_is_flagged(chip):
    m, k, n = 2, 256, 512
    outcome, events = run(chip, m=m, k=k, n=n, cores=2, tile_n=256)  # 512 B-aligned y columns
    assert tensor_bytes(events, "w_int4") == k * n // 2
    assert tensor_bytes(events, "x") == 2 * m * k * 2  # once per block
    assert tensor_bytes(events, "y") == m * n * 2
    workspace = flagged(copies(events), Flag.WORKSPACE)
    assert set(workspace["tensor"]) == {"dequant_workspace"}
    assert workspace["aligned_size"].sum() == 2 * k * n * 2  # fp16 tiles written, then read
    assert flagged(events, Flag.GM_UNALIGNED).empty
    traffic = get_kernel("int4_gemm").minimal_traffic(outcome.params)
    assert traffic == {"read": m * k * 2 + k * n // 2 + 2 * n * 2, "write": m * n * 2}


def test_streaming_x_rereads_it_per_tile(chip):
    common = dict(m=4, k=256, n=256, tile_k=64, tile_n=64, cores=1)
    _, resident = run(chip, **common)
    _, streamed = run(chip, x_resident=False, **common)
    assert tensor_bytes(resident, "x") == 4 * 256 * 2
    assert tensor_bytes(streamed, "x") == 4 * tensor_bytes(resident, "x")  # 4 column tiles


@pytest.mark.parametrize("m", [1, 8, 16])
def test_default_tiling_stays_within_10_percent_of_minimal_traffic(chip, m):
    """Every block reads all of x; the re-reads after the first hit L2, so the
    HBM traffic is the GM bytes less (blocks - 1) reads of x."""
    outcome, events = run(chip, m=m)
    traffic = get_kernel("int4_gemm").minimal_traffic(outcome.params)
    minimal = traffic["read"] + traffic["write"]
    blocks = plan_int4(outcome.params, chip).blocks
    x_rereads = (blocks - 1) * m * 4096 * 2
    assert tensor_bytes(events, "x") == blocks * m * 4096 * 2
    assert minimal <= hbm_bytes(events) - x_rereads <= 1.10 * minimal
    assert outcome.result.matches()


def test_block16_keeps_weight_tiles_512_byte_aligned_where_nd_cannot(chip):
    common = dict(m=2, k=256, n=1024, cores=1)
    _, block16 = run(chip, **common)
    _, nd = run(chip, layout="nd", **common)
    assert flagged(block16, Flag.GM_UNALIGNED).empty
    nd_unaligned = flagged(gm_side(nd), Flag.GM_UNALIGNED)
    assert set(nd_unaligned["tensor"]) == {"w_int4"}  # column tiles 1-3 start 128 B in


# -- modelled time ----------------------------------------------------------------


def test_double_buffering_reduces_modelled_time(chip):
    single, _ = run(chip, record=False, m=4, k=512, n=512, double_buffer=False)
    double, _ = run(chip, record=False, m=4, k=512, n=512)
    assert double.duration_ps < single.duration_ps


def test_weight_bytes_of_int4_and_fp16():
    params = {"m": 1, "k": 4096, "n": 4096}
    fp16, int4 = weight_bytes(params, dense=True), weight_bytes(params)
    assert fp16 == 4 * 4096 * 4096 // 2
    # int4: K x N / 2 packed bytes plus one fp16 scale and one fp16 offset row.
    assert int4 == 4096 * 4096 // 2 + 2 * 4096 * 2
    assert 3.99 < fp16 / int4 < 4.0  # packed weights are 4x smaller; scale/offset add a little


def test_modelled_time_is_bounded_by_bandwidth_and_favours_int4_when_memory_bound(chip):
    """One decode token (m=1) through a 4096 x 4096 layer is memory bound: no
    kernel can beat moving its weights once at the chip's GM bandwidth, and,
    past the fixed cost of starting the launch (a mix launch's is the larger),
    int4's 4x smaller weights make it faster than fp16."""
    decode = {"m": 1, "k": 4096, "n": 4096}
    int4, fp16 = (
        modelled_time_ps(decode, chip=chip),
        modelled_time_ps(decode, dense=True, chip=chip),
    )
    picoseconds_per_byte = 1e12 / chip.gm_bandwidth
    assert int4 >= (4096 * 4096 // 2) * picoseconds_per_byte
    assert fp16 >= (4096 * 4096 * 2) * picoseconds_per_byte
    int4_blocks = plan_int4(get_kernel("int4_gemm").resolve(overrides=decode), chip).blocks
    fp16_blocks = plan_fp16(get_kernel("fp16_gemm").resolve(overrides=decode), chip).blocks
    int4_work = int4 - launch_overhead_ps(chip, "mix", int4_blocks)
    assert int4_work < fp16 - launch_overhead_ps(chip, "cube", fp16_blocks)
    one_block = {"m": 1, "k": 1024, "n": 1024, "cores": 1}
    wider = modelled_time_ps({**one_block, "n": 2048}, chip=chip)
    assert wider > modelled_time_ps(one_block, chip=chip)  # twice the weights for one block


# -- presets ---------------------------------------------------------------------


def test_nd_tail_truncation_drops_row_tails_and_breaks_numerics(chip):
    outcome, events = run(chip, preset="nd_tail_truncation")
    truncated = flagged(copies(events), Flag.TRUNCATED)
    assert not truncated.empty
    assert (truncated["aligned_size"] < truncated["size"]).all()
    assert "w_int4" in set(truncated["tensor"])
    assert not flagged(truncated, Flag.GM_UNALIGNED).empty
    assert not outcome.result.matches()
    fixed, fixed_events = run(chip, preset="nd_tail_truncation", tail_copy="pad")
    assert fixed.result.matches()
    assert flagged(fixed_events, Flag.TRUNCATED).empty
    assert not flagged(fixed_events, Flag.PADDED).empty


def test_ub_overflow_writes_into_the_red_zone(chip):
    outcome, events = run(chip, preset="ub_overflow", m=2, k=1024, n=256)
    redzone = events[events["kind"] == "redzone_write"]
    assert not redzone.empty
    assert set(redzone["space"]) == {"UB"}
    allocs = events[events["kind"] == "alloc"]
    assert not flagged(allocs, Flag.REDZONE).empty
    spec = get_kernel("int4_gemm")
    params = spec.resolve(preset="ub_overflow", overrides={"check_capacity": True})
    with pytest.raises(ParameterError, match="UB footprint"):
        spec.check(params, chip)


def test_gm_misaligned_flags_every_hbm_copy_and_costs_time(chip):
    shape = dict(m=4, k=512, n=512)
    healthy, _ = run(chip, record=False, **shape)
    outcome, events = run(chip, preset="gm_misaligned", **shape)
    found = gm_side(events)
    workspace = (found["flags"].to_numpy() & int(Flag.WORKSPACE)) != 0
    unaligned = (found["flags"].to_numpy() & int(Flag.GM_UNALIGNED)) != 0
    assert unaligned[~workspace].all()
    assert not unaligned[workspace].any()  # the runtime aligns workspaces
    assert outcome.duration_ps > healthy.duration_ps
    assert outcome.result.matches()


def test_presets_are_registered_with_descriptions():
    spec = get_kernel("int4_gemm")
    assert set(spec.presets) == {"ub_overflow", "nd_tail_truncation", "gm_misaligned"}
    assert all(description for description, _ in spec.presets.values())
    assert int4_pack.LAYOUTS == spec.param("layout").choices
