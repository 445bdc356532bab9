"""The pytest plugin, run on generated test files with pytester."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ubscope.kernels.catalog import builtin_kernels

HEADER = """
import dataclasses
import itertools

import pytest

from ubscope.kernels.catalog import get_kernel

SMALL = dict(n=16384, tile=1024, cores=2)
POOL = get_kernel("pool_demo")


def tiled(factor_of_call):
    '''pool_demo whose tile is scaled by factor_of_call(call index): a code change
    (or a run-to-run variation) at the same parameters.'''
    calls = itertools.count()

    def run(device, params):
        factor = factor_of_call(next(calls))
        return POOL.run(device, {**params, "tile": params["tile"] * factor})

    return dataclasses.replace(POOL, run=run)
"""


@pytest.fixture
def run(pytester, plugin_args):
    """Write ``body`` as a test module and run pytest on it with the plugin."""

    # Import the analyzers and kernels out here: pytester unloads modules an
    # inner run imported first, and re-importing them every run is slow.
    importlib.import_module("ubscope.analyzers")
    assert "pool_demo" in builtin_kernels()

    def _run(body: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_kernels=HEADER + body)
        return pytester.runpytest(*plugin_args, "-p", "no:cacheprovider", "--strict-markers", *args)

    return _run


def test_pytest11_entry_point_is_declared():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    section = pyproject.split("[project.entry-points.pytest11]", 1)[1].split("\n[", 1)[0]
    assert section.strip() == 'ubscope = "ubscope.check.pytest_entry"'


# Run in a child: makes every import of ubscope's analysis and probe packages fail, as in
# a half-removed install or a source checkout shadowing the installed package.
BROKEN_INSTALL = """
import sys, importlib.abc
class Broken(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("ubscope.probe", "ubscope.analyzers")):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Broken())
import pytest
sys.exit(pytest.main(["--help"]))
"""


def test_a_broken_ubscope_leaves_pytest_working_with_one_line_on_stderr(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_INSTALL],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--ubscope" not in done.stdout
    notes = [line for line in done.stderr.splitlines() if line.startswith("ubscope:")]
    assert len(notes) == 1 and "plugin not loaded" in notes[0]
    assert "Traceback" not in done.stderr


PLUGIN_OPTIONS = (
    "--ubscope",
    "--ubscope-baseline",
    "--ubscope-update-baselines",
    "--ubscope-repeat",
    "--ubscope-tolerance",
)


def test_pytest_help_works_and_lists_every_option(tmp_path, plugin_args):
    # A help text with a bare % once made `pytest --help` crash in every project
    # of an environment with ubscope installed.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *plugin_args, "-p", "no:cacheprovider", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"^\s+(--ubscope[a-z-]*)", result.stdout, re.MULTILINE))
    assert listed == set(PLUGIN_OPTIONS)
    assert "(default 2%)" in result.stdout


def test_limits_pass_and_fail_naming_metric_and_numbers(run):
    result = run("""
@pytest.mark.ub_limit(peak_ub="12 KiB", gm_read="64 KiB", gm_write="32 KiB", peak_l1=0)
@pytest.mark.gm_traffic(max_ratio_to_minimum=1.1)
def test_at_the_limits(ubscope_trace):
    outcome = ubscope_trace.run("pool_demo", **SMALL)
    assert outcome.result.matches()

@pytest.mark.ub_limit(peak_ub="8 KiB")
def test_over_the_limit(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)

@pytest.mark.gm_traffic(max_ratio_to_minimum=0.5)
def test_impossible_traffic(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)

@pytest.mark.ub_limit(peak_ub="8 KiB")
def test_without_the_fixture():
    pass

@pytest.mark.ub_limit(peak_uub="8 KiB")
def test_typo(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)

@pytest.mark.ub_limit(peak_ub="lots")
def test_bad_size(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)
""")
    result.assert_outcomes(passed=1, failed=5)
    result.stdout.fnmatch_lines(
        [
            "*peak_bytes.UB = 12.0 KiB exceeds the limit 8.0 KiB (@ub_limit(peak_ub='8 KiB')) by 4.0 KiB*",
            "*gm.ratio_to_minimum = 1 exceeds the limit 0.5 (@gm_traffic(max_ratio_to_minimum=0.5))*",
            "*ubscope markers need a kernel recorded with the ubscope_trace fixture*",
            "*@ub_limit: unknown limit 'peak_uub' (known: peak_ub, peak_l1, gm_read, gm_write)*",
            "*@ub_limit(peak_ub='lots'): expected a size like*",
        ]
    )


def test_a_bad_marker_value_is_one_error_not_a_chain(run):
    result = run("""
@pytest.mark.ub_limit(peak_ub="lots")
def test_bad_size(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)

