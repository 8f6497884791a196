"""The feed contracts equal docs/spec/CONTRACT.md §3, and the loader refuses malformed contracts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from include import feeds
from include.feeds import ContractError, parse_contract

CONTRACT_MD = Path(__file__).resolve().parents[2] / "docs" / "spec" / "CONTRACT.md"
FEEDS = [
    "subjects",
    "tax",
    "utilities",
    "real_estate",
    "penalties",
    "licenses",
    "dishonest_debtors",
    "commitments",
    "repairs",
    "objections",
    "ledgers",
]
_FIELD = re.compile(r"(\S+) `(\w+)` (text|uscc|id|date|month|money|int|flag|enum)( R\b)?")


def _contract_sections() -> dict[str, str]:
    text = CONTRACT_MD.read_text(encoding="utf-8")
    sections = re.split(r"^### `(\w+)`.*$", text.split("## 4.")[0], flags=re.M)
    return {sections[i]: sections[i + 1] for i in range(1, len(sections), 2)}


def test_every_feed_has_a_contract():
    assert list(feeds.load_contracts()) == sorted(FEEDS)
    assert feeds.get("penalties").id == "penalties"
    with pytest.raises(KeyError, match="unknown feed 'taxes'"):
        feeds.get("taxes")


@pytest.mark.parametrize("feed_id", FEEDS)
def test_columns_equal_contract_md(feed_id):
    section = " ".join(_contract_sections()[feed_id].split())
    expected = [(m.group(2), m.group(1).lstrip("·"), m.group(3), bool(m.group(4))) for m in _FIELD.finditer(section)]
    feed = feeds.get(feed_id)
    got = [(c.name, c.header, c.type, c.required) for c in feed.columns]
    # `penalty_type` is documented as `text R (one or more of …)`: our contract makes it a multi-valued enum.
    got = [(n, h, "text" if n == "penalty_type" else t, r) for n, h, t, r in got]
    assert got == expected


def test_enums_and_rules_of_double_publicity():
    penalties = feeds.get("penalties")
    assert penalties.column("penalty_type").multi
    assert "限制开展生产经营活动" in penalties.column("penalty_type").values
    assert penalties.column("subject_category").values == ("法人及非法人组织", "自然人", "个体工商户")
    rules = {r.rule: r for r in penalties.rules}
    assert rules["required_unless"].column == "uscc" and rules["required_unless"].unless == {
        "subject_category": ("自然人",)
    }
    assert rules["required_if"].column == "id_no"
    assert rules["category_matches_uscc"].severity == "warning"
    assert penalties.reference_date == ("decided_on", "reported_on")
    assert feeds.get("tax").column("credit_rating").values == ("A", "B", "M", "C", "D")
    assert [c.name for c in feeds.get("real_estate").id_columns] == ["owner_id"]


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body, message",
    [
        ("feed: other\ncolumns: [{name: a, header: 甲, type: text}]", "must equal the file name"),
        ("feed: x\ncolumns: [{name: a, header: 甲, type: textual}]", "type 'textual'"),
        ("feed: x\ncolumns: [{name: a, header: 甲, type: enum}]", "enum without values"),
        ("feed: x\ncolumns: [{name: A-b, header: 甲, type: text}]", "lower_snake_case"),
        ("feed: x\ncolumns: [{name: a, header: 甲, type: text, requird: true}]", "unknown keys"),
        ("feed: x\nbusiness_key: [b]\ncolumns: [{name: a, header: 甲, type: text}]", "unknown column 'b'"),
        (
            "feed: x\ncolumns: [{name: a, header: 甲, type: text}]\nrules: [{rule: required_if, column: z}]",
            "unknown column",
        ),
    ],
)
def test_malformed_contract_is_refused(tmp_path, body, message):
    with pytest.raises(ContractError, match=message):
        parse_contract(_write(tmp_path, "x" if "feed: x" in body else "y", body))


def test_a_new_feed_is_just_a_file(tmp_path):
    _write(
        tmp_path,
        "fines",
        "feed: fines\nbusiness_key: [fine_no]\ncolumns:\n"
        "  - {name: fine_no, header: 编号, type: text, required: true}\n"
        "  - {name: amount, header: 金额（元）, type: money}\n",
    )
    contracts = feeds.load_contracts(tmp_path)
    assert list(contracts) == ["fines"]
    assert contracts["fines"].column("amount").pg_type == "numeric"
