"""Outputs are written whole or not at all; text from traces never becomes markup."""

from __future__ import annotations

import json
import os

import plotly.graph_objects as go
import pytest

from ubscope.probe.errors import InputError
from ubscope.probe.outputs import atomic_output, check_output_path
from ubscope.reports.escape import plot_text, script_json, script_safe, text
from ubscope.reports.page import FigureIds, Section, figure_html, render_page

EVIL = "<script>alert(1)</script>"


def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("previous report")
    with pytest.raises(RuntimeError, match="disk full"), atomic_output(target) as handle:
        handle.write("<html> half of a new report")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_complete_write_replaces_the_file_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    os.chmod(target, 0o640)
    with atomic_output(target) as handle:
        handle.write("new")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize(
    "make_target, message",
    [
        (lambda d: d, "is a directory"),
        (lambda d: d / "file" / "r.html", "a file is in the way"),
    ],
)
def test_bad_output_paths_are_user_errors(tmp_path, make_target, message):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=message):
        check_output_path(make_target(tmp_path))


def test_an_output_that_is_an_input_is_refused(tmp_path):
    trace = tmp_path / "k.ubtrace"
    trace.write_bytes(b"trace")
    with pytest.raises(InputError, match="is an input"):
        check_output_path(tmp_path / "." / "k.ubtrace", inputs=(trace,))
    assert trace.read_bytes() == b"trace"


def test_html_text_and_plot_labels_are_escaped():
    assert text(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert text('a" onload="x') == "a&quot; onload=&quot;x"
    assert "<" not in plot_text(EVIL) and plot_text("a&b") == "a&amp;b"


def test_embedded_json_cannot_close_its_script_element():
    payload = {"name": EVIL, "other": "</SCRIPT ><!-- & \u2028"}
    embedded = script_json(payload)
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert "\u2028" not in embedded
    assert json.loads(embedded) == payload
    assert script_safe('{"a":"</script>"}') == '{"a":"\\u003c/script\\u003e"}'


def test_a_page_with_hostile_names_has_exactly_its_own_script_elements():
    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name=EVIL))
    figure.update_layout(title=EVIL)
    page = render_page(
        EVIL,
        f"<header>{text(EVIL)}</header>",
        [Section("s", EVIL, [figure_html(figure, FigureIds())])],
    )
    assert EVIL not in page
    # plotly.js, one figure's data and the loader: nothing else opens a script
    assert page.lower().count("<script") == 3
    assert page.count("plotly.js v") >= 1 and page.count("Plotly.newPlot(") == 1
