"""Tiling values, the tiling key and scalar parameters of a twin launch, from
``ubscope run --tiling/--scalar/--tiling-key`` or a case file's ``tiling:``,
``scalars:`` and ``files:`` keys. Values stay text: the twin parses each one
with the type its field or parameter declares. An array field's value is
``[V0,V1,...]`` (a YAML list in a case file) and a nested struct's field is
named ``outer.inner`` (a nested mapping in a case file)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ubscope.probe.errors import InputError, ParameterError

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|true|false"
_VALUE = re.compile(_NUMBER)
_LIST = re.compile(rf"\[\s*(?:(?:{_NUMBER})\s*(?:,\s*(?:{_NUMBER})\s*)*)?\]")
_FIELD_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_TILING_DEF = "BEGIN_TILING_DATA_DEF"
# A case's tiling kind that says its values are baked into the kernel (the
# samples' "hard-coded members", "compile-time constants"): the block is prose.
_BAKED_IN = re.compile(r"hard[- ]?coded|compile[- ]time", re.IGNORECASE)


@dataclass(frozen=True)
class LaunchValues:
    tiling: dict[str, str] = field(default_factory=dict)
    tiling_key: int = 0
    scalars: dict[str, str] = field(default_factory=dict)
    tiling_headers: tuple[Path, ...] = ()
    workspace_bytes: int = 0


def _items(text: str) -> list[str]:
    """``a=1,b=[2,3]`` -> ``["a=1", "b=[2,3]"]``: split at commas outside brackets."""
    items, depth, begin = [], 0, 0
    for at, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            items.append(text[begin:at])
            begin = at + 1
    return [item.strip() for item in [*items, text[begin:]] if item.strip()]


def parse_assignments(option: str, texts: list[str], fields: bool = False) -> dict[str, str]:
    """``NAME=VALUE,NAME=VALUE`` (repeatable) as a mapping; a bad item is one line.
    ``fields`` (tiling fields): NAME may be ``outer.inner`` and VALUE ``[V0,V1,...]``."""
    values: dict[str, str] = {}
    expected = (
        "expected NAME=NUMBER or NAME=[NUMBER,...] (NAME: a field, or STRUCT.FIELD)"
        if fields
        else "expected NAME=NUMBER[,NAME=NUMBER...]"
    )
    for text in texts:
        for item in _items(text):
            name, sep, value = (part.strip() for part in item.partition("="))
            good_name = _FIELD_PATH.fullmatch(name) if fields else name.isidentifier()
            good_value = _VALUE.fullmatch(value) or (fields and _LIST.fullmatch(value))
            if not sep or not good_name or not good_value:
                raise ParameterError(f"{option} {item}: {expected}")
            values[name] = re.sub(r"\s+", "", value)
    return values


def _number(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InputError(path, f"{where}: expected a number, got {value!r}")
    return repr(value)


def _numbers(
    data: Any, key: str, path: Path, skip: tuple[str, ...], nested: bool = False
) -> dict[str, str]:
    """``{NAME: NUMBER}`` as text by name; ``nested`` (tiling fields): a list is
    an array field's values, a mapping a nested struct's fields (``outer.inner``)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, f"{key}: expected a mapping of name to number")
    values = {}
    for name, value in data.items():
        where = f"{key}.{name}"
        if name in skip:
            continue
        if nested and isinstance(value, list):
            items = [_number(item, f"{where}[{i}]", path) for i, item in enumerate(value)]
            values[str(name)] = "[" + ",".join(items) + "]"
        elif nested and isinstance(value, dict):
            inner = _numbers(value, where, path, (), nested)
            values.update({f"{name}.{field}": text for field, text in inner.items()})
        else:
            values[str(name)] = _number(value, where, path)
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


def _describes_baked_in_values(tiling: Any) -> bool:
    """Whether a case's ``tiling:`` block only documents values the kernel has
    baked in (its ``kind`` says "hard-coded" or "compile-time"): the kernel
    takes no tiling struct, so none of its fields are passed or checked."""
    kind = tiling.get("kind") if isinstance(tiling, dict) else None
    return isinstance(kind, str) and _BAKED_IN.search(kind) is not None


