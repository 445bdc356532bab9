"""A rule's documentation as ``ubscope rule CODE`` shows it: the four sections,
the thresholds with their meanings and defaults, and where the rule is defined."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.rules.base import Rule


@dataclass(frozen=True)
class ThresholdDoc:
    name: str
    default: float
    meaning: str


@dataclass(frozen=True)
class RuleDoc:
    """Everything a rule documents about itself."""

    code: str
    name: str
    severity: str
    input_kind: str
    summary: str
    sections: dict[str, str]  # heading -> text, in DOC_SECTIONS order
    thresholds: tuple[ThresholdDoc, ...]
    file: str  # source file of the rule class
    line: int  # line of its ``class`` statement

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "input": self.input_kind,
            "summary": self.summary,
            "sections": dict(self.sections),
            "thresholds": [
                {"name": t.name, "default": t.default, "meaning": t.meaning}
                for t in self.thresholds
            ],
            "file": self.file,
            "line": self.line,
        }


def explain_rule(code: str) -> RuleDoc:
    """The documentation of the rule ``code`` (case and spaces ignored); KeyError
    naming the code when no rule has it."""
    wanted = code.strip().upper()
    rule = load_rules().get(wanted)
    if rule is None:
        raise KeyError(f"unknown rule {code!r} (see `ubscope rules`)")
    return rule_doc(rule)


def rule_doc(rule: type[Rule]) -> RuleDoc:
    """The documentation of one rule class."""
    source, first = inspect.getsourcelines(rule)  # starts at the decorators
    line = first + next(i for i, text in enumerate(source) if text.lstrip().startswith("class "))
    return RuleDoc(
        code=rule.code,
        name=rule.name,
        severity=str(rule.severity),
        input_kind=rule.input_kind,
        summary=rule.summary(),
        sections=rule.sections(),
        thresholds=tuple(
            ThresholdDoc(name, threshold.default, threshold.meaning)
            for name, threshold in rule.thresholds.items()
        ),
        file=inspect.getsourcefile(rule) or "",
        line=line,
    )


def rule_text(doc: RuleDoc) -> str:
    """The documentation as plain text: heading line, summary, sections, thresholds."""
    parts = [f"{doc.code} {doc.name} ({doc.severity}, reads {doc.input_kind})", doc.summary]
    parts += [f"{heading}\n{text}" for heading, text in doc.sections.items()]
    if doc.thresholds:
        lines = [f"Thresholds (set in [tool.ubscope.thresholds.{doc.code}]):"]
        for threshold in doc.thresholds:
            lines.append(f"  {threshold.name} = {threshold.default}: {threshold.meaning}")
        parts.append("\n".join(lines))
    else:
        parts.append("Thresholds: none")
    return "\n\n".join(parts) + "\n"
