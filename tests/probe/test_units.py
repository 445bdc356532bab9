"""Sizes typed by users (budgets, --max-memory, tolerances) parse or fail with ValueError."""

import pytest

from ubscope.probe.units import format_times_ps, parse_size


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


def test_a_size_written_negative_says_so_and_positive_refuses_zero() -> None:
    with pytest.raises(ValueError, match=r"^a size cannot be negative, got '-5GiB'$"):
        parse_size("-5GiB")
    assert parse_size("+1 KiB") == 1024 and parse_size("0") == 0
    for text in ("-5GiB", "0", "0.0 MiB"):
        with pytest.raises(ValueError, match=rf"^a size must be positive, got '{text}'$"):
            parse_size(text, positive=True)
    # A number (from YAML) is the caller's to refuse: budgets say "a limit cannot be negative".
    assert parse_size(-5) == -5


def test_times_share_the_unit_of_the_largest_and_a_small_delta_keeps_a_digit():
    # 1.5 us, 1.0 us and their difference 0.5 us: microseconds, two decimals.
    assert format_times_ps([1_500_000, 1_000_000, 500_000]) == ["1.50 µs", "1.00 µs", "0.50 µs"]
    # 10 ms against 10.001 ms: the 1 us delta is 0.001 ms, so three decimals for all
    # three (at two it would print as "0.00 ms", hiding the change).
    assert format_times_ps([10_000_000_000, 10_001_000_000, 1_000_000]) == [
        "10.000 ms",
        "10.001 ms",
        "0.001 ms",
    ]
    assert format_times_ps([0, 0]) == ["0.0 ns", "0.0 ns"]
