"""Chip profiles: built-in figures from the hardware reference, file:field errors."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import yaml

from ubscope.probe.chip import DEFAULT_CHIP, builtin_chips, load_chip
from ubscope.probe.errors import ChipProfileError


def test_all_reference_chips_are_built_in():
    assert set(builtin_chips()) == {
        "Ascend910B1",
        "Ascend910B2",
        "Ascend910B3",
        "Ascend910B4",
        "Ascend910A",
        "Ascend310P3",
        "Ascend310B1",
    }
    assert DEFAULT_CHIP == "Ascend910B2"


def test_910b2_figures_follow_the_reference_not_the_article():
    chip = load_chip("Ascend910B2")
    # L1 is TOTAL_L1_SIZE = 512 * 1024 - 128 = 524,160 B (kernel_utils_constants.h, arch 2201)
    assert chip.capacity == {"UB": 196608, "L1": 524160, "L0A": 65536, "L0B": 65536, "L0C": 131072}
    assert chip.alignment == {"UB": 32, "L1": 32, "L0A": 512, "L0B": 512, "L0C": 64}
    assert chip.ub_scratch_bytes == 8192 and chip.ub_safe_budget == 184 * 1024
    assert (chip.cube_cores, chip.vector_cores, chip.split_cores) == (24, 48, True)
    assert chip.gm_alignment == 512 and chip.que_max_event == 8 and chip.qbuf_max_len == 64
    assert chip.gm_bandwidth == pytest.approx(1.6e12)  # not the article's 300 GB/s
    assert chip.peak_fp16_flops == pytest.approx(24 * 1.8e9 * 4096 * 2, rel=1e-3)
    # The profile's 353.9 TFLOPS over 1.6 TB/s: 353.9e12 / 1.6e12 = 221.1875 FLOP/B.
    assert chip.ridge_flops_per_byte == pytest.approx(221.1875)


@pytest.mark.parametrize(
    "name, ub, que_max, split",
    [
        ("Ascend910A", 262144, 4, False),
        ("Ascend310P3", 262144, 8, False),
        ("Ascend310B1", 253952, 8, False),
    ],
)
def test_other_chips(name, ub, que_max, split):
    chip = load_chip(name)
    assert chip.capacity["UB"] == ub and chip.que_max_event == que_max and chip.split_cores == split


def _profile_file(tmp_path, mutate):
    builtin = resources.files("ubscope.probe.chips") / "Ascend910B2.yaml"
    data = yaml.safe_load(builtin.read_text("utf-8"))
    mutate(data)
    path = tmp_path / "chip.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def test_user_profile_file_loads(tmp_path):
    path = _profile_file(tmp_path, lambda d: d.update(name="MyChip"))
    assert load_chip(path).name == "MyChip"


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["memory"].pop("UB"), "memory.UB: missing"),
        (lambda d: d["memory"].update(UB=-5), "memory.UB: must be"),
        (lambda d: d["cores"].update(cube="many"), "cores.cube: expected a number"),
        (lambda d: d["gm"].update(bandwidth_gb_per_s=float("nan")), "gm.bandwidth_gb_per_s"),
        # found by the long fuzz profile: float(10**400) raised OverflowError
        (
            lambda d: d["gm"].update(bandwidth_gb_per_s=10**400),
            "gm.bandwidth_gb_per_s: expected a finite",
        ),
        (lambda d: d["cores"].update(split="yes"), "cores.split: expected true or false"),
        (lambda d: d.pop("compute"), "compute.fp16_tflops: missing"),
    ],
)
def test_bad_profile_names_file_and_field(tmp_path, mutate, field):
    path = _profile_file(tmp_path, mutate)
    with pytest.raises(ChipProfileError) as info:
        load_chip(path)
    assert str(info.value).startswith(f"{path}: ") and field in str(info.value)


def test_numbers_in_exponent_notation_are_numbers(tmp_path):
    # YAML 1.1 (PyYAML) reads 1.8e3 and 8e3 as strings; YAML 1.2 and people read numbers.
    text = _profile_file(tmp_path, lambda d: None).read_text("utf-8")
    text = re.sub(r"bandwidth_gb_per_s: .*", "bandwidth_gb_per_s: 1.8e3", text)
    text = re.sub(r"fp16_tflops: .*", "fp16_tflops: 3e2", text)
    path = tmp_path / "exponents.yaml"
    path.write_text(text, "utf-8")
    chip = load_chip(path)
    assert chip.gm_bandwidth == pytest.approx(1.8e12)
    assert chip.peak_fp16_flops == pytest.approx(3e14)
    # Quoted, it is text, and a number is expected.
    path.write_text(re.sub(r"fp16_tflops: .*", "fp16_tflops: '3e2'", text), "utf-8")
    with pytest.raises(ChipProfileError, match=r"fp16_tflops: expected a number, got '3e2'"):
        load_chip(path)


def test_unparseable_and_unknown_profiles(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", "utf-8")
    with pytest.raises(ChipProfileError, match=r"bad\.yaml:2: malformed YAML"):
        load_chip(bad)
    with pytest.raises(ChipProfileError, match="unknown chip"):
        load_chip("Ascend999")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ChipProfileError, match="not UTF-8"):
        load_chip(binary)


def test_a_number_of_thousands_of_digits_is_a_one_line_error(tmp_path):
    # Found by the long fuzz profile: Python refuses to convert integers of more
    # than 4300 digits (ValueError), which escaped the YAML loader as a traceback.
    path = tmp_path / "chip.yaml"
    path.write_text("name: x\ncube_cores: " + "9" * 5019 + "\n")
    with pytest.raises(ChipProfileError, match=r"chip.yaml:2: bad value"):
        load_chip(str(path))
