"""Escaping of text that comes from traces and vendor files.

Kernel, buffer, tag and tensor names are whatever the user's code or a vendor
file said, so they are text and never markup: HTML we write goes through
:func:`text`, strings handed to plotly (which renders a subset of HTML in
titles, legends and hover labels) go through :func:`plot_text`, and JSON
embedded in ``<script>`` elements through :func:`script_json`, which makes
``</script>`` impossible inside it.
"""

from __future__ import annotations

import html
import json
from typing import Any

_SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def text(value: object) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def plot_text(value: object) -> str:
    """``value`` for a plotly label: plotly decodes entities, so the label
    shows the original characters but never interprets them as tags."""
    return html.escape(str(value), quote=False)


def script_safe(json_text: str) -> str:
    """JSON text made safe inside a ``<script>`` element: ``<``, ``>`` and
    ``&`` (which can occur only inside JSON strings) become ``\\u`` escapes."""
    return json_text.translate(_SCRIPT_UNSAFE)


def script_json(value: Any) -> str:
    """``value`` as JSON that can be embedded in a ``<script>`` element."""
    return script_safe(json.dumps(value, separators=(",", ":"), allow_nan=False))
