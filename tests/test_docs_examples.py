"""Every example in README.md and docs/*.md runs as written, so none can rot.

Fenced ``sh``/``bash``/``console``/``python`` blocks are run in order, one temp
folder per document (a later example may use a file an earlier one wrote), with
this environment's ``ubscope`` first on PATH. A Python block that defines
``test_`` functions is a pytest example and runs under pytest. ``yaml``/``toml``
blocks are loaded with the project's own loaders; a GitHub Actions workflow has
its ``run:`` steps executed as GitHub would (``bash -eo pipefail``).

HTML comments right above a fence say what the example needs:

- ``<!-- file: PATH -->``: the block is saved as PATH in the document's folder
  (later examples use it);
- ``<!-- not run: REASON -->``: the block cannot run here (it creates a
  virtualenv, needs an NPU, ...); it is reported as skipped with its reason and
  counted below, so skipping is deliberate, never silent.

Each shell command runs on its own (``bash -eu -o pipefail``) and must exit 0,
or 1 ("problems found") where its own comment says ``exits 1``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ubscope.analyzers.config import load_config
from ubscope.check.budgets import load_budgets

REPO = Path(__file__).resolve().parents[1]
DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
SHELL, RUN = {"sh", "bash", "console"}, {"sh", "bash", "console", "python"}
CONFIG = {"yaml", "toml"}
# Examples marked `<!-- not run: ... -->`, and workflow steps that install ubscope
# or are GitHub actions. Change this number only together with the markers.
NOT_RUN = 12
FENCE = re.compile(r"^```(\S*)\s*$")
MARK = re.compile(r"^<!--\s*(file|not run):\s*(.+?)\s*-->$")
TIMEOUT_S = 600


@dataclass(frozen=True)
class Example:
    doc: Path
    line: int
    lang: str
    text: str
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def examples_of(doc: Path) -> list[Example]:
    """The fenced blocks of ``doc`` with the markers right above each."""
    found, lines = [], doc.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marks, above = {}, index - 1
        while above >= 0 and (mark := MARK.match(lines[above].strip())):
            marks[mark.group(1)] = mark.group(2)
            above -= 1
        text = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Example(doc, index + 1, fence.group(1), text, marks))
        index = end + 1
    return found


EXAMPLES = [example for doc in DOCS for example in examples_of(doc)]
# A block of another language with <!-- file: PATH --> is a file later examples use.
CHECKED = [e for e in EXAMPLES if e.lang in RUN | CONFIG or "file" in e.marks]


def shell_commands(text: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments kept (they
    say which commands exit 1); ``$ `` prompts of a console block stripped, its
    output lines dropped."""
    commands, pending = [], ""
    console = any(line.startswith("$ ") for line in text.splitlines())
    for line in text.splitlines():
        if console:
            if not line.startswith("$ ") and not pending:
                continue
            line = line.removeprefix("$ ")
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip() and not pending.lstrip().startswith("#"):
            commands.append(pending)
        pending = ""
    return commands


