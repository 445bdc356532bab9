"""The shared CSV/JSON helpers: vendor quirks and bad input."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

from ubscope.analyzers.vendor import common
from ubscope.analyzers.vendor.common import (
    VendorReport,
    find_column,
    load_json,
    read_csv_batches,
    read_csv_chunks,
    typed_columns,
    us_scalar_to_ns,
    us_text_to_ns,
)
from ubscope.probe.errors import PartialReadWarning, VendorFormatError


def _rows(path, **kwargs) -> tuple[pd.DataFrame, VendorReport]:
    report = VendorReport(tool="test", path=str(path))
    chunks = list(read_csv_chunks(path, report, "a test CSV", **kwargs))
    return pd.concat(chunks, ignore_index=True), report


def test_timestamps_keep_nanoseconds():
    stamps = pd.Series(
        [
            "1736408883573957.920\t",
            '"1736413971558972.912\t"',
            "1695115378739328",
            "12.5",
            None,
            "N/A",
            "-1",
            "1e5",
        ]
    )
    ns = us_text_to_ns(stamps)
    assert ns.tolist()[:4] == [1736408883573957920, 1736413971558972912, 1695115378739328000, 12500]
    assert ns.isna().tolist()[4:] == [True] * 4
    # float64 cannot represent this value: the reason for string arithmetic
    assert int(float("1736408883573957.921") * 1000) != 1736408883573957921
    assert us_text_to_ns(pd.Series(["1736408883573957.921"]))[0] == 1736408883573957921


def test_timestamps_beyond_int64_are_missing():
    ns = us_text_to_ns(
        pd.Series(["9223372036854775.807", "9223372036854775.808", "9999999999999999.9"])
    )
    assert ns.tolist()[0] == 2**63 - 1 and ns.isna().tolist() == [False, True, True]
    assert us_scalar_to_ns("9999999999999999.9") is None


def test_scalar_timestamps():
    assert us_scalar_to_ns("1736408883573957.920") == 1736408883573957920
    assert us_scalar_to_ns(12) == 12000
    assert us_scalar_to_ns(None) is None
    assert us_scalar_to_ns("x") is None


def test_tolerant_header_matching():
    columns = ["Device Id", "Total Reserved(MB)", "Op Name"]
    assert find_column(columns, "Device_id") == "Device Id"
    assert find_column(columns, "total reserved(KB)", "total_reserved(mb)") == "Total Reserved(MB)"
    assert find_column(columns, "Block Dim") is None


def test_crlf_tabs_trailing_commas_and_na(write):
    path = write("m.csv", 'a,b,c,\r\n1,"2\t",NA,\r\n N/A ,,x,\r\n')
    rows, report = _rows(path)
    assert list(rows.columns) == ["a", "b", "c"]
    assert rows["b"].tolist()[0] == "2"
    assert rows.isna().values.tolist() == [[False, False, True], [True, True, False]]
    assert report.warnings == []


def test_chunks_cover_all_rows(write):
    path = write("m.csv", "a\n" + "".join(f"{i}\n" for i in range(25)))
    report = VendorReport(tool="test", path=str(path))
    sizes = [len(c) for c in read_csv_chunks(path, report, "x", chunk_rows=10)]
    assert sizes == [10, 10, 5]


def test_truncated_last_line_is_dropped_with_warning(write):
    path = write("m.csv", "a,b,c\n1,2,3\n4,5")
    with pytest.warns(PartialReadWarning, match="truncated"):
        rows, report = _rows(path)
    assert rows["a"].tolist() == ["1"]
    assert report.warnings


def test_complete_last_line_without_newline_is_kept(write):
    rows, report = _rows(write("m.csv", "a,b\n1,2\n3,4"))
    assert rows["a"].tolist() == ["1", "3"] and not report.warnings


def test_lines_with_extra_fields_are_skipped(write):
    with pytest.warns(PartialReadWarning, match="malformed"):
        rows, _ = _rows(write("m.csv", "a,b\n1,2\n3,4,5,6\n7,8\n"))
    assert rows["a"].tolist() == ["1", "7"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe\x00garbage\x00\n1,2\n",
        b"\n\n",
        b'a,b\n"1,2\n',
        b"a,,b\n1,2,3\n",
        b"a,a\n1,2\n",
    ],
    ids=["empty", "not-utf8", "blank", "open-quote", "empty-name", "duplicate-name"],
)
def test_unreadable_csv_raises_vendor_format_error(write, content):
    with pytest.raises(VendorFormatError, match="m.csv: expected a test CSV"):
        _rows(write("m.csv", content))


def test_non_utf8_after_good_rows_keeps_rows(write, quiet):
    body = "a,b\n" + "".join(f"{i},{i}\n" for i in range(300))
    path = write("m.csv", body.encode() + b"\xff\xfe,1\n")
    rows, report = _rows(path, chunk_rows=100)
    assert len(rows) >= 100 and report.warnings


def test_typed_columns():
    frame = pd.DataFrame(
        {"n": ["1", None], "s": ["x", "1"], "t": ["1.5\t".strip(), "2"], "shape": ["64", "3"]}
    )
    typed, problems = typed_columns(frame, text=["shape"], epoch_us=["t"])
    assert problems == []
    assert list(typed.columns) == ["n", "s", "t(ns)", "shape"]
    assert typed["n"].dtype == "float64" and typed["s"].tolist() == ["x", "1"]
    assert typed["t(ns)"].tolist() == [1500, 2000] and typed["shape"].tolist() == ["64", "3"]


def test_typed_columns_name_the_cells_that_should_be_numbers():
    frame = pd.DataFrame(
        {
            # three of four cells are numbers: a numeric column with one bad cell
            "mostly": ["1", "2", "oops", "4"],
            # two of four: text, as a name column whose names may be digits
            "half": ["a", "1", "b", "2"],
            # declared numeric: every text cell is a problem, quoted up to three
            "declared": ["w", "x", "y", "z"],
            "stamp": ["1.5", "soon", None, "2"],
        }
    )
    typed, problems = typed_columns(frame, epoch_us=["stamp"], numeric=["declared"])
    assert typed["mostly"].tolist()[:2] == [1, 2] and typed["mostly"].isna().sum() == 1
    assert typed["half"].tolist() == ["a", "1", "b", "2"]
    assert typed["declared"].isna().all() and typed["stamp(ns)"].isna().sum() == 2
    assert problems == [
        "column 'mostly': 1 cell is not a number (data row 3: 'oops'), read as missing",
        "column 'declared': 4 cells are not numbers "
        "(data row 1: 'w', data row 2: 'x', data row 3: 'y', ...), read as missing",
        # the empty cell is missing, not unreadable
        "column 'stamp': 1 cell is not a number (data row 2: 'soon'), read as missing",
    ]


def test_json_guards(write):
    with pytest.raises(VendorFormatError, match="nested"):
        load_json(write("deep.json", "[" * 100_000 + "]" * 100_000), "x")
    with pytest.raises(VendorFormatError, match="invalid JSON"):
        load_json(write("bad.json", '{"a": '), "x")
    with pytest.raises(VendorFormatError, match="at most"):
        load_json(write("big.json", "[1]" + " " * 2048), "x", limit=1024)
    assert load_json(write("ok.json", '{"s": "[[[["}'), "x") == {"s": "[[[["}


def test_json_values_are_counted_before_parsing(write):
    """``[0,...]`` of N zeros is N values (one opener, N - 1 commas): a million
    parse, one more is refused without being parsed."""
    ok = write("ok.json", "[" + ",".join(["0"] * 1_000_000) + "]")
    assert len(load_json(ok, "x")) == 1_000_000
    over = write("over.json", "[" + ",".join(["0"] * 1_000_001) + "]")
    with pytest.raises(
        VendorFormatError, match=r"over\.json: expected x, got JSON of over 1,000,000"
    ):
        load_json(over, "x")


def test_json_commas_and_brackets_in_strings_are_not_values(write):
    """Two million commas and openers inside one string (around an escaped quote
    and an escaped backslash) are text: one object, one key, one string."""
    text = ",[{" * 700_000 + '\\"' + "\\\\" + '"[{,' * 10
    data = {"s": text}
    assert load_json(write("s.json", json.dumps(data)), "x") == data


def test_wide_csv_is_read_in_smaller_chunks(write):
    """40 columns: MAX_CHUNK_CELLS (2,000,000) // 40 = 50,000 rows a chunk
    instead of the default 100,000, so 50,001 rows come as 50,000 + 1."""
    header = ",".join(f"c{n}" for n in range(40))
    rows = "".join(",".join([str(row)] * 40) + "\n" for row in range(50_001))
    report = VendorReport(tool="test", path="wide.csv")
    chunks = list(read_csv_chunks(write("wide.csv", header + "\n" + rows), report, "x"))
    assert [chunk.shape for chunk in chunks] == [(50_000, 40), (1, 40)]
    assert chunks[1]["c39"].tolist() == ["50000"]
    assert report.warnings == []


def _typed(path, **kwargs) -> tuple[pa.Table, VendorReport]:
    report = VendorReport(tool="test", path=str(path))
    batches = read_csv_batches(
        path, report, "a test CSV", numbers=["kb"], epoch_us=["t"], categories=["name"], **kwargs
    )
    return pa.Table.from_batches(list(batches)), report


def test_typed_columns_are_parsed_by_arrow_exactly(write):
    """torch_npu cells: a TAB after each stamp, quoted stamps, NA tokens, CRLF."""
    path = write(
        "m.csv",
        "name,kb,t\r\n"
        " aten::mm ,18816.5,1736408883694624.810\t\r\n"
        'aten::mm,N/A,"1736408883694624.811\t"\r\n'
        "NA,-512.0,12\r\n",
    )
    table, report = _typed(path)
    assert table["t"].to_pylist() == [1736408883694624810, 1736408883694624811, 12000]
    assert table["kb"].to_pylist() == [18816.5, None, -512.0]
    # " aten::mm " strips to the same label as "aten::mm"; NA is missing
    assert table["name"].to_pylist() == ["aten::mm", "aten::mm", None]
    assert table["t"].type == pa.int64() and report.warnings == []


def test_a_cell_arrow_cannot_type_rereads_the_file_cell_by_cell(write, monkeypatch, quiet):
    """Row 3000 of 4000 has a stamp with 4 decimals and row 3500 a word: Arrow's
    typed parse fails in a later block, so the file is read again as text;
    every row comes once, in order, with the same values (µs text -> ns:
    1000.0005 truncates to 1000000 ns, the word is missing and named in a warning)."""
    monkeypatch.setattr(common, "_BLOCK_BYTES", 4096)
    cells = [f"{i}.250\t" for i in range(4000)]
    cells[3000], cells[3500] = "1000.0005", "later"
    path = write("m.csv", "name,kb,t\n" + "".join(f"op,{i},{c}\n" for i, c in enumerate(cells)))
    table, report = _typed(path, chunk_rows=1000)
    stamps = table["t"].to_pylist()
    assert table["kb"].to_pylist() == [float(i) for i in range(4000)]
    assert stamps[:3] == [250, 1_250, 2_250] and stamps[3999] == 3_999_250  # i.250 µs
    assert stamps[3000] == 1_000_000 and stamps[3500] is None
    assert report.warnings == [
        f"{path}: column 't': 1 cell is not a number ('later'), read as missing"
    ]


def test_a_line_longer_than_arrow_blocks_is_read(write):
    """A 6 MiB cell (longer than the 1 MiB read block, within the 16 MiB line cap)."""
    path = write("m.csv", "a,b\n1," + "x" * (6 << 20) + "\n2,y\n")
    rows, report = _rows(path)
    assert rows["a"].tolist() == ["1", "2"] and len(rows["b"][0]) == 6 << 20


def test_non_utf8_beside_empty_cells_skips_only_its_row(write, quiet):
    # column b holds an empty cell (null), bytes that are not UTF-8 and text:
    # decoding it cell by cell keeps the null and drops the one bad row
    rows, report = _rows(write("m.csv", b"a,b\n1,\n2,\xff\xfe\n3,x\n"))
    assert rows["a"].tolist() == ["1", "3"]
    assert report.warnings
