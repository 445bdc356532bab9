"""The public kernel-authoring module: every exported name exists, and the
Ascend C names are the memory model's own functions, not copies."""

from __future__ import annotations

import ast
from pathlib import Path

from ubscope.probe import kernel_api
from ubscope.probe.memory import atomic, cube, datacopy, vector

REPO = Path(__file__).resolve().parents[2]


def test_every_exported_name_exists_and_is_documented():
    assert kernel_api.__doc__ and len(kernel_api.__all__) == len(set(kernel_api.__all__))
    missing = [name for name in kernel_api.__all__ if not hasattr(kernel_api, name)]
    assert not missing


def test_ascend_c_names_are_aliases_of_the_model():
    assert kernel_api.DataCopy is datacopy.data_copy
    assert kernel_api.DataCopyPadExtParams is datacopy.PadParams
    assert kernel_api.Max is vector.maximum and kernel_api.Scatter is vector.scatter
    assert kernel_api.Mmad is cube.mmad and kernel_api.Fixpipe is cube.fixpipe
    assert kernel_api.SetAtomicAdd is atomic.set_atomic_add
    assert kernel_api.SetAtomicNone is atomic.set_atomic_none


def test_the_api_imports_nothing_outside_probe():
    tree = ast.parse((REPO / "probe" / "kernel_api.py").read_text(encoding="utf-8"))
    modules = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert all(m == "__future__" or m.startswith("ubscope.probe") for m in modules)


def test_the_walkthrough_kernel_is_under_60_lines():
    # docs/writing-a-kernel.md promises a double-buffered vector add in under 60
    # lines; tests/test_docs_examples.py runs it, this keeps the promise.
    doc = (REPO / "docs" / "writing-a-kernel.md").read_text(encoding="utf-8")
    kernel = doc.split("```python\n", 1)[1].split("```", 1)[0]
    assert "double" in doc and len(kernel.splitlines()) < 60
