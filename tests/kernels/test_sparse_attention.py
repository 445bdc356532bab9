"""The attention layer with 2:4-sparse projections against the dense layer."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.kernels.sparse_attention.plan import AttentionShape
from ubscope.kernels.sparse_attention.reference import reference_attention
from ubscope.kernels.sparse_attention.specs import SPEC
from ubscope.probe.errors import ParameterError
from ubscope.probe.events import Flag
from ubscope.probe.recorder import Recorder

SMALL = {"hidden": 64, "heads": 2, "seq_len": 6, "batch": 2, "cores": 4}
LAUNCHES = ["q_proj", "k_proj", "v_proj", "attention_core", "o_proj"]


def run_recorded(chip, **overrides):
    recorder = Recorder()
    outcome = run_kernel(
        SPEC, SPEC.resolve(overrides={**SMALL, **overrides}), chip, recorder=recorder
    )
    return outcome, recorder.table().to_pandas()


@pytest.mark.parametrize(
    "overrides",
    [
        {"sparse": True, "variant": "gather"},
        {"sparse": True, "variant": "rebuild", "meta_format": "byte"},
        {"sparse": False},
        {"hidden": 96, "heads": 3, "seq_len": 5, "batch": 1, "double_buffer": False},
        {"seq_len": 1, "batch": 3},
        {"causal": False},
    ],
)
def test_layer_matches_float64_reference(chip, overrides: dict) -> None:
    outcome, events = run_recorded(chip, **overrides)
    assert outcome.result.matches(), outcome.result.max_errors()
    begins = events[events["kind"] == "kernel_begin"]
    assert begins["name"].astype(str).tolist() == LAUNCHES
    assert not np.any(events["flags"].to_numpy() & int(Flag.TRUNCATED | Flag.MISALIGNED))


def test_reference_is_softmax_attention() -> None:
    """One head, one token: softmax over a single key is 1, so ctx = v."""
    shape = AttentionShape(batch=1, seq_len=1, hidden=16, heads=1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 16))
    weights = {name: rng.standard_normal((16, 16)) for name in "qkvo"}
    expected = (x @ weights["v"].T) @ weights["o"].T
    for causal in (True, False):
        np.testing.assert_allclose(reference_attention(x, weights, shape, causal=causal), expected)


def test_the_causal_mask_changes_every_token_but_the_last(chip) -> None:
    """The last token of a sequence sees every token either way; the others see
    fewer with the mask, so their context (and the layer output) differs."""
    outputs = {}
    for causal in (True, False):
        outcome, _ = run_recorded(chip, causal=causal)
        assert outcome.result.matches(), outcome.result.max_errors()
        outputs[causal] = outcome.result.outputs["out"].astype(np.float64)
    s = SMALL["seq_len"]
    last = np.arange(SMALL["batch"]) * s + s - 1
    np.testing.assert_allclose(outputs[True][last], outputs[False][last], rtol=1e-2, atol=1e-2)
    earlier = np.setdiff1d(np.arange(SMALL["batch"] * s), last)
    assert np.all(np.abs(outputs[True][earlier] - outputs[False][earlier]).max(axis=1) > 1e-3)


def test_sparse_projections_read_fewer_gm_bytes(chip) -> None:
    reads = {}
    for sparse in (True, False):
        _, events = run_recorded(chip, sparse=sparse)
        copies = events[(events["kind"] == "copy") & (events["src_space"] == "GM")]
        weights = copies["tensor"].astype(str).str.startswith("w")
        reads[sparse] = int(copies.loc[weights, "aligned_size"].sum())
    hidden = SMALL["hidden"]
    assert reads[False] == 4 * hidden * hidden * 2  # each dense weight once
    assert reads[True] == 4 * (hidden * hidden + hidden * hidden // 8)  # values + nibble metadata


def test_validate_names_the_limit(chip) -> None:
    def check(message: str, **overrides) -> None:
        with pytest.raises(ParameterError, match=message):
            SPEC.check(SPEC.resolve(overrides={**SMALL, **overrides}), chip)

    check("hidden=100: must be a multiple of heads=3", hidden=100, heads=3)
    check("head_dim=24", hidden=48, heads=2)
    check("seq_len=512: the attention core needs", seq_len=512)
    check("variant='dense'", variant="dense")
    check("cores=0", cores=0)
    check("batch=0: must be at least 1", batch=0)


def test_registered_with_the_llama_preset(chip) -> None:
    spec = get_kernel("sparse_attention")
    spec.check(spec.defaults(), chip)
    llama = spec.resolve(preset="llama2_13b")
    assert (llama["hidden"], llama["heads"], llama["hidden"] // llama["heads"]) == (5120, 40, 128)
    spec.check(llama, chip)
    traffic = spec.minimal_traffic(spec.resolve(overrides=SMALL))
    # per launch: q, k, v, ctx and the layer output, each written once
    assert traffic["write"] == 5 * SMALL["batch"] * SMALL["seq_len"] * SMALL["hidden"] * 2
