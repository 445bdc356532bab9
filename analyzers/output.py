"""Reports of an analysis: a rich terminal report, JSON and SARIF 2.1.0.

Every string that comes from a trace or a vendor file (kernel names, call-site
tags, messages quoting them) is printed as plain :class:`rich.text.Text`,
never parsed as markup: a tag named ``[bold red]x[/]`` prints literally.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

from ubscope.analyzers.api import Analysis
from ubscope.analyzers.cluster_text import cluster_caption, cluster_more, cluster_table
from ubscope.analyzers.device_fault import OUTPUT_NOT_MEANINGFUL
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.formats import FORMATS as FORMATS
from ubscope.analyzers.formats import JSON_SCHEMA
from ubscope.analyzers.hanging import Hanging
from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.vendor.torch_npu.cluster import cluster_view
from ubscope.probe.call_sites import split_call_site
from ubscope.probe.text import printable, printable_path
from ubscope.probe.units import format_bytes, format_time_ps, plural
from ubscope.probe.version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays, paths and anything else as JSON values."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def dumps(document: dict[str, Any] | list) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=_json_default) + "\n"


# -- text ----------------------------------------------------------------------------
def _headline(analysis: Analysis) -> Text:
    trace = analysis.trace
    line = Text("ubscope analysis", style="bold")
    if trace is not None:
        preset = trace.meta.get("preset")
        line.append(f": {trace.kernel}" + (f" (preset {preset})" if preset else ""))
        line.append(
            f" on {analysis.chip.name}, {trace.event_count:,} events, modelled "
            f"{format_time_ps(analysis.metrics.get('modelled_time_ps', 0))}"
        )
    else:
        line.append(f": vendor output only, chip {analysis.chip.name}")
    return line


def _inputs(analysis: Analysis) -> list[Text | Hanging]:
    """A line per input (a path, never wrapped), each tool's summary under it (wrapped)."""
    lines: list[Text | Hanging] = []
    if analysis.trace is not None:
        lines.append(Text(f"  trace: {printable_path(analysis.trace.path)}"))
    cluster = cluster_view(analysis.vendor)
    if cluster is not None:
        # One line for the cluster, not one per rank folder.
        ranks = len(analysis.vendor) - 1
        lines.append(Text(f"  torch_npu cluster: {printable_path(cluster.path)} ({ranks} ranks)"))
        return lines
    for report in analysis.vendor:
        lines.append(Text(f"  {report.tool}: {printable_path(report.path)}"))
        lines.extend(
            Hanging(Text("   "), Text(printable(line), style="dim")) for line in report.summary
        )
    return lines


def finding_headline(finding: Finding) -> Hanging:
    """``  UB001 message``, wrapped lines indented under the message."""
    head = Text("  ")
    head.append(finding.code, style=SEVERITY_STYLE[finding.severity])
    if finding.source != "ubscope":
        head.append(f" [{finding.source}]", style="dim")
    return Hanging(head, Text(finding.message))


def _finding_lines(finding: Finding) -> list[Hanging]:
    lines = [finding_headline(finding)]
    if finding.location.points_anywhere:
        where = finding.location.describe()
        lines.append(Hanging(Text("      at:", style="dim"), Text(where, style="dim")))
    if finding.location.code:
        lines.append(Hanging(Text("      code:", style="dim"), Text(finding.location.code)))
    if finding.suggestion:
        lines.append(Hanging(Text("      fix:"), Text(finding.suggestion)))
    if finding.estimated_gain:
        lines.append(
            Hanging(Text("      gain:", style="green"), Text(finding.estimated_gain, style="green"))
        )
    lines.extend(
        Hanging(Text("     "), Text(note, style="magenta")) for note in finding.correlations
    )
    return lines


def _summary(analysis: Analysis) -> Text:
    metrics = analysis.metrics
    counts = metrics["findings"]
    text = Text(
        f"{plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
        f"{counts['info']} info",
        style="bold",
    )
    if analysis.trace is not None:
        peaks = [
            f"{space} {format_bytes(value)}"
            for space, value in metrics["peak_bytes"].items()
            if value
        ]
        gm = metrics["gm"]
        ratio = gm["ratio_to_minimum"]
        text.append(f" | peak {', '.join(peaks) or 'none'}")
        text.append(
            f" | GM {format_bytes(gm['read_bytes'])} read, {format_bytes(gm['write_bytes'])} "
            "written" + (f" ({ratio:.2f}x minimum)" if ratio is not None else "")
        )
    return text


