"""Baseline files: stable, reviewable, matched by kernel and parameters, written atomically."""

from __future__ import annotations

import json
import os

import pytest

from ubscope.check import baseline as baseline_module
from ubscope.check.baseline import BaselineStore, baseline_file_name, baseline_text, read_baseline
from ubscope.probe.errors import ConfigError, OutputError


def test_file_is_sorted_indented_and_newline_terminated(make_measurement):
    text = baseline_text(make_measurement())
    document = json.loads(text)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert document["schema"] == "ubscope.baseline/1"
    assert document["kernel"] == "pool_demo" and document["chip"] == "Ascend910B2"
    assert document["metrics"]["peak_bytes.UB"] == 100_000
    assert '  "metrics": {\n    "findings.by_code.GM003": 1,' in text  # one metric per line


def test_name_is_kernel_plus_hash_of_sorted_params(make_measurement):
    first = make_measurement(**{"params": {"n": 1, "tile": 2}})
    same = make_measurement(**{"params": {"tile": 2, "n": 1}})
    other = make_measurement(**{"params": {"n": 1, "tile": 4}})
    name = baseline_file_name(first)
    assert name.startswith("pool_demo-") and name.endswith(".json") and len(name) == 25
    assert baseline_file_name(same) == name != baseline_file_name(other)
    odd = make_measurement(kernel="../evil kernel")
    assert "/" not in baseline_file_name(odd) and " " not in baseline_file_name(odd)


def test_a_chip_in_the_name_is_safe_and_never_shared(make_measurement):
    plain = baseline_file_name(make_measurement())
    assert baseline_file_name(make_measurement(), with_chip=True) == plain.replace(
        ".json", "-Ascend910B2.json"
    )
    hostile = [make_measurement(chip=chip) for chip in ("../evil chip", ".._evil_chip", "x" * 300)]
    names = [baseline_file_name(m, with_chip=True) for m in hostile]
    assert len(set(names)) == 3 and all(len(name) < 100 for name in names)
    assert not any("/" in name or " " in name or name.startswith(".") for name in names)


def test_save_states_and_update(tmp_path, make_measurement):
    store = BaselineStore(tmp_path / "baselines")
    measurement = make_measurement()
    assert store.save(measurement) == "created"
    path = store.path_for(measurement)
    original = path.read_bytes()
    assert store.save(measurement) == "unchanged"
    worse = make_measurement(**{"peak_bytes.UB": 200_000})
    assert store.save(worse) == "kept" and path.read_bytes() == original
    assert store.save(worse, update=True) == "updated"
    assert read_baseline(path).metrics["peak_bytes.UB"] == 200_000
    assert store.load(make_measurement()).metrics["peak_bytes.UB"] == 200_000
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left


def test_an_interrupted_write_keeps_the_old_file(tmp_path, make_measurement, monkeypatch):
    store = BaselineStore(tmp_path)
    measurement = make_measurement()
    store.save(measurement)
    path = store.path_for(measurement)
    original = path.read_bytes()

    def crash(source, target):
        assert os.path.getsize(source) > 0  # the new content was complete beside the target
        raise KeyboardInterrupt

    monkeypatch.setattr(baseline_module.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(make_measurement(**{"peak_bytes.UB": 1}), update=True)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_unwritable_location_is_an_output_error(tmp_path, make_measurement):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="a file is in the way"):
        BaselineStore(blocker / "sub").save(make_measurement())


def test_a_baseline_of_another_configuration_or_chip_is_an_error(tmp_path, make_measurement):
    single = BaselineStore(tmp_path / "one.json")
    single.save(make_measurement())
    with pytest.raises(ConfigError, match=r"is the baseline of pool_demo\[n=16384,tile=1024\]"):
        single.load(make_measurement(**{"params": {"n": 1}}))
    with pytest.raises(ConfigError, match="recorded on Ascend910B2 but the trace is from"):
        single.load(make_measurement(chip="Ascend310P3"))
    assert BaselineStore(tmp_path / "empty").load(make_measurement()) is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", r"one\.json:1: not valid JSON"),
        ('{"schema": "other"}', "not a ubscope baseline"),
        ('{"schema": "ubscope.baseline/1", "metrics": []}', "'metrics' must be an object"),
        (
            '{"schema": "ubscope.baseline/1", "kernel": "k", "params": {}, "metrics": {"a": "1"}}',
            "metrics.a: expected a number",
        ),
        ('{"schema": "ubscope.baseline/1", "metrics": {}}', "needs 'kernel'"),
    ],
)
def test_corrupt_baselines_name_the_file(tmp_path, content, message):
    path = tmp_path / "one.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_baseline(path)


def test_unreadable_baselines_are_one_line_errors(tmp_path):
    # Baselines go through the capped reader of every small input: 1 MiB, UTF-8.
    big = tmp_path / "big.json"
    big.write_text(" " * (1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="big.json: too large for a ubscope baseline JSON file"):
        read_baseline(big)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"kernel": "caf\xe9"}')
    with pytest.raises(ConfigError, match="latin.json: not UTF-8 text"):
        read_baseline(latin)
