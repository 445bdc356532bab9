"""Paged decode attention: numerics against float64, GM traffic, KV page accounting."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.kernels.paged_attention.scenario import decode_plan, plan_decode
from ubscope.kernels.paged_attention.specs import SPEC
from ubscope.kernels.paged_attention.tiling import AttentionTiling
from ubscope.kernels.registry import run_kernel
from ubscope.probe.errors import ParameterError
from ubscope.probe.events import Flag
from ubscope.probe.recorder import Recorder

SMALL = dict(
    batch=2, heads=2, kv_heads=1, head_dim=16, block_size=16, max_seq_len=40, steps=3, cores=2
)


def run(chip, recorder=None, **overrides):
    params = SPEC.resolve(overrides={**SMALL, **overrides})
    return params, run_kernel(SPEC, params, chip, recorder=recorder).result


def traced(chip, **overrides):
    recorder = Recorder()
    params, result = run(chip, recorder, **overrides)
    return params, result, recorder.table().to_pandas()


SHAPES = [
    pytest.param({}, id="mha-b16-d16"),
    pytest.param(
        dict(heads=4, kv_heads=2, head_dim=32, block_size=32, max_seq_len=100, layout="contiguous"),
        id="gqa-contiguous",
    ),
    pytest.param(
        dict(head_dim=80, max_seq_len=50, double_buffer=False, seed=3),
        id="d80-folded-single-buffer",
    ),
    pytest.param(
        dict(batch=1, heads=3, kv_heads=3, block_size=48, max_seq_len=97, cores=4, seed=1),
        id="idle-cores",
    ),
    pytest.param(
        dict(
            batch=1,
            heads=2,
            head_dim=128,
            block_size=128,
            max_seq_len=300,
            steps=1,
            cores=1,
            seed=2,
        ),
        id="chunked-pages",
    ),
]


@pytest.mark.parametrize("overrides", SHAPES)
def test_matches_float64_attention(chip, overrides):
    params, result = run(chip, **overrides)
    out, ref = result.outputs["out"], result.reference("out")
    assert out.shape == (params["steps"], params["batch"], params["heads"], params["head_dim"])
    np.testing.assert_allclose(out.astype(np.float64), ref, rtol=1e-2, atol=1e-2)
    lengths = [n for step in decode_plan(params) for n in step.lengths]
    assert any(n % params["block_size"] for n in lengths)  # partly filled last pages


def test_large_pages_are_computed_in_chunks_that_fit_ub(chip):
    params = SPEC.resolve(overrides={"head_dim": 128, "block_size": 128})
    tiling = AttentionTiling.fit(params, chip)
    assert tiling.chunk < tiling.block_size
    assert tiling.ub_bytes <= chip.ub_safe_budget


@pytest.mark.parametrize("overrides", [{}, {"heads": 4, "kv_heads": 2, "block_size": 32}])
def test_gm_traffic_is_the_minimum(chip, overrides):
    """q once, each live K/V token once per step (shared by the GQA group), out once."""
    params, _, ev = traced(chip, **overrides)
    copies = ev[ev.kind == "copy"]
    read = copies[copies.src_space == "GM"].aligned_size.sum()
    written = copies[copies.space == "GM"].aligned_size.sum()
    steps = decode_plan(params)
    heads_bytes = params["batch"] * params["heads"] * params["head_dim"] * 2  # fp16 q or out
    token_bytes = 2 * params["kv_heads"] * params["head_dim"] * 2  # one K and one V row
    live_tokens = sum(sum(step.lengths) for step in steps)
    assert read == len(steps) * heads_bytes + live_tokens * token_bytes
    assert written == len(steps) * heads_bytes
    assert {"read": read, "write": written} == SPEC.minimal_traffic(params)
    assert not (copies["flags"] & int(Flag.TRUNCATED)).any()


@pytest.mark.parametrize("kv_heads", [1, 2])
def test_full_pages_use_datacopy_and_last_pages_datacopypad(chip, kv_heads):
    params, _, ev = traced(chip, heads=2, kv_heads=kv_heads)
    pages = ev[(ev.kind == "copy") & ev.name.isin(["k_page", "v_page"])]
    padded = (pages["flags"] & int(Flag.PADDED)) != 0
    block, row_bytes = params["block_size"], params["head_dim"] * 2
    lengths = [n for step in decode_plan(params) for n in step.lengths]
    partial = sum(1 for n in lengths if n % block)
    full = sum(n // block for n in lengths)
    assert padded.sum() == 2 * partial * kv_heads
    assert (~padded).sum() == 2 * full * kv_heads
    assert (pages[~padded].aligned_size == block * row_bytes).all()
    assert (pages[padded].aligned_size < block * row_bytes).all()
    # One burst per row when the other KV head's rows interleave, else one burst.
    rows = pages.aligned_size // row_bytes
    assert (pages.burst_count == (rows if kv_heads > 1 else 1)).all()


def kv_reservation(ev):
    """Peak bytes reserved at once, pages handed out, and tokens held at release."""
    pages = ev[ev.kind.isin(["kv_page_alloc", "kv_page_free"])]
    sign = np.where(pages.kind == "kv_page_alloc", 1, -1)
    live = np.cumsum(sign * pages["size"].to_numpy())
    frees = pages[pages.kind == "kv_page_free"]
    return live.max(), (sign > 0).sum(), (sign < 0).sum(), frees.arg2.sum(), live[-1]


def test_paged_reserves_less_than_contiguous_for_the_same_workload(chip):
    params, _, paged = traced(chip, max_seq_len=96, steps=4)
    _, _, contiguous = traced(chip, max_seq_len=96, steps=4, layout="contiguous")
    paged_peak, paged_allocs, paged_frees, paged_tokens, paged_left = kv_reservation(paged)
    cont_peak, cont_allocs, cont_frees, cont_tokens, cont_left = kv_reservation(contiguous)
    assert paged_peak < cont_peak
    assert paged_tokens == cont_tokens  # the same tokens were cached
    assert paged_allocs == paged_frees and cont_allocs == cont_frees  # all freed at the end
    assert paged_left == cont_left == 0
    sequences = {seq for step in decode_plan(params) for seq in step.sequences}
    assert cont_allocs == len(sequences) * -(-params["max_seq_len"] // params["block_size"])


def test_paged_hands_out_ceil_of_each_sequence_length(chip):
    params, _, ev = traced(chip, steps=4)
    final: dict[int, int] = {}
    for step in decode_plan(params):
        final.update(zip(step.sequences, step.lengths, strict=True))
    allocs = ev[ev.kind == "kv_page_alloc"].groupby("arg").size()
    expected = {seq: -(-n // params["block_size"]) for seq, n in final.items()}
    assert allocs.to_dict() == expected


def test_plan_has_arrivals_and_departures():
    plan = plan_decode(3, 64, 6, 0)
    assert plan[0].admitted and not plan[0].released
    assert any(step.released for step in plan[1:])
    for step in plan:
        assert len(step.sequences) == len(step.lengths) == 3
        assert all(2 <= n <= 64 for n in step.lengths)
    assert plan_decode(3, 64, 6, 0) == plan


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"block_size": 100}, "block_size=100 must be a multiple of 16"),
        ({"block_size": 1024}, "at most 512"),
        ({"head_dim": 24}, "head_dim=24 must be a multiple of 16"),
        ({"heads": 3, "kv_heads": 2}, "heads=3 must be a positive multiple of kv_heads=2"),
        ({"heads": 0}, "heads=0"),
        ({"layout": "ring"}, "layout='ring' must be one of paged, contiguous"),
        ({"max_seq_len": 1}, "max_seq_len=1"),
        ({"block_size": 512, "head_dim": 512}, "UB per core but Ascend910B2 allows 188416 B"),
    ],
)
def test_invalid_parameters_name_the_limit(chip, overrides, message):
    params = SPEC.resolve(overrides={**SMALL, **overrides})
    with pytest.raises(ParameterError, match=message):
        run_kernel(SPEC, params, chip)