def _device_fault(analysis: Analysis) -> Text | None:
    """The headline of a run that would fault on the device, or None."""
    fault = analysis.device_fault
    if fault is None:
        return None
    return Text(f"{fault.describe()} ({OUTPUT_NOT_MEANINGFUL})", style="bold red")


def render_text(analysis: Analysis, console: Console) -> None:
    """The terminal report: inputs, the device fault, warnings, findings grouped
    by severity, summary."""
    # The headline, the fault and the summary wrap without trailing spaces (Text would keep them).
    console.print(Hanging(Text(), _headline(analysis)))
    for input_line in _inputs(analysis):
        # a path is never wrapped: cut in two it cannot be copied, nor found by its label
        console.print(input_line, soft_wrap=isinstance(input_line, Text))
    fault = _device_fault(analysis)
    if fault is not None:
        console.print(Hanging(Text(), fault))
    for warning in analysis.warnings:
        console.print(Hanging(Text("warning:", style="yellow"), Text(warning, style="yellow")))
    cluster = cluster_view(analysis.vendor)
    if cluster is not None and cluster.ranks:
        console.print()
        console.print(cluster_caption(cluster))
        console.print(cluster_table(cluster))
        more = cluster_more(cluster)
        if more is not None:
            console.print(more)
    for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        group = [f for f in analysis.findings if f.severity == severity]
        if not group:
            continue
        console.print()
        console.print(
            Text(f"{str(severity).upper()} ({len(group)})", style=SEVERITY_STYLE[severity])
        )
        for finding in group:
            for line in _finding_lines(finding):
                console.print(line)
    console.print()
    if not analysis.findings:
        console.print(Text("no findings", style="green"))
    console.print(Hanging(Text(), _summary(analysis)))


# -- JSON ------------------------------------------------------------------------------
def to_json(analysis: Analysis) -> dict[str, Any]:
    """Findings, metrics, warnings and inputs as one JSON document."""
    return {
        "schema": JSON_SCHEMA,
        "ubscope_version": __version__,
        "trace": str(analysis.trace.path) if analysis.trace is not None else None,
        "chip": analysis.chip.name,
        "vendor": [
            {
                "tool": r.tool,
                "path": r.path,
                "findings": len(r.findings),
                "warnings": r.warnings,
                "summary": r.summary,
            }
            for r in analysis.vendor
        ],
        "device_fault": _device_fault_json(analysis),
        "warnings": list(analysis.warnings),
        "findings": [finding.to_dict() for finding in analysis.findings],
        "metrics": analysis.metrics,
        **_cluster_json(analysis),
    }


def _cluster_json(analysis: Analysis) -> dict[str, Any]:
    """Every rank of a cluster profile (nothing for any other analysis)."""
    cluster = cluster_view(analysis.vendor)
    if cluster is None:
        return {}
    return {"cluster": {"path": cluster.path, "ranks": [asdict(r) for r in cluster.ranks]}}


def _device_fault_json(analysis: Analysis) -> dict[str, Any] | None:
    """The first write past on-chip capacity and the sentence that says so (null: none)."""
    fault = analysis.device_fault
    if fault is None:
        return None
    return {**fault.to_metadata(), "message": f"{fault.describe()} ({OUTPUT_NOT_MEANINGFUL})"}


# -- SARIF -----------------------------------------------------------------------------
def _rule_descriptor(code: str) -> dict[str, Any]:
    rule = load_rules().get(code)
    if rule is None:
        return {
            "id": code,
            "name": code,
            "shortDescription": {"text": code},
            "defaultConfiguration": {"level": "warning"},
        }
    explanation = rule.explanation()
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": explanation},
        "help": {"text": explanation, "markdown": f"**{code} {rule.name}**\n\n{explanation}"},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"input": rule.input_kind, "thresholds": rule.threshold_defaults()},
    }


def _uri(path: str) -> str:
    candidate = Path(path)
    return candidate.as_uri() if candidate.is_absolute() else candidate.as_posix()


