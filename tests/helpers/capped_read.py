"""Reading one input in a child process whose address space is capped
(``RLIMIT_AS``) at what the interpreter holds after importing ubscope plus
ALLOWANCE, and whose run is bounded in time (tests/hardening/test_bounded_memory.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FULL_SCALE = (
    os.environ.get("UBSCOPE_SCALE_TESTS") == "1" or os.environ.get("HYPOTHESIS_PROFILE") == "long"
)
ALLOWANCE = 256 << 20
TIMEOUT = 1800 if FULL_SCALE else 120
# Runs in the child: cap the address space, read, print the outcome as JSON.
CHILD = """
import importlib, json, resource, sys, warnings
import pyarrow
from ubscope.analyzers.vendor.registry import readers
from ubscope.analyzers.config import discover_config
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import PartialReadWarning, UbscopeError

LOADERS = {**readers(), "chip": load_chip, "config": discover_config}
# The cap bounds what the reading holds, not the set-up: a vendor reader is lazy
# (imported on its first call), so import it first; Arrow's memory pool reserves
# ~1 GB of address space (not resident) on its first allocation, so make one.
target = getattr(LOADERS[sys.argv[2]], "target", None)
if target is not None:
    importlib.import_module(target.split(":")[0])
pyarrow.array([0])
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
limit = size + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
outcome = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        result = LOADERS[sys.argv[2]](sys.argv[3])
        tables = getattr(result, "tables", {})
        outcome = {"result": "parsed", "tables": {k: list(v.shape) for k, v in tables.items()}}
        del result, tables
    except UbscopeError as error:
        outcome = {"result": "error", "message": str(error)}
    except MemoryError:
        outcome = {"result": "MemoryError"}
outcome["warnings"] = [str(w.message) for w in caught if w.category is PartialReadWarning]
print(json.dumps(outcome))
"""


def read_capped(kind: str, path: Path) -> dict:
    """How ``kind``'s reader ended on ``path`` within ALLOWANCE and TIMEOUT."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(ALLOWANCE), kind, str(path)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            cwd=path.parent,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{kind} reader: no answer within {TIMEOUT} s on {path.name}")
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["result"] != "MemoryError", f"{kind} reader needed over {ALLOWANCE >> 20} MiB"
    return outcome
