"""``ubscope check`` and ``ubscope baseline`` on real pool_demo traces."""

from __future__ import annotations

import json
import shlex
import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.helpers.cli import run_ubscope
from ubscope.cli import main


@pytest.fixture
def baselines(tmp_path, pool_trace, capsys):
    """A baseline directory holding the healthy small pool_demo configuration."""
    directory = tmp_path / "baselines"
    assert main(["baseline", str(pool_trace("base")), "-o", str(directory)]) == 0
    capsys.readouterr()
    return directory


def _check(capsys, *args) -> tuple[int, str, str]:
    code = main(["check", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _words(text: str) -> str:
    """``text`` with every run of spaces and line breaks one space: a problem
    wraps at the console's width (80 columns here)."""
    return " ".join(text.split())


def test_unchanged_kernel_passes(baselines, pool_trace, capsys):
    code, out, _ = _check(capsys, pool_trace("base"), "--baseline", baselines)
    assert code == 0
    assert "1 kernel configuration, 0 failed, 1 passed" in out
    assert "accept" not in out


def test_planted_larger_tile_fails_and_names_the_metric(baselines, pool_trace, capsys):
    bigger = pool_trace("bigger_tile", tile_change=2)
    code, out, _ = _check(capsys, bigger, "--baseline", baselines)
    assert code == 1
    assert (
        "peak_bytes.UB regressed: 12.0 KiB -> 24.0 KiB (+12.0 KiB (+100.0%)), tolerance 2%"
        in _words(out)
    )
    accept = f"ubscope baseline {bigger} -o {baselines} --update"
    assert accept in out
    # Accepting the change with the printed command makes the check pass.
    assert main(shlex.split(accept)[1:]) == 0
    capsys.readouterr()
    assert _check(capsys, bigger, "--baseline", baselines)[0] == 0


def test_planted_misaligned_tensor_is_a_new_finding(baselines, pool_trace, capsys):
    # Every copy 2 B off 512 B costs this small kernel under 5 % of its modelled
    # time, so ALN003 reports it as info (a warning only from ALN003's min_gain_share).
    misaligned = pool_trace("misaligned", gm_misalign=2)
    code, out, _ = _check(capsys, misaligned, "--baseline", baselines)
    assert code == 0  # an info finding, below the default --fail-on error
    assert "below --fail-on error" in out
    code, out, _ = _check(capsys, misaligned, "--baseline", baselines, "--fail-on", "info")
    assert code == 1
    assert "new info finding ALN003" in out and "NEW FINDING" in out


def test_improvement_passes_and_says_how_to_keep_it(baselines, pool_trace, capsys):
    smaller = pool_trace("smaller_tile", tile_change=0.5)
    code, out, _ = _check(capsys, smaller, "--baseline", baselines)
    assert code == 0
    assert "passed (improved)" in out and "improved" in out
    assert f"ubscope baseline {smaller} -o {baselines} --update" in out


def test_tolerance_boundary_on_real_traces(baselines, pool_trace, capsys):
    bigger = pool_trace("bigger_tile", tile_change=2)  # peak UB 12 KiB -> 24 KiB
    loose = ["--baseline", baselines, "--tolerance", "200%"]
    assert _check(capsys, bigger, *loose, "--tolerance", "peak_bytes.UB=12 KiB")[0] == 0
    code, out, _ = _check(capsys, bigger, *loose, "--tolerance", "peak_bytes.UB=12287")
    assert code == 1 and "peak_bytes.UB regressed" in out
    assert out.count("regressed:") == 1


@pytest.mark.parametrize("mode, code", [("fail", 1), ("new", 0), ("skip", 0)])
def test_missing_baseline_modes(tmp_path, pool_trace, capsys, mode, code):
    directory = tmp_path / "none"
    trace = pool_trace("base")
    result, out, _ = _check(capsys, trace, "--baseline", directory, "--missing-baseline", mode)
    assert result == code
    written = list(directory.glob("*.json")) if directory.exists() else []
    assert len(written) == (1 if mode == "new" else 0)
    if mode == "fail":
        assert "no baseline" in out and f"ubscope baseline {trace} -o {directory}" in _words(out)
        assert "--missing-baseline new" in out


def test_budgets_apply_exactly_at_the_limit(tmp_path, pool_trace, capsys):
    budget = tmp_path / "budgets.yaml"
    trace = pool_trace("base")
    budget.write_text("kernels:\n  pool_*:\n    peak_bytes: {UB: 12 KiB}\n")
    assert _check(capsys, trace, "--budget", budget)[0] == 0
    budget.write_text(
        "default:\n  findings: {error: 0}\nkernels:\n  pool_*:\n    peak_bytes: {UB: 12287}\n"
    )
    code, out, _ = _check(capsys, trace, "--budget", budget)
    assert code == 1
    # 12 KiB = 12,288 B, in the limit's unit
    message = f"peak_bytes.UB = 12,288 B exceeds the limit 12,287 B (budget {budget}:5) by 1 B"
    # a path longer than a line is folded wherever the line ends
    assert message.replace(" ", "") in out.replace(" ", "").replace("\n", "")


def test_outputs_for_ci(tmp_path, baselines, pool_trace, capsys, monkeypatch):
    junit, markdown = tmp_path / "check.xml", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    other = pool_trace("other", tile=2048)
    assert main(["baseline", str(other), "-o", str(baselines)]) == 0
    other_bigger = pool_trace("other_bigger", tile=2048, tile_change=2)
    code, out, _ = _check(
        capsys,
        pool_trace("base"),
        other_bigger,
        "--baseline",
        baselines,
        "--junit",
        junit,
        "--markdown",
        markdown,
    )
    assert code == 1
    cases = ET.parse(junit).getroot().findall("./testsuite/testcase")
    assert [case.find("failure") is None for case in cases] == [True, False]
    assert "peak_bytes.UB" in cases[1].find("failure").get("message")
    summary = markdown.read_text(encoding="utf-8")
    assert "| `peak_bytes.UB` | 48.0 KiB | 24.0 KiB | +24.0 KiB (+100.0%) | 2% |" in summary
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert all(line.startswith(("::error file=", "::notice file=")) for line in annotations)
    errors = [line for line in annotations if line.startswith("::error")]
    assert any("peak_bytes.UB regressed" in line for line in errors)


def test_no_annotations_outside_github(baselines, pool_trace, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    out = _check(capsys, pool_trace("bigger_tile", tile_change=2), "--baseline", baselines)[1]
    assert "::error" not in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--baseline", "b", "--tolerance", "peak_bytes.UB=lots"], "--tolerance: expected a"),
        (["--baseline", "b", "--tolerance", "4 KiB"], "--tolerance: the default tolerance must"),
        (["--budget", "BUDGET"], "budgets.yaml:2: peak_bytes: unknown space 'UX'"),
        ([], "nothing to compare with"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, pool_trace, capsys, extra, message):
    budget = tmp_path / "budgets.yaml"
    budget.write_text("default:\n  peak_bytes: {UX: 1}\n")
    extra = [str(budget) if item == "BUDGET" else item for item in extra]
    code, out, err = _check(capsys, pool_trace("base"), *extra)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_truncated_trace_is_refused(tmp_path, pool_trace, baselines, capsys):
    truncated = tmp_path / "cut.ubtrace"
    data = pool_trace("base").read_bytes()
    truncated.write_bytes(data[: len(data) - 200])
    code, _, err = _check(capsys, truncated, "--baseline", baselines)
    assert code == 2 and "truncated" in err


def test_baseline_files_are_byte_identical_across_runs(tmp_path, pool_trace, chip, capsys):
    from ubscope.kernels.catalog import get_kernel
    from ubscope.kernels.registry import run_kernel

    spec = get_kernel("pool_demo")
    params = spec.resolve(overrides={"n": 16384, "tile": 1024, "cores": 2})
    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):  # two independent recordings of one configuration
        trace = directory / "run.ubtrace"
        directory.mkdir()
        run_kernel(spec, params, chip, trace)
        assert main(["baseline", str(trace), "-o", str(directory / "baselines")]) == 0
    [one] = (first / "baselines").iterdir()
    [two] = (second / "baselines").iterdir()
    assert one.name == two.name and one.read_bytes() == two.read_bytes()


def test_baseline_keeps_differing_files_unless_update(baselines, pool_trace, capsys):
    bigger = pool_trace("bigger_tile", tile_change=2)
    [path] = baselines.iterdir()
    before = path.read_bytes()
    assert main(["baseline", str(bigger), "-o", str(baselines)]) == 1
    out = capsys.readouterr().out
    assert "kept:" in out and f"ubscope baseline {bigger} -o {baselines} --update" in out
    assert path.read_bytes() == before
    assert main(["baseline", str(bigger), "-o", str(baselines), "--update"]) == 0
    assert "updated:" in capsys.readouterr().out and path.read_bytes() != before


def test_repeated_traces_of_one_configuration_keep_the_worst(tmp_path, pool_trace, capsys):
    directory = tmp_path / "merged"
    traces = [pool_trace("base"), pool_trace("bigger_tile", tile_change=2)]
    assert main(["baseline", *map(str, traces), "-o", str(directory)]) == 0
    [path] = directory.iterdir()
    assert '"peak_bytes.UB": 24576' in path.read_text()


def test_single_file_baseline(tmp_path, pool_trace, capsys):
    single = tmp_path / "pool.json"
    assert main(["baseline", str(pool_trace("base")), "-o", str(single)]) == 0
    assert _check(capsys, pool_trace("base"), "--baseline", single)[0] == 0
    other = shutil.copy(pool_trace("base"), tmp_path / "copy.ubtrace")
    assert (
        main(
            [
                "baseline",
                str(other),
                str(pool_trace("other", tile=2048)),
                "-o",
                str(tmp_path / "two.json"),
            ]
        )
        == 2
    )
    assert "holds one configuration" in capsys.readouterr().err
    code, _, err = _check(capsys, pool_trace("other", tile=2048), "--baseline", single)
    assert code == 2 and "is the baseline of pool_demo[" in err


def _edit_baseline(directory, **metrics) -> None:
    """Change metrics of the one baseline file in ``directory``, as an older
    recording of the configuration would have them."""
    [path] = directory.glob("*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["metrics"].update(metrics)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def test_an_improvement_is_noticed_even_when_the_configuration_fails(
    baselines, pool_trace, capsys, monkeypatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    # Recorded with 4 KiB less UB (12 KiB now) and far more GM reads (64 KiB now).
    _edit_baseline(baselines, **{"peak_bytes.UB": 8192, "gm.read_bytes": 1 << 20})
    code, out, _ = _check(
        capsys,
        pool_trace("base"),
        "--baseline",
        baselines,
        "--tolerance",
        "peak_bytes.UB=4095",
        "--fail-on",
        "info",
    )
    assert code == 1
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert [line.split(" ", 1)[0] for line in commands] == ["::error", "::notice"]
    assert "peak_bytes.UB regressed: 8.0 KiB -> 12.0 KiB" in commands[0]
    assert "improved: gm.read_bytes; update the baseline to keep it" in commands[1]
    assert commands[1].startswith(f"::notice file={next(baselines.glob('*.json'))},")


@pytest.mark.parametrize("columns", [80, 60])
def test_piped_output_fits_columns(baselines, pool_trace, columns):
    bigger = pool_trace("bigger_tile", tile_change=2)
    result = run_ubscope("check", bigger, "--baseline", baselines, columns=columns)
    assert result.returncode == 1, result.stderr
    too_long = [line for line in result.stdout.splitlines() if len(line) > columns]
    # Only what is never cut: the configuration's name and the command to copy.
    assert all(line.startswith(("pool_demo[", "  ubscope baseline ")) for line in too_long)
    assert len(too_long) == 2, too_long
    problem = "peak_bytes.UB regressed: 12.0 KiB -> 24.0 KiB (+12.0 KiB (+100.0%)), tolerance 2%"
    assert problem in _words(result.stdout)
    lines = result.stdout.splitlines()
    [first] = [i for i, line in enumerate(lines) if line.startswith("  peak_bytes.UB regressed:")]
    assert lines[first + 1].startswith("    ") and lines[first + 1][4] != " "  # wrapped, hanging
    assert [line for line in lines if line != line.rstrip()] == []


def test_a_wide_console_gets_the_table_and_one_line_problems(baselines, pool_trace):
    bigger = pool_trace("bigger_tile", tile_change=2)
    result = run_ubscope("check", bigger, "--baseline", baselines, columns=200)
    lines = result.stdout.splitlines()
    [header] = [line for line in lines if line.startswith("metric ")]
    assert header.split("┃")[1].strip() == "A"
    [problem] = [line for line in lines if line.startswith("  peak_bytes.UB regressed:")]
    assert problem.endswith("tolerance 2% (allowed +245 B)")
    # The last column (status, then note) is padded to its width by rich: cut in a pipe.
    assert [line for line in lines if line != line.rstrip()] == []


def test_command_line_tolerances_override_the_budgets_file(tmp_path, baselines, pool_trace, capsys):
    bigger = pool_trace("bigger_tile", tile_change=2)  # peak UB 12 KiB -> 24 KiB
    budget = tmp_path / "budgets.yaml"
    args = [bigger, "--baseline", baselines, "--budget", budget]
    # The file's exact name loses to the command line's glob ...
    budget.write_text("tolerance:\n  default: 200%\n  peak_bytes.UB: 0%\n")
    code, out, _ = _check(capsys, *args, "--tolerance", "peak_bytes.*=12KiB")
    assert code == 0, out
    assert "12KiB" in out
    # ... and the file's glob to the command line's exact name.
    budget.write_text("tolerance:\n  default: 200%\n  peak_bytes.*: 12 KiB\n")
    code, out, _ = _check(capsys, *args, "--tolerance", "peak_bytes.UB=0%")
    assert code == 1 and "tolerance 0% (allowed +0 B)" in _words(out)
    # Within the command line, an exact name wins over a glob.
    code, out, _ = _check(
        capsys, *args, "--tolerance", "peak_bytes.*=12KiB", "--tolerance", "peak_bytes.UB=0%"
    )
    assert code == 1 and "tolerance 0% (allowed +0 B)" in _words(out)


def test_markdown_is_appended_to_the_step_summary_only(
    tmp_path, baselines, pool_trace, capsys, monkeypatch
):
    summary, other = tmp_path / "step_summary.md", tmp_path / "other.md"
    summary.write_text("## Unit tests\n\nall passed\n", encoding="utf-8")
    other.write_text("earlier content of other.md\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    trace = pool_trace("base")
    for target in (summary, other):
        assert _check(capsys, trace, "--baseline", baselines, "--markdown", target)[0] == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Unit tests\n\nall passed\n\n## ubscope check: 1 kernel")
    # Another spelling of the same file, as a later step would give it.
    monkeypatch.chdir(tmp_path)
    assert _check(capsys, trace, "--baseline", baselines, "--markdown", "./step_summary.md")[0] == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Unit tests\n") and text.count("## ubscope check:") == 2
    # Any other file is replaced.
    written = other.read_text(encoding="utf-8")
    assert written.startswith("## ubscope check:") and "earlier content" not in written
    assert _check(capsys, trace, "--baseline", baselines, "--markdown", other)[0] == 0
    assert other.read_text(encoding="utf-8") == written


def _trace_folder(tmp_path, pool_trace):
    """A folder of two plain traces (no sweep table): tile 1024 and tile 2048."""
    folder = tmp_path / "traces"
    folder.mkdir()
    shutil.copy(pool_trace("base"), folder / "base.ubtrace")
    shutil.copy(pool_trace("other", tile=2048), folder / "other.ubtrace")
    return folder


def test_a_folder_of_traces_checks_each_trace(tmp_path, pool_trace, capsys):
    folder = _trace_folder(tmp_path, pool_trace)
    budget = tmp_path / "budgets.yaml"
    # Tile 1024 x 3 buffers of 4 B floats peaks at 12 KiB of UB, tile 2048 at 24 KiB.
    budget.write_text("kernels:\n  pool_*:\n    peak_bytes: {UB: 24 KiB}\n")
    code, out, err = _check(capsys, folder, "--budget", budget)
    assert (code, err) == (0, "")
    assert "2 kernel configurations, 0 failed, 2 passed" in out
    assert out.count("tile=1024]: passed") == out.count("tile=2048]: passed") == 1
    assert [line for line in out.splitlines() if line != line.rstrip()] == []
    budget.write_text("kernels:\n  pool_*:\n    peak_bytes: {UB: 12 KiB}\n")
    code, out, _ = _check(capsys, folder, "--budget", budget)
    assert code == 1
    assert "2 kernel configurations, 1 failed, 1 passed" in out
    assert "tile=2048]: FAILED" in out
    message = f"peak_bytes.UB = 24.0 KiB exceeds the limit 12.0 KiB (budget {budget}:3)"
    # a path longer than a line is folded wherever the line ends
    assert message.replace(" ", "") in out.replace(" ", "").replace("\n", "")


def test_a_folder_of_traces_is_recorded_and_checked_against_baselines(tmp_path, pool_trace, capsys):
    folder = _trace_folder(tmp_path, pool_trace)
    baselines = tmp_path / "baselines"
    assert main(["baseline", str(folder), "-o", str(baselines)]) == 0
    assert len(list(baselines.glob("pool_demo-*.json"))) == 2
    code, out, _ = _check(capsys, folder, "--baseline", baselines)
    assert code == 0 and "2 kernel configurations, 0 failed, 2 passed" in out


def test_a_folder_without_traces_or_sweep_is_one_line(tmp_path, pool_trace, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no traces here\n")
    budget = tmp_path / "budgets.yaml"
    budget.write_text("kernels:\n  pool_*:\n    peak_bytes: {UB: 24 KiB}\n")
    code, out, err = _check(capsys, empty, "--budget", budget)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"ubscope: error: {empty}: no .ubtrace files and no sweep.parquet (a folder written "
        "by `ubscope sweep`) in this folder"
    ]
