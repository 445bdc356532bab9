"""Budgets YAML: limits per kernel pattern, tolerances, and file:line errors."""

from __future__ import annotations

import textwrap

import pytest

from ubscope.analyzers import load_rules
from ubscope.check.budgets import Budgets, load_budgets
from ubscope.probe.errors import ConfigError

BUDGETS = """\
tolerance:
  default: 1%
  peak_bytes.UB: 4 KiB
default:
  peak_bytes: {UB: 184 KiB}
  findings: {error: 0}
kernels:
  "pool*":
    peak_bytes:
      UB: 160 KiB
      L1: 512 KiB
    gm: {read_bytes: 64 MiB, write_bytes: 16 MiB, ratio_to_minimum: 1.2}
    fragmentation: {max_external: 0.3, failed_allocs_with_enough_free: 0}
    findings: {ALN: 0, UB001: 1, warning: 3}
  pool_demo:
    gm.read_bytes: 1 MiB
"""


def _write(tmp_path, text: str):
    path = tmp_path / "budgets.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_limits_merge_default_then_matching_patterns_in_file_order(tmp_path):
    path = _write(tmp_path, BUDGETS)
    budgets = load_budgets(path)
    limits = budgets.limits_for("pool_demo")
    assert {metric: limit.value for metric, limit in limits.items()} == {
        "peak_bytes.UB": 160 * 1024,
        "peak_bytes.L1": 512 * 1024,
        "gm.read_bytes": 1024**2,  # the later, exact pattern overrides "pool*"
        "gm.write_bytes": 16 * 1024**2,
        "gm.ratio_to_minimum": 1.2,
        "fragmentation.max_external": 0.3,
        "fragmentation.failed_allocs_with_enough_free": 0,
        "findings.error": 0,
        "findings.warning": 3,
        "findings.by_code.ALN*": 0,
        "findings.by_code.UB001": 1,
    }
    assert limits["peak_bytes.UB"].line == 10 and limits["peak_bytes.UB"].file == str(path)
    assert limits["gm.read_bytes"].origin == f"budget {path}:16"
    assert {m: x.value for m, x in budgets.limits_for("int4_gemm").items()} == {
        "peak_bytes.UB": 184 * 1024,
        "findings.error": 0,
    }


def test_tolerances_come_from_the_file(tmp_path):
    budgets = load_budgets(_write(tmp_path, BUDGETS))
    assert budgets.tolerances.default.text == "1%"
    assert budgets.tolerances.for_metric("peak_bytes.UB").absolute == 4096


