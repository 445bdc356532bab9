"""The report's HTML text parts: header, metric cards and comparison, findings.

Everything that came from a trace or a vendor file passes through
:func:`ubscope.reports.escape.text` here; nothing is inserted raw.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ubscope.analyzers import (
    LEGEND,
    OUTPUT_NOT_MEANINGFUL,
    REGISTRY,
    SEVERITY_NAMES,
    Comparison,
    DeviceFault,
    Finding,
    FindingChanges,
    MetricDelta,
    finding_counts,
    group_by_call_site,
)
from ubscope.probe.units import format_bytes, format_time_ps
from ubscope.probe.version import __version__
from ubscope.reports.escape import text
from ubscope.reports.rule_docs import rule_doc_html


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items()) or "-"


def trace_facts(
    label: str, meta: Mapping[str, Any], trace_path: Path | None, events: int, complete: bool
) -> list[tuple[str, str]]:
    """Rows describing one trace: what ran, where, with what, recorded by what."""
    chip = meta.get("chip", {})
    state = "complete" if complete else "truncated (recording was interrupted)"
    recorded = f"{meta.get('start_time', '?')} by ubscope {meta.get('ubscope_version', '?')}"
    rows = [
        ("trace", trace_path.name if trace_path else "-"),
        ("kernel", str(meta.get("kernel", "?"))),
        ("preset", str(meta.get("preset") or "-")),
        ("parameters", _params(meta.get("params", {}))),
        ("chip", f"{chip.get('name', '?')}: {chip.get('description', '')}".rstrip(": ")),
        ("events", f"{events:,} ({state})"),
        ("recorded", recorded),
    ]
    return [(f"{label} {key}".strip(), value) for key, value in rows]


def header_html(title: str, facts: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{text(key)}</dt><dd>{text(value)}</dd>" for key, value in facts)
    rows += f"<dt>report</dt><dd>ubscope {text(__version__)}, modelled device times</dd>"
    return f"<header><h1>{text(title)}</h1><dl>{rows}</dl></header>"


def _card(label: str, value: str) -> str:
    return (
        f'<div class="card"><div class="value">{text(value)}</div>'
        f'<div class="label">{text(label)}</div></div>'
    )


def _shown(value: Any, template: str) -> str:
    """A metric formatted, or "-" where the summary has none (null)."""
    return "-" if value is None else template.format(value)


def metric_cards(metrics: Mapping[str, Any], capacity: Mapping[str, int]) -> str:
    """The headline numbers of the metrics summary as cards."""
    gm, fragmentation, kv, roofline, counts = (
        metrics.get(key) or {}
        for key in ("gm", "fragmentation", "kv_cache", "roofline", "findings")
    )
    cards = [("modelled kernel time", format_time_ps(metrics.get("modelled_time_ps") or 0))]
    for space, peak in (metrics.get("peak_bytes") or {}).items():
        if peak and capacity.get(space):
            cards.append(
                (
                    f"peak {space} (of {format_bytes(capacity[space])})",
                    f"{format_bytes(peak)} ({peak / capacity[space]:.0%})",
                )
            )
    cards += [
        ("GM traffic / minimum", _shown(gm.get("ratio_to_minimum"), "{:.2f}x")),
        ("small-transfer share", _shown(gm.get("small_transfer_share"), "{:.0%}")),
        ("max external fragmentation", _shown(fragmentation.get("max_external"), "{:.0%}")),
    ]
    if kv.get("reserved_bytes"):
        cards.append(("KV cache slots left empty", _shown(kv.get("waste_ratio"), "{:.0%}")))
    if roofline.get("bound"):
        intensity = _shown(roofline.get("intensity"), "{:.3g} FLOP/B")
        cards.append(("roofline", f"{roofline['bound']}-bound, {intensity}"))
    severities = " / ".join(str(counts.get(key, 0)) for key in ("error", "warning", "info"))
    cards.append(("findings (error / warning / info)", severities))
    return f'<div class="cards">{"".join(_card(label, value) for label, value in cards)}</div>'


def _row(*cells: str, numeric: tuple[int, ...] = (), tag: str = "td", changed: bool = False) -> str:
    """A table row of already escaped cells; ``numeric`` cells are right-aligned."""
    body = "".join(
        f'<{tag} class="num">{cell}</{tag}>' if index in numeric else f"<{tag}>{cell}</{tag}>"
        for index, cell in enumerate(cells)
    )
    return f'<tr class="changed">{body}</tr>' if changed else f"<tr>{body}</tr>"


def _delta_table(deltas: Sequence[MetricDelta], labels: tuple[str, str]) -> str:
    head = _row("metric", text(labels[0]), text(labels[1]), "delta (A - B)", tag="th")
    rows = []
    for delta in deltas:
        a, b, change = delta.texts()
        cells = (text(delta.metric), text(a), text(b), text(change or "="))
        rows.append(_row(*cells, numeric=(1, 2, 3), changed=delta.changed))
    return f'<table class="deltas">{head}{"".join(rows)}</table>'


def metric_deltas_html(comparison: Comparison, labels: tuple[str, str]) -> str:
    """The metrics that changed from B to A, then the unchanged ones folded away."""
    changed = comparison.changed
    unchanged = [delta for delta in comparison.metrics if not delta.changed]
    parts = [f'<p class="legend">{text(LEGEND)}</p>']
    if changed:
        parts.append(_delta_table(changed, labels))
    else:
        parts.append('<p class="hint">No compared metric changed.</p>')
    if unchanged:
        summary = f"{len(unchanged)} metrics unchanged"
        table = _delta_table(unchanged, labels)
        parts.append(f"<details><summary>{text(summary)}</summary>{table}</details>")
    return "".join(parts)


def _explanation(code: str) -> str:
    """The rule's documented explanation, when the code is a registered rule."""
    rule = REGISTRY.get(code)
    return rule.explanation() if rule is not None else ""