def case_launch_values(data: dict[str, Any], path: Path) -> LaunchValues:
    """``tiling: {FIELD: NUMBER, ..., tiling_key: K}`` (``kind`` is prose; a
    block whose kind says the values are hard-coded or compile-time constants
    is all prose but ``tiling_key``), ``scalars: {NAME: NUMBER}``, the tiling
    headers among ``files`` and ``launch: {workspace: BYTES}``."""
    tiling = data.get("tiling")
    key = tiling.get("tiling_key", 0) if isinstance(tiling, dict) else 0
    if not isinstance(key, int) or isinstance(key, bool):
        raise InputError(path, f"tiling.tiling_key: expected an integer, got {key!r}")
    launch = data.get("launch")
    workspace = launch.get("workspace", 0) if isinstance(launch, dict) else 0
    if not isinstance(workspace, int) or isinstance(workspace, bool) or workspace < 0:
        raise InputError(path, f"launch.workspace: expected a byte count, got {workspace!r}")
    fields = (
        {}
        if _describes_baked_in_values(tiling)
        else _numbers(tiling, "tiling", path, ("kind", "tiling_key"), nested=True)
    )
    return LaunchValues(
        fields,
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
        parse_assignments("--tiling", tiling, fields=True),
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


@dataclass(frozen=True)
class _Member:
    name: str
    type_name: str  # the last word of its declared type ("Sub" for "ns::Sub sub")
    array: bool


def _members(body: str) -> list[_Member]:
    """The data members of a struct body, in declaration order."""
    members = []
    for member in _split_members(body):
        member = _ACCESS.sub("", member).strip()
        words = re.findall(r"\w+", member)
        # "struct Sub sub;" declares a member; "struct In { ... } in;" defines a type.
        elaborated = words[:1] in (["struct"], ["class"]) and "{" not in member
        if not words or (words[0] in _NOT_A_FIELD and not elaborated):
            continue
        if "(" in member.split("=")[0]:
            continue
        type_words: list[str] = []
        for declarator in _declarators(member):
            declared = re.split(r"[=\[{]", declarator, maxsplit=1)[0]
            identifiers = re.findall(r"[A-Za-z_]\w*", declared)
            if identifiers:
                type_words = type_words or identifiers[:-1]
                array = "[" in declarator.split("=")[0]
                type_name = type_words[-1] if type_words else ""
                members.append(_Member(identifiers[-1], type_name, array))
    return members


def _struct_body(code: str, name: str) -> str | None:
    """The body of ``struct name {...}`` (or class), or of ``typedef struct {...} name;``."""
    found = re.search(r"\b(?:struct|class)\s+" + re.escape(name) + r"\s*(?:final\s*)?\{", code)
    if found is not None:
        end = _closing_brace(code, found.end())
        return None if end is None else code[found.end() : end]
    declarator = re.compile(r"\s*" + re.escape(name) + r"\s*[;,]")
    for typedef in re.finditer(r"\btypedef\s+(?:struct|class)\s*(?:\w+\s*)?\{", code):
        end = _closing_brace(code, typedef.end())
        if end is not None and declarator.match(code, end + 1):
            return code[typedef.end() : end]
    return None


def _closing_brace(code: str, start: int) -> int | None:
    """Where the brace opened just before ``start`` closes."""
    depth = 1
    for at in range(start, len(code)):
        depth += (code[at] == "{") - (code[at] == "}")
        if depth == 0:
            return at
    return None


def _struct_checks(
    name: str, members: list[_Member], type_of: str, fields: list[str], label: str
) -> list[str]:
    """Static checks that the struct ``label`` (C++ type ``type_of``) is plain and
    that ``members`` (``fields`` from ``name``) are all of its fields (brace
    elision gives an array one initializer per element)."""
    slots = " + ".join(
        f"::ubscope_twin::initializer_slots<UBSCOPE_PLAIN_TILING_TYPE({name}, {field})>()"
        for field in fields
    )
    listed = ", ".join(member.name for member in members) or "none"
    return [
        f"static_assert(std::is_standard_layout_v<{type_of}> && "
        f"std::is_trivially_copyable_v<{type_of}>, "
        f'"ubscope twin: tiling struct {label} is not a plain struct");',
        f"static_assert(::ubscope_twin::takes_initializers<{type_of}, {slots or 0}>(), "
        f'"ubscope twin: tiling struct {label} has other fields than {listed}, the ones '
        'ubscope read from its declaration");',
    ]


def _leaf_fields(
    code: str, name: str, path: str, members: list[_Member], lines: list[str]
) -> list[str]:
    """The scalar and array fields under ``path`` ("" or "sub."), a nested plain
    struct's fields expanded as "sub.inner" (checked as the outer struct is)."""
    leaves = []
    for member in members:
        field = path + member.name
        body = None if member.array else _struct_body(code, member.type_name)
        if body is None or _SELF_REGISTERING in body:
            leaves.append(field)
            continue
        inner = _members(body)
        type_of = f"UBSCOPE_PLAIN_TILING_TYPE({name}, {field})"
        fields = [f"{field}.{m.name}" for m in inner]
        lines += _struct_checks(name, inner, type_of, fields, f"{name}::{field}")
        leaves += _leaf_fields(code, name, f"{field}.", inner, lines)
    return leaves


def plain_tiling_source(preprocessed: str, source: Path) -> str:
    """C++ to append to the kernel for each plain tiling struct it names with
    REGISTER_TILING_DEFAULT or GET_TILING_DATA_WITH_STRUCT: the field names,
    read from the struct's declaration in the preprocessed kernel (so #if and
    macros are resolved as the compiler resolves them), a nested plain struct's
    fields as "sub.inner", each registered with the offset and type the
    compiler gives it, and static checks that the structs are plain, that these
    are all of their fields and that each is a scalar or an array of scalars.
    Empty when the kernel names none."""
    code = _LINE_MARKER.sub("", preprocessed)
    named = dict.fromkeys(a or b for a, b in _PLAIN_TILING.findall(code))
    lines: list[str] = []
    for index, name in enumerate(named):
        short = name.rpartition("::")[2]
        body = _struct_body(code, short)
        if body is None:
            raise InputError(
                source,
                f"tiling struct {name}: no declaration 'struct {short} {{...}}' or "
                f"'typedef struct {{...}} {short};' found",
            )
        if _SELF_REGISTERING in body:
            continue
        members = _members(body)
        lines += _struct_checks(name, members, name, [m.name for m in members], name)
        fields = _leaf_fields(code, name, "", members, lines)
        lines += [
            "static_assert(::ubscope_twin::tiling_type_name<std::remove_all_extents_t<"
            f"UBSCOPE_PLAIN_TILING_TYPE({name}, {f})>>() != nullptr, "
            f'"ubscope twin: tiling field {name}::{f} is not a scalar (uint8_t .. int64_t, '
            'float, double, bool), an array of scalars or a plain struct of them");'
            for f in fields
        ]
        lines += [
            f"static const bool ubscope_plain_tiling_{index} = "
            f"::ubscope_twin::register_plain_tiling<{name}>({{",
            *(f"    UBSCOPE_PLAIN_TILING_FIELD({name}, {field})," for field in fields),
            "});",
        ]
    return "\n".join(lines) + "\n" if lines else ""
