"""Base classes of vendor rules: the fix text a finding suggests is the rule's
``## How to fix`` section, written once in its docstring.

:class:`VendorRule` is a rule over a tool's report (it computes findings from
the report's tables); :class:`ReportedFindingRule` is a code the tool
diagnoses itself (msSanitizer, the advisors): the reader turns each record
into a finding with that code and the rule hands those findings on with its
fix text, so every vendor code can be listed, explained and selected like a
trace rule.
"""

from __future__ import annotations

from typing import ClassVar

from ubscope.analyzers.findings import Finding
from ubscope.analyzers.rules.base import Rule
from ubscope.analyzers.vendor.common import VendorReport


class VendorRule(Rule):
    """A rule over one vendor tool's report."""

    # Trace codes whose findings can explain this code's (see correlate.py).
    explained_by: ClassVar[tuple[str, ...]] = ()
    # Findings that describe rather than flag: nothing for the trace to explain.
    descriptive: ClassVar[bool] = False

    @classmethod
    def fix(cls) -> str:
        """What a finding of this rule suggests: its ``## How to fix`` section, one paragraph."""
        return " ".join(cls.sections().get("How to fix", "").split())


class ReportedFindingRule(VendorRule):
    """A vendor-reported finding code (subclasses document one code each)."""

    # The tool writes its own suggestion (the advisors): keep it where it gave one.
    tool_suggests: ClassVar[bool] = False

    def check(self, data: VendorReport) -> list[Finding]:
        findings = [finding for finding in data.findings if finding.code == self.code]
        for finding in findings:
            if not (self.tool_suggests and finding.suggestion):
                finding.suggestion = self.fix()
        return findings
