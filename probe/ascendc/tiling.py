"""Tiling values, the tiling key and scalar parameters of a twin launch, from
``ubscope run --tiling/--scalar/--tiling-key`` or a case file's ``tiling:``,
``scalars:`` and ``files:`` keys. Values stay text: the twin parses each one
with the type its field or parameter declares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ubscope.probe.errors import InputError, ParameterError

_VALUE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|true|false")
_TILING_DEF = "BEGIN_TILING_DATA_DEF"


@dataclass(frozen=True)
class LaunchValues:
    tiling: dict[str, str] = field(default_factory=dict)
    tiling_key: int = 0
    scalars: dict[str, str] = field(default_factory=dict)
    tiling_headers: tuple[Path, ...] = ()
    workspace_bytes: int = 0


def parse_assignments(option: str, texts: list[str]) -> dict[str, str]:
    """``NAME=VALUE,NAME=VALUE`` (repeatable) as a mapping; a bad item is one line."""
    values: dict[str, str] = {}
    for text in texts:
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep or not name.strip().isidentifier() or not _VALUE.fullmatch(value.strip()):
                raise ParameterError(f"{option} {item}: expected NAME=NUMBER[,NAME=NUMBER...]")
            values[name.strip()] = value.strip()
    return values


def _numbers(data: Any, key: str, path: Path, skip: tuple[str, ...]) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, f"{key}: expected a mapping of name to number")
    values = {}
    for name, value in data.items():
        if name in skip:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(path, f"{key}.{name}: expected a number, got {value!r}")
        values[str(name)] = repr(value)
    return values


def _tiling_headers(data: dict[str, Any], path: Path) -> tuple[Path, ...]:
    """The case's header files that define tiling data (BEGIN_TILING_DATA_DEF)."""
    headers = []
    for item in data.get("files", []) or []:
        name = item.get("file") if isinstance(item, dict) else None
        if isinstance(name, str) and name.endswith(".h"):
            header = path.parent / name
            try:
                text = header.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise InputError(path, f"files: cannot read {name} ({exc.strerror})") from None
            if _TILING_DEF in text:
                headers.append(header)
    return tuple(headers)


def case_launch_values(data: dict[str, Any], path: Path) -> LaunchValues:
    """``tiling: {FIELD: NUMBER, ..., tiling_key: K}`` (``kind`` is prose),
    ``scalars: {NAME: NUMBER}``, the tiling headers among ``files`` and
    ``launch: {workspace: BYTES}``."""
    tiling = data.get("tiling")
    key = tiling.get("tiling_key", 0) if isinstance(tiling, dict) else 0
    if not isinstance(key, int) or isinstance(key, bool):
        raise InputError(path, f"tiling.tiling_key: expected an integer, got {key!r}")
    launch = data.get("launch")
    workspace = launch.get("workspace", 0) if isinstance(launch, dict) else 0
    if not isinstance(workspace, int) or isinstance(workspace, bool) or workspace < 0:
        raise InputError(path, f"launch.workspace: expected a byte count, got {workspace!r}")
    return LaunchValues(
        _numbers(tiling, "tiling", path, ("kind", "tiling_key")),
        key,
        _numbers(data.get("scalars"), "scalars", path, ()),
        _tiling_headers(data, path),
        workspace,
    )


def cli_launch_values(
    tiling: list[str],
    tiling_key: int,
    scalars: list[str],
    headers: list[str],
    workspace_bytes: int = 0,
) -> LaunchValues:
    """The values of ``--tiling``, ``--tiling-key``, ``--scalar``, ``--tiling-header``
    and ``--workspace``."""
    for header in headers:
        if not Path(header).is_file():
            raise InputError(header, "cannot read the tiling header (no such file)")
    if workspace_bytes < 0:
        raise ParameterError(f"--workspace {workspace_bytes}: expected a byte count")
    return LaunchValues(
        parse_assignments("--tiling", tiling),
        tiling_key,
        parse_assignments("--scalar", scalars),
        tuple(Path(h) for h in headers),
        workspace_bytes,
    )


# What REGISTER_TILING_DEFAULT(T) and GET_TILING_DATA_WITH_STRUCT(T, ...) expand
# to (ubscope_twin/tiling.h), found in the preprocessed kernel.
_PLAIN_TILING = re.compile(
    r"\busing\s+ubscope_default_tiling_data\s*=\s*(?!::ubscope_twin::)([\w:]+)\s*;"
    r"|\bread_tiling<\s*([\w:]+)\s*>\s*\("
)
_LINE_MARKER = re.compile(r"^[ \t]*#[^\n]*", re.MULTILINE)
_ACCESS = re.compile(r"^\s*(?:public|private|protected)\s*:(?!:)")
_NOT_A_FIELD = ("static", "using", "typedef", "friend", "template", "enum", "struct", "class")
_OPENING, _CLOSING = "({[<", ")}]>"
# BEGIN_TILING_DATA_DEF's structs register their fields themselves.
_SELF_REGISTERING = "ubscope_self"


