"""Findings: what a rule (or a vendor tool) reports, and where.

A finding is a grouped diagnosis (one per problem and place, not one per
event), so findings are ordinary Python objects; the events they point at stay
in the columnar trace and are referenced by sequence-number range.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

from ubscope.probe.text import printable, printable_prose


class Severity(enum.IntEnum):
    """Ordered so that ``severity >= Severity.WARNING`` reads naturally."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


# what :meth:`Location.describe` gives for a finding that points nowhere (advice
# about a whole run): tables show it, the text output and the report leave the
# location out (:attr:`Location.points_anywhere`)
NO_LOCATION = "-"


@dataclass
class Location:
    """Where a finding applies. Every field is optional: vendor findings often
    know only a kernel and an address, trace findings know everything."""

    kernel: str | None = None
    core: int | None = None
    core_kind: str | None = None  # "aiv", "aic" or "aicore" (coupled)
    space: str | None = None  # GM, UB, L1, L0A, L0B, L0C
    addr_start: int | None = None
    addr_end: int | None = None  # exclusive
    first_seq: int | None = None
    last_seq: int | None = None
    tag: str | None = None  # call-site tag
    tensor: str | None = None  # GM tensor name
    file: str | None = None  # source file:line, from vendor stacks
    code: str | None = None  # the code on the call site's line (a CPU-twin trace)

    def file_is_tag(self) -> bool:
        """Whether ``file`` is the call-site tag with its path (a CPU-twin
        finding's ``kern/add.cpp:42`` for ``add.cpp:42``): views show the
        shorter tag, machine-readable output the path."""
        return bool(self.file and self.tag and PurePath(self.file).name == self.tag)

    @property
    def points_anywhere(self) -> bool:
        """Whether the finding is about a place (False for advice about a whole
        run): the text output and the report show a location only then."""
        return bool(self._parts())

    def describe(self) -> str:
        """A short human-readable form, e.g. ``int4_gemm aiv3 UB 0x2f800-0x31000 @dequant``."""
        return " ".join(self._parts()) or NO_LOCATION

    def _parts(self) -> list[str]:
        parts: list[str] = []
        if self.kernel:
            parts.append(self.kernel)
        if self.core is not None:
            parts.append(f"{self.core_kind or 'core'}{self.core}")
        if self.space:
            parts.append(self.space)
        if self.addr_start is not None:
            if self.addr_end is not None and self.addr_end != self.addr_start:
                parts.append(f"0x{self.addr_start:x}-0x{self.addr_end:x}")
            else:
                parts.append(f"0x{self.addr_start:x}")
        if self.tensor:
            parts.append(f"tensor {self.tensor}")
        if self.tag:
            parts.append(f"@{self.tag}")
        if self.file and not self.file_is_tag():
            parts.append(self.file)
        if self.first_seq is not None:
            if self.last_seq is not None and self.last_seq != self.first_seq:
                parts.append(f"events {self.first_seq}..{self.last_seq}")
            else:
                parts.append(f"event {self.first_seq}")
        return parts


@dataclass
class Finding:
    """One diagnosis. ``source`` is ``"ubscope"`` for trace rules, or the vendor
    tool's name (``"msSanitizer"``, ``"msadvisor"``, ``"msprof op"``,
    ``"torch_npu"``) for findings read from vendor output."""

    code: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    evidence: dict[str, Any] = field(default_factory=dict)
    suggestion: str = ""
    estimated_gain: str | None = None
    source: str = "ubscope"
    # Filled by correlation: e.g. ["confirmed by msSanitizer (serialNo 12)"].
    correlations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Vendor messages and names come from files: keep control codes out of terminals.
        self.message = printable_prose(self.message)
        self.suggestion = printable_prose(self.suggestion)
        for name in ("kernel", "space", "tag", "tensor", "file", "code", "core_kind"):
            value = getattr(self.location, name)
            if isinstance(value, str):
                setattr(self.location, name, printable(value))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=str(data["code"]),
            severity=Severity.parse(str(data["severity"])),
            message=str(data["message"]),
            location=Location(**data.get("location", {})),
            evidence=dict(data.get("evidence", {})),
            suggestion=str(data.get("suggestion", "")),
            estimated_gain=data.get("estimated_gain"),
            source=str(data.get("source", "ubscope")),
            correlations=list(data.get("correlations", [])),
        )


def call_site(finding: Finding) -> str:
    """Where in the source a finding points: the vendor's ``file:line``, else
    the call-site tag (a twin kernel's ``file.cpp:LINE``, a Python kernel's
    tag); empty when it names none."""
    location = finding.location
    if location.file_is_tag():
        return location.tag or ""
    return location.file or location.tag or ""


@dataclass(frozen=True)
class CallSiteGroup:
    """The findings that point at one call site."""

    site: str  # empty: findings without a call site
    findings: tuple[Finding, ...]

    @property
    def worst(self) -> Severity:
        return max(f.severity for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})


def group_by_call_site(findings: list[Finding]) -> list[CallSiteGroup]:
    """``findings`` grouped by :func:`call_site`: the sites with the worst
    findings first, then the most findings, then by site; findings keep their
    order within a group, and those without a site come last."""
    sites: dict[str, list[Finding]] = {}
    for finding in findings:
        sites.setdefault(call_site(finding), []).append(finding)
    groups = [CallSiteGroup(site, tuple(found)) for site, found in sites.items()]
    return sorted(groups, key=lambda g: (not g.site, -g.worst, -len(g.findings), g.site))
