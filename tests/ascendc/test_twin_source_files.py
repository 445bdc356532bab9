"""Twin findings name the user's source file and line in machine-readable
output (JSON ``location.file``, SARIF ``physicalLocation``), so code scanning
can annotate the line, also for a call in a header the kernel includes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.source_lines import line_of, write_source
from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.source_files import attach_source_files
from ubscope.cli import main
from ubscope.probe.ascendc.runner import call_site_lines

pytestmark = pytest.mark.ascendc_twin

# Copies 100 halves (200 B, not a multiple of 32 B) back from a helper in a
# header: ALN002 at the header's line; the other copy is whole.
HEADER = """\
#pragma once
#include "kernel_operator.h"
using namespace AscendC;
inline void store_tail(const GlobalTensor<half>& zGm, const LocalTensor<half>& tile)
{
    DataCopy(zGm, tile, 100);  // tail copy
}
"""

KERNEL = """\
#include "store.h"

extern "C" __global__ __aicore__ void tail(GM_ADDR x, GM_ADDR z)
{
    TPipe pipe;
    TQue<QuePosition::VECIN, 1> queue;
    GlobalTensor<half> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ half*)x, 128);
    zGm.SetGlobalBuffer((__gm__ half*)z, 128);
    pipe.InitBuffer(queue, 1, 128 * sizeof(half));
    LocalTensor<half> tile = queue.AllocTensor<half>();
    DataCopy(tile, xGm, 128);
    store_tail(zGm, tile);
    DataCopy(zGm, tile, 100);  // direct tail copy
    queue.FreeTensor(tile);
}
"""


@pytest.fixture
def tail_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kernel under ``kern/`` of the working folder (a checkout's root), run once."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kern").mkdir()
    write_source(tmp_path / "kern", "store.h", HEADER)
    source = write_source(tmp_path / "kern", "tail.cpp", KERNEL)
    tensors = ["--input", "x=float16:128:uniform(1,100)", "--output", "z=float16:128"]
    assert main(["run", str(source), "--entry", "tail", *tensors, "-o", "t.ubtrace"]) == 0
    return tmp_path / "t.ubtrace"


def _aln002_files(document: dict) -> set[str]:
    return {f["location"]["file"] for f in document["findings"] if f["code"] == "ALN002"}


def _aln002_code(document: dict) -> set[str]:
    return {f["location"]["code"] for f in document["findings"] if f["code"] == "ALN002"}


def test_json_names_the_kernel_and_header_lines_relative_to_the_checkout(
    tail_trace: Path, capsys
) -> None:
    capsys.readouterr()
    assert main(["analyze", str(tail_trace), "--format", "json"]) == 1
    header_line, kernel_line = line_of(HEADER, "tail copy"), line_of(KERNEL, "direct tail")
    assert (header_line, kernel_line) == (6, 14)  # counted in the texts above
    expected = {f"kern/store.h:{header_line}", f"kern/tail.cpp:{kernel_line}"}
    document = json.loads(capsys.readouterr().out)
    assert _aln002_files(document) == expected
    # each with the code of its line, the header's too (the lines above, trimmed)
    code = {
        "DataCopy(zGm, tile, 100); // tail copy",
        "DataCopy(zGm, tile, 100); // direct tail copy",
    }
    assert _aln002_code(document) == code
    # the streamed analysis names the same lines
    assert main(["analyze", "--stream", str(tail_trace), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert (_aln002_files(document), _aln002_code(document)) == (expected, code)


def test_sarif_region_is_the_source_line(tail_trace: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["analyze", str(tail_trace), "--format", "sarif"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    places = {
        (
            physical["artifactLocation"]["uri"],
            physical["region"]["startLine"],
        )
        for result in results
        if result["ruleId"] == "ALN002"
        for physical in [result["locations"][0]["physicalLocation"]]
    }
    assert places == {("kern/store.h", 6), ("kern/tail.cpp", 14)}


def test_text_output_says_the_call_site_once(tail_trace: Path, capsys) -> None:
    capsys.readouterr()
    main(["analyze", str(tail_trace)])
    out = capsys.readouterr().out
    assert "@tail.cpp:14" in out and "kern/tail.cpp:14" not in out


def _finding(tag: str) -> Finding:
    return Finding("ALN002", Severity.ERROR, "m", Location(tag=tag))


def test_a_file_name_two_source_files_share_is_not_guessed() -> None:
    findings = [_finding("util.h:3"), _finding("main.cpp:9"), _finding("dequant")]
    meta = {"source_files": ["a/util.h", "b/util.h", "k/main.cpp"]}
    attach_source_files(findings, meta)
    assert [f.location.file for f in findings] == [None, "k/main.cpp:9", None]


def test_check_annotates_a_new_finding_at_its_source_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The baseline of the whole copy has no ALN002; the same configuration
    with the 100-half copy gains one, annotated at the line for GitHub."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kern").mkdir()
    whole = KERNEL.replace("store_tail(zGm, tile);", "").replace("tile, 100)", "tile, 128)")
    source = write_source(tmp_path / "kern", "tail.cpp", whole)
    write_source(tmp_path / "kern", "store.h", HEADER)
    tensors = ["--input", "x=float16:128:uniform(1,100)", "--output", "z=float16:128"]
    run = ["run", str(source), "--entry", "tail", *tensors, "-o", "t.ubtrace"]
    assert main(run) == 0
    assert main(["baseline", "t.ubtrace", "-o", "baselines"]) == 0
    write_source(tmp_path / "kern", "tail.cpp", whole.replace("tile, 128)", "tile, 100)"))
    assert main(run) == 0
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    capsys.readouterr()
    assert main(["check", "t.ubtrace", "--baseline", "baselines"]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    # the helper call's line is left empty: the copy stays at line 14
    line = line_of(whole, "direct tail")
    assert line == 14
    assert any(e.startswith(f"::error file=kern/tail.cpp,line={line},") for e in errors), errors


def test_each_call_site_keeps_the_code_of_its_line() -> None:
    """A tag's code is its line with the whitespace collapsed, at most 200
    characters; a tag of no source file, a line past the end, a blank line or
    a tag that is no file:line keeps none."""
    files = {"k.cpp": "int a;\n\tAdd(x,  y, 8);   // sum\n\n" + "x" * 300 + "\n"}
    tags = ["k.cpp:2", "k.cpp:3", "k.cpp:4", "k.cpp:9", "other.cpp:1", "copy_in", "k.cpp:x"]
    assert call_site_lines(tags, files) == {"k.cpp:2": "Add(x, y, 8); // sum", "k.cpp:4": "x" * 200}
