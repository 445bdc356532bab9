"""``ubscope --version`` and ``--help`` start without the heavy libraries: a
command's module is imported only when that command runs (issue 17). The
modules a fresh interpreter imported are the behaviour checked, not a time."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ubscope import commands
from ubscope.commands import COMMANDS

# What a start-up must not pay for; each costs 50-500 ms to import.
HEAVY = ("pandas", "pyarrow", "numpy", "plotly", "textual", "rich", "yaml")

_PROBE = """
import json, sys
from ubscope.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _imported(*argv: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``ubscope ARGV``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []])
def test_version_and_help_import_no_heavy_library(argv: list[str]) -> None:
    modules = _imported(*argv)
    assert _heavy(modules) == []
    assert not any(name.startswith("ubscope.commands.") for name in modules)


def test_a_command_imports_only_its_own_module() -> None:
    modules = _imported("chips", "--help")
    loaded = {name for name in modules if name.startswith("ubscope.commands.")}
    # chips prints with rich (commands.common); no other command is set up.
    assert loaded == {"ubscope.commands.chips", "ubscope.commands.common"}
    assert not {"pandas", "plotly", "textual"} & modules


@pytest.mark.parametrize(
    "command",
    [
        "analyze",
        "report",
        "tui",
        "chips",
        "trace",
        "rules",
        "rule",
        "export",
        "check",
        "baseline",
        "sweep",
        "run",
        "kernels",
        "demo",
    ],
)
def test_help_of_a_command_loads_no_analysis(command: str) -> None:
    """``COMMAND --help`` lists every option (vendor tools, report formats, chips)
    from names and constants: no vendor reader or detector, no rule, not the
    analysis, no kernel, not the recorder or the CPU twin, none of pandas,
    pyarrow, numpy, yaml or Textual (rich, which prints the commands' output, is
    allowed)."""
    modules = _imported(command, "--help")
    assert [name for name in _heavy(modules) if not name.startswith("rich")] == []
    analysis = ("api", "context", "engine", "rules", "model", "output", "streaming")
    assert not {f"ubscope.analyzers.{name}" for name in analysis} & modules
    readers = (".reader", ".detect", ".rules")
    assert not [m for m in modules if m.startswith("ubscope.analyzers") and m.endswith(readers)]
    # The demo's list of runs is names and parameters; every other kernels module
    # is a kernel, the registry that runs them or the catalog that loads them all.
    kernels = [m for m in modules if m.startswith("ubscope.kernels.")]
    assert [m for m in kernels if m != "ubscope.kernels.demo_set"] == []
    assert not {"ubscope.probe.recorder", "ubscope.probe.ascendc.runner"} & modules


def test_every_command_module_is_listed() -> None:
    """A ``setup*`` function in a command module that COMMANDS does not name
    would be a command missing from ``ubscope --help``."""
    listed = {command.setup for command in COMMANDS}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"ubscope.commands.{info.name}")
        assert not hasattr(module, "register"), "commands are listed in ubscope.commands now"
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("setup") and function.__module__ == module.__name__:
                assert f"{module.__name__}:{name}" in listed


def test_command_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    from ubscope.cli import main

    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    text = capsys.readouterr().out
    # from the description, the arguments, the vendor tools and the chip option
    for expected in ("Run ubscope's rules", "--fail-on", "--sanitizer", "--chip"):
        assert expected in text


def test_trace_metadata_reads_without_pandas() -> None:
    """A folder listing (the TUI's picker, ``find_traces``) reads metadata only,
    from the header's bytes: not even pyarrow (and the numpy it loads)."""
    trace = Path(__file__).parents[2] / "sample_profiles" / "layernorm_healthy.ubtrace"
    probe = (
        "import json, sys\n"
        "from ubscope.probe.trace_meta import read_metadata\n"
        f"meta = read_metadata({str(trace)!r})\n"
        "print(json.dumps([meta['kernel'], sorted(sys.modules)]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    kernel, modules = json.loads(done.stdout)
    assert kernel == "layernorm"
    assert not {"pandas", "plotly", "textual", "pyarrow", "numpy"} & set(modules)


def test_the_tui_first_screen_imports_no_analysis() -> None:
    """The profile screen shows the trace's metadata before the analysis: up to
    that paint the app loads neither the analysis package nor pandas (the worker
    imports them with the analysis, after the paint: left out here), nor
    pyarrow, numpy, yaml (chip profiles) or the picker's DataTable."""
    trace = Path(__file__).parents[2] / "sample_profiles" / "layernorm_healthy.ubtrace"
    probe = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from pathlib import Path
        from ubscope.tui.app import UbscopeApp
        from ubscope.tui.loading import TraceRequest

        UbscopeApp.analyse = lambda self, request, screen: None

        async def first_paint():
            app = UbscopeApp(request=TraceRequest(Path({str(trace)!r})))
            async with app.run_test(size=(100, 30)) as pilot:
                while not app.screen.query("#pending-summary"):
                    await pilot.pause(0.01)
                await pilot.pause()
                shown = str(app.screen.query_one("#pending-summary").render())
                app.exit()
            return shown

        shown = asyncio.run(first_paint())
        print(json.dumps([shown, sorted(sys.modules)]))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    shown, modules = json.loads(done.stdout.splitlines()[-1])
    assert "layernorm" in shown
    modules = set(modules)
    assert not {"pandas", "plotly", "pyarrow", "numpy", "yaml"} & modules
    assert not [name for name in modules if name.startswith("ubscope.analyzers")]
    assert "textual.widgets._data_table" not in modules


def test_the_tab_bar_names_the_views_in_order() -> None:
    from ubscope.tui.views import TABS, views

    assert TABS == tuple((view.title, view.short) for view in views())
