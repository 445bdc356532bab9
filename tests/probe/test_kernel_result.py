"""KernelResult's numerics verdict: errors and match from one pass over
references that are computed slice by slice."""

from __future__ import annotations

import numpy as np

from ubscope.probe.kernel_spec import ChunkedReference, KernelResult


def test_the_verdict_computes_each_reference_slice_once():
    # y = [0.0, 0.1, ..., 0.9] against a reference 0.005 above it: max abs
    # error 0.005, within atol 1e-2 but not within atol 1e-3 (rtol 0: the
    # bound is atol alone).
    y = np.arange(10) / 10
    computed = []

    def compute(part: slice) -> np.ndarray:
        computed.append(part)
        return y[part] + 0.005

    # 8 B per index and at most CHECK_CHUNK_BYTES a slice: one slice here
    result = KernelResult({"y": y}, {"y": ChunkedReference(compute, 8)})
    assert abs(result.max_errors()["y"] - 0.005) < 1e-12
    assert result.matches()
    assert result.matches()
    assert len(computed) == 1  # the error and the default verdict came from one pass
    assert not result.matches(rtol=0.0, atol=1e-3)
    assert len(computed) == 2  # other tolerances: one more pass


def test_a_nan_output_is_reported_and_does_not_match():
    y = np.array([1.0, np.nan])
    result = KernelResult({"y": y}, {"y": np.array([1.0, 2.0])})
    # nanmax skips the NaN; the NaN still fails the comparison
    assert result.max_errors() == {"y": 0.0}
    assert not result.matches()
