"""GitHub Actions annotations of ``ubscope check`` (written when ``GITHUB_ACTIONS``
is ``true``), with every part escaped as GitHub documents."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ubscope.check.verdicts import IMPROVED, WITHIN, CheckResult


def escape_annotation_data(text: str) -> str:
    """GitHub's escaping of a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_annotation_property(text: str) -> str:
    """GitHub's escaping of a workflow command's property value."""
    return escape_annotation_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, title: str, file: str | None = None, line: int | None = None
) -> str:
    """``::error file=F,line=N,title=T::message`` with every part escaped."""
    properties = []
    if file:
        properties.append(f"file={escape_annotation_property(_repo_relative(file))}")
        if line:
            properties.append(f"line={line}")
    properties.append(f"title={escape_annotation_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_annotation_data(message)}"


def _repo_relative(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def github_annotations(results: Sequence[CheckResult]) -> list[str]:
    """An ``error`` per problem, a ``warning`` per new finding below --fail-on
    and a ``notice`` per configuration that improved (failed or not)."""
    lines = []
    for result in results:
        kernel, name = result.measurement.kernel, result.measurement.name
        for problem in result.problems:
            title = f"ubscope {problem.kind}: {kernel}"
            message = f"{name}: {problem.message}"
            lines.append(annotation("error", message, title, problem.file, problem.line))
        for row in result.rows:
            if row.status == WITHIN and row.metric.startswith("findings.by_code."):
                message = f"{name}: more {row.metric} ({row.note})"
                lines.append(
                    annotation(
                        "warning", message, f"ubscope finding: {kernel}", result.baseline_path
                    )
                )
        # An improvement is worth keeping whatever else this configuration has.
        improved = [row.metric for row in result.rows if row.status == IMPROVED]
        if improved:
            message = f"{name} improved: {', '.join(improved)}; update the baseline to keep it"
            lines.append(
                annotation(
                    "notice", message, f"ubscope improvement: {kernel}", result.baseline_path
                )
            )
    return lines