def test_an_empty_file_has_no_limits(tmp_path):
    budgets = load_budgets(_write(tmp_path, "# nothing yet\n"))
    assert budgets.limits_for("pool_demo") == {} and budgets.tolerances.default.text == "2%"


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("peek_bytes:\n  UB: 1\n", 1, "unknown key 'peek_bytes' (expected tolerance, default"),
        ("default:\n  peak_bytes:\n    UBB: 1 KiB\n", 3, "unknown space 'UBB'"),
        ("default:\n  gm: {reads: 1}\n", 2, "unknown field 'reads'"),
        ("kernels:\n  k:\n    peak: {UB: 1}\n", 3, "kernels.k: unknown key 'peak'"),
        ("default:\n\n  peak_bytes: {UB: lots}\n", 3, "expected a size like '160 KiB'"),
        ("default:\n  peak_bytes.UB: -4\n", 2, "cannot be negative"),
        ("default:\n  fragmentation: {failed_allocs_with_enough_free: 1.5}\n", 2, "whole number"),
        ("default:\n  gm: {ratio_to_minimum: yes}\n", 2, "expected a number"),
        ("default:\n  findings: {warn: 1}\n", 2, "neither a severity"),
        (
            "default:\n  findings: {XYZ123: 0}\n",
            2,
            "findings: 'XYZ123' is neither a severity (error, warning, info), a rule code like "
            "UB001 (`ubscope rules` lists them) nor a rule family (ADV, ALN,",
        ),
        ("kernels:\n  k:\n    findings:\n\n      UB01: 0\n", 5, "'UB01' is neither a severity"),
        ("default:\n  findings.by_code.UB01: 0\n", 2, "'UB01' is neither a severity"),
        ("default:\n  findings: {ub: 0}\n", 2, "'ub' is neither a severity"),
        ("default:\n  peak_byte.UB: 1\n", 2, "unknown metric 'peak_byte.UB'"),
        ("kernels:\n  x: 3\n", 2, "expected a mapping"),
        ("default: {}\ndefault: {}\n", 2, "duplicate key 'default'"),
        ("tolerance: {default: 4 KiB}\n", 1, "must be a percentage"),
        ("tolerance:\n  fragmentation.max_external: 1 KiB\n", 2, "only to byte metrics"),
        ("kernels:\n  a: {peak_bytes: {UB: 1}\n  b: 2\n", 3, "malformed YAML"),
        ("- one\n- two\n", 1, "expected a mapping"),
        ("default: &a\n  x: *a\n", 1, "recursive alias"),
    ],
)
def test_bad_budgets_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_budgets(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_budgets_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: no such file"):
        load_budgets(tmp_path / "nope.yaml")


def test_yaml_tags_are_not_constructed(tmp_path):
    path = _write(tmp_path, "default: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match=f"{path}:1: "):
        load_budgets(path)


def test_findings_take_severities_rule_codes_and_rule_families(tmp_path):
    codes = sorted(load_rules())
    families = sorted({code.rstrip("0123456789") for code in codes})
    keys = ["error", "warning", "info", *codes, *families]
    text = "default:\n  findings:\n" + "".join(f"    {key}: 0\n" for key in keys)
    limits = load_budgets(_write(tmp_path, text)).limits_for("any")
    assert set(limits) == {
        "findings.error",
        "findings.warning",
        "findings.info",
        *(f"findings.by_code.{code}" for code in codes),
        *(f"findings.by_code.{family}*" for family in families),
    }
    # built-in, vendor (msSanitizer, torch_npu) codes and families among them
    for metric in ("UB001", "SAN001", "TNPU001", "UB*", "ALN*", "TNPU*", "SAN*"):
        assert f"findings.by_code.{metric}" in limits


def _texts(tolerances, metrics):
    return {metric: getattr(tolerances.for_metric(metric), "text", None) for metric in metrics}


def test_command_line_tolerances_win_over_every_file_tolerance_for_their_metrics(tmp_path):
    file = "tolerance:\n  default: 3%\n  peak_bytes.UB: 0%\n  gm.*: 1%\n  gm.read_bytes: 5%\n"
    budgets = load_budgets(_write(tmp_path, file))
    metrics = (
        "peak_bytes.UB",
        "peak_bytes.L1",
        "gm.read_bytes",
        "gm.write_bytes",
        "gm.ratio_to_minimum",
        "total_alloc_bytes.UB",
        "modelled_time_ps",
    )
    command_line = ["peak_bytes.*=4KiB", "gm.write_bytes=2%"]
    assert _texts(budgets.tolerances_with(command_line), metrics) == {
        "peak_bytes.UB": "4KiB",  # the command line's glob over the file's exact name
        "peak_bytes.L1": "4KiB",
        "gm.read_bytes": "5%",  # the file's exact name over its glob
        "gm.write_bytes": "2%",
        "gm.ratio_to_minimum": "1%",
        "total_alloc_bytes.UB": "3%",  # the file's default
        "modelled_time_ps": None,  # compared only when named
    }
    # A command-line default replaces the file's; the file's per-metric ones stay.
    with_default = _texts(budgets.tolerances_with(["1%"]), metrics)
    assert with_default["total_alloc_bytes.UB"] == "1%" and with_default["peak_bytes.UB"] == "0%"
    # Within the command line too, an exact name wins over a glob, in either order.
    for options in (
        ["peak_bytes.UB=1%", "peak_bytes.*=8KiB"],
        ["peak_bytes.*=8KiB", "peak_bytes.UB=1%"],
    ):
        texts = _texts(budgets.tolerances_with(options), metrics)
        assert (texts["peak_bytes.UB"], texts["peak_bytes.L1"]) == ("1%", "8KiB")
    # The file is left as it was read.
    assert _texts(budgets.tolerances, ["peak_bytes.UB"]) == {"peak_bytes.UB": "0%"}


def test_command_line_tolerances_without_a_file(tmp_path):
    tolerances = Budgets("").tolerances_with(["modelled_time_ps=5%", "peak_bytes.UB=0%"])
    assert _texts(tolerances, ["modelled_time_ps", "peak_bytes.UB", "gm.read_bytes"]) == {
        "modelled_time_ps": "5%",
        "peak_bytes.UB": "0%",
        "gm.read_bytes": "2%",
    }
    with pytest.raises(ConfigError, match="--tolerance: expected a tolerance"):
        Budgets("").tolerances_with(["peak_bytes.UB=lots"])
