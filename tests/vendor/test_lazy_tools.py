"""The registry names each tool's functions as ``"module:function"``
(analyzers/vendor/tool.py ``lazy``): every name must resolve, and listing the
tools must load none of them."""

from __future__ import annotations

import importlib
import json
import pickle
import subprocess
import sys

from ubscope.analyzers import vendor_tools
from ubscope.analyzers.vendor.tool import lazy


def test_every_lazy_target_names_a_function():
    for tool in vendor_tools():
        for field in ("detect", "read", "to_trace", "save_trace"):
            function = getattr(tool, field)
            if function is None:
                continue
            module, name = function.target.split(":")
            assert callable(getattr(importlib.import_module(module), name)), (tool.name, field)
        assert importlib.import_module(tool.rules)


def test_a_lazy_function_calls_its_target_and_pickles():
    join = lazy("os.path:join")
    assert join("a", "b") == "a/b"
    again = pickle.loads(pickle.dumps(join))  # noqa: S301 - bytes made one line above
    assert again("c", "d") == "c/d" and repr(again) == "lazy('os.path:join')"


def test_listing_the_tools_loads_no_reader():
    probe = (
        "import json, sys\n"
        "from ubscope.analyzers import vendor_tools\n"
        "options = [tool.option for tool in vendor_tools()]\n"
        "print(json.dumps([options, sorted(sys.modules)]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    options, modules = json.loads(done.stdout)
    assert "--sanitizer" in options and "--torch-npu" in options
    assert not {"pandas", "pyarrow", "numpy"} & set(modules)
    assert not [name for name in modules if name.endswith((".reader", ".detect", ".rules"))]
