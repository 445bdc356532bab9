"""Findings grouped by the call site they point at (issue 16 item 3: the TUI and
the report group by file:line)."""

from __future__ import annotations

from ubscope.analyzers.findings import Finding, Location, Severity, group_by_call_site


def finding(code: str, severity: Severity, tag: str | None = None, file: str | None = None):
    return Finding(code, severity, f"{code} here", Location(tag=tag, file=file))


def test_sites_with_the_worst_findings_come_first_and_sites_keep_their_order() -> None:
    info_a = finding("UB010", Severity.INFO, tag="k.cpp:54")
    warn_b = finding("ALN004", Severity.WARNING, tag="k.cpp:112")
    error_b = finding("ALN002", Severity.ERROR, tag="k.cpp:112")
    nowhere = finding("GM003", Severity.ERROR)
    info_c1 = finding("ALN003", Severity.INFO, tag="k.cpp:60")
    info_c2 = finding("ALN003", Severity.INFO, tag="k.cpp:60")
    vendor = finding("VEC001", Severity.WARNING, file="k.cpp:70")
    groups = group_by_call_site([info_a, warn_b, error_b, nowhere, info_c1, info_c2, vendor])
    # By hand: k.cpp:112 holds the error; then k.cpp:70 (a warning, named by the
    # vendor's file:line); then the info sites, the one with two findings first;
    # the finding without a call site last although it is an error.
    assert [g.site for g in groups] == ["k.cpp:112", "k.cpp:70", "k.cpp:60", "k.cpp:54", ""]
    assert groups[0].findings == (warn_b, error_b)  # the order they came in
    assert (groups[0].worst, groups[0].codes) == (Severity.ERROR, ["ALN002", "ALN004"])
    assert groups[2].findings == (info_c1, info_c2) and groups[2].codes == ["ALN003"]
    assert groups[-1].findings == (nowhere,)


def test_no_findings_no_groups() -> None:
    assert group_by_call_site([]) == []
