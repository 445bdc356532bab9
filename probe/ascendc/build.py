"""Compile a kernel translation unit with the twin headers, cached.

Only the source the user names is compiled (with a small launcher generated
here); ``__CCE_KT_TEST__`` is defined so a sample's host-side ``<<<>>>``
launch helper is left out, as in CANN's CPU debug mode. Builds are cached
under ``$UBSCOPE_TWIN_CACHE``, else ``$XDG_CACHE_HOME/ubscope/twin``, else
``~/.cache/ubscope/twin``, keyed by the source bytes, the bytes of the
twin's headers and of the user headers the source includes (with quotes, or
with ``<...>`` from an ``--include-dir``), the flags and the compiler (its path
and version). A kernel with a plain tiling
struct is compiled through a unit that includes it and then registers the
struct's fields (probe/ascendc/tiling.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ubscope.probe.ascendc.tiling import names_plain_tiling, plain_tiling_source
from ubscope.probe.errors import InputError, ParameterError, UbscopeError

INCLUDE_DIR = Path(__file__).parent / "include"
CXX_FLAGS = ("-std=c++20", "-O2", "-D__CCE_KT_TEST__", "-fno-strict-aliasing")
MAX_COMPILER_ERRORS = 5
# "name" is looked up beside the including file, then in the -I folders;
# <name> only in the -I folders (the system's and the twin's own are not the user's)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*(?:"([^"\n]+)"|<([^>\n]+)>)', re.MULTILINE)
_ERROR_LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? (?:fatal )?error: (?P<msg>.*)$"
)
# A kernel entry: "extern "C" __global__ __aicore__ void NAME(" (its definition or a declaration).
_GLOBAL_ENTRY = re.compile(r"\b__global__\b[^;{}()]*?\bvoid\s+(\w+)\s*\(")
# An error the compiler places on no line: in a -D definition ("<command-line>"),
# or from the driver or the linker ("g++", "cc1plus", "collect2").
_UNPLACED_ERROR = re.compile(r"^(?P<where>[^:\n]+): (?:fatal )?error: (?P<msg>.*)$")
# Where a -D macro whose value broke the code is used (the note after the error).
_MACRO_USE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? note: in expansion of macro '(?P<name>[^']+)'$"
)
# The linker names the object file and a section offset, not a line:
# "k.cpp:(.text...+0x10): undefined reference to `helper(int)'".
_UNDEFINED = re.compile(
    r"^(?:.*: )?(?P<file>[^:\n]+):\([^)]*\): (?P<msg>undefined reference to .*)$"
)


class CompileError(UbscopeError):
    """The kernel source did not compile: the compiler's first errors, one a line."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))

    def message_lines(self) -> list[str]:
        return self.errors


