"""Security review, as tests (docs/security.md gives the reasoning):

* nothing deserialises user files with pickle/torch.load/eval/exec/yaml.load;
* no command writes outside the output it was asked for, whatever the names
  inside a trace say;
* text from inputs is escaped in HTML, JSON, SARIF, Perfetto and shown
  literally (never as Rich markup) in the terminal and the TUI;
* no command touches the network.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import socket
import warnings
from pathlib import Path

import pytest

from ubscope.cli import main

from .hostile import HOSTILE_KERNEL, HOSTILE_TAG, HOSTILE_TENSOR, MARKUP, SCRIPT

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("probe", "kernels", "analyzers", "tui", "reports", "ubscope", "bench")
# module -> attribute calls that run or deserialise code from data
FORBIDDEN_CALLS = {
    "pickle": {"load", "loads", "Unpickler"},
    "cPickle": {"load", "loads"},
    "dill": {"load", "loads"},
    "cloudpickle": {"load", "loads"},
    "marshal": {"load", "loads"},
    "shelve": {"open"},
    "torch": {"load"},
    "yaml": {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"},
    "pd": {"read_pickle"},
    "pandas": {"read_pickle"},
    "os": {"system", "popen"},
}
FORBIDDEN_BUILTINS = {"eval", "exec", "__import__"}
FORBIDDEN_IMPORTS = {
    "pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "marshal",
    "shelve",
    "socket",
    "urllib",
    "urllib.request",
    "http.client",
    "requests",
    "httpx",
    "aiohttp",
    "webbrowser",
    "ftplib",
    "smtplib",
}
UNSAFE_LOADERS = {"Loader", "FullLoader", "UnsafeLoader", "CLoader", "CFullLoader", "CUnsafeLoader"}


def _project_sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py"))


def _violations(path: Path, root: Path = REPO) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
                found.append(f"{where}: {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.attr in FORBIDDEN_CALLS.get(func.value.id, ())
            ):
                found.append(f"{where}: {func.value.id}.{func.attr}()")
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "shell" and not (
                    isinstance(value, ast.Constant) and value.value is False
                ):
                    found.append(f"{where}: shell=")
                if keyword.arg == "allow_pickle" and not (
                    isinstance(value, ast.Constant) and value.value is False
                ):
                    found.append(f"{where}: allow_pickle=")
        elif isinstance(node, ast.Attribute) and node.attr in UNSAFE_LOADERS:
            if isinstance(node.value, ast.Name) and node.value.id == "yaml":
                found.append(f"{where}: yaml.{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [f"{where}: import {n}" for n in names if n and n in FORBIDDEN_IMPORTS]
    return found


def test_sources_are_found():
    assert len(_project_sources()) > 50


def test_no_deserialisation_of_code_and_no_network_modules():
    """No pickle/torch.load/marshal/eval/exec/yaml.load/shell=True anywhere in
    the package or bench scripts, and no module that talks to the network."""
    problems = [problem for path in _project_sources() for problem in _violations(path)]
    assert not problems, "\n".join(problems)


def test_yaml_is_only_read_with_the_safe_loader():
    """Every yaml read is yaml.safe_load or SafeLoader-based (compose with SafeLoader)."""
    calls = []
    for path in _project_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "yaml"
                and node.func.attr in {"compose", "compose_all", "parse", "scan"}
            ):
                loader = {k.arg: ast.unparse(k.value) for k in node.keywords}.get("Loader", "")
                calls.append((path.name, node.func.attr, loader))
    assert all(loader == "yaml.SafeLoader" for _, _, loader in calls), calls


def test_the_checker_catches_what_it_claims(tmp_path):
    """The AST check is not vacuous: it flags each forbidden form."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pickle, yaml, subprocess, socket\n"
        "pickle.loads(b'')\nyaml.load('a', Loader=yaml.Loader)\neval('1')\n"
        "subprocess.run('ls', shell=True)\nimport numpy as np\nnp.load('x', allow_pickle=True)\n"
    )
    found = " ".join(_violations(bad, tmp_path))
    for expected in (
        "import pickle",
        "import socket",
        "pickle.loads",
        "yaml.load",
        "eval()",
        "shell=",
        "allow_pickle=",
        "yaml.Loader",
    ):
        assert expected in found, expected


# -- paths ---------------------------------------------------------------------


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture(autouse=True)
def _restore_showwarning():
    original = warnings.showwarning
    yield
    warnings.showwarning = original


def test_names_in_a_trace_cannot_make_a_command_write_elsewhere(
    hostile_trace, tmp_path, monkeypatch, capsys
):
    """The kernel is named ``../../evil<script>...``: report, export (both
    formats), baseline and check --missing-baseline new write exactly the
    requested outputs, nothing above or beside them."""
    work = tmp_path / "a" / "b" / "work"
    out = work / "out"
    out.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    trace = str(hostile_trace)
    runs = [
        (["report", trace, "-o", str(out / "r.html")], {out / "r.html"}),
        (["export", trace, "-o", str(out / "p.json")], {out / "p.json"}),
        (["export", trace, "--format", "csv", "-o", str(out / "e.csv")], {out / "e.csv"}),
        (["baseline", trace, "-o", str(out / "base")], {out / "base"}),
        (
            ["check", trace, "--baseline", str(out / "new"), "--missing-baseline", "new"],
            {out / "new"},
        ),
    ]
    allowed: set[Path] = set()
    for argv, outputs in runs:
        assert main(argv) in (0, 1), capsys.readouterr().err
        allowed |= outputs
    created = _tree(tmp_path) - before
    outside = [p for p in created if not any(p == a or a in p.parents for a in allowed)]
    assert not outside, outside
    baselines = list((out / "base").iterdir()) + list((out / "new").iterdir())
    assert len(baselines) == 2 and all(p.suffix == ".json" for p in baselines)
    assert all(".." not in p.name and "<" not in p.name for p in baselines)


