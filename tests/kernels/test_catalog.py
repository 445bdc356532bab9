"""Where kernels come from: built-ins, plugins (entry points) and a user's
file or module, and the one-line errors for bad ones."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from ubscope.kernels import catalog
from ubscope.kernels.catalog import (
    builtin_kernels,
    get_kernel,
    is_user_kernel,
    load_kernels,
    load_user_kernel,
    plugin_kernels,
)
from ubscope.kernels.registry import run_kernel
from ubscope.probe.errors import ParameterError
from ubscope.probe.kernel_spec import KernelResult, KernelSpec
from ubscope.probe.trace import read_trace

COPY_KERNEL = """
import numpy as np

from ubscope.probe.kernel_api import F16, DataCopy, KernelResult, KernelSpec, Param, UBBufPool


def run(device, params):
    x = np.arange(params["n"], dtype=np.float16)
    gx, gy = device.gm.tensor("x", x), device.gm.empty("y", x.shape, F16)

    def kernel(block):
        tile = UBBufPool(block.aiv).allocate(x.size, F16, "tile")
        DataCopy(tile, gx, x.size)
        DataCopy(gy, tile, x.size)

    device.launch("{name}", kernel, 1)
    return KernelResult(outputs={{"y": gy.numpy()}}, references={{"y": x.astype(np.float64)}})


{assignments}
"""


def kernel_file(folder: Path, *names: str, stem: str = "my_copy") -> Path:
    assignments = "\n".join(
        f'{name} = KernelSpec(name="{name.lower()}", summary="copy", '
        f'params=(Param("n", int, 64, "elements"),), run=run)'
        for name in names
    )
    path = folder / f"{stem}.py"
    path.write_text(COPY_KERNEL.format(name=names[0].lower(), assignments=assignments))
    return path


def ubscope(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "ubscope", *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd)


def test_the_registry_does_not_import_the_catalog():
    code = "import sys, ubscope.kernels.registry; print('ubscope.kernels.catalog' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_targets_that_name_user_kernels():
    assert is_user_kernel("my.py") and is_user_kernel("my.py:SPEC")
    assert is_user_kernel("pkg.module:SPEC")
    assert not is_user_kernel("pool_demo")


def test_a_file_with_one_spec_runs_without_minimal_traffic(tmp_path, chip):
    spec = load_user_kernel(str(kernel_file(tmp_path, "SPEC")))
    assert spec.name == "spec" and spec.minimal_traffic is None
    outcome = run_kernel(spec, spec.defaults(), chip, tmp_path / "k.ubtrace")
    assert outcome.result.matches()
    assert read_trace(tmp_path / "k.ubtrace").meta["minimal_traffic"] == {}


def test_a_file_with_several_specs_needs_a_name(tmp_path):
    path = kernel_file(tmp_path, "FIRST", "SECOND")
    with pytest.raises(ParameterError, match=r"2 KernelSpecs \(FIRST, SECOND\).*:NAME"):
        load_user_kernel(str(path))
    assert load_user_kernel(f"{path}:SECOND").name == "second"
    with pytest.raises(ParameterError, match="no KernelSpec named THIRD"):
        load_user_kernel(f"{path}:THIRD")


def test_bad_files_and_modules_are_parameter_errors(tmp_path):
    with pytest.raises(ParameterError, match="no such kernel file"):
        load_user_kernel(str(tmp_path / "missing.py"))
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('oops')\n")
    with pytest.raises(ParameterError, match="importing it failed: RuntimeError: oops"):
        load_user_kernel(str(broken))
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(ParameterError, match="defines no KernelSpec"):
        load_user_kernel(str(empty))
    with pytest.raises(ParameterError, match="cannot import"):
        load_user_kernel("no_such_package_here.kernels:SPEC")
    with pytest.raises(ParameterError, match="no KernelSpec named NOPE"):
        load_user_kernel("ubscope.kernels.pool_demo:NOPE")


def test_a_module_spec_by_name():
    assert load_user_kernel("ubscope.kernels.pool_demo:SPEC") is get_kernel("pool_demo")


class FakeEntryPoint:
    def __init__(self, name: str, loaded: object):
        self.name, self.value, self._loaded = name, f"fake.module:{name}", loaded

    def load(self) -> object:
        if isinstance(self._loaded, Exception):
            raise self._loaded
        return self._loaded


def _spec(name: str) -> KernelSpec:
    return KernelSpec(name, "a plugin", (), lambda device, params: KernelResult({}, {}))


def test_plugins_are_found_and_a_broken_one_is_one_warning(monkeypatch):
    plugins = [
        FakeEntryPoint("good", _spec("plugin_kernel")),
        FakeEntryPoint("broken", ImportError("no module named fake")),
        FakeEntryPoint("not_a_spec", 42),
        FakeEntryPoint("taken", _spec("pool_demo")),
    ]

    def entry_points(group: str):
        assert group == catalog.ENTRY_POINT_GROUP
        return plugins

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    with pytest.warns(UserWarning) as warned:
        found = plugin_kernels()
    assert list(found) == ["plugin_kernel"]
    messages = [str(w.message) for w in warned]
    assert len(messages) == 3
    assert "broken" in messages[0] and "ImportError: no module named fake" in messages[0]
    assert "not a KernelSpec" in messages[1] and "is taken" in messages[2]
    with pytest.warns(UserWarning):
        assert get_kernel("plugin_kernel") is found["plugin_kernel"]
    with pytest.warns(UserWarning):
        assert set(load_kernels()) == set(builtin_kernels()) | {"plugin_kernel"}


def test_cli_runs_a_user_file(tmp_path):
    kernel_file(tmp_path, "SPEC")
    result = ubscope("run", "my_copy.py", "-o", "k.ubtrace", "--param", "n=128", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "spec:" in result.stdout and (tmp_path / "k.ubtrace").is_file()
    analyzed = ubscope("analyze", "k.ubtrace", cwd=tmp_path)
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr


@pytest.mark.parametrize(
    "target, message",
    [
        ("missing.py", "no such kernel file"),
        ("my_copy.py:NOPE", "no KernelSpec named NOPE"),
        ("no_such_package_here:SPEC", "cannot import"),
    ],
)
def test_cli_bad_targets_are_one_line_exit_2(tmp_path, target, message):
    kernel_file(tmp_path, "SPEC")
    result = ubscope("run", target, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
