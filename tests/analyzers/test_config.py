"""Configuration: [tool.ubscope] in pyproject.toml and ubscope.yaml."""

from __future__ import annotations

import pytest

from ubscope.analyzers.config import Config, discover_config, load_config
from ubscope.analyzers.engine import build_rules
from ubscope.analyzers.findings import Severity
from ubscope.probe.errors import ConfigError

PYPROJECT = """
[project]
name = "my-kernels"

[tool.ubscope]
select = ["UB", "FRG001"]
ignore = ["UB009"]
fail_on = "warning"
chip = "Ascend910B4"

[tool.ubscope.thresholds.FRG002]
max_external = 0.6
"""


def test_pyproject_table_is_read(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    config = load_config(path)
    assert config.select == ("UB", "FRG001") and config.ignore == ("UB009",)
    assert config.fail_on is Severity.WARNING and config.chip == "Ascend910B4"
    assert config.thresholds == {"FRG002": {"max_external": 0.6}}
    assert config.enabled("UB001") and config.enabled("FRG001")
    assert not config.enabled("UB009") and not config.enabled("GM001")


def test_yaml_file_is_read_with_thresholds_applied(tmp_path):
    path = tmp_path / "ubscope.yaml"
    path.write_text("ignore: [GM003]\nthresholds:\n  FRG002: {max_external: 0.7}\n")
    config = load_config(path)
    rules = {rule.code: rule for rule in build_rules(config)}
    assert "GM003" not in rules
    assert rules["FRG002"].limits["max_external"] == 0.7


def test_yaml_thresholds_in_exponent_notation_are_numbers(tmp_path):
    # PyYAML (YAML 1.1) would read 5e-2 as the string '5e-2': "expected a number".
    path = tmp_path / "ubscope.yaml"
    path.write_text("thresholds:\n  ALN003: {min_gain_share: 5e-2}\n")
    assert load_config(path).thresholds == {"ALN003": {"min_gain_share": 0.05}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("selct: [UB]\n", "unknown key 'selct'"),
        ("select: [XYZ9]\n", "select: 'XYZ9' matches no rule"),
        ("thresholds:\n  FRG002: {max_externl: 0.5}\n", "thresholds.FRG002.max_externl"),
        ("thresholds:\n  NOPE001: {x: 1}\n", "thresholds.NOPE001: no such rule"),
        ("fail_on: sometimes\n", "fail_on"),
        ("- just\n- a list\n", "expected a mapping"),
        ("select: [UB\n", "ubscope.yaml:2: malformed YAML"),
    ],
)
def test_bad_yaml_names_the_file_and_key(tmp_path, text, expected):
    path = tmp_path / "ubscope.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_unknown_key_in_pyproject_is_an_error(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.ubscope]\nfail_onn = 'error'\n")
    with pytest.raises(ConfigError, match="pyproject.toml: unknown key 'fail_onn'"):
        load_config(path)


def test_discovery_walks_up_and_defaults(tmp_path, tmp_path_factory):
    (tmp_path / "pyproject.toml").write_text("[tool.ubscope]\nignore = ['GM']\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text("[project]\nname = 'no-table'\n")
    found = discover_config(nested)
    assert found.ignore == ("GM",) and found.source == str(tmp_path / "pyproject.toml")
    assert discover_config(tmp_path_factory.mktemp("plain")) == Config()


def test_command_line_overrides_replace_file_values():
    config = Config(select=("UB",), fail_on=Severity.ERROR).with_overrides(
        select=["ALN002"], fail_on="info"
    )
    assert config.select == ("ALN002",) and config.fail_on is Severity.INFO
    with pytest.raises(ConfigError, match="--select"):
        Config().with_overrides(select=["nope"])


@pytest.mark.parametrize("name", ["pyproject.toml", "ubscope.yaml"])
def test_a_number_of_thousands_of_digits_is_a_one_line_error(tmp_path, name):
    # Found by the long fuzz profile: Python refuses to convert integers of more
    # than 4300 digits with a ValueError that escaped the TOML and YAML readers.
    number = "9" * 5000
    text = (
        f"[tool.ubscope]\nthresholds = {{x = {number}}}\n"
        if name.endswith(".toml")
        else (f"thresholds:\n  x: {number}\n")
    )
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match="too many digits"):
        load_config(path)
