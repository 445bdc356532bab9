"""A few KB (or MB) of hostile input must never cost GBs (issue 12, section 1).

Each input is read in a child process whose address space is capped
(``RLIMIT_AS``) at what the interpreter holds after importing ubscope plus
ALLOWANCE, and whose run is bounded in time (tests/helpers/capped_read.py): a
reader that builds one object per claimed cell, section, record or JSON value
dies with MemoryError (or runs out of time) instead of passing. The CI sizes
are chosen so the readers as they were before the caps needed well over
ALLOWANCE (figures per test);
``UBSCOPE_SCALE_TESTS=1`` or ``HYPOTHESIS_PROFILE=long`` (bench/fuzz_long.py)
runs the full-size files of the issue.
"""

from __future__ import annotations

import io
import re
import zipfile
from importlib import resources

import pytest

from tests.helpers.capped_read import FULL_SCALE, read_capped

from . import seeds


def nested_aliases(prefix: str, levels: int) -> str:
    """A flow mapping whose last entry expands to 9**levels scalars: anchor
    ``{prefix}0`` holds nine scalars, each next one nine aliases of the last."""
    entries = [f"{prefix}0: &{prefix}0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*{prefix}{level - 1}"] * 9)
        entries.append(f"{prefix}{level}: &{prefix}{level} [{aliases}]")
    return "{" + ", ".join(entries) + "}"


@pytest.mark.parametrize("field", ["description", "sources"])
def test_chip_profile_alias_bomb(tmp_path, field):
    """A 1.8 KB profile whose description/sources expand to 9**9 strings once
    turned into text (over 5 GB before the cap): a one-line error instead."""
    text = resources.files("ubscope.probe.chips").joinpath("Ascend910B2.yaml").read_text("utf-8")
    text = re.sub(rf"(?m)^{field}:.*(\n[ #].*)*\n", "", text)
    path = tmp_path / "bomb.yaml"
    path.write_text(f"{text}\n{field}: {nested_aliases('a', 9)}\n", "utf-8")
    outcome = read_capped("chip", path)
    assert outcome["result"] == "error"
    assert outcome["message"].startswith(f"{path}:") and "alias bomb" in outcome["message"]


def test_config_alias_bomb_found_in_a_parent_folder(tmp_path):
    """A 409-byte ubscope.yaml two folders up, ``fail_on:`` nested aliases:
    discovered from a subfolder, it is refused in one line."""
    config = tmp_path / "ubscope.yaml"
    config.write_text(f"fail_on: {nested_aliases('f', 9)}\n", "utf-8")
    start = tmp_path / "project" / "src"
    start.mkdir(parents=True)
    outcome = read_capped("config", start)
    assert outcome["result"] == "error"
    assert outcome["message"].startswith(f"{config}:") and "alias bomb" in outcome["message"]


FAR_CELL = b'<row r="1048576"><c r="XFD1048576" t="n"/></row>'


