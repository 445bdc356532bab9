"""A rule's documentation as HTML: the few constructs its docstring uses.

Rule docstrings (docs/writing-a-rule.md) are a summary line and ``## Heading``
sections of paragraphs, with ``code`` inline and literal blocks: a paragraph
ending in ``::`` introduces the indented lines after it. Those become
headings, paragraphs, ``<code>`` and ``<pre>``; everything else is text, and
every piece of it is escaped.
"""

from __future__ import annotations

import re
import textwrap

from ubscope.reports.escape import text

_HEADING = re.compile(r"##\s+(.*)")
_INLINE = re.compile(r"``(.+?)``|\*(\S(?:[^*]*\S)?)\*", re.DOTALL)


def _inline(paragraph: str) -> str:
    """Escaped text with ````code```` and ``*emphasis*`` marked up."""
    parts, end = [], 0
    for match in _INLINE.finditer(paragraph):
        parts.append(text(paragraph[end : match.start()]))
        code, emphasis = match.groups()
        parts.append(
            f"<code>{text(code)}</code>" if code is not None else f"<em>{text(emphasis)}</em>"
        )
        end = match.end()
    parts.append(text(paragraph[end:]))
    return "".join(parts)


def _paragraph(lines: list[str]) -> str:
    joined = " ".join(line.strip() for line in lines)
    # "Example::" reads "Example:"; a "::" standing alone after a space goes.
    joined = re.sub(r"(\s)?::$", lambda m: "" if m.group(1) else ":", joined)
    return f"<p>{_inline(joined)}</p>"


def rule_doc_html(doc: str) -> str:
    """``doc`` (a rule's dedented docstring) as an HTML fragment."""
    html: list[str] = []
    paragraph: list[str] = []
    code: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            html.append(_paragraph(paragraph))
            paragraph.clear()

    def flush_code() -> None:
        block = textwrap.dedent("\n".join(code)).strip("\n")
        if block:
            html.append(f"<pre><code>{text(block)}</code></pre>")
        code.clear()

    for line in doc.splitlines():
        if code and (not line.strip() or line[:1].isspace()):
            code.append(line)  # a literal block runs to the first line back at the margin
            continue
        flush_code()
        heading = _HEADING.fullmatch(line.strip())
        if not line.strip() or heading:
            flush_paragraph()
            if heading:
                html.append(f"<h4>{_inline(heading.group(1))}</h4>")
        elif line[:1].isspace() and not paragraph:
            code.append(line)  # an indented block not introduced by "::" is literal too
        else:
            paragraph.append(line)
            if line.rstrip().endswith("::"):
                flush_paragraph()
                code.append("")
    flush_code()
    flush_paragraph()
    return f'<div class="rule-doc">{"".join(html)}</div>'
