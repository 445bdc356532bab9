"""Fuzzing through the command line: hostile files given to the commands
that read them. Allowed: exit 0 or 1 (findings / regressions), or exit 2
with exactly one ``ubscope: error:`` line on stderr; never a traceback."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ubscope.check.baseline import baseline_text
from ubscope.check.measure import measure_traces

from . import seeds
from .fuzzkit import (
    assert_one_line,
    fuzz,
    hostile_bytes,
    mutated_json,
    mutated_yaml,
    record,
    scratch,
    write_input,
)

CHIP_YAML = resources.files("ubscope.probe.chips").joinpath("Ascend910B2.yaml").read_bytes()
# argv template (F = the fuzzed file, T = a good trace, O = an output folder) -> file name
COMMANDS = {
    ("trace", "info", "F"): ("t.ubtrace", "trace"),
    ("analyze", "F", "--format", "json"): ("t.ubtrace", "trace"),
    ("export", "F", "--format", "csv", "-o", "O/e.csv"): ("t.ubtrace", "trace"),
    ("analyze", "--msadvisor", "F", "--format", "sarif"): ("result.json", "advisor"),
    ("analyze", "--msprof-op", "F"): ("ResourceConflictRatio.csv", "conflict"),
    ("analyze", "T", "--chip", "F"): ("chip.yaml", "chip"),
    ("analyze", "T", "--config", "F"): ("ubscope.yaml", "config"),
    ("check", "T", "--budget", "F"): ("budgets.yaml", "budgets"),
    ("check", "T", "--baseline", "F"): ("pool_demo.json", "baseline"),
}


@pytest.fixture(scope="session")
def cli_seeds(seed_traces) -> dict[str, st.SearchStrategy[bytes]]:
    (measurement,) = measure_traces([seed_traces[0]])
    baseline = json.loads(baseline_text(measurement))
    documents = {
        "chip": yaml.safe_load(CHIP_YAML),
        "config": yaml.safe_load(seeds.CONFIG_YAML),
        "budgets": yaml.safe_load(seeds.BUDGETS_YAML),
    }
    strategies = {
        "trace": hostile_bytes([path.read_bytes() for path in seed_traces]),
        "advisor": hostile_bytes(seeds.ADVISOR_JSON_SEEDS) | mutated_json([seeds.ADVISOR_RESULT]),
        "conflict": hostile_bytes([seeds.CONFLICT_CSV]),
        "baseline": hostile_bytes([baseline_text(measurement).encode()]) | mutated_json([baseline]),
    }
    for kind, document in documents.items():
        raw = yaml.safe_dump(document).encode()
        strategies[kind] = hostile_bytes([raw]) | mutated_yaml([document])
    return strategies


@fuzz(weight=0.4)
@given(command=st.sampled_from(sorted(COMMANDS)), data=st.data())
def test_cli_with_hostile_files(worker, seed_traces, cli_seeds, command, data):
    name, kind = COMMANDS[command]
    content = data.draw(cli_seeds[kind])
    with scratch() as folder:
        path = write_input(folder, name, content)
        (folder / "O").mkdir()
        substitute = {"F": str(path), "T": str(seed_traces[0])}
        argv = [substitute.get(arg, arg.replace("O/", f"{folder}/O/")) for arg in command]
        (stage,) = worker.run("cli", argv=argv, cwd=str(folder))
    label = f"CLI: ubscope {' '.join(command)}"
    if stage["outcome"] == "crash":
        raise AssertionError(
            f"{label} raised {stage['type']}: {stage['message']} at {stage['where']}"
        )
    code, err = stage["info"]["code"], stage["info"]["stderr"]
    assert "Traceback" not in err, f"{label}: {err}"
    assert code in (0, 1, 2), f"{label}: exit {code}: {err}"
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("ubscope: error: "), f"{label}: {err!r}"
        assert_one_line(lines[0], label)
    record(label, "error" if code == 2 else "parsed", stage["seconds"])
