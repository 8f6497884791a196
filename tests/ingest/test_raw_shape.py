"""The lean raw row (docs/internals.md "raw.<feed>"): per row only the file's sha256, the row
number, the normalised values and the cells that differ from them; the file's name and times in
the ledger; audit.received_rows shows every loaded row exactly as the file said it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import psycopg
import pytest

from include import feeds
from include.ingest import ensure_schemas, load_file, schema, vectorized

from .helpers import ALIBABA, BUREAU, PENALTY_HEADERS, PERSON, TENCENT, csv_text, deliver, raw_rows

UTIL_HEADER = [
    "统一社会信用代码",
    "户名",
    "户号",
    "类别",
    "账期",
    "应缴金额（元）",
    "实缴金额（元）",
    "缴费日期",
    "供应单位",
]
ARRIVED = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
# Every cell canonical: the row stores no `_received` at all.
CANONICAL = [ALIBABA, "阿里巴巴", "A-001", "水", "2022-03", "1234.50", "0", "2022-03-05", "银川市自来水公司"]
# Cells whose text is not what the column holds (or not its canonical text) are stored.
MESSY = [
    " ９１３３０１００７１６１０５８５２Ｆ",
    "阿里巴巴 ",
    "A-002",
    "电",
    "2022年4月",
    "1,234.50",
    "+7.",
    "2022/4/5",
    "国网银川供电公司",
]
ODD_NUMBERS = [TENCENT, "腾讯", "T-1", "气", "202205", "007", "-0.00", "", "燃气公司"]


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    return scratch_db


def _cells_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _received(db: str, feed: str, sha256: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "select row_number, cells, received from audit.received_rows(%s, %s)", (feed, sha256)
        ).fetchall()


def test_raw_rows_carry_no_per_file_columns(db):
    with psycopg.connect(db) as conn:
        columns = [
            c
            for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'penalties'"
                " order by ordinal_position"
            )
        ]
    contract = feeds.get("penalties")
    assert columns == ["_file_sha256", "_row_number", *contract.column_names, "id_no_key", "id_no_masked", "_received"]
    assert not {"_file_name", "_arrived_at", "_loaded_at"} & set(columns)


@pytest.mark.parametrize("path", ["fast", "general"])
def test_received_rows_show_every_cell_as_the_file_said_it(db, tmp_path, monkeypatch, path):
    if path == "general":
        monkeypatch.setattr(vectorized, "applies", lambda *a: False)
    text = csv_text([UTIL_HEADER, CANONICAL, MESSY, ODD_NUMBERS], title=f"水电气 {path}")
    deliver(tmp_path, "utilities", "bills.csv", text, mtime=ARRIVED)
    result = load_file(db, "utilities", "bills.csv", tmp_path)
    assert (result["status"], result["rows_loaded"]) == ("loaded", 3), result
    shown = _received(db, "utilities", result["sha256"])
    assert [number for number, _, _ in shown] == [3, 4, 5]
    assert [cells for _, cells, _ in shown] == _cells_of(text)[2:]
    assert shown[1][2] == dict(zip(UTIL_HEADER, MESSY))
    stored = {r["_row_number"]: r["_received"] for r in raw_rows(db, "utilities", result["sha256"])}
    assert stored[3] is None  # nothing the columns do not say already
    assert stored[4] == [
        " ９１３３０１００７１６１０５８５２Ｆ",
        "阿里巴巴 ",
        None,
        None,
        "2022年4月",
        "1,234.50",
        "+7.",
        "2022/4/5",
        None,
    ]
    assert stored[5] == [None, None, None, None, "202205", "007", "-0.00", "", None]


def test_the_ledger_keeps_the_header_once_and_one_loaded_row_per_file(db, tmp_path):
    text = csv_text([UTIL_HEADER + ["备注"], CANONICAL + ["多出的一列"]], title="水电气 ledger")
    deliver(tmp_path, "utilities", "first.csv", text, mtime=ARRIVED)
    first = load_file(db, "utilities", "first.csv", tmp_path)
    deliver(tmp_path, "utilities", "again.csv", text)
    assert load_file(db, "utilities", "again.csv", tmp_path)["status"] == "duplicate"
    with psycopg.connect(db) as conn:
        (detail,) = conn.execute(
            "select detail from audit.file_ledger where sha256 = %s and status = 'loaded'", (first["sha256"],)
        ).fetchone()
        joined = conn.execute(
            "select l.file_name, l.received_at from raw.utilities r join audit.file_ledger l"
            " on l.feed = 'utilities' and l.sha256 = r._file_sha256 and l.status = 'loaded'"
            " where r._file_sha256 = %s",
            (first["sha256"],),
        ).fetchall()
    assert detail["received_headers"] == UTIL_HEADER + ["备注"]
    assert detail["received_from"] == [
        "uscc",
        "name",
        "account_no",
        "utility",
        "period/month",
        "amount_due",
        "amount_paid",
        "paid_on",
        "provider",
        None,
    ]
    assert joined == [("first.csv", ARRIVED)]  # the duplicate delivery joins nothing
    ((_, cells, received),) = _received(db, "utilities", first["sha256"])
    assert cells == CANONICAL + ["多出的一列"] and received["备注"] == "多出的一列"


def test_flags_ids_and_persons_show_as_received(db, tmp_path):
    header = [*PENALTY_HEADERS, "简易程序"]
    spaced = f"{PERSON[:6]} {PERSON[6:14]} {PERSON[14:]}"
    row = [
        "张三",
        "自然人",
        "",
        spaced,
        "银罚〔2022〕1号",
        "违规",
        "事实",
        "依据",
        "罚款",
        "罚款100元",
        "2022/6/1",
        "某局",
        BUREAU,
        "某局",
        BUREAU,
        "是",
    ]
    text = csv_text([header, row], title="处罚 flags")
    deliver(tmp_path, "penalties", "p.csv", text)
    result = load_file(db, "penalties", "p.csv", tmp_path)
    assert result["rows_loaded"] == 1, result
    ((_, cells, _),) = _received(db, "penalties", result["sha256"])
    assert cells == row
    (stored,) = raw_rows(db, "penalties", result["sha256"])
    assert stored["summary_procedure"] is True and stored["_received"][15] == "是"  # a flag is always stored
    assert stored["id_no"] == PERSON and stored["_received"][3] == spaced  # not the column's text
    assert stored["_received"][0] is None  # 张三 is the column's text


def test_a_first_shape_table_is_migrated_without_losing_a_cell(scratch_db):
    """raw.<feed> made by the first ingest (per-file columns on every row, `_received` JSON) is
    converted in place by ensure_schemas; the ledger gains the header."""
    sha = "a" * 64
    with psycopg.connect(scratch_db) as conn:
        conn.execute("drop table if exists raw.ledgers")
        conn.execute(
            "create table raw.ledgers (_file_sha256 text not null, _file_name text not null,"
            " _row_number integer not null, _arrived_at timestamptz not null, _loaded_at timestamptz not null,"
            " unit text, unit_uscc text, month date, license_decisions bigint, penalty_decisions bigint,"
            " _received json not null)"
        )
        conn.execute("create view raw.ledgers_names as select _file_name from raw.ledgers")  # dropped with the column
        conn.execute("create index ledgers_by_file_brin on raw.ledgers using brin (_file_sha256)")
        old = {
            "部门名称": "教育局",
            "部门统一社会信用代码": BUREAU,
            "月份": "2022-05",
            "行政许可决定数": "1",
            "行政处罚决定数": "1,200",
            "(column F)": "x",
        }
        conn.execute(
            "insert into raw.ledgers values (%s, 'old.csv', 3, now(), now(), '教育局', %s, '2022-05-01', 1, 1200, %s)",
            (sha, BUREAU, json.dumps(old, ensure_ascii=False)),
        )
        conn.execute(
            "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at, rows_read,"
            " rows_loaded, status) values ('ledgers', 'old.csv', %s, 10, now(), 1, 1, 'loaded')",
            (sha,),
        )
    ensure_schemas(scratch_db)
    with psycopg.connect(scratch_db) as conn:
        columns = [
            c
            for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'ledgers'"
                " order by ordinal_position"
            )
        ]
        shown = conn.execute("select file_name, row_number, received from audit.received_rows('ledgers')").fetchall()
        indexes = conn.execute(
            "select count(*) from pg_indexes where schemaname = 'raw' and tablename = 'ledgers'"
        ).fetchone()
    assert columns == [name for name, _ in schema.raw_columns(feeds.get("ledgers"))]
    assert indexes == (0,)  # loads pay no index upkeep per row
    assert shown == [("old.csv", 3, old)]


def test_the_raw_gate_blocks_rows_whose_file_is_not_in_the_ledger(scratch_db, tmp_path):
    """The raw suite's lineage check (include/quality/raw_suites.py): a raw row names its file by
    sha256 only, so a row without a loaded ledger row has lost its file name and times."""
    from include import quality

    text = csv_text([UTIL_HEADER, CANONICAL], title="水电气 gate")
    deliver(tmp_path / "landing", "utilities", "gate.csv", text)
    result = load_file(scratch_db, "utilities", "gate.csv", tmp_path / "landing")
    as_of = dt.date(2026, 6, 30)
    gate = quality.run_gate(scratch_db, "raw", as_of, tmp_path / "ok", tables=["raw.utilities"])
    assert gate["success"], gate["blocking_failures"]
    with psycopg.connect(scratch_db) as conn:
        conn.execute("update audit.file_ledger set status = 'rejected' where sha256 = %s", (result["sha256"],))
    gate = quality.run_gate(scratch_db, "raw", as_of, tmp_path / "orphan", tables=["raw.utilities"])
    assert not gate["success"]
    assert [f["expectation"] for f in gate["blocking_failures"]] == ["unexpected_rows_expectation"]
    assert "audit.file_ledger" in gate["blocking_failures"][0]["description"]