def _details(summary: str, body: str) -> str:
    """Folded ``body``: plain text, shown as written."""
    return _folded(summary, f"<pre>{text(body)}</pre>")


def _folded(summary: str, html: str) -> str:
    """Folded ``html``, an escaped fragment."""
    return f"<details><summary>{text(summary)}</summary>{html}</details>"


def _mark(note: str) -> str:
    """A correlation note: a tick when another source agrees ("confirmed by",
    "explained by"), a cross when the trace could not explain a vendor finding."""
    if note.startswith("not "):
        return f'<div class="mark unmatched">&#10007; {text(note)}</div>'
    return f'<div class="mark">&#10003; {text(note)}</div>'


# Links from a finding to the charts that show it: (element id, link text).
ChartLinks = Callable[[Finding], Sequence[tuple[str, str]]]


def _no_links(finding: Finding) -> Sequence[tuple[str, str]]:
    return ()


def _finding_row(finding: Finding, links: ChartLinks) -> str:
    severity = text(finding.severity)
    what = text(finding.message)
    if finding.location.points_anywhere:
        what += f"<br><small>{text(finding.location.describe())}</small>"
    if finding.location.code:
        what += f"<br><code>{text(finding.location.code)}</code>"
    charts = " ".join(
        f'<a href="#{text(anchor)}">{text(label)}</a>' for anchor, label in links(finding)
    )
    if charts:
        what += f'<div class="see">shown in: {charts}</div>'
    if _explanation(finding.code):
        what += _folded("why it matters", rule_doc_html(_explanation(finding.code)))
    if finding.evidence:
        what += _details(
            "evidence", json.dumps(finding.evidence, default=str, indent=1, sort_keys=True)
        )
    # vendor tools number their steps on lines of their own ("1. ...\n2. ...")
    suggestion = f'<span class="fix">{text(finding.suggestion or "-")}</span>'
    if finding.estimated_gain:
        suggestion += f"<br><i>estimated gain: {text(finding.estimated_gain)}</i>"
    marks = "".join(_mark(note) for note in finding.correlations)
    cells = (
        f'<span class="sev sev-{severity}">{severity}</span>',
        text(finding.code),
        what,
        suggestion,
        text(finding.source) + marks,
    )
    return _row(*cells)