# -- escaping ------------------------------------------------------------------


def test_analyze_text_json_and_sarif_keep_names_literal(hostile_trace, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    main(["analyze", str(hostile_trace)])
    text = capsys.readouterr().out
    assert HOSTILE_TAG in text  # printed as text: Rich did not eat [bold red]...[/]
    for fmt in ("json", "sarif"):
        main(["analyze", str(hostile_trace), "--format", fmt])
        document = json.loads(capsys.readouterr().out)
        strings = set(_strings(document))
        assert any(HOSTILE_TAG in s for s in strings), fmt
    sarif_messages = [r["message"]["text"] for r in document["runs"][0]["results"]]
    assert any(SCRIPT in message for message in sarif_messages)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_html_report_escapes_every_name(hostile_trace, tmp_path):
    output = tmp_path / "r.html"
    assert main(["report", str(hostile_trace), "-o", str(output)]) in (0, 1)
    page = output.read_text(encoding="utf-8")
    assert SCRIPT not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "\\u003cscript\\u003e" in page
    assert "[bold red]x[/]" in page  # markup shown as the text it is
    assert "/evil" not in page.replace("../../evil", "")  # only ever inside the name


def test_perfetto_export_is_valid_json_with_literal_names(hostile_trace, tmp_path):
    output = tmp_path / "p.json"
    main(["export", str(hostile_trace), "-o", str(output)])
    names = set(_strings(json.loads(output.read_text(encoding="utf-8"))))
    assert any(HOSTILE_KERNEL in s for s in names)
    assert any(HOSTILE_TENSOR in s for s in names) or any(MARKUP in s for s in names)


def _tui_screens(trace: Path) -> dict[str, str]:
    """The screen text of every TUI view on ``trace`` (Pilot, 220x60)."""
    from ubscope.analyzers.api import analyze_path
    from ubscope.tui.app import UbscopeApp
    from ubscope.tui.views import VIEWS

    analysis = analyze_path(trace)
    seen: dict[str, str] = {}

    async def scenario() -> None:
        app = UbscopeApp(analysis=analysis)
        async with app.run_test(size=(220, 60)) as pilot:
            for _ in range(300):
                await pilot.pause(0.02)
                if getattr(app.screen, "ready", False):
                    break
            for index, view in enumerate(VIEWS):
                await pilot.press(str(index + 1))
                await pilot.pause()
                seen[view.__name__] = _screen_text(app)

    asyncio.run(scenario())
    return seen


def test_tui_shows_names_literally_in_every_view(hostile_trace):
    seen = _tui_screens(hostile_trace)
    assert MARKUP in seen["OverviewView"] and SCRIPT in seen["OverviewView"]
    assert MARKUP in seen["FindingsView"]
    assert "[bold red]x" in seen["EventsView"]  # the table may cut the cell, never parse it


def test_tui_never_shows_control_characters_from_inputs(escapes_trace):
    seen = _tui_screens(escapes_trace)
    leaks = [view for view, text in seen.items() if CONTROL.search(text)]
    assert not leaks, leaks


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_terminal_output_never_carries_escape_sequences_from_inputs(
    escapes_trace, tmp_path, capsys, monkeypatch
):
    """Names holding ESC sequences (set the title, clear the screen, write the
    clipboard with OSC 52) must not reach the terminal as control codes from
    any command that prints them."""
    monkeypatch.chdir(tmp_path)
    trace = str(escapes_trace)
    runs = [
        ["analyze", trace],
        ["trace", "info", trace],
        ["baseline", trace, "-o", "base"],
        ["check", trace, "--baseline", "base"],
        ["rules"],
    ]
    leaks = []
    for argv in runs:
        main(argv)
        captured = capsys.readouterr()
        if CONTROL.search(captured.out + captured.err):
            leaks.append(argv[0])
    assert not leaks, f"control characters from the trace reach the terminal: {leaks}"


def _screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# -- network -------------------------------------------------------------------


def test_no_network_access_anywhere(tmp_path, monkeypatch, capsys, seed_traces):
    """demo, analyze, report, export, baseline and check complete with every
    way to open a connection or resolve a name raising."""
    attempts: list[str] = []

    def refuse(name: str):
        def blocked(*args, **kwargs):
            attempts.append(name)
            raise OSError(f"network access blocked in this test ({name})")

        return blocked

    for name in ("connect", "connect_ex", "sendto", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse(f"socket.{name}"))
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "socketpair"):
        monkeypatch.setattr(socket, name, refuse(name))
    monkeypatch.chdir(tmp_path)
    trace = str(seed_traces[1])
    runs = [
        ["demo", "--out", str(tmp_path / "demo")],
        ["analyze", trace],
        ["report", trace, "-o", str(tmp_path / "r.html")],
        ["export", trace, "-o", str(tmp_path / "p.json")],
        ["baseline", trace, "-o", str(tmp_path / "base")],
        ["check", trace, "--baseline", str(tmp_path / "base")],
    ]
    for argv in runs:
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 1) and "ubscope: error" not in err, (argv, err)
    assert not attempts, attempts
    assert (tmp_path / "r.html").stat().st_size > 0
    assert os.listdir(tmp_path / "demo")