@pytest.mark.gm_traffic(max_ratio_to_minimum=[1])
def test_bad_ratio(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)
""")
    result.assert_outcomes(failed=2)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "= FAILURES =" in line) + 1
    failures = lines[start : next(i for i in range(start, len(lines)) if lines[i].startswith("="))]
    # Each failure is its one message under the test's header: the parser's
    # own exception is not printed above it.
    assert [line for line in failures if not line.startswith("_")] == [
        "@ub_limit(peak_ub='lots'): expected a size like '160 KiB', '2 MB' or '4096', got 'lots'",
        "@gm_traffic(max_ratio_to_minimum=[1]): float() argument must be a string or a real "
        "number, not 'list'",
    ]
    assert "During handling" not in result.stdout.str()


def test_ub_clean_fails_on_a_planted_preset(run):
    result = run("""
@pytest.mark.ub_clean(codes=["UB"])
def test_planted(ubscope_trace):
    ubscope_trace.run("pool_demo", preset="pool_no_reset")

@pytest.mark.ub_clean(codes=["UB", "FRG"])
def test_healthy(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_planted _*",
            "*findings.by_code.UB[*] = * exceeds the limit 0 (@ub_clean(UB)) by * (found: UB001 x1*",
        ]
    )


def test_ub_clean_without_codes_lists_only_the_codes_of_each_severity(run):
    # pool_no_reset finds UB001 and 2x UB002 (errors), UB003 and UB006 (warnings),
    # GM003 and 3x UB009 (infos): the error limit names only the three errors.
    result = run("""
@pytest.mark.ub_clean
def test_planted(ubscope_trace):
    ubscope_trace.run("pool_demo", preset="pool_no_reset")
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*findings.error = 3 exceeds the limit 0 (@ub_clean()) by 3 "
            "(found: UB001 x1, UB002 x2)",
            "*findings.warning = 2 exceeds the limit 0 (@ub_clean()) by 2 "
            "(found: UB003 x1, UB006 x1)",
        ]
    )


def test_repeat_takes_the_worst_run(run):
    body = """
GROWS_ON_THIRD_RUN = tiled(lambda call: 2 if call == 2 else 1)

@pytest.mark.ub_limit(peak_ub="16 KiB")
def test_flaky(ubscope_trace):
    ubscope_trace.run(GROWS_ON_THIRD_RUN, **SMALL)
    assert len(ubscope_trace.traces) == ubscope_trace.repeat
"""
    run(body).assert_outcomes(passed=1)
    result = run(body, "--ubscope-repeat", "3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*peak_bytes.UB = 24.0 KiB exceeds the limit 16.0 KiB*"])


def test_baselines_update_then_check(run, pytester, monkeypatch):
    directory = str(pytester.path / "baselines")
    body = """
import os

def test_kernel(ubscope_trace):
    ubscope_trace.run(tiled(lambda call: 2) if os.environ.get("GROW") else POOL, **SMALL)
"""
    result = run(body, "--ubscope-baseline", directory)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no baseline (*does not exist); record it with: pytest "
            "test_kernels.py::test_kernel --ubscope-baseline*"
        ]
    )
    run(body, "--ubscope-baseline", directory, "--ubscope-update-baselines").assert_outcomes(
        passed=1
    )
    assert len(list((pytester.path / "baselines").glob("pool_demo-*.json"))) == 1
    run(body, "--ubscope-baseline", directory).assert_outcomes(passed=1)
    monkeypatch.setenv("GROW", "1")  # the kernel now uses twice the UB at the same parameters
    result = run(body, "--ubscope-baseline", directory)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*peak_bytes.UB regressed: 12.0 KiB -> 24.0 KiB (+12.0 KiB (+100.0%)), tolerance 2%*",
            "*if intended, accept with: pytest test_kernels.py::test_kernel --ubscope-baseline*"
            " --ubscope-update-baselines",
        ]
    )


def test_inert_without_option_or_marker_and_summary_with_it(run):
    body = """
def test_small(ubscope_trace):
    ubscope_trace.run("pool_demo", **SMALL)

def test_bigger(ubscope_trace):
    ubscope_trace.run("pool_demo", **{**SMALL, "tile": 2048})
"""
    quiet = run(body)
    quiet.assert_outcomes(passed=2)
    assert "largest peak UB" not in quiet.stdout.str()
    result = run(body, "--ubscope")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*ubscope: tests with the largest peak UB*",
            "*24.0 KiB UB  test_kernels.py::test_bigger  (L1 0 B, GM read 64.0 KiB*",
            "*12.0 KiB UB  test_kernels.py::test_small*",
        ]
    )


def test_option_errors_are_usage_errors(run):
    result = run("def test_x():\n    pass\n", "--ubscope-repeat", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ubscope-repeat must be at least 1, got 0*"])
    result = run("def test_x():\n    pass\n", "--ubscope-update-baselines")
    result.stderr.fnmatch_lines(["*--ubscope-update-baselines needs --ubscope-baseline DIR*"])
