"""Sizes typed by users (budgets, --max-memory, tolerances) parse or fail with ValueError."""

import pytest

from ubscope.probe.units import parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4096", 4096),
        ("160 KiB", 160 * 1024),
        ("1.5 MB", 1_500_000),
        ("2g", 2 * 1024**3),
        ("12 B", 12),
    ],
)
def test_sizes_parse_to_bytes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["184 iB", "iB", "KiB", "12 XB", "-1 KiB", "", "9" * 400 + " KiB", float("inf"), float("nan")],
)
def test_a_malformed_size_is_a_value_error(text: str) -> None:
    # Found by the budgets fuzzer: "184 iB" matched the pattern and then raised
    # KeyError; a 400-digit number became float infinity and int() raised
    # OverflowError. Both surfaced as tracebacks instead of one-line errors.
    with pytest.raises(ValueError):
        parse_size(text)
