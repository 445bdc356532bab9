"""A rule's "why it matters" in the report reads as a document: headings,
paragraphs, inline code and code blocks, not the docstring's raw markup."""

from __future__ import annotations

import inspect
import re

from ubscope.analyzers import REGISTRY, load_rules
from ubscope.reports.report import build_report
from ubscope.reports.rule_docs import rule_doc_html

DOC = inspect.cleandoc(
    """
    Summary line with <b>tags</b> & ``a<b>`` in it.

    ## What it does
    Flags *down* rounding of ``len & 31``
    over two lines; ``one
    code`` across lines.

    ## Example
    A <tile>::

        if (a < b && c > d) { x = "y"; }

            nested line

    ## How to fix
    Keep going.
    """
)


def test_headings_paragraphs_inline_code_and_blocks_are_marked_up_and_escaped():
    assert rule_doc_html(DOC) == (
        '<div class="rule-doc">'
        "<p>Summary line with &lt;b&gt;tags&lt;/b&gt; &amp; <code>a&lt;b&gt;</code> in it.</p>"
        "<h4>What it does</h4>"
        "<p>Flags <em>down</em> rounding of <code>len &amp; 31</code> over two lines; "
        "<code>one code</code> across lines.</p>"
        "<h4>Example</h4>"
        "<p>A &lt;tile&gt;:</p>"
        "<pre><code>if (a &lt; b &amp;&amp; c &gt; d) { x = &quot;y&quot;; }\n\n"
        "    nested line</code></pre>"
        "<h4>How to fix</h4>"
        "<p>Keep going.</p>"
        "</div>"
    )


def test_every_rule_doc_renders_without_its_raw_markup():
    load_rules()
    for code, rule in REGISTRY.items():
        html = rule_doc_html(rule.explanation())
        prose = re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)
        assert "##" not in prose and "``" not in prose, code
        assert [f"<h4>{heading}</h4>" for heading in rule.sections()] == re.findall(
            r"<h4>.*?</h4>", html
        ), code
        # every tag opened is closed
        for tag in ("p", "h4", "pre", "code", "em"):
            assert html.count(f"<{tag}>") == html.count(f"</{tag}>"), (code, tag)


def test_the_report_shows_why_it_matters_as_a_document(overflow_analysis):
    page = build_report(overflow_analysis)
    findings = page[page.index('<section id="findings">') : page.index('<section id="vendor">')]
    why = re.findall(r"<summary>why it matters</summary>(.*?)</details>", findings, re.S)
    assert why and all(part.startswith('<div class="rule-doc">') for part in why)
    assert "## What it does" not in findings and "<h4>What it does</h4>" in findings