def cache_dir() -> Path:
    explicit = os.environ.get("UBSCOPE_TWIN_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ubscope" / "twin"


def compiler() -> tuple[list[str], str]:
    """The command that runs the C++ compiler (``$CXX``, which may hold
    arguments, as ``ccache g++`` does; else g++, else clang++) and its version
    line."""
    try:
        chosen = shlex.split(os.environ.get("CXX", ""))
    except ValueError as exc:
        raise ParameterError(f"CXX: {exc} in {os.environ['CXX']!r}") from None
    commands = [chosen] if chosen else [["g++"], ["clang++"]]
    found = next(
        ([path, *command[1:]] for command in commands if (path := shutil.which(command[0]))),
        None,
    )
    if found is None:
        names = " or ".join(repr(shlex.join(command)) for command in commands)
        raise ParameterError(
            f"no C++ compiler {names} found: install g++ 11 or clang++ 14 or newer "
            "(e.g. `apt install g++`) or set CXX to one"
        )
    version = subprocess.run([*found, "--version"], capture_output=True, text=True, check=False)
    return found, (version.stdout.splitlines() or [""])[0]


SCALAR_TYPES = frozenset(
    {
        "bool",
        "int",
        "unsigned",
        "float",
        "double",
        "int8_t",
        "uint8_t",
        "int16_t",
        "uint16_t",
        "int32_t",
        "uint32_t",
        "int64_t",
        "uint64_t",
    }
)


def kernel_entries(text: str) -> list[str]:
    """The names of the ``__global__`` functions defined in a source, in order."""
    return list(dict.fromkeys(_GLOBAL_ENTRY.findall(text)))


def default_entry(source: Path, text: str) -> str:
    """The entry run when none is given: the function named as the file's stem,
    else the source's only ``__global__`` function."""
    entries = kernel_entries(text)
    return entries[0] if len(entries) == 1 and source.stem not in entries else source.stem


def entry_parameters(source: Path, text: str, entry: str) -> list[tuple[str, str]]:
    """``(name, type)`` of each parameter of ``extern "C" ... void ENTRY(...)``:
    type ``GM_ADDR`` for a GM pointer, else one of SCALAR_TYPES (``--scalar``)."""
    pattern = re.compile(r"\bvoid\s+" + re.escape(entry) + r"\s*\(([^)]*)\)\s*\{")
    found = pattern.search(text)
    if found is None:
        entries = kernel_entries(text)
        known = f"; its __global__ functions: {', '.join(entries)}" if entries else ""
        raise InputError(source, f"no kernel entry 'void {entry}(...)' defined in it{known}")
    parameters = []
    for parameter in filter(None, (p.strip() for p in found.group(1).split(","))):
        words = [w for w in re.findall(r"\w+", parameter) if w != "const"]
        if words and ("GM_ADDR" in words or "*" in parameter):
            parameters.append((words[-1], "GM_ADDR"))
        elif len(words) == 2 and words[0] in SCALAR_TYPES:
            parameters.append((words[1], words[0]))
        else:
            raise InputError(
                source,
                f"{entry}: parameter '{parameter}' is neither a GM pointer nor a scalar of "
                f"type {', '.join(sorted(SCALAR_TYPES))}",
            )
    return parameters


def _launcher(entry: str, parameters: tuple[tuple[str, str], ...]) -> str:
    types = ", ".join(ctype for _, ctype in parameters)
    args = ", ".join(
        f"args[{i}]"
        if ctype == "GM_ADDR"
        else f'ubscope_twin::scalar_arg<{ctype}>({i}, "{name}", "{ctype}")'
        for i, (name, ctype) in enumerate(parameters)
    )
    return (
        "#include <cstdio>\n"
        '#include "ubscope_twin/harness.h"\n'
        f'extern "C" void {entry}({types});\n'
        "int main(int argc, char** argv) {\n"
        # The kernel's printf reaches the user line by line, even from a run
        # that crashes or is stopped (a pipe is otherwise fully buffered).
        "    std::setvbuf(stdout, nullptr, _IOLBF, 0);\n"
        "    return ubscope_twin::run_harness(argc, argv, [](GM_ADDR* args) { "
        f"{entry}({args}); }});\n"
        "}\n"
    )


def _header_bytes() -> bytes:
    digest = hashlib.sha256()
    for header in sorted(INCLUDE_DIR.rglob("*.h")):
        digest.update(header.relative_to(INCLUDE_DIR).as_posix().encode())
        digest.update(header.read_bytes())
    return digest.digest()


def compiler_errors(output: str, limit: int = MAX_COMPILER_ERRORS) -> list[str]:
    """The compiler's first errors as ``file:line: message`` lines (``file:
    message`` for the linker's, which has no line); never the source excerpts
    and caret lines g++ prints under them."""
    lines = output.splitlines()
    found: list[str] = []
    for index, line in enumerate(lines):
        if len(found) == limit:
            break
        placed = _ERROR_LINE.match(line)
        undefined = _UNDEFINED.match(line)
        unplaced = _UNPLACED_ERROR.match(line)
        if placed:
            error = f"{placed['file']}:{placed['line']}: {placed['msg']}"
        elif undefined:
            error = (
                f"{undefined['file']}: {undefined['msg']}: declared, but defined neither "
                "in the kernel's sources nor by the twin"
            )
        elif unplaced and unplaced["where"] == "<command-line>":
            error = _macro_error(unplaced["msg"], lines[index + 1 :])
        elif unplaced and not found:
            # after an error, the driver's own ("collect2: error: ld returned 1
            # exit status", "clang++: error: linker command failed") only repeats it
            error = f"{unplaced['where']}: {unplaced['msg']}"
        else:
            continue
        if error not in found:  # the linker names a missing function at every call
            found.append(error)
    return found or [line for line in lines if line.strip()][:limit]


def _compile_error(stderr: str, status: int) -> CompileError:
    """The error of a compiler run that failed: its first errors, or, when it
    printed none (a compiler killed, or a wrapper that fails silently), its
    exit status."""
    return CompileError(
        compiler_errors(stderr) or [f"the C++ compiler failed (status {status}) printing no error"]
    )


def _macro_error(message: str, following: list[str]) -> str:
    """An error in the expansion of a -D macro, placed where the source uses it."""
    for line in following:
        use = _MACRO_USE.match(line)
        if use:
            return (
                f"{use['file']}:{use['line']}: {message} (where the macro "
                f"'{use['name']}' of a -D definition expands)"
            )
        if _UNPLACED_ERROR.match(line) or _ERROR_LINE.match(line):
            break
    return f"a -D definition: {message}"


def user_headers(source: Path, text: str, include_dirs: tuple[str, ...]) -> dict[Path, str]:
    """The user's headers ``source`` includes (and they in turn), with their
    text: quoted ones found beside the including file or in ``include_dirs``,
    ``<...>`` ones found in ``include_dirs``."""
    found: dict[Path, str] = {}
    pending = [(source.resolve().parent, text)]
    searched = [Path(d) for d in include_dirs]
    while pending:
        folder, including = pending.pop()
        for quoted, angled in _INCLUDE.findall(including):
            name = quoted or angled
            # the compiler's order: beside the includer (quotes only), the user's
            # -I folders, the twin's headers (keyed on their own), the source's folder
            bases = [folder, *searched] if quoted else searched
            if not quoted and not (INCLUDE_DIR / name).is_file():
                bases = [*bases, source.resolve().parent]
            for base in bases:
                header = (base / name).resolve()
                if header.is_file():
                    if header not in found:
                        found[header] = header.read_text(encoding="utf-8", errors="replace")
                        pending.append((header.parent, found[header]))
                    break
    return found


# The C locale keeps the compiler's quotes plain ASCII in the one-line errors.
def _compiler_environment() -> dict[str, str]:
    return {**os.environ, "LC_ALL": "C"}


def _compile(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, env=_compiler_environment()
    )


def _compile_objects(compile_command: list[str], units: list[Path], work: Path) -> list[Path]:
    """Each unit compiled to an object file, all at once: the kernel and the
    launcher each parse the twin's headers, so side by side on two cores a
    first build takes about the kernel's compile alone, half the time of one
    compiler run over both (bench/bench_twin_build.py). A CompileError lists
    the units' errors in their order."""
    objects = [work / f"unit{index}.o" for index in range(len(units))]
    running = [
        subprocess.Popen(
            [*compile_command, "-c", str(unit), "-o", str(target)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_compiler_environment(),
        )
        for unit, target in zip(units, objects, strict=True)
    ]
    outcomes = [(process.communicate()[1], process.returncode) for process in running]
    failed = [(stderr, status) for stderr, status in outcomes if status != 0]
    if failed:
        raise _compile_error("".join(stderr for stderr, _ in failed), failed[0][1])
    return objects


def _kernel_unit(compile_command: list[str], source: Path, texts: list[str], work: Path) -> Path:
    """What to compile for the kernel: ``source``, or, when it names a plain
    tiling struct, a unit that includes it and then registers the struct's
    fields, read from the preprocessed source."""
    if not any(names_plain_tiling(text) for text in texts):
        return source
    done = _compile([*compile_command, "-E", str(source)])
    if done.returncode != 0:
        raise _compile_error(done.stderr, done.returncode)
    registration = plain_tiling_source(done.stdout, source)
    if not registration:
        return source
    # Included, the kernel's own file stays the one its call sites and errors name.
    unit = work / "tiling_fields.cpp"
    marker = f'#line 1 "{source.name} (tiling fields ubscope registers)"'
    unit.write_text(f'#include "{source.resolve()}"\n{marker}\n{registration}')
    return unit


def build(
    source: Path,
    entry: str,
    parameters: tuple[tuple[str, str], ...],
    defines: tuple[str, ...] = (),
    include_dirs: tuple[str, ...] = (),
    tiling_headers: tuple[Path, ...] = (),
    compiling: AbstractContextManager[object] | None = None,
) -> Path:
    """The twin executable of ``entry`` in ``source`` (built once per key);
    ``tiling_headers`` (BEGIN_TILING_DATA_DEF headers) are included first.
    ``compiling`` is entered around the compile, when there is one (a caller's
    progress display: a cached build takes no time)."""
    cxx, version = compiler()
    try:
        source_bytes = source.read_bytes()
    except OSError as exc:
        raise InputError(source, f"cannot read the kernel source ({exc.strerror})") from None
    text = source_bytes.decode("utf-8", errors="replace")
    flags = list(CXX_FLAGS) + [f"-D{d}" for d in defines] + [f"-I{d}" for d in include_dirs]
    flags += [f"-include{h.resolve()}" for h in tiling_headers]
    launcher = _launcher(entry, parameters)
    included = user_headers(source, text, include_dirs)
    tiling_texts = [h.read_text(encoding="utf-8", errors="replace") for h in tiling_headers]
    key = hashlib.sha256()
    for part in (
        source_bytes,
        _header_bytes(),
        launcher.encode(),
        "\0".join(flags).encode(),
        "\0".join(cxx).encode(),
        version.encode(),
        str(source.resolve().parent).encode(),
        *(body.encode() for body in tiling_texts),
        *(f"{path}\0{body}".encode() for path, body in sorted(included.items())),
    ):
        key.update(hashlib.sha256(part).digest())
    target = cache_dir() / key.hexdigest()[:24] / "twin"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    compile_command = [*cxx, *flags, f"-I{INCLUDE_DIR}", f"-I{source.resolve().parent}"]
    with compiling or nullcontext(), tempfile.TemporaryDirectory(dir=target.parent) as work:
        glue = Path(work) / "launch.cpp"
        glue.write_text(launcher)
        texts = [text, *tiling_texts, *included.values()]
        unit = _kernel_unit(compile_command, source, texts, Path(work))
        binary = Path(work) / "twin"
        objects = _compile_objects(compile_command, [unit, glue], Path(work))
        done = _compile([*cxx, *(str(path) for path in objects), "-o", str(binary)])
        if done.returncode != 0:
            raise _compile_error(done.stderr, done.returncode)
        os.replace(binary, target)
    return target
