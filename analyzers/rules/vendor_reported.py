"""Base for rules whose findings a vendor tool reports itself.

msSanitizer and the advisors diagnose problems on their own; their readers
turn each record into a finding with the right code. These rules exist so
that every vendor code can be listed and explained (``ubscope rules``) and
selected like a trace rule: ``check`` just returns the report's findings
carrying the rule's code.
"""

from __future__ import annotations

from ubscope.analyzers.findings import Finding
from ubscope.analyzers.rules.base import Rule
from ubscope.analyzers.vendor.common import VendorReport


class ReportedFindingRule(Rule):
    """A vendor-reported finding code (subclasses document one code each)."""

    def check(self, data: VendorReport) -> list[Finding]:
        return [finding for finding in data.findings if finding.code == self.code]
