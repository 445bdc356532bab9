"""Assembly of the self-contained HTML page.

plotly.js is embedded once; each figure is a ``<div>`` plus its JSON in a
``<script type="application/json">`` element, drawn by one small loader. The
page's Content-Security-Policy forbids every network request (no CDN, fonts,
images or XHR), so a report opened offline behaves exactly like online.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ubscope.reports.escape import script_json, script_safe, text

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}
CONTENT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #212121; background: #fafafa; }
header { background: #263238; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 6px 0; font-size: 22px; }
header dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0;
            font-size: 13px; }
header dt { color: #b0bec5; } header dd { margin: 0; word-break: break-all; }
nav { padding: 8px 28px; background: #eceff1; font-size: 13px; position: sticky; top: 0;
      z-index: 10; border-bottom: 1px solid #cfd8dc; }
nav a { margin-right: 14px; color: #37474f; text-decoration: none; }
main { padding: 8px 28px 40px 28px; }
section { margin-top: 22px; }
h2 { font-size: 18px; border-bottom: 2px solid #cfd8dc; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px 0; }
p.hint { color: #555; font-size: 13px; margin: 4px 0 10px 0; max-width: 1100px; }
.figure { background: #fff; border: 1px solid #e0e0e0; margin-bottom: 12px; min-height: 120px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.pair > div { min-width: 0; }
@media (max-width: 1100px) { .pair { grid-template-columns: 1fr; } }
p.verdict { font-size: 17px; font-weight: 600; margin: 6px 0 10px 0; }
p.verdict.bad { color: #c62828; } p.verdict.warn { color: #e65100; } p.verdict.ok { color: #2e7d32; }
p.legend { font-size: 13px; color: #37474f; margin: 4px 0 8px 0; }
div.see { font-size: 12px; margin-top: 2px; }
section, div[id^="chart-"] { scroll-margin-top: 48px; }  /* below the sticky nav */
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #e0e0e0; padding: 8px 12px; min-width: 150px; }
.card .value { font-size: 20px; font-weight: 600; } .card .label { font-size: 12px; color: #666; }
table { border-collapse: collapse; background: #fff; font-size: 13px; width: 100%; }
th, td { border: 1px solid #e0e0e0; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eceff1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.sev { font-weight: 600; text-transform: uppercase; font-size: 12px; white-space: nowrap; }
.sev-error { color: #c62828; } .sev-warning { color: #e65100; } .sev-info { color: #1565c0; }
.mark { color: #2e7d32; font-weight: 600; } .mark.unmatched { color: #757575; font-weight: 400; }
details summary { cursor: pointer; color: #37474f; }
pre { white-space: pre-wrap; margin: 4px 0; font-size: 12px; }
.fix { white-space: pre-line; }
code { font-size: 12px; background: #f5f5f5; padding: 0 2px; }
pre code { background: none; padding: 0; }
.rule-doc { max-width: 900px; } .rule-doc p { margin: 4px 0 8px 0; }
.rule-doc h4 { font-size: 13px; margin: 10px 0 2px 0; color: #37474f; }
.rule-doc pre { background: #f5f5f5; padding: 6px 8px; }
.warn { color: #e65100; }
tr.changed td { font-weight: 600; background: #fff8e1; }
"""

_LOADER = """
(function () {
  var config = %s;
  var nodes = document.querySelectorAll("script.ubscope-figure");
  for (var i = 0; i < nodes.length; i++) {
    var spec = JSON.parse(nodes[i].textContent);
    Plotly.newPlot(nodes[i].getAttribute("data-target"), spec.data, spec.layout, config);
  }
})();
"""


@dataclass
class Section:
    """One titled part of the page; ``parts`` are HTML fragments already escaped."""

    anchor: str
    title: str
    parts: list[str] = field(default_factory=list)


class FigureIds:
    """Unique element ids for the figures of one page (each part of the page
    that numbers its own figures takes its own ``prefix``)."""

    def __init__(self, prefix: str = "figure") -> None:
        self._prefix = prefix
        self._numbers = count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._numbers)}"


def figure_html(figure: go.Figure, ids: FigureIds) -> str:
    """A figure's placeholder and its data, to be drawn by the page's loader."""
    element = ids.next()
    return (
        f'<div class="figure" id="{element}"></div>\n'
        f'<script type="application/json" class="ubscope-figure" data-target="{element}">'
        f"{script_safe(figure.to_json())}</script>"
    )


def pair_html(left: str, right: str) -> str:
    """Two fragments side by side (the two traces of a comparison)."""
    return f'<div class="pair"><div>{left}</div><div>{right}</div></div>'


def hint(message: str) -> str:
    return f'<p class="hint">{text(message)}</p>'


def render_page(title: str, header: str, sections: list[Section]) -> str:
    """The whole document; ``header`` is an escaped HTML fragment."""
    nav = " ".join(f'<a href="#{text(s.anchor)}">{text(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{text(s.anchor)}"><h2>{text(s.title)}</h2>\n'
        + "\n".join(s.parts)
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text(title)}</title>\n<style>{_STYLE}</style>\n"
        f"<script>{get_plotlyjs()}</script>\n</head>\n<body>\n{header}\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n"
        f"<script>{_LOADER % script_json(PLOT_CONFIG)}</script>\n</body>\n</html>\n"
    )
