"""``ubscope check --junit``: JUnit XML, one test case per kernel configuration.

Text from traces is escaped through ElementTree, plus removal of the characters
XML 1.0 cannot hold even escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ubscope.check.table import plain_table
from ubscope.check.verdicts import CheckResult

# Characters XML 1.0 cannot contain, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def junit_xml(results: Sequence[CheckResult], suite: str = "ubscope check") -> str:
    """One ``testcase`` per kernel configuration; failures carry every problem
    and the table. Parsed by Jenkins, GitLab, Azure and the JUnit report actions."""
    failures = sum(result.failed for result in results)
    skipped = sum(result.baseline_state == "skipped" and not result.failed for result in results)
    counts = {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
    }
    root = ET.Element("testsuites", {"name": suite, **counts})
    suite_element = ET.SubElement(root, "testsuite", {"name": suite, **counts})
    for result in results:
        measurement = result.measurement
        case = ET.SubElement(
            suite_element,
            "testcase",
            {
                "classname": _xml_text(f"ubscope.{measurement.kernel}"),
                "name": _xml_text(measurement.name),
                "file": _xml_text(", ".join(measurement.sources)),
            },
        )
        table = _xml_text(plain_table(result))
        problems = result.problems
        if problems:
            failure = ET.SubElement(
                case,
                "failure",
                {"type": _xml_text(problems[0].kind), "message": _xml_text(problems[0].message)},
            )
            messages = _xml_text("\n".join(p.message for p in problems))
            failure.text = f"{messages}\n\n{table}" if table else messages
        elif result.baseline_state == "skipped":
            ET.SubElement(case, "skipped", {"message": "no baseline (--missing-baseline skip)"})
        if table:
            ET.SubElement(case, "system-out").text = table
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
