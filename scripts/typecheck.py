"""Type-check the ``ubscope`` package, bench/ and scripts/ with mypy.

    python scripts/typecheck.py            # everything; exit status is mypy's
    python scripts/typecheck.py probe/units.py ubscope/cli.py   # only these files' errors

pyproject's ``package-dir`` maps top-level folders into the package
(``probe/`` is ``ubscope.probe``), which mypy cannot follow from the source
tree. So the script builds a temporary tree of symlinks laid out as the
installed package, runs ``mypy -p ubscope`` there with pyproject's
``[tool.mypy]`` configuration, and writes each error with the path of the
file in this repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "ubscope"
# Top-level modules, checked beside the package; the benchmarks import each other by file name.
LOOSE_FOLDERS = ("bench", "scripts")
# Followed, not listed: the benchmarks share the tests' helpers (tests.helpers).
FOLLOWED_FOLDERS = ("tests",)


def package_dirs() -> dict[str, str]:
    """pyproject's package-dir: dotted package name -> folder in this repository."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return mapping


def build_tree(tree: Path, mapping: dict[str, str]) -> dict[str, str]:
    """Lay the package out under ``tree`` with symlinks; return tree path prefix -> repo prefix."""
    prefixes: dict[str, str] = {}
    for package in sorted(mapping, key=lambda name: name.count(".")):
        source = ROOT / mapping[package]
        relative = Path(*package.split("."))
        target = tree / relative
        target.mkdir(parents=True, exist_ok=True)
        for entry in source.iterdir():
            link = target / entry.name
            if entry.name != "__pycache__" and not link.exists():
                link.symlink_to(entry)
        prefixes[f"{relative.as_posix()}/"] = f"{mapping[package]}/"
    for folder in (*LOOSE_FOLDERS, *FOLLOWED_FOLDERS):
        (tree / folder).symlink_to(ROOT / folder)
    return prefixes


def repo_path(line: str, prefixes: dict[str, str]) -> str:
    """The line with its tree path replaced by the path in this repository (deepest mapping first)."""
    for tree_prefix in sorted(prefixes, key=len, reverse=True):
        if line.startswith(tree_prefix):
            return prefixes[tree_prefix] + line[len(tree_prefix) :]
    return line


def main(argv: list[str]) -> int:
    wanted = [Path(name).resolve().relative_to(ROOT).as_posix() for name in argv]
    with tempfile.TemporaryDirectory(prefix="ubscope-typecheck-") as scratch:
        tree = Path(scratch)
        prefixes = build_tree(tree, package_dirs())
        command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        command += ["--cache-dir", str(tree / ".mypy_cache"), "-p", PACKAGE]
        for folder in LOOSE_FOLDERS:
            command += [
                arg for path in sorted((ROOT / folder).glob("*.py")) for arg in ("-m", path.stem)
            ]
        environment = {**os.environ, "MYPYPATH": os.pathsep.join(LOOSE_FOLDERS)}
        result = subprocess.run(
            command, cwd=tree, env=environment, capture_output=True, text=True, check=False
        )
    lines = [repo_path(line, prefixes) for line in result.stdout.splitlines()]
    if wanted:
        lines = [line for line in lines if line.split(":", 1)[0] in wanted]
    print("\n".join(lines))
    sys.stderr.write(result.stderr)
    return result.returncode if not wanted else int(bool(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
