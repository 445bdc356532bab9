"""Every integer parameter of every built-in kernel at 0 or -1 (small shapes
otherwise) is refused by the kernel's validation, naming the value, or runs:
never an error midway through the run, which ``ubscope run`` shows as a
traceback and a sweep records as ``crashed`` instead of ``invalid``."""

from __future__ import annotations

import pytest

from tests.helpers.small_shapes import SMALL
from ubscope.kernels.catalog import builtin_kernels
from ubscope.kernels.registry import run_kernel
from ubscope.probe.errors import ParameterError

INTEGER_PARAMS = [
    (kernel, param.name)
    for kernel, spec in sorted(builtin_kernels().items())
    for param in spec.params
    if param.type is int
]


@pytest.mark.parametrize("value", [0, -1])
@pytest.mark.parametrize(
    ("kernel", "name"), INTEGER_PARAMS, ids=[f"{kernel}.{name}" for kernel, name in INTEGER_PARAMS]
)
def test_zero_or_negative_is_refused_before_running_or_runs(chip, kernel, name, value):
    spec = builtin_kernels()[kernel]
    params = spec.resolve(overrides={**SMALL[kernel], name: value})
    try:
        spec.check(params, chip)
    except ParameterError as refusal:
        assert f"{name}={value}" in str(refusal)
        assert len(str(refusal).splitlines()) == 1
        return
    run_kernel(spec, params, chip)  # any error here, ParameterError too, fails


@pytest.mark.parametrize(
    ("kernel", "name", "value", "message"),
    [
        ("layernorm", "cores", 0, "cores=0: Ascend910B2 has 48 cores for a vector launch (1..48)"),
        ("paged_attention", "cores", 0, "cores=0: Ascend910B2 has 48 cores"),
        ("paged_attention", "batch", 0, "paged_attention: batch=0, expected at least 1"),
        ("paged_attention", "steps", -1, "paged_attention: steps=-1, expected at least 1"),
        ("sparse_matmul", "seed", -1, "sparse_matmul: seed=-1, expected at least 0"),
        ("sparse_attention", "seed", -1, "sparse_attention: seed=-1, expected at least 0"),
        ("fp16_gemm", "seed", -1, "fp16_gemm: seed=-1, expected at least 0"),
    ],
)
def test_the_refusal_names_the_parameter_and_what_is_expected(chip, kernel, name, value, message):
    spec = builtin_kernels()[kernel]
    with pytest.raises(ParameterError) as refused:
        spec.check(spec.resolve(overrides={**SMALL[kernel], name: value}), chip)
    assert str(refused.value).startswith(message)
