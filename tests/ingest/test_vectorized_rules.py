"""Feeds with cross-field rules (penalties, licenses) on the fast path: every rule evaluated
column-wise must load and quarantine exactly what the per-row path does."""

from __future__ import annotations

import psycopg
import pytest

from include.ingest import ensure_schemas, load_file, vectorized

from .helpers import (
    ALIBABA,
    BUREAU,
    PENALTY_HEADERS,
    PERSON,
    SHOP,
    assert_accounted,
    csv_text,
    deliver,
    quarantine,
    raw_rows,
)

HEADER = PENALTY_HEADERS


def _row(n: int, name: str, category: str, uscc: str, id_no: str) -> list[str]:
    return [
        name,
        category,
        uscc,
        id_no,
        f"银罚〔2022〕{n}号",
        "违规",
        "事实",
        "依据",
        "罚款",
        "罚款100元",
        "2022-06-01",
        "某局",
        BUREAU,
        "某局",
        BUREAU,
    ]


ROWS = [
    _row(1, "阿里巴巴", "法人及非法人组织", ALIBABA, ""),  # fine
    _row(2, "张三", "自然人", "", PERSON),  # fine: a person needs no USCC
    _row(3, "李四", "自然人", "", ""),  # required_if: a person needs an id
    _row(4, "王五", "自然人", "", ALIBABA),  # id_is_person_if: a USCC is no person's id
    _row(5, "某公司", "法人及非法人组织", "", ""),  # required_unless: an organisation needs a USCC
    _row(6, "某商店", "法人及非法人组织", SHOP, ""),  # category_matches_uscc: warning, loaded
    _row(7, "某个体户", "个体工商户", SHOP, ""),  # fine
    _row(8, "某个体户", "个体工商户", ALIBABA, ""),  # warning, loaded
    _row(9, "赵六", "外星人", "", ""),  # enum error: no rule message beside it
]


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    return scratch_db


def _comparable(db: str, sha: str) -> tuple[list, list]:
    rows = raw_rows(db, "penalties", sha)
    for r in rows:
        r.pop("_file_sha256")
    problems = [
        (p["row_number"], p["column_name"], p["rule"], p["value"], p["message"], p["severity"], p["reference_date"])
        for p in quarantine(db, sha)
    ]
    return rows, problems


def test_penalties_take_the_fast_path_with_the_same_outcome(db, tmp_path, monkeypatch):
    results, encoded = {}, []
    for path_name in ("fast", "general"):
        landing = tmp_path / path_name
        deliver(landing, "penalties", "p.csv", csv_text([HEADER, *ROWS], title=f"行政处罚 {path_name}"))
        with monkeypatch.context() as m:
            if path_name == "general":
                m.setattr(vectorized, "applies", lambda *a: False)
            else:
                real = vectorized.ColumnarChecker.encode
                m.setattr(
                    vectorized.ColumnarChecker,
                    "encode",
                    lambda self, *a, real=real: (encoded.append(1), real(self, *a))[1],
                )
            results[path_name] = load_file(db, "penalties", "p.csv", landing)
        assert_accounted(db, results[path_name])
    assert encoded, "the fast path was not taken"
    fast, general = results["fast"], results["general"]
    assert (fast["rows_read"], fast["rows_loaded"], fast["rows_quarantined"]) == (9, 5, 4)
    assert _comparable(db, fast["sha256"]) == _comparable(db, general["sha256"])
    rows, problems = _comparable(db, fast["sha256"])
    assert {(p[0], p[2], p[5]) for p in problems} == {
        (5, "required_if", "error"),
        (6, "id_is_person_if", "error"),
        (7, "required_unless", "error"),
        (8, "category_matches_uscc", "warning"),
        (10, "category_matches_uscc", "warning"),
        (11, "enum", "error"),
    }
    assert [r["_row_number"] for r in rows] == [3, 4, 8, 9, 10]
    person = next(r for r in rows if r["_row_number"] == 4)
    assert person["id_no_key"].startswith("p:") and person["id_no_masked"].endswith("1233")


def test_licenses_without_the_id_column_still_check_their_rules(db, tmp_path):
    """id_is_person_if over a column the file lacks (证件号码): judged as the per-row path does."""
    header = [
        "行政相对人名称",
        "行政相对人类别",
        "统一社会信用代码",
        "行政许可决定文书名称",
        "行政许可决定文书号",
        "许可类别",
        "许可内容",
        "许可决定日期",
        "有效期自",
        "有效期至",
        "许可机关",
        "许可机关统一社会信用代码",
        "数据来源单位",
        "数据来源单位统一社会信用代码",
    ]
    base = ["决定书", "普通", "内容", "2022-06-01", "2022-06-01", "2025-06-01", "某局", BUREAU, "某局", BUREAU]
    rows = [
        ["阿里巴巴", "法人及非法人组织", ALIBABA, "决定书", "许1号", *base[1:]],
        ["某公司", "法人及非法人组织", "", "决定书", "许2号", *base[1:]],
    ]
    deliver(tmp_path, "licenses", "l.csv", csv_text([header, *rows], title="行政许可 rules"))
    result = load_file(db, "licenses", "l.csv", tmp_path)
    assert (result["rows_loaded"], result["rows_quarantined"]) == (1, 1), result
    assert [p["rule"] for p in quarantine(db, result["sha256"])] == ["required_unless"]
    with psycopg.connect(db) as conn:
        assert (
            conn.execute("select count(*) from raw.licenses where _file_sha256 = %s", (result["sha256"],)).fetchone()[0]
            == 1
        )