def _physical(finding: Finding, analysis: Analysis) -> dict[str, Any] | None:
    location = finding.location
    if location.file:
        place = split_call_site(location.file)
        if place is not None:
            region: dict[str, Any] = {"startLine": place[1]}
            if location.code:
                region["snippet"] = {"text": location.code}
            return {"artifactLocation": {"uri": _uri(place[0])}, "region": region}
        return {"artifactLocation": {"uri": _uri(location.file)}}
    if finding.source == "ubscope" and analysis.trace is not None:
        return {"artifactLocation": {"uri": _uri(str(analysis.trace.path))}}
    for report in analysis.vendor:
        if report.tool == finding.source:
            return {"artifactLocation": {"uri": _uri(report.path)}}
    return None


def _logical(finding: Finding) -> list[dict[str, Any]]:
    location = finding.location
    parts: list[dict[str, Any]] = []
    path = []
    if location.kernel:
        path.append(location.kernel)
        parts.append(
            {"name": location.kernel, "fullyQualifiedName": location.kernel, "kind": "function"}
        )
    if location.core is not None:
        core = f"{location.core_kind or 'core'}{location.core}"
        path.append(core)
        parts.append({"name": core, "fullyQualifiedName": "/".join(path), "kind": "module"})
    if location.tag:
        path.append(location.tag)
        parts.append({"name": location.tag, "fullyQualifiedName": "/".join(path), "kind": "member"})
    return parts


def _fingerprint(finding: Finding) -> str:
    loc = finding.location
    key = "|".join(
        str(v)
        for v in (
            finding.code,
            loc.kernel,
            loc.core_kind,
            loc.space,
            loc.tag,
            loc.tensor,
            finding.source,
        )
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def to_sarif(analysis: Analysis) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, rules from the rule docstrings, one result per finding."""
    codes = sorted(
        {f.code for f in analysis.findings}
        | {code for code in load_rules() if analysis.config.enabled(code)}
    )
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for finding in analysis.findings:
        location: dict[str, Any] = {"logicalLocations": _logical(finding)}
        physical = _physical(finding, analysis)
        if physical is not None:
            location["physicalLocation"] = physical
        text = finding.message + (f" Fix: {finding.suggestion}" if finding.suggestion else "")
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": index[finding.code],
                "level": SARIF_LEVEL[finding.severity],
                "message": {"text": text},
                "locations": [location],
                "partialFingerprints": {"ubscopeFinding/v1": _fingerprint(finding)},
                "properties": {
                    "source": finding.source,
                    "location": {k: v for k, v in vars(finding.location).items() if v is not None},
                    "evidence": finding.evidence,
                    "estimatedGain": finding.estimated_gain,
                    "correlations": finding.correlations,
                },
            }
        )
    artifacts = [str(analysis.trace.path)] if analysis.trace is not None else []
    artifacts += [report.path for report in analysis.vendor]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ubscope",
                        "version": __version__,
                        "rules": [_rule_descriptor(code) for code in codes],
                    }
                },
                "artifacts": [{"location": {"uri": _uri(path)}} for path in artifacts],
                "results": results,
                "properties": {
                    "metrics": analysis.metrics,
                    "warnings": analysis.warnings,
                    "deviceFault": _device_fault_json(analysis),
                },
            }
        ],
    }


def render(analysis: Analysis, fmt: str, console: Console) -> None:
    """Print ``analysis`` in ``fmt`` (text, json or sarif) on ``console``."""
    if fmt == "text":
        render_text(analysis, console)
        return
    console.file.write(dumps(to_document(analysis, fmt)))


def to_document(analysis: Analysis, fmt: str) -> dict[str, Any]:
    """The ``json`` or ``sarif`` document of one analysis."""
    return to_json(analysis) if fmt == "json" else to_sarif(analysis)


def combine_documents(documents: list[dict[str, Any]], fmt: str) -> dict[str, Any] | list:
    """One output for several analyses (a folder of traces): a JSON list of
    their documents, or one SARIF log with a run per analysis."""
    if len(documents) == 1:
        return documents[0]
    if fmt == "json":
        return documents
    return {**documents[0], "runs": [run for log in documents for run in log["runs"]]}
