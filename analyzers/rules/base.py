"""The rule base class and registry.

A rule is one small class in a file of its own: a stable ``code`` (2-4 capital
letters and three digits), a ``name``, a default ``severity``, ``thresholds``
(each a :class:`Threshold`: its default and what it means) and a docstring of a
summary line and the four sections of :data:`DOC_SECTIONS`, which ``ubscope
rule CODE`` prints. ``check`` receives the input the rule is about
(``input_kind`` says which) and returns findings. :func:`register` refuses a
rule that lacks any of these parts.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.registry import tool_names

CODE_PATTERN = re.compile(r"^[A-Z]{2,4}\d{3}$")
DOC_SECTIONS = ("What it does", "Why it matters", "Example", "How to fix")
_HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


def input_kinds() -> tuple[str, ...]:
    """What a rule may read: "trace" rules get a TraceContext; the rules of a
    vendor tool (``input_kind`` = the tool's name) get that tool's report."""
    return ("trace", *tool_names())


@dataclass(frozen=True)
class Threshold:
    """A limit a rule compares against: its default and what it measures."""

    default: float
    meaning: str


class RuleDocError(ValueError):
    """A rule class lacks a part every rule must have (name, docs, threshold meanings)."""


class Rule:
    """Base class; subclasses are registered with :func:`register`."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.WARNING
    input_kind: ClassVar[str] = "trace"
    thresholds: ClassVar[Mapping[str, Threshold]] = {}
    # reads TraceContext.block_usage or .single_buffered, which another thread
    # may still be computing while the other rules run (ubscope.analyzers.engine)
    reads_block_usage: ClassVar[bool] = False
    reads_single_buffered: ClassVar[bool] = False

    def __init__(self, thresholds: Mapping[str, float] | None = None):
        merged = self.threshold_defaults()
        for key, value in (thresholds or {}).items():
            if key not in merged:
                known = ", ".join(sorted(merged)) or "none"
                raise KeyError(f"rule {self.code} has no threshold {key!r} (known: {known})")
            merged[key] = float(value)
        self.limits: dict[str, float] = merged

    def check(self, data: Any) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        message: str,
        location: Location | None = None,
        *,
        severity: Severity | None = None,
        evidence: dict[str, Any] | None = None,
        suggestion: str = "",
        estimated_gain: str | None = None,
        source: str = "ubscope",
    ) -> Finding:
        """Build a finding carrying this rule's code and default severity."""
        return Finding(
            code=self.code,
            severity=self.severity if severity is None else severity,
            message=message,
            location=location or Location(),
            evidence=evidence or {},
            suggestion=suggestion,
            estimated_gain=estimated_gain,
            source=source,
        )

    @classmethod
    def threshold_defaults(cls) -> dict[str, float]:
        """Each threshold's default value, by name."""
        return {name: threshold.default for name, threshold in cls.thresholds.items()}

    @classmethod
    def explanation(cls) -> str:
        """The rule's docstring, dedented: its summary line and its four sections."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring."""
        return cls.explanation().splitlines()[0] if cls.__doc__ else cls.name

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The docstring's ``## Heading`` sections, heading -> text, in order."""
        text = cls.explanation()
        headings = list(_HEADING.finditer(text))
        ends = [match.start() for match in headings[1:]] + [len(text)]
        return {
            match.group(1): text[match.end() : end].strip()
            for match, end in zip(headings, ends, strict=True)
        }


def missing_parts(cls: type[Rule]) -> list[str]:
    """What ``cls`` lacks of the parts every rule has (empty when complete)."""
    missing = []
    if not cls.name:
        missing.append("name")
    if not isinstance(cls.severity, Severity):
        missing.append("severity")
    text = cls.explanation()
    if not text or text.startswith("## "):
        missing.append("docstring summary line")
    sections = cls.sections()
    missing += [f"'## {heading}' section" for heading in DOC_SECTIONS if not sections.get(heading)]
    if list(sections) != [heading for heading in DOC_SECTIONS if heading in sections]:
        missing.append(f"only the sections {', '.join(DOC_SECTIONS)}, in that order")
    for key, threshold in cls.thresholds.items():
        if not isinstance(threshold, Threshold) or not threshold.meaning.strip():
            missing.append(f"meaning of threshold {key!r} (Threshold(default, meaning))")
    return missing


REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator adding a rule to :data:`REGISTRY` (codes are unique; every
    part a rule documents must be there)."""
    if not CODE_PATTERN.match(cls.code):
        raise ValueError(f"rule code {cls.code!r} must be 2-4 capital letters and 3 digits")
    if cls.code in REGISTRY and REGISTRY[cls.code] is not cls:
        raise ValueError(f"rule code {cls.code} registered twice")
    if cls.input_kind not in input_kinds():
        raise ValueError(f"rule {cls.code}: unknown input_kind {cls.input_kind!r}")
    missing = missing_parts(cls)
    if missing:
        raise RuleDocError(f"rule {cls.code} ({cls.__qualname__}) lacks: {'; '.join(missing)}")
    REGISTRY[cls.code] = cls
    return cls
