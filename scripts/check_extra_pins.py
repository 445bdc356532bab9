"""Check that every requirement of pyproject.toml's optional extras resolves on the index.

Run it by hand when an extra changes (it needs the package index, so no test runs it):

    python scripts/check_extra_pins.py            # every extra
    python scripts/check_extra_pins.py npu xlsx   # only these

Each requirement is fetched with ``pip download --no-deps`` into a temporary
folder (pip's own index configuration applies; the wheels are deleted after).
For the wheels it gets, the script also checks that their own requirements
agree with the other ``==`` pins of the same extra: ``torch_npu`` X.Y.Z requires
``torch`` X.Y.Z, so a ``torch`` pin beside an unpinned ``torch_npu`` resolves
to a pair that cannot be installed together. Exit 0 when everything resolves
and agrees, 1 otherwise.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def read_extras(pyproject: Path = PYPROJECT) -> dict[str, list[str]]:
    with pyproject.open("rb") as handle:
        return tomllib.load(handle)["project"].get("optional-dependencies", {})


def download(requirement: str, folder: Path) -> tuple[Path | None, str]:
    """The file pip downloads for ``requirement`` (None and pip's last error line if none)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "--dest",
        str(folder),
        requirement,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        return None, lines[-1] if lines else f"pip exited {result.returncode}"
    files = sorted(folder.iterdir())
    return (files[0] if files else None), ""


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """The unconditional ``Requires-Dist`` entries of a wheel (none for an sdist)."""
    if wheel.suffix != ".whl":
        return []
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode("utf-8", errors="replace")
    found = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            requirement = Requirement(line.split(":", 1)[1].strip())
            if requirement.marker is None or "extra" not in str(requirement.marker):
                found.append(requirement)
    return found


def exact_pins(requirements: list[str]) -> dict[str, str]:
    """``{"torch": "2.13.0"}`` for the ``==`` pins of an extra."""
    pins: dict[str, str] = {}
    for text in requirements:
        requirement = Requirement(text)
        for spec in requirement.specifier:
            if spec.operator == "==":
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def check_extra(extra: str, requirements: list[str]) -> list[str]:
    """One line per requirement; failures start with ``FAILED``."""
    pins = exact_pins(requirements)
    lines = []
    for text in requirements:
        with tempfile.TemporaryDirectory() as folder:
            fetched, error = download(text, Path(folder))
            if fetched is None:
                lines.append(f"FAILED {extra}: {text}: {error}")
                continue
            conflicts = [
                f"{fetched.name} requires {needed}, the extra pins "
                f"{needed.name}=={pins[canonicalize_name(needed.name)]}"
                for needed in wheel_requirements(fetched)
                if canonicalize_name(needed.name) in pins
                and not needed.specifier.contains(
                    pins[canonicalize_name(needed.name)], prereleases=True
                )
            ]
        if conflicts:
            lines.extend(f"FAILED {extra}: {text}: {conflict}" for conflict in conflicts)
        else:
            lines.append(f"ok     {extra}: {text} ({fetched.name})")
    return lines


def main(argv: list[str]) -> int:
    extras = read_extras()
    unknown = [name for name in argv if name not in extras]
    if unknown:
        print(f"unknown extra {', '.join(unknown)} (known: {', '.join(extras)})", file=sys.stderr)
        return 2
    failed = False
    for extra in argv or list(extras):
        for line in check_extra(extra, extras[extra]):
            print(line, flush=True)
            failed = failed or line.startswith("FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
