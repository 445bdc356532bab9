"""The one YAML loader of ubscope: chip profiles, configuration and budgets.

YAML aliases turn a few hundred bytes into a graph whose paths grow
exponentially (a "billion laughs" file): ``yaml.safe_load`` returns it
cheaply as shared references, but the first ``str()`` or walk over it expands
them. So documents are composed into nodes with ``yaml.SafeLoader`` (no
constructors run, aliases stay references) and built by a walk that counts
every value and every scalar character it produces *after* alias expansion,
and stops at :data:`MAX_YAML_VALUES` / :data:`MAX_YAML_CHARS` / :data:`MAX_YAML_DEPTH`
with a one-line error naming ``file:line``.

Numbers follow YAML 1.2 where PyYAML's YAML 1.1 resolver reads text: an
unquoted value ``1e30``, ``1.0e30`` or ``-2E-3`` (an exponent without a sign,
or no dot) is a float, not the string ``'1e30'``. Quoted, it stays a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ubscope.probe.errors import InputError

MAX_YAML_DEPTH = 20
MAX_YAML_VALUES = 100_000  # far more than any profile, configuration or budgets file
MAX_YAML_CHARS = 4 << 20  # scalar characters after alias expansion


# YAML 1.2's floats that YAML 1.1 (PyYAML) reads as text: an exponent without
# a sign, or without a dot before it.
_EXPONENT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class Marked:
    """A YAML value with the line it starts on (1-based) and, in a mapping, the
    line of its key. Mappings hold ``dict[str, Marked]``, sequences
    ``list[Marked]``, scalars plain values."""

    value: Any
    line: int
    key_line: int = 0


class _Walk:
    """Builds values from nodes within the value/character/depth budget."""

    def __init__(self, where: str, error: type[InputError], marked: bool):
        self.where = where
        self.error = error
        self.marked = marked
        self.constructor = SafeConstructor()
        self.values = MAX_YAML_VALUES
        self.chars = MAX_YAML_CHARS

    def fail(self, node: yaml.Node, problem: str) -> InputError:
        return self.error(f"{self.where}:{node.start_mark.line + 1}", problem)

    def build(self, node: yaml.Node, depth: int) -> Any:
        if depth > MAX_YAML_DEPTH:
            raise self.fail(node, "nested too deeply (a recursive alias?)")
        self.values -= 1
        if isinstance(node, yaml.ScalarNode):
            self.chars -= len(node.value)
        if self.values < 0 or self.chars < 0:
            raise self.fail(
                node,
                f"more than {MAX_YAML_VALUES} values or {MAX_YAML_CHARS >> 20} MiB of text "
                "once aliases are expanded (an alias bomb?)",
            )
        if isinstance(node, yaml.MappingNode):
            value: Any = self._mapping(node, depth)
        elif isinstance(node, yaml.SequenceNode):
            value = [self.build(item, depth + 1) for item in node.value]
        else:
            value = self._value(node)
        return Marked(value, node.start_mark.line + 1) if self.marked else value

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as exc:
            raise self.fail(node, f"bad value ({exc})") from None
        except ValueError:  # an integer of more digits than Python converts (4300)
            raise self.fail(node, "bad value (a number of too many digits)") from None

    def _value(self, node: yaml.Node) -> Any:
        """A scalar value; an unquoted ``1e30`` is a float, as in YAML 1.2 (an
        explicit ``!!str 1e30`` cannot be told from it: quote it). Keys keep their text."""
        plain = isinstance(node, yaml.ScalarNode) and node.style is None
        if plain and node.tag == _STR_TAG and _EXPONENT.fullmatch(node.value):
            return float(node.value)
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "keys must be plain")
            key = str(self._scalar(key_node))
            if key in mapping:
                raise self.fail(key_node, f"duplicate key {key!r}")
            mapping[key] = self.build(value_node, depth + 1)
            if self.marked:
                mapping[key].key_line = key_node.start_mark.line + 1
        return mapping


def _compose(text: str, where: str, error: type[InputError]) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise error(f"{where}:{line}", f"malformed YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise error(where, f"malformed YAML: {exc}") from None
    except RecursionError:
        raise error(where, "malformed YAML: nested too deeply") from None


def parse_yaml(text: str, where: str, error: type[InputError]) -> Any:
    """The plain values of a YAML document (None when empty), within the caps;
    ``error`` (an :class:`InputError` subclass) names ``where:line`` otherwise."""
    root = _compose(text, where, error)
    return None if root is None else _Walk(where, error, marked=False).build(root, 0)


def parse_yaml_marked(text: str, where: str, error: type[InputError]) -> Marked | None:
    """Like :func:`parse_yaml`, every value wrapped in :class:`Marked` (its line)."""
    root = _compose(text, where, error)
    return None if root is None else _Walk(where, error, marked=True).build(root, 0)