def environment(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GITHUB_STEP_SUMMARY"] = str(folder / "step-summary.md")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run(args: list[str], folder: Path, what: str, allowed: frozenset[int] = frozenset({0})) -> None:
    """Run ``args`` in ``folder``; fail with its output unless it exits with an allowed status."""
    result = subprocess.run(
        args,
        cwd=folder,
        env=environment(folder),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode not in allowed:
        pytest.fail(
            f"{what}\nexited {result.returncode} (expected {sorted(allowed)})\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}",
            pytrace=False,
        )


def run_shell(text: str, folder: Path) -> None:
    for command in shell_commands(text):
        allowed = frozenset({1} if re.search(r"#.*\bexits 1\b", command) else {0})
        run(["bash", "-eu", "-o", "pipefail", "-c", command], folder, command, allowed)


def run_python(example: Example, folder: Path) -> None:
    pytest_example = re.search(r"^def test_", example.text, re.MULTILINE)
    default = f"test_example_{example.line}.py" if pytest_example else f"example_{example.line}.py"
    path = folder / example.marks.get("file", default)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example.text, encoding="utf-8")
    if pytest_example:
        args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    else:
        args = [sys.executable, str(path)]
    run(args, folder, example.text)


def workflow_steps(example: Example) -> list[tuple[dict, str | None]]:
    """The steps of a GitHub Actions workflow block, each with why it is not run
    here (None: it is run)."""
    data = yaml.safe_load(example.text) if example.lang == "yaml" else None
    if not isinstance(data, dict) or "jobs" not in data:
        return []
    steps = []
    for job in data["jobs"].values():
        for step in job["steps"]:
            script = step.get("run")
            if script is None:
                steps.append((step, f"{step['uses']} is a GitHub action"))
            elif script.lstrip().startswith("pip install"):
                steps.append((step, f"`{script.strip()}` installs ubscope, installed here"))
            else:
                steps.append((step, None))
    return steps


def not_run() -> list[str]:
    """Every example, or workflow step, that the tests do not run, with why."""
    marked = [f"{e.name}: {e.marks['not run']}" for e in CHECKED if "not run" in e.marks]
    steps = [f"{e.name}: {why}" for e in CHECKED for _, why in workflow_steps(e) if why]
    return marked + steps


def run_workflow(example: Example, folder: Path) -> None:
    """Run the ``run:`` steps of a GitHub Actions workflow as GitHub's bash does."""
    for step, why in workflow_steps(example):
        if why is None:
            script = step["run"]
            run(["bash", "-eo", "pipefail", "-c", script], folder, script)


def check_config(example: Example, folder: Path) -> None:
    """Run a workflow's steps, or save a config block where its marker says and
    load it with the project's loader."""
    if workflow_steps(example):
        run_workflow(example, folder)
        return
    target = example.marks.get("file")
    if target is None:
        pytest.fail(f"{example.name}: a {example.lang} example needs <!-- file: PATH -->")
    path = folder / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example.text, encoding="utf-8")
    if "budget" in path.name:
        load_budgets(path)
    else:
        load_config(path)


class DocFolder:
    """One temp folder per document; examples run in order, each at most once."""

    def __init__(self, factory: pytest.TempPathFactory):
        self.factory = factory
        self.folders: dict[Path, Path] = {}
        self.done: dict[str, str | None] = {}  # None: passed, else why it failed

    def run_through(self, example: Example) -> None:
        folder = self.folders.get(example.doc)
        if folder is None:
            folder = self.folders[example.doc] = self.factory.mktemp(example.doc.stem)
        for earlier in CHECKED:
            if earlier.doc != example.doc or earlier.line >= example.line:
                continue
            if earlier.name not in self.done and "not run" not in earlier.marks:
                self._once(earlier, folder)
            if self.done.get(earlier.name):
                pytest.fail(f"an earlier example failed: {earlier.name}", pytrace=False)
        self._once(example, folder)

    def _once(self, example: Example, folder: Path) -> None:
        try:
            if example.lang in SHELL:
                run_shell(example.text, folder)
            elif example.lang == "python":
                run_python(example, folder)
            elif example.lang in CONFIG:
                check_config(example, folder)
            else:
                path = folder / example.marks["file"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(example.text, encoding="utf-8")
        except BaseException as exc:
            self.done[example.name] = str(exc) or type(exc).__name__
            raise
        self.done[example.name] = None


@pytest.fixture(scope="module")
def doc_folder(tmp_path_factory) -> DocFolder:
    return DocFolder(tmp_path_factory)


@pytest.mark.parametrize("example", CHECKED, ids=[e.name for e in CHECKED])
def test_example_runs(example: Example, doc_folder: DocFolder) -> None:
    if "not run" in example.marks:
        pytest.skip(f"not run: {example.marks['not run']}")
    doc_folder.run_through(example)


def test_examples_not_run_are_marked_and_counted() -> None:
    listing = not_run()
    assert len(listing) == NOT_RUN, "\n".join(listing)


def test_no_command_hides_in_an_untagged_fence() -> None:
    # An untagged block is not run: one that holds commands would rot unseen.
    hidden = [
        e.name
        for e in EXAMPLES
        if not e.lang and re.search(r"^(\$ )?(ubscope|pip|python)\b", e.text, re.MULTILINE)
    ]
    assert not hidden