def _claims_whole_grid(workbook: bytes, sheets: int) -> bytes:
    """The workbook with ``sheets`` sheets, each claiming the whole 16384 x
    1048576 grid in ``<dimension>`` and holding an empty cell in its last row
    and column (openpyxl pads every row to the claimed width and fills the
    million rows up to that cell)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(workbook))
    detail = book.worksheets[1]
    for number in range(sheets - len(book.worksheets)):
        book.copy_worksheet(detail).title = f"detail {number}"
    plain = io.BytesIO()
    book.save(plain)
    claimed = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(claimed, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                data = data.replace(b"</sheetData>", FAR_CELL + b"</sheetData>")
            target.writestr(info, data)
    return claimed.getvalue()


def test_xlsx_sheets_claiming_the_whole_grid(tmp_path):
    """Two sheets claiming A1:XFD1048576 (a 6 KB file) took over 400 MiB with
    openpyxl, 40 of them over 5.5 GiB: cells are read where they are, not
    where the header says, and rows between are not invented."""
    pytest.importorskip("openpyxl", reason="openpyxl writes the fixture")
    sheets = 40 if FULL_SCALE else 3  # the seed has problems and two detail sheets
    path = tmp_path / "mstt_advisor_0.xlsx"
    path.write_bytes(_claims_whole_grid(seeds.advisor_workbook(), sheets))
    outcome = read_capped("msadvisor", path)
    assert outcome["result"] == "parsed", outcome
    tables = outcome["tables"]
    assert tables.pop("problems") == [3, 8]  # 3 problems; category ... income ratio
    # detail sheets: header, one row, and the empty far row (no columns beyond those used)
    assert tables.pop("基于mte瓶颈的算子序列分析") == [2, 8]
    assert list(tables.values()) == [[2, 3]] * (sheets - 2)
    assert outcome["warnings"] == []


def _sheet_xml(rows: int) -> bytes:
    body = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, rows + 1))
    return (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>'
    ).encode()


def test_xlsx_rows_beyond_the_cap_are_dropped_with_a_warning(tmp_path):
    """A detail sheet of 100 001 rows keeps 100 000 and says which sheet lost rows."""
    pytest.importorskip("openpyxl", reason="openpyxl writes the fixture")
    workbook = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seeds.advisor_workbook())) as source:
        with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                big = info.filename == "xl/worksheets/sheet2.xml"
                target.writestr(info, _sheet_xml(100_001) if big else source.read(info.filename))
    path = tmp_path / "mstt_advisor_0.xlsx"
    path.write_bytes(workbook.getvalue())
    outcome = read_capped("msadvisor", path)
    detail = next(name for name in outcome["tables"] if name != "problems")
    assert outcome["tables"][detail][0] == 100_000 - 1  # the first row is the header
    (warning,) = outcome["warnings"]
    assert warning.startswith(f"{path}: skipped sheet {detail!r} after row 100,000")


def test_msadvisor_json_of_millions_of_empty_objects(tmp_path):
    """``[{},{},...]``: 3 bytes of file, ~72 bytes of Python each. 12 MiB
    (4.2 M objects, ~300 MiB parsed) in CI, the issue's 229 MiB (80 M objects,
    over 5.5 GiB parsed) at full scale: refused before parsing."""
    objects = 80_000_000 if FULL_SCALE else 4_200_000
    path = tmp_path / "result.json"
    with open(path, "w") as handle:
        handle.write("[")
        for _ in range(objects // 1_000_000):
            handle.write("{}," * 1_000_000)
        handle.write("{}]")
    outcome = read_capped("msadvisor", path)
    assert outcome["result"] == "error"
    assert outcome["message"] == (
        f"{path}: expected an msadvisor result JSON (objects with 'summary' and 'errorCode'), "
        "got JSON of over 1,000,000 values"
    )


def test_advisor_html_of_millions_of_sections(tmp_path):
    """119-byte problem sections: 100 000 (12 MB, ~280 MiB before the cap) in
    CI, the issue's 2.1 M (250 MB, over 5.5 GiB) at full scale. The first
    10 000 are kept and a warning counts the rest."""
    sections = 2_100_000 if FULL_SCALE else 100_000
    section = (
        '<h2 class="collapsible-header" style="background-color: #b5495b;">Memory Issue</h2>'
        "<div><a>Found one problem.</a></div>\n"
    )
    path = tmp_path / "mstt_advisor_0.html"
    with open(path, "w") as handle:
        handle.write("<html><body>")
        for _ in range(sections // 10_000):
            handle.write(section * 10_000)
        handle.write("</body></html>")
    outcome = read_capped("msadvisor", path)
    assert outcome["result"] == "parsed", outcome
    assert outcome["tables"]["problems"][0] == 10_000
    (warning,) = outcome["warnings"]
    assert f"dropped {sections - 10_000:,} sections" in warning


def test_csv_of_a_million_columns(tmp_path):
    """A 14 MB msprof op CSV with 10**6 columns: the first 4096 are read, with a warning."""
    columns = 1_000_000
    path = tmp_path / "OpBasicInfo.csv"
    with open(path, "w") as handle:
        handle.write("Op Name," + ",".join(f"c{n}" for n in range(columns)) + "\n")
        handle.write("Add," + ",".join(["1"] * columns) + "\n")
    outcome = read_capped("msprof_op", path)
    assert outcome["result"] == "parsed", outcome
    assert outcome["tables"]["OpBasicInfo"] == [1, 4 + 4096]  # op_name, launch, device, dir
    assert outcome["warnings"] == [f"{path}: read the first 4096 of {columns + 1} columns"]


SANITIZER_RECORD = (
    "====== ERROR: illegal read of size 224\n"
    "======    at 0x12c0c0015000 on GM in add_custom_kernel\n"
    "======    in block aiv(0) on device 0\n"
    "======    code in pc current 0x77c (serialNo:10)\n"
    "======    #0 /home/user/ops/add_custom/op_kernel/add_custom.cpp:18:5\n"
)


def test_sanitizer_log_of_a_million_records(tmp_path):
    """290-byte records: 80 000 (23 MB, ~450 MiB before the caps) in CI, the
    issue's 10**6 (290 MB, over 5.5 GiB) at full scale. The first 10 000 are
    kept; the warning counts the records skipped."""
    records = 1_000_000 if FULL_SCALE else 80_000
    path = tmp_path / "sanitizer.log"
    with open(path, "w") as handle:
        for _ in range(records // 10_000):
            handle.write(SANITIZER_RECORD * 10_000)
    outcome = read_capped("sanitizer", path)
    assert outcome["result"] == "parsed", outcome
    assert outcome["tables"]["records"][0] == 10_000
    (warning,) = outcome["warnings"]
    assert f"skipped {records - 10_000:,} more records" in warning
