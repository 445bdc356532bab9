"""The rule base class and registry.

A rule is one small class: a stable ``code`` (2-4 capital letters and three
digits), a ``name``, a default ``severity``, ``thresholds`` with defaults, and a
docstring in three parts (what it flags, why it matters, how to fix it) that
``ubscope rule CODE`` prints. ``check`` receives the input the rule is about
(``input_kind`` says which) and returns findings.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.registry import tool_names

CODE_PATTERN = re.compile(r"^[A-Z]{2,4}\d{3}$")

def input_kinds() -> tuple[str, ...]:
    """What a rule may read: "trace" rules get a TraceContext; the rules of a
    vendor tool (``input_kind`` = the tool's name) get that tool's report."""
    return ("trace", *tool_names())


class Rule:
    """Base class; subclasses are registered with :func:`register`."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.WARNING
    input_kind: ClassVar[str] = "trace"
    thresholds: ClassVar[Mapping[str, float]] = {}

    def __init__(self, thresholds: Mapping[str, float] | None = None):
        merged = dict(self.thresholds)
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
    def explanation(cls) -> str:
        """The rule's docstring, dedented: what it flags, why, and how to fix it."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring."""
        return cls.explanation().splitlines()[0] if cls.__doc__ else cls.name


REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator adding a rule to :data:`REGISTRY` (codes are unique)."""
    if not CODE_PATTERN.match(cls.code):
        raise ValueError(f"rule code {cls.code!r} must be 2-4 capital letters and 3 digits")
    if cls.code in REGISTRY and REGISTRY[cls.code] is not cls:
        raise ValueError(f"rule code {cls.code} registered twice")
    if cls.input_kind not in input_kinds():
        raise ValueError(f"rule {cls.code}: unknown input_kind {cls.input_kind!r}")
    if not cls.__doc__ or not cls.name:
        raise ValueError(f"rule {cls.code} needs a name and a docstring")
    REGISTRY[cls.code] = cls
    return cls
