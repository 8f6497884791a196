"""The raw gate over a real load: what the ingest wrote passes; a row broken afterwards blocks."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from include import quality
from include.ingest.load import load_file
from tests.publish.builders import uscc

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def loaded(scratch_db, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    (landing / "subjects").mkdir()
    rows = [
        "市场主体登记信息报送表",
        "统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,登记状态,注销日期,行政区划代码,行业代码,注册资本（万元）",
    ]
    for i in range(4):
        rows.append(
            f"{uscc(f'91640100MA{i:07d}')},银川测试{i}有限公司,企业,李四,2020-01-0{i + 1},存续,,640104,C13,\"1,000\""
        )
    (landing / "subjects" / "registry.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    outcome = load_file(scratch_db, "subjects", "registry.csv", landing)
    assert outcome["status"] == "loaded" and outcome.get("rows_loaded") == 4, outcome
    return scratch_db


def test_a_fresh_load_passes_the_raw_gate(loaded, tmp_path):
    gate = quality.run_gate(loaded, "raw", AS_OF, tmp_path, tables=["raw.subjects"])
    assert gate["success"], gate["blocking_failures"]
    assert all(r["table"] == "raw.subjects" for r in gate["results"])
    assert (tmp_path / "raw" / "index.html").exists()


def test_feeds_not_delivered_yet_are_warnings(loaded, tmp_path):
    gate = quality.run_gate(loaded, "raw", AS_OF, tmp_path)
    assert gate["success"], gate["blocking_failures"]
    missing = {w["table"] for w in gate["warnings"] if w["expectation"] == "table_exists"}
    assert "raw.tax" in missing and "raw.subjects" not in missing


def test_a_row_breaking_the_contract_blocks(loaded, tmp_path):
    with psycopg.connect(loaded) as conn:
        conn.execute(
            "update raw.subjects set subject_type = '公司', region_code = '6401' "
            "where _row_number = (select min(_row_number) from raw.subjects)"
        )
    gate = quality.run_gate(loaded, "raw", AS_OF, tmp_path, tables=["raw.subjects"])
    failed = {(f["column"], f["expectation"]) for f in gate["blocking_failures"]}
    assert ("subject_type", "expect_column_values_to_be_in_set") in failed
    assert ("region_code", "expect_column_values_to_match_regex") in failed
    assert not gate["success"]


def test_unknown_table_or_checkpoint_is_an_error(loaded, tmp_path):
    with pytest.raises(ValueError, match="no suite checks"):
        quality.run_gate(loaded, "raw", AS_OF, tmp_path, tables=["raw.nonexistent"])
    with pytest.raises(ValueError, match="unknown checkpoint"):
        quality.run_gate(loaded, "marts", AS_OF, tmp_path)
