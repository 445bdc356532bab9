"""The guarded NPU path, tested with its imports failing (no NPU here)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from ubscope.cli import main
from ubscope.kernels import npu_backend
from ubscope.kernels.npu_backend import NpuRuntime, NpuUnavailable, cross_check, probe_npu
from ubscope.probe.kernel_spec import KernelResult


def _fake_torch(available: bool) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.npu = types.SimpleNamespace(is_available=lambda: available)
    return torch


def test_without_torch_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(NpuUnavailable, match=r"ubscope\[npu\]"):
        probe_npu()


def test_torch_npu_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(True))
    monkeypatch.setitem(sys.modules, "torch_npu", None)
    with pytest.raises(NpuUnavailable, match="torch_npu"):
        probe_npu()


def test_torch_npu_without_cann_libraries(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(True))
    monkeypatch.delitem(sys.modules, "torch_npu", raising=False)
    real_import = npu_backend.importlib.import_module

    def failing_import(name: str):
        if name == "torch_npu":
            raise OSError("libascendcl.so: cannot open shared object file")
        return real_import(name)

    monkeypatch.setattr(npu_backend.importlib, "import_module", failing_import)
    with pytest.raises(NpuUnavailable, match="CANN's libraries are absent"):
        probe_npu()


def test_no_device_visible(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(False))
    monkeypatch.setitem(sys.modules, "torch_npu", types.ModuleType("torch_npu"))
    with pytest.raises(NpuUnavailable, match="no NPU device"):
        probe_npu()


def test_cross_check_compares_with_the_emulated_output(monkeypatch):
    result = KernelResult(
        outputs={"y": np.array([1.0, 2.0], np.float16)},
        references={"y": np.array([1.0, 2.0])},
        inputs={"x": np.zeros(2)},
    )
    runtime = NpuRuntime(types.ModuleType("torch"), types.ModuleType("torch_npu"))
    monkeypatch.setitem(
        npu_backend.OPERATORS,
        "fake",
        (lambda rt, inputs, params: np.array([1.0, 2.5]), lambda result: result.outputs["y"]),
    )
    check = cross_check("fake", {}, result, runtime=runtime)
    assert not check.matches and check.max_abs_error == pytest.approx(0.5)
    with pytest.raises(NpuUnavailable, match="no torch_npu operator"):
        cross_check("pool_demo", {}, result, runtime=runtime)


def test_cli_backend_npu_says_what_is_missing_and_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["run", "pool_demo", "--backend", "npu", "-o", "unused.ubtrace"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "torch is not installed" in err[0]