def findings_table(findings: Sequence[Finding], empty: str, links: ChartLinks = _no_links) -> str:
    """Findings as a table (severity, code, what and where with links to the
    charts that show it, how to fix, source and the marks of the other tools
    that confirmed it)."""
    if not findings:
        return f'<p class="hint">{text(empty)}</p>'
    head = _row(
        "severity",
        "code",
        "finding, location, explanation",
        "suggestion",
        "source / correlation",
        tag="th",
    )
    rows = "".join(_finding_row(f, links) for f in findings)
    return (
        '<table class="findings"><colgroup><col style="width:7%"><col style="width:7%">'
        '<col style="width:48%"><col style="width:25%"><col style="width:13%"></colgroup>'
        f"{head}{rows}</table>"
    )


def call_sites_html(findings: Sequence[Finding]) -> str:
    """The findings grouped by the call site they point at (a kernel's
    ``file:line``), the sites with the worst findings first; nothing when no
    finding names a call site."""
    groups = group_by_call_site(list(findings))
    if not any(group.site for group in groups):
        return ""
    head = _row("call site", "worst", "findings", "codes", numeric=(2,), tag="th")
    rows = "".join(
        _row(
            text(group.site or "(no call site)"),
            f'<span class="sev sev-{group.worst}">{group.worst}</span>',
            str(len(group.findings)),
            text(", ".join(group.codes)),
            numeric=(2,),
        )
        for group in groups
    )
    return f'<h3>By call site</h3><table class="call-sites">{head}{rows}</table>'


def finding_changes_html(changes: FindingChanges, links: ChartLinks) -> str:
    """Findings new in A, fixed since B (open), and unchanged (folded away)."""
    new = findings_table(changes.new, "None: A has no finding that B had not.", links)
    fixed = findings_table(changes.fixed, "None: A still has every finding of B.", links)
    unchanged = findings_table(changes.unchanged, "None.", links)
    return (
        f"<h3>New in A ({len(changes.new)})</h3>{new}"
        f"<h3>Fixed since B ({len(changes.fixed)})</h3>{fixed}"
        f"<details><summary>{len(changes.unchanged)} findings in both A and B</summary>"
        f"{unchanged}</details>"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 or noun == "info" else f"{count} {noun}s"


def verdict_html(findings: Sequence[Finding]) -> str:
    """One line saying whether ``findings`` hold a problem, then their counts."""
    every = finding_counts(list(findings))
    counts = {name: every[name] for name in SEVERITY_NAMES}
    listed = ", ".join(_plural(count, name) for name, count in counts.items())
    if counts["error"]:
        state, line = "bad", f"Problems found: {listed}."
    elif counts["warning"]:
        state, line = "warn", f"No error; to review: {listed}."
    else:
        state, line = "ok", f"No problem found ({listed})."
    cards = "".join(_card(f"{name} findings", str(count)) for name, count in counts.items())
    return f'<p class="verdict {state}">{text(line)}</p><div class="cards">{cards}</div>'


def device_fault_html(fault: DeviceFault | None) -> str:
    """A run that would fault on the device says so above its verdict (nothing otherwise)."""
    if fault is None:
        return ""
    sentence = f"{fault.describe()} ({OUTPUT_NOT_MEANINGFUL})."
    line = sentence[:1].upper() + sentence[1:]
    return f'<p class="verdict bad">{text(line)}</p>'


def truncation_html(problems: Sequence[str], events: int) -> str:
    """A trace that stops short (a recording interrupted, a kernel that
    crashed) says so above its verdict: its findings cover only what it holds."""
    if not problems:
        return ""
    line = (
        f"The trace stops short ({'; '.join(problems)}): the findings cover only "
        f"the {events:,} events it holds."
    )
    return f'<p class="verdict warn">{text(line)}</p>'


def comparison_verdict_html(comparison: Comparison) -> str:
    """What changed from B to A, in one line."""
    changes = comparison.findings
    parts = []
    if changes is not None:
        parts.append(
            f"{_plural(len(changes.new), 'new finding')}, {len(changes.fixed)} fixed, "
            f"{len(changes.unchanged)} unchanged"
        )
    parts.append(f"{_plural(len(comparison.changed), 'metric')} changed")
    state = "bad" if changes is not None and changes.new else "ok"
    return f'<p class="verdict {state}">{text("A against B: " + "; ".join(parts) + ".")}</p>'


def warnings_html(messages: Sequence[str]) -> str:
    if not messages:
        return ""
    items = "".join(f"<li>{text(message)}</li>" for message in messages)
    return f'<ul class="warn">{items}</ul>'
