"""XLSX deliveries, the double-publicity rules and the pseudonymised identity numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from include import feeds
from include.ingest import codes, ensure_schemas, load_file

from .helpers import (
    ALIBABA,
    BUREAU,
    PERSON,
    SHOP,
    assert_accounted,
    assert_message_names_everything,
    deliver,
    ledger,
    quarantine,
    raw_rows,
    ric,
)

KEY = b"test-pseudonym-key"


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    return scratch_db


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    monkeypatch.setenv("CREDIT_PSEUDONYM_KEY", KEY.decode())


def penalty(**over) -> dict:
    row = {
        "subject_name": "宁夏某某商贸有限公司",
        "subject_category": "法人及非法人组织",
        "uscc": ALIBABA,
        "decision_no": "银市监罚〔2022〕1号",
        "violation_type": "虚假宣传",
        "violation_facts": "发布虚假广告",
        "legal_basis": "《中华人民共和国广告法》第五十五条",
        "penalty_type": "警告;罚款",
        "penalty_content": "罚款5000元",
        "fine_amount": "0.5",
        "decided_on": dt.datetime(2022, 9, 29),
        "authority": "银川市市场监督管理局",
        "authority_uscc": BUREAU,
        "source_unit": "银川市市场监督管理局",
        "source_unit_uscc": BUREAU,
        "reported_on": "2022年10月13日",
    }
    row.update(over)
    return row


def write_penalty_workbook(path: Path, rows: list[dict], *, extra: int = 0) -> None:
    contract = feeds.get("penalties")
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "填报说明"
    notes.append(["请按模板填报，日期格式为 yyyy-mm-dd"])
    sheet = wb.create_sheet("处罚信息")
    sheet.append([f"银川市市场监督管理局行政处罚信息报送表 #{extra}"])  # row 1: merged title
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=10)
    sheet.append([])  # row 2: blank
    headers = [c.header for c in contract.columns]
    headers[0] = " 行政相对人名称 "
    headers[headers.index("罚款金额（万元）")] = "罚款金额(万元)"  # half-width brackets
    sheet.append(headers)  # row 3: header
    for r in rows:
        if r is None:
            sheet.append([])
            continue
        sheet.append([r.get(c.name) for c in contract.columns])
    wb.save(path)


def test_penalties_xlsx_with_title_sheets_dates_and_rules(db, tmp_path):
    landing = tmp_path / "landing"
    rows = [
        penalty(),  # 4 loaded
        penalty(
            subject_category="自然人",
            uscc=None,
            subject_name="张三",
            id_no=PERSON.lower(),
            decided_on=44835,
            decision_no="银市监罚〔2022〕2号",
        ),  # 5 person, Excel serial date
        None,  # 6 blank
        penalty(subject_category="自然人", uscc=None, id_no=None, decision_no="3号"),  # 7 required_if
        penalty(uscc=None, decision_no="4号"),  # 8 required_unless
        penalty(subject_category="个体工商户", uscc=ALIBABA, decision_no="5号"),  # 9 warning only
        penalty(subject_category="法人及非法人组织", uscc=SHOP, decision_no="6号"),  # 10 warning only
        penalty(penalty_type="罚款、打板子", decided_on="2022-02-30", reported_on=None, decision_no="7号"),  # 11
        penalty(subject_category="自然人", uscc=None, id_no=ALIBABA, decision_no="8号"),  # 12 not a person
        penalty(
            penalty_type="警告；通报批评",
            severity="严重",
            summary_procedure="是",
            decided_on="2022年10月1日",
            decision_no="9号",
        ),  # 13 loaded
    ]
    path = landing / "penalties" / "2022Q3处罚.xlsx"
    path.parent.mkdir(parents=True)
    write_penalty_workbook(path, rows)
    result = load_file(db, "penalties", path.name, landing)
    assert result["status"] == "loaded", result
    assert (result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (9, 5, 4)
    assert_accounted(db, result)
    detail = ledger(db, "penalties", path.name)["detail"]
    assert detail["sheet"] == "处罚信息" and detail["header_row"] == 3 and detail["sheets"] == ["填报说明", "处罚信息"]

    loaded = {r["_row_number"]: r for r in raw_rows(db, "penalties", result["sha256"])}
    assert sorted(loaded) == [4, 5, 9, 10, 13]
    assert loaded[4]["penalty_type"] == "警告;罚款" and loaded[4]["decided_on"] == dt.date(2022, 9, 29)
    assert str(loaded[4]["fine_amount"]) == "0.5" and loaded[4]["reported_on"] == dt.date(2022, 10, 13)
    assert loaded[4]["received"]["处罚决定日期"] == "2022-09-29"
    person = loaded[5]
    assert person["decided_on"] == dt.date(2022, 10, 1)  # serial 44835
    assert person["id_no"] == PERSON  # clear only in raw
    assert person["id_no_key"] == codes.pseudonym(PERSON, KEY)
    assert person["id_no_masked"] == PERSON[:6] + "********" + PERSON[-4:]
    assert loaded[4]["id_no_key"] is None
    assert loaded[13]["penalty_type"] == "警告;通报批评" and loaded[13]["summary_procedure"] is True
    assert loaded[13]["severity"] == "严重" and loaded[4]["severity"] is None  # blank = 一般, in staging

    problems = quarantine(db, result["sha256"])
    found = {(p["row_number"], p["column_name"], p["rule"], p["severity"]) for p in problems}
    assert found == {
        (7, "id_no", "required_if", "error"),
        (8, "uscc", "required_unless", "error"),
        (9, "uscc", "category_matches_uscc", "warning"),
        (10, "uscc", "category_matches_uscc", "warning"),
        (11, "penalty_type", "enum", "error"),
        (11, "decided_on", "date", "error"),
        (12, "id_no", "id_is_person_if", "error"),
    }
    for p in problems:
        assert_message_names_everything(p, path.name)
    by_row = {p["row_number"]: p for p in problems}
    assert by_row[7]["reference_date"] == dt.date(2022, 9, 29)  # the decision date
    arrival = ledger(db, "penalties", path.name)["received_at"].astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert by_row[11]["reference_date"] == arrival  # decision date unreadable, no report date
    assert "个体工商户" in by_row[10]["message"] and "'92'" in by_row[10]["message"]


def test_a_truncated_workbook_is_rejected(db, tmp_path):
    landing = tmp_path / "landing"
    full = tmp_path / "full.xlsx"
    write_penalty_workbook(full, [penalty()], extra=1)
    data = full.read_bytes()
    deliver(landing, "penalties", "cut.xlsx", data[: len(data) // 2])
    result = load_file(db, "penalties", "cut.xlsx", landing)
    assert result["status"] == "rejected" and "cut.xlsx" in result["reason"]
    assert "rule: xlsx_readable" in result["reason"]


def test_a_sheet_without_the_required_columns_is_rejected(db, tmp_path):
    landing = tmp_path / "landing"
    wb = openpyxl.Workbook()
    wb.active.append(["行政相对人名称", "统一社会信用代码", "行政处罚决定书文号"])
    wb.active.append(["某公司", ALIBABA, "1号"])
    path = landing / "penalties" / "partial.xlsx"
    path.parent.mkdir(parents=True)
    wb.save(path)
    result = load_file(db, "penalties", "partial.xlsx", landing)
    assert result["status"] == "rejected"
    assert "partial.xlsx, row 1" in result["reason"] and "处罚决定日期 (decided_on)" in result["reason"]
    assert "rule: required_column" in result["reason"]


def test_dishonest_debtors_ids_of_people_and_organisations(db, tmp_path):
    landing = tmp_path / "landing"
    other_person = ric("64010519850101001")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["案号", "被执行人名称", "统一社会信用代码/证件号码", "执行法院", "立案日期", "失信行为情形", "发布日期"])
    ws.append(
        [
            "(2022)宁0104执123号",
            "某公司",
            ALIBABA,
            "银川市兴庆区人民法院",
            dt.date(2022, 3, 1),
            "有履行能力而拒不履行",
            "2022-04-01",
        ]
    )
    ws.append(
        ["(2022)宁0104执124号", "李四", other_person, "银川市兴庆区人民法院", "20220302", "违反限制消费令", "2022/4/2"]
    )
    ws.append(
        [
            "(2022)宁0104执125号",
            "王五",
            "640105198501010012",
            "银川市兴庆区人民法院",
            "2022-03-03",
            "其他",
            "2022-04-03",
        ]
    )
    path = landing / "dishonest_debtors" / "court.xlsx"
    path.parent.mkdir(parents=True)
    wb.save(path)
    result = load_file(db, "dishonest_debtors", "court.xlsx", landing)
    assert (result["rows_loaded"], result["rows_quarantined"]) == (2, 1), result
    assert_accounted(db, result)
    loaded = raw_rows(db, "dishonest_debtors", result["sha256"])
    assert (loaded[0]["subject_id_key"], loaded[0]["subject_id_masked"]) == (ALIBABA, ALIBABA)
    assert loaded[1]["subject_id_key"] == codes.pseudonym(other_person, KEY)
    assert loaded[1]["subject_id_masked"].startswith("640105********")
    (problem,) = quarantine(db, result["sha256"])
    assert (problem["row_number"], problem["rule"]) == (4, "id_check")
    assert_message_names_everything(problem, "court.xlsx")
