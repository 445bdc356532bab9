"""Fuzzing the readers of the files users write for ubscope: chip profile
YAML (``--chip FILE``), configuration (ubscope.yaml / pyproject.toml),
budgets YAML and baseline JSON.

Allowed outcomes: the parsed object, or a one-line UbscopeError naming the
file. YAML bombs (exponential aliases) and deep nesting must not hang or
blow the stack.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ubscope.check.baseline import baseline_text
from ubscope.check.measure import measure_traces

from . import seeds
from .fuzzkit import (
    check_stages,
    deeply_nested_json,
    fuzz,
    hostile_bytes,
    mutated_json,
    mutated_yaml,
    scratch,
    write_input,
)

CHIP_YAMLS = [
    path.read_bytes()
    for path in resources.files("ubscope.probe.chips").iterdir()
    if path.name.endswith(".yaml")
]
NESTED = [deeply_nested_json(depth) for depth in (100, 3000, 50_000)]


def load_in(worker, kind: str, path: Path, label: str) -> None:
    check_stages(worker.run("load", path=str(path), kind=kind), label, names=str(path))


def _yaml_inputs(raw: list[bytes]) -> st.SearchStrategy[bytes]:
    documents = [yaml.safe_load(seed) for seed in raw]
    return (
        hostile_bytes(raw) | mutated_yaml(documents) | st.sampled_from([seeds.YAML_BOMB, *NESTED])
    )


@fuzz()
@given(content=_yaml_inputs(CHIP_YAMLS))
def test_chip_profile_yaml(worker, content):
    with scratch() as folder:
        path = write_input(folder, "my_chip.yaml", content)
        load_in(worker, "chip", path, "chip profile YAML")


@fuzz()
@given(
    content=_yaml_inputs([seeds.CONFIG_YAML]) | hostile_bytes([seeds.CONFIG_TOML]),
    name=st.sampled_from(["ubscope.yaml", "pyproject.toml"]),
)
def test_config_file(worker, content, name):
    with scratch() as folder:
        path = write_input(folder, name, content)
        load_in(worker, "config", path, "config (ubscope.yaml / pyproject.toml)")


@fuzz()
@given(content=_yaml_inputs([seeds.BUDGETS_YAML]))
def test_budgets_yaml(worker, content):
    with scratch() as folder:
        path = write_input(folder, "budgets.yaml", content)
        load_in(worker, "budgets", path, "budgets YAML")


@pytest.fixture(scope="session")
def baseline_document(seed_traces) -> dict:
    (measurement,) = measure_traces([seed_traces[0]])
    return json.loads(baseline_text(measurement))


@fuzz()
@given(data=st.data())
def test_baseline_json(worker, baseline_document, data):
    raw = json.dumps(baseline_document, indent=2).encode()
    content = data.draw(
        hostile_bytes([raw]) | mutated_json([baseline_document]) | st.sampled_from(NESTED)
    )
    with scratch() as folder:
        path = write_input(folder, "pool_demo-0123456789.json", content)
        load_in(worker, "baseline", path, "baseline JSON")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("chip.yaml", "chip"), ("ubscope.yaml", "config"), ("budgets.yaml", "budgets")],
)
@pytest.mark.parametrize("content", [seeds.YAML_BOMB, *NESTED], ids=["bomb", "n100", "n3k", "n50k"])
def test_yaml_bombs_and_deep_nesting(worker, tmp_path, name, kind, content):
    """Exponential aliases and 50 000-deep nesting: an answer within the time
    bound (any UbscopeError, or a parse of the alias graph without expanding it)."""
    path = write_input(tmp_path, name, content)
    load_in(worker, kind, path, f"{kind} (YAML bombs, deep nesting)")


@pytest.mark.parametrize(
    "content",
    [
        b'{"schema": "ubscope.baseline/1", "kernel": "k", "params": {}, "metrics": {"a\\nb": "x"}}',
        b'{"schema": "ubscope.baseline/1", "kernel": "k", "params": {}, "metrics": {"a": '
        + b"9" * 5000
        + b"}}",
        deeply_nested_json(50_000),
    ],
    ids=["newline-in-metric-name", "5000-digit-number", "nested-50k"],
)
def test_baseline_edge_cases(worker, tmp_path, content):
    path = write_input(tmp_path, "b.json", content)
    load_in(worker, "baseline", path, "baseline JSON")
