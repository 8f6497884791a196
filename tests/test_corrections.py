"""The instruction texts (include/corrections.py): one for every rule the ingest can raise, and the
right check character for a mistyped code."""

from __future__ import annotations

import re

import pytest

from include import corrections, feeds
from include.settings import REPO_ROOT

INGEST = sorted((REPO_ROOT / "include" / "ingest").glob("*.py"))


def _found(pattern: str) -> set[str]:
    return {m for path in INGEST for m in re.findall(pattern, path.read_text(encoding="utf-8"))}


def test_every_row_rule_has_an_instruction():
    # rules are found in the code itself, so a rule added later without a text fails here
    rules = _found(r'\bBad\(\s*"([a-z_]+)"') | _found(r'_Blank\(\s*"([a-z_]+)"') | set(feeds.RULES)
    assert {"required", "date", "uscc_check", "id_check", "enum", "control_character"} <= rules
    assert rules - set(corrections.ROW_INSTRUCTIONS) == set()


def test_every_file_rule_has_an_instruction():
    rules = _found(r"rule: ([a-z_]{3,})") - {"str", "its"}
    assert {"encoding", "required_column", "taken_once", "not_empty"} <= rules
    assert rules - set(corrections.FILE_INSTRUCTIONS) == set()


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        # 9 1 3 3 0 1 0 0 7 1 6 1 0 5 8 5 2 (Alibaba): the check character is F (tests/ingest/helpers.py)
        ("uscc_check", "91330100716105852A", "“统一社会信用代码”校验位错误，应为F（第18位），请核对后重新报送该行"),
        # lower case and full width are normalised before the check
        (
            "uscc_check",
            "９１３３０１００７１６１０５８５２a",
            "“统一社会信用代码”校验位错误，应为F（第18位），请核对后重新报送该行",
        ),
        ("uscc_check", "9133010071610585", "“统一社会信用代码”应为18位，现为16位，请核对后重新报送该行"),
        # 640102199003071233 is valid (tests/ingest/helpers.py PERSON): with 9 as the check digit it is told 3
        (
            "id_check",
            "640102199003071239",
            "“统一社会信用代码”（身份证号码）校验码错误，应为3（第18位），请核对后重新报送该行",
        ),
    ],
)
def test_a_mistyped_code_is_told_its_check_character(rule, value, expected):
    assert corrections.row_instruction(rule, "统一社会信用代码", value) == expected


def test_a_file_rule_is_read_from_the_reason():
    reason = "a.csv: no header row with the contract's required columns; rule: required_column; nothing read"
    assert corrections.file_instruction(reason) == "缺少模板规定的必备列，请使用模板表头后重新报送"
    assert corrections.file_instruction("something else") == corrections.UNKNOWN_FILE_RULE