def names_plain_tiling(text: str) -> bool:
    """Whether a source or header may name a plain tiling struct (worth preprocessing)."""
    return "REGISTER_TILING_DEFAULT" in text or "GET_TILING_DATA_WITH_STRUCT" in text


def _split_members(body: str) -> list[str]:
    """The member declarations of a struct body: split at top-level ``;``, a
    member function's body dropped with its declaration."""
    members: list[str] = []
    current: list[str] = []
    depth, in_function = 0, False
    for char in body:
        if char in _OPENING:
            if char == "{" and depth == 0 and "(" in "".join(current):
                in_function = True
            depth += 1
        elif char in _CLOSING:
            depth -= 1
            if depth == 0 and in_function:
                current, in_function = [], False
                continue
        if char == ";" and depth == 0:
            members.append("".join(current))
            current = []
        elif not in_function:
            current.append(char)
    return members


def _declarators(member: str) -> list[str]:
    """``uint32_t a = 1, b[4]`` -> ``["uint32_t a = 1", " b[4]"]`` (top-level commas)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in member:
        depth += (char in _OPENING) - (char in _CLOSING)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    return [*parts, "".join(current)]


def _field_names(body: str) -> list[str]:
    names = []
    for member in _split_members(body):
        member = _ACCESS.sub("", member).strip()
        words = re.findall(r"\w+", member)
        if not words or words[0] in _NOT_A_FIELD or "(" in member.split("=")[0]:
            continue
        for declarator in _declarators(member):
            declared = re.split(r"[=\[{]", declarator, maxsplit=1)[0]
            identifiers = re.findall(r"[A-Za-z_]\w*", declared)
            if identifiers:
                names.append(identifiers[-1])
    return names


def _struct_body(code: str, name: str) -> str | None:
    found = re.search(r"\b(?:struct|class)\s+" + re.escape(name) + r"\s*(?:final\s*)?\{", code)
    if found is None:
        return None
    depth = 1
    for at in range(found.end(), len(code)):
        depth += (code[at] == "{") - (code[at] == "}")
        if depth == 0:
            return code[found.end() : at]
    return None


def plain_tiling_source(preprocessed: str, source: Path) -> str:
    """C++ to append to the kernel for each plain tiling struct it names with
    REGISTER_TILING_DEFAULT or GET_TILING_DATA_WITH_STRUCT: the field names,
    read from the struct's declaration in the preprocessed kernel (so #if and
    macros are resolved as the compiler resolves them), each registered with the
    offset and type the compiler gives it, and static checks that the struct is
    plain and that these are all of its fields. Empty when the kernel names none."""
    code = _LINE_MARKER.sub("", preprocessed)
    named = dict.fromkeys(a or b for a, b in _PLAIN_TILING.findall(code))
    lines = []
    for index, name in enumerate(named):
        short = name.rpartition("::")[2]
        body = _struct_body(code, short)
        if body is None:
            raise InputError(
                source,
                f"tiling struct {name}: no declaration 'struct {short} {{...}}' found "
                "(a typedef of an unnamed struct is not read)",
            )
        if _SELF_REGISTERING in body:
            continue
        fields = _field_names(body)
        lines += [
            f"static_assert(::ubscope_twin::tiling_type_name<std::remove_cv_t<decltype({name}::{f})>>()"
            f' != nullptr, "ubscope twin: tiling field {name}::{f} is not a scalar (uint8_t .. '
            'int64_t, float, double, bool): arrays and nested structs are not covered");'
            for f in fields
        ]
        lines += [
            f"static_assert(std::is_standard_layout_v<{name}> && "
            f"std::is_trivially_copyable_v<{name}>, "
            f'"ubscope twin: tiling struct {name} is not a plain struct");',
            f"static_assert(::ubscope_twin::aggregate_fields<{name}>() == {len(fields)}, "
            f'"ubscope twin: tiling struct {name} has other fields than '
            f'{", ".join(fields) or "none"}, the ones ubscope read from its declaration");',
            f"static const bool ubscope_plain_tiling_{index} = "
            f"::ubscope_twin::register_plain_tiling<{name}>({{",
            *(f"    UBSCOPE_PLAIN_TILING_FIELD({name}, {field})," for field in fields),
            "});",
        ]
    return "\n".join(lines) + "\n" if lines else ""
