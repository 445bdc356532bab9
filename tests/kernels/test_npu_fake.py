"""``--backend npu`` end to end against a fake torch/torch_npu: the kernels keep
the operator's inputs, the operator is called with the documented arguments
and layouts, its numpy result is compared with the emulated output, and the
profiler folder it writes is read by the torch_npu reader. Only the device is
missing."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
from ubscope.cli import main
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.npu_backend import cross_check
from ubscope.kernels.registry import run_kernel

from .fake_torch_npu import MB, FakeNpu

INT4 = {"m": 4, "k": 256, "n": 128, "tile_n": 64, "tile_k": 64, "group_size": 64}
PAGED = {
    "batch": 3,
    "heads": 4,
    "kv_heads": 2,
    "head_dim": 32,
    "block_size": 16,
    "max_seq_len": 64,
    "steps": 3,
}


@pytest.fixture
def fake(monkeypatch) -> FakeNpu:
    npu = FakeNpu()
    torch, torch_npu = npu.modules()
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch_npu", torch_npu)
    return npu


def _run(kernel: str, overrides: dict, chip):
    spec = get_kernel(kernel)
    outcome = run_kernel(spec, spec.resolve(overrides=overrides), chip)
    return outcome.params, outcome.result


def test_int4_gemm_cross_check_calls_the_operators_as_documented(fake, chip, tmp_path):
    params, result = _run("int4_gemm", INT4, chip)
    m, k, n, groups = 4, 256, 128, 256 // 64
    assert {name: a.shape for name, a in result.inputs.items()} == {
        "x": (m, k),
        "w_int": (k, n),
        "scale": (groups, n),
        "offset": (groups, n),
    }
    check = cross_check("int4_gemm", params, result, tmp_path / "profile")
    assert check.matches and check.max_abs_error < 1e-2
    convert, matmul = fake.calls
    weight = convert.args[0]
    assert convert.op == "npu_convert_weight_to_int4pack"
    assert weight.device == "npu" and weight.data.dtype == np.int32 and weight.data.shape == (k, n)
    x, packed, scale = matmul.args
    assert matmul.op == "npu_weight_quant_batchmatmul"
    assert x.data.dtype == np.float16 and x.data.shape == (m, k)
    assert packed.data.dtype == np.int32 and packed.data.shape == (k, n // 8)
    assert scale.data.shape == (groups, n) and matmul.kwargs["antiquant_offset"].data.shape == (
        groups,
        n,
    )
    assert matmul.kwargs["antiquant_group_size"] == 64
    # The fake's float64 numpy result agrees with the emulated output, and the
    # comparison would catch an emulated output that is off.
    result.outputs["y"] = result.outputs["y"] + np.float16(0.25)
    assert not cross_check("int4_gemm", params, result, runtime=None).matches


def test_paged_attention_cross_check_uses_the_last_decode_step(fake, chip):
    params, result = _run("paged_attention", PAGED, chip)
    check = cross_check("paged_attention", params, result)
    assert check.matches and check.operator_output.shape == (3, 4, 32)
    (call,) = fake.calls
    query, key, value = call.args
    blocks = key.data.shape[0]
    assert query.data.shape == (3, 1, 4 * 32)  # BSH
    assert key.data.shape == value.data.shape == (blocks, 16, 2 * 32)  # (blocknum, block_size, H)
    table = call.kwargs["block_table"].data
    lengths = call.kwargs["actual_seq_lengths"]
    assert table.dtype == np.int32 and table.shape == (3, math.ceil(64 / 16))
    assert len(lengths) == 3 and all(1 < length <= 64 for length in lengths)
    for row, length in zip(table, lengths, strict=True):
        used = row[: math.ceil(length / 16)]
        assert ((used >= 0) & (used < blocks)).all()
    assert call.kwargs["num_heads"] == 4 and call.kwargs["num_key_value_heads"] == 2
    assert call.kwargs["block_size"] == 16 and call.kwargs["input_layout"] == "BSH"
    assert call.kwargs["scale_value"] == pytest.approx(1 / math.sqrt(32))
    # The last step's output, not the first one, is what the operator matches.
    np.testing.assert_allclose(check.operator_output, result.outputs["out"][-1], atol=1e-2)
    assert not np.allclose(check.operator_output, result.outputs["out"][0], atol=1e-2)


def test_the_profiler_folder_is_read_by_the_torch_npu_reader(fake, chip, tmp_path):
    params, result = _run("int4_gemm", INT4, chip)
    cross_check("int4_gemm", params, result, tmp_path / "profile")
    report = read_torch_npu(tmp_path / "profile")
    by_name = report.tables["operator_memory_by_name"].set_index("name")
    # y is m x n fp16 = 4 x 128 x 2 B = 1 KiB; the packed weight k x n/8 int32 = 16 KiB.
    assert by_name.loc["npu::npu_weight_quant_batchmatmul", "max_kb"] == pytest.approx(1.0)
    assert by_name.loc["npu::npu_convert_weight_to_int4pack", "max_kb"] == pytest.approx(16.0)
    # Everything on the NPU at the end: x 2 KiB, w int32 128 KiB, packed 16 KiB,
    # scale and offset 1 KiB each, y 1 KiB = 149 KiB.
    summary = report.tables["memory_record_summary"]
    assert summary["peak_allocated_mb"].max() == pytest.approx(149 * 1024 / MB)


def test_cli_backend_npu_runs_compares_and_profiles(fake, tmp_path, capsys):
    trace = tmp_path / "gemm.ubtrace"
    assignments = [arg for key, value in INT4.items() for arg in ("-p", f"{key}={value}")]
    assert main(["run", "int4_gemm", *assignments, "--backend", "npu", "-o", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "torch_npu operator matches the emulated output" in " ".join(out.split())
    profile = trace.with_suffix(".torch_npu")
    assert read_torch_npu(profile).tables["memory_record"].shape[0] == 6
    capsys.readouterr()
    assert main(["analyze", str(profile)]) in (0, 1)  # 2 would be "not readable"
    assert "torch_npu" in capsys.readouterr().out
