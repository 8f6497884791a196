"""Loading CSV deliveries of every encoding and every kind of mess into a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from include.ingest import ensure_schemas, ingest_all, load_file
from include.settings import REPO_ROOT

from .helpers import (
    ALIBABA,
    TENCENT,
    VILLAGE,
    assert_accounted,
    assert_message_names_everything,
    csv_text,
    deliver,
    ledger,
    quarantine,
    raw_rows,
    uscc,
)

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


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    ensure_schemas(scratch_db)  # idempotent
    return scratch_db


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


def test_utf8_bom_csv_with_title_blank_rows_and_mess(db, landing):
    rows = [
        ["", "", "", "", "", "", "", "", ""],  # blank row under the title
        [
            " 统一社会信用代码 ",
            "户名",
            "户号",
            "类别",
            "账期",
            "应缴金额(元)",
            "实缴金额 （元）",
            "缴费日期",
            "供应单位",
            "",
        ],
        [ALIBABA, "阿里巴巴", "A-001", "水", "2022-03", "1,234.50", "1234.5", "2022/3/5", "银川市自来水公司"],
        [
            "９１３３０１００７１６１０５８５２Ｆ",
            " 阿里巴巴 ",
            "A-001",
            "电",
            "2022年4月",
            "１００",
            "100",
            "2022年4月5日",
            "国网银川供电公司",
        ],
        ["", "", "", "", "", "", "", "", ""],  # blank row inside: not a row
        [VILLAGE, "某村集体", "V-9", "气", "202205", "80", "80", "20220603", "燃气公司"],
        [ALIBABA[:17] + "X", "阿里巴巴", "A-001", "气", "2022-05", "100", "90", "2022-02-30", "燃气公司"],
        [TENCENT, "", "T-1", "热", "2022-13", "abc", "10", "", "热力公司"],
    ]
    text = csv_text(rows)
    deliver(landing, "utilities", "2022年5月 水电气.csv", "\ufeff" + text)
    result = load_file(db, "utilities", "2022年5月 水电气.csv", landing)
    assert result["status"] == "loaded", result
    assert (result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (5, 3, 2)
    assert_accounted(db, result)
    loaded = raw_rows(db, "utilities", result["sha256"])
    assert [r["_row_number"] for r in loaded] == [4, 5, 7]  # title 1, blank 2, header 3
    first = loaded[0]
    assert (first["uscc"], first["period"], str(first["amount_due"]), first["paid_on"]) == (
        ALIBABA,
        dt.date(2022, 3, 1),
        "1234.50",
        dt.date(2022, 3, 5),
    )
    assert loaded[1]["uscc"] == ALIBABA and loaded[1]["name"] == "阿里巴巴"  # full-width and spaces folded
    assert loaded[1]["received"]["统一社会信用代码"] == "９１３３０１００７１６１０５８５２Ｆ"  # as received
    assert loaded[2]["uscc"] == VILLAGE  # N2… is valid
    problems = quarantine(db, result["sha256"])
    found = {(p["row_number"], p["column_name"], p["rule"]) for p in problems}
    assert found == {
        (8, "uscc", "uscc_check"),
        (8, "paid_on", "date"),
        (9, "name", "required"),
        (9, "utility", "enum"),
        (9, "period", "month"),
        (9, "amount_due", "money"),
    }
    for p in problems:
        assert_message_names_everything(p, "2022年5月 水电气.csv")
        assert p["severity"] == "error" and p["reference_date"] is None
    detail = ledger(db, "utilities", "2022年5月 水电气.csv")["detail"]
    assert detail["encoding"] == "utf-8-sig" and detail["header_row"] == 3 and detail["delimiter"] == ","


def test_gb18030_tab_separated_with_english_and_spaced_headers(db, landing):
    header = [
        "uscc",
        "纳税人名称",
        "税款所属期",
        "应纳税额 (元)",
        "实缴税额（元）",
        "欠税余额（元）",
        "纳税信用等级",
        "评价年度",
        "重大税收违法失信主体",
        "Authority",
    ]
    rows = [
        header,
        [TENCENT, "腾讯", "2022年3月", "1000", "1000", "0", "a", "2021", "否", "国家税务总局深圳市税务局"],
        [TENCENT, "腾讯", "202204", "1000", "900", "100", "B", "2021", "N", "国家税务总局深圳市税务局"],
        [TENCENT, "腾讯", "2022-05", "1000", "1000", "", "E", "2021", "也许", "国家税务总局深圳市税务局"],
    ]
    deliver(landing, "tax", "tax.txt", csv_text(rows, delimiter="\t"), encoding="gb18030")
    result = load_file(db, "tax", "tax.txt", landing)
    assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", 2, 1), result
    assert_accounted(db, result)
    loaded = raw_rows(db, "tax", result["sha256"])
    assert [(r["credit_rating"], r["major_violation"], r["arrears"] is not None) for r in loaded] == [
        ("A", False, True),
        ("B", False, True),
    ]
    assert loaded[0]["authority"] == "国家税务总局深圳市税务局"
    detail = ledger(db, "tax", "tax.txt")["detail"]
    assert (detail["encoding"], detail["delimiter"]) == ("gb18030", "tab")
    assert {p["rule"] for p in quarantine(db, result["sha256"])} == {"enum", "flag"}


def test_utf16_excel_unicode_text(db, landing):
    rows = [
        ["部门名称", "部门统一社会信用代码", "月份", "行政许可决定数", "行政处罚决定数"],
        ["市场监管局", uscc("11640100MB0000011"), "2022-03", "12", "3"],
    ]
    deliver(landing, "ledgers", "unicode.txt", "\ufeff" + csv_text(rows, delimiter="\t"), encoding="utf-16-le")
    result = load_file(db, "ledgers", "unicode.txt", landing)
    assert (result["status"], result["rows_loaded"]) == ("loaded", 1), result
    assert raw_rows(db, "ledgers", result["sha256"])[0]["license_decisions"] == 12


def test_redelivery_is_a_no_op_and_rescans_write_nothing(db, landing):
    rows = [
        ["unit", "unit_uscc", "month", "license_decisions", "penalty_decisions"],
        ["发改委", uscc("11640100MB0000022"), "2022-04", "1,200", "0"],
        ["发改委", uscc("11640100MB0000022"), "2022-05", "7", "x"],
    ]
    text = csv_text(rows)
    deliver(landing, "ledgers", "april.csv", text)
    first = load_file(db, "ledgers", "april.csv", landing)
    assert (first["status"], first["rows_loaded"], first["rows_quarantined"]) == ("loaded", 1, 1)
    again = load_file(db, "ledgers", "april.csv", landing)  # the scheduler sees it again
    assert again == first
    deliver(landing, "ledgers", "april (copy).csv", text)  # the same bytes, renamed
    dup = load_file(db, "ledgers", "april (copy).csv", landing)
    assert (dup["status"], dup["rows_read"], dup["rows_loaded"]) == ("duplicate", 0, 0)
    assert "april.csv" in dup["reason"] and "taken_once" in dup["reason"]
    assert load_file(db, "ledgers", "april (copy).csv", landing)["status"] == "duplicate"
    with psycopg.connect(db) as conn:
        statuses = conn.execute(
            "select status from audit.file_ledger where sha256 = %s order by id", (first["sha256"],)
        ).fetchall()
    assert [s for (s,) in statuses] == ["loaded", "duplicate"]
    assert len(raw_rows(db, "ledgers", first["sha256"])) == 1
    assert len(quarantine(db, first["sha256"])) == 1
    assert_accounted(db, first)


def test_received_at_is_the_files_mtime(db, landing):
    when = dt.datetime(2022, 6, 1, 9, 30, tzinfo=dt.UTC)
    rows = [
        ["部门名称", "部门统一社会信用代码", "月份", "行政许可决定数", "行政处罚决定数"],
        ["教育局", uscc("11640100MB0000033"), "2022-05", "1", "1"],
    ]
    deliver(landing, "ledgers", "may.csv", csv_text(rows), mtime=when)
    result = load_file(db, "ledgers", "may.csv", landing)
    assert ledger(db, "ledgers", "may.csv")["received_at"] == when
    with psycopg.connect(db) as conn:  # the row's arrival: its file's ledger row, joined as dbt joins it
        arrived = conn.execute(
            "select l.received_at from raw.ledgers r join audit.file_ledger l on l.feed = 'ledgers'"
            " and l.sha256 = r._file_sha256 and l.status = 'loaded' where r._file_sha256 = %s",
            (result["sha256"],),
        ).fetchall()
    assert arrived == [(when,)]


BAD_FILES = {
    "empty.csv": (b"", "empty", "not_empty"),
    "image.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary", "format"),
    "legacy.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), ".xls", "format"),
    "no_header.csv": ("这是一封信\r\n没有表头\r\n".encode(), "no header row", "header_row"),
    "missing.csv": (
        "统一社会信用代码,户名,户号,类别\r\n91330100716105852F,阿里,A,水\r\n".encode(),
        "账期 (period)",
        "required_column",
    ),
    "twice.csv": (",".join(UTIL_HEADER + ["户号"]).encode() + b"\r\n", "appears twice", "header_unique"),
    "broken.csv": (
        ",".join(UTIL_HEADER).encode("gb18030") + b"\r\n" + "阿里".encode("gb18030") + b"\xff\xff,x\r\n",
        "line 2: bytes b'\\xff\\xff,x'",
        "encoding",
    ),
    "bom_but_gbk.csv": (b"\xef\xbb\xbf" + ",".join(UTIL_HEADER).encode("gb18030"), "byte-order mark", "encoding"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unreadable_files_are_rejected_with_a_reason_and_the_others_load(db, tmp_path, name):
    landing = tmp_path / "landing"
    data, words, rule = BAD_FILES[name]
    deliver(landing, "utilities", name, data)
    good = csv_text([UTIL_HEADER, [ALIBABA, "阿里", f"G-{name}", "水", "2022-03", "1", "1", "", "水司"]])
    deliver(landing, "utilities", "good.csv", good)
    results = {r["file_name"]: r for r in ingest_all(db, landing, ["utilities"])}
    bad = results[name]
    assert bad["status"] == "rejected", bad
    assert name in bad["reason"] and words in bad["reason"] and f"rule: {rule}" in bad["reason"]
    assert (bad["rows_read"], bad["rows_loaded"], bad["rows_quarantined"]) == (0, 0, 0)
    row = ledger(db, "utilities", name)
    assert row["status"] == "rejected" and row["reason"] == bad["reason"] and row["size_bytes"] == len(data)
    assert raw_rows(db, "utilities", bad["sha256"]) == [] and quarantine(db, bad["sha256"]) == []
    assert results["good.csv"]["status"] == "loaded" and results["good.csv"]["rows_loaded"] == 1


def test_a_file_rejected_mid_stream_leaves_no_rows(db, landing):
    # Valid UTF-8 header and rows, then a malformed byte: detected up front, nothing half-loaded.
    head = csv_text(
        [UTIL_HEADER] + [[ALIBABA, "阿里", f"M-{i}", "水", "2022-03", "1", "1", "", "水司"] for i in range(50)]
    ).encode("utf-8")
    deliver(landing, "utilities", "half.csv", head + b"\xa1\xa1\xff\xfe,\r\n")
    result = load_file(db, "utilities", "half.csv", landing)
    assert result["status"] == "rejected" and "rule: encoding" in result["reason"], result
    assert "half.csv, line 53:" in result["reason"]
    assert raw_rows(db, "utilities", result["sha256"]) == []


def test_cli_prints_one_line_per_file(db, landing):
    rows = [
        ["部门名称", "部门统一社会信用代码", "月份", "行政许可决定数", "行政处罚决定数"],
        ["住建局", uscc("11640100MB0000044"), "2022-05", "3", "2"],
    ]
    deliver(landing, "ledgers", "cli.csv", csv_text(rows))
    deliver(landing, "ledgers", "cli-empty.csv", b"")
    (landing / "ledger").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "include.ingest", "--feed", "ledgers", "--landing", str(landing)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"WAREHOUSE_URL": db, "PATH": "/usr/bin:/bin", "STATE_DIR": str(landing.parent)},
    )
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 1, out.stderr  # a file was rejected
    assert len(lines) == 2
    assert any("loaded" in line and "cli.csv" in line and "read       1" in line for line in lines)
    assert any("rejected" in line and "cli-empty.csv" in line for line in lines)
    assert "ledger" in out.stderr and "not a feed folder" in out.stderr
