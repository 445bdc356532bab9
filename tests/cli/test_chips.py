"""``ubscope chips``: the profiles in 80 columns, with the figures that are not the
chip's own (rates copied from the 910B1 ini, the 310B1's placeholder GM) marked."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from ubscope.cli import main
from ubscope.commands.chips import COPIED, PLACEHOLDERS, borrowed_fields
from ubscope.probe.chip import builtin_chips, load_chip


def _yaml(name: str) -> dict:
    text = resources.files("ubscope.probe.chips").joinpath(f"{name}.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _has(data: dict, dotted: str) -> bool:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.mark.parametrize("name", builtin_chips())
def test_every_marked_field_is_a_field_of_the_profile(name):
    chip, data = load_chip(name), _yaml(name)
    for kind in (COPIED, PLACEHOLDERS):
        fields, reason = borrowed_fields(chip, kind)
        assert all(_has(data, field) for field in fields), (kind, fields)
        assert reason or not fields


def test_only_the_910b1_has_its_own_memory_rates():
    copied = {name for name in builtin_chips() if borrowed_fields(load_chip(name), COPIED)[0]}
    assert copied == set(builtin_chips()) - {"Ascend910B1"}
    for name in copied:
        assert "onchip_bytes_per_cycle" in borrowed_fields(load_chip(name), COPIED)[0]


def test_the_310b1_gm_size_and_bandwidth_are_placeholders():
    placeholders = {
        name: borrowed_fields(load_chip(name), PLACEHOLDERS)[0] for name in builtin_chips()
    }
    assert placeholders.pop("Ascend310B1") == ["gm.size_bytes", "gm.bandwidth_gb_per_s"]
    assert not any(placeholders.values())


def test_the_listing_fits_80_columns_and_marks_the_borrowed_figures(capsys):
    assert main(["chips"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = {line.split()[0]: line for line in lines[1:] if line.startswith("Ascend")}
    assert set(rows) == set(builtin_chips())
    assert rows["Ascend310B1"].endswith("r p")
    assert rows["Ascend910B2"].endswith(" r")
    assert rows["Ascend910B1"].endswith("GB/s")  # its own ini: no marker
    assert "511.9 KiB" in rows["Ascend910B2"]  # L1 = 524,160 B
    assert any(line.startswith("r: rates copied from the Ascend910B1 ini") for line in lines)
    assert any(line.startswith("p: placeholder figures") for line in lines)


def _entries(out: str) -> dict[str, str]:
    """The profile's entries by their first word, each with the lines it wrapped
    onto (indented further than it) joined back to one line."""
    entries: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith(("    ", "         ")) and entries:
            last = list(entries)[-1]
            entries[last] += " " + line.strip()
        else:
            entries[line.split()[0] if line.strip() else ""] = line.strip()
    return entries


def test_one_chip_shows_its_figures_marks_and_sources(capsys):
    assert main(["chips", "Ascend310B1"]) == 0
    entries = _entries(capsys.readouterr().out)
    assert "8 GiB at 51.2 GB/s" in entries["GM"] and entries["GM"].endswith("[p]")
    assert entries["rates"].endswith("[r]")
    assert entries["[p]"].startswith(
        "[p] placeholder figures: no public source: gm.size_bytes, gm.bandwidth_gb_per_s"
    )
    assert entries["memory:"].startswith("memory: [OFFICIAL]")


def test_one_chip_wraps_its_long_sources_at_words_in_80_columns(capsys, monkeypatch):
    """The 910B2's source notes run to 700 characters: each wraps at words onto
    lines under its key (4 columns in), a figure kept with its unit, no line
    wider than 80 or ending in a space; every word is still there."""
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["chips", "Ascend910B2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert [line for line in lines if line.endswith(" ")] == []
    sources = lines[lines.index("sources:") + 1 :]
    assert all(line.startswith(("  ", "    ")) for line in sources)
    gm = " ".join(line.strip() for line in sources if not line.startswith("  cost_model:"))
    note = load_chip("Ascend910B2").sources["gm"]
    assert f"gm: {note}" in " ".join(gm.split())
    rates = next(i for i, line in enumerate(lines) if line.startswith("rates "))
    assert lines[rates + 1].startswith("         ") and not lines[rates].endswith(" 86")


def test_an_unknown_chip_is_one_line_and_exit_2(capsys):
    assert main(["chips", "Ascend999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown chip" in err[0]
