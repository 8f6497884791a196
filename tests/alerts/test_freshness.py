"""A department that has not delivered within its contract's window produces a freshness alert."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from include import alerts, feeds, freshness
from include.ingest.schema import LEDGER_DDL
from tests.alerts.webhook import robot

AS_OF = dt.date(2026, 6, 30)
W = feeds.Freshness


def contracts(**windows) -> dict:
    return {
        feed: feeds.Feed(id=feed, title=title, description="", columns=(), business_key=(), freshness=window)
        for feed, (title, window) in windows.items()
    }


CONTRACTS = contracts(
    tax=("纳税信息", W(35, 45)),
    penalties=("行政处罚", W(10, 20)),
    subjects=("主体登记", W(7, 14)),
    objections=("异议申诉", W(92, 183)),
)


@pytest.fixture(scope="module")
def ledger(scratch_db):
    """Deliveries, times in Asia/Shanghai: tax 60 days before AS_OF (a later file was rejected
    and one arrived after AS_OF), penalties 15 days before, subjects the day before, no objections."""
    rows = [
        ("tax", "tax-2026-04.csv", "2026-05-01 09:00+08", "loaded"),
        ("tax", "tax-broken.csv", "2026-06-25 09:00+08", "rejected"),
        ("tax", "tax-2026-06.csv", "2026-07-02 09:00+08", "loaded"),
        ("penalties", "cf-0615.xlsx", "2026-06-15 23:30+08", "loaded"),  # 15:30 UTC: still the 15th
        ("subjects", "dj-0629.csv", "2026-06-29 08:00+08", "loaded"),
    ]
    with psycopg.connect(scratch_db) as conn:
        conn.execute("create schema if not exists audit")
        conn.execute(LEDGER_DDL)
        for i, (feed, name, received, status) in enumerate(rows):
            conn.execute(
                "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at, status) "
                "values (%s, %s, %s, 1, %s, %s)",
                (feed, name, f"sha{i}", received, status),
            )
    return scratch_db


def test_days_since_the_latest_delivery_by_as_of(ledger):
    found = {f.feed: (f.last_delivery, f.days, f.level) for f in freshness.check(ledger, AS_OF, CONTRACTS)}
    assert found == {
        "tax": (dt.date(2026, 5, 1), 60, "error"),
        "penalties": (dt.date(2026, 6, 15), 15, "warning"),
        "subjects": (dt.date(2026, 6, 29), 1, "ok"),
        "objections": (None, None, "error"),
    }


def test_the_window_edges_belong_to_the_lower_level(ledger):
    # 15 days late: exactly warn_after_days is still ok; exactly error_after_days still a warning
    edge = contracts(penalties=("行政处罚", W(15, 16)))
    assert [f.level for f in freshness.check(ledger, AS_OF, edge)] == ["ok"]
    edge = contracts(penalties=("行政处罚", W(14, 15)))
    assert [f.level for f in freshness.check(ledger, AS_OF, edge)] == ["warning"]


def test_a_stale_feed_alert_reaches_the_webhook_once(ledger, monkeypatch):
    monkeypatch.delenv(alerts.SECRET_ENV, raising=False)
    with psycopg.connect(ledger) as conn:
        conn.execute("drop table if exists audit.alert_log")
    with robot() as server:
        monkeypatch.setenv(alerts.URL_ENV, server.url)
        monkeypatch.setenv(alerts.KIND_ENV, "json")
        first = freshness.check_and_alert(ledger, AS_OF, CONTRACTS)
        again = freshness.check_and_alert(ledger, AS_OF, CONTRACTS)
    assert first == {
        "feeds": {"tax": "error", "penalties": "warning", "subjects": "ok", "objections": "error"},
        "alert": "sent",
    }
    assert again["alert"] == "already_sent"  # the same overdue state is not sent twice
    assert len(server.received) == 1
    body = server.received[0]["body"]
    assert body["kind"] == "feed_freshness" and body["severity"] == "error"
    assert body["title"] == "3 个数据源逾期未报送 (AS_OF 2026-06-30)"
    assert body["text"] == (
        "- 截至 2026-06-30，3 个数据源未在约定期限内报送（2 个超过报错期限）\n"
        "- **tax**（纳税信息）报错：最近一次报送 2026-05-01，已 60 天（提醒 35 天 / 报错 45 天）\n"
        "- **penalties**（行政处罚）提醒：最近一次报送 2026-06-15，已 15 天（提醒 10 天 / 报错 20 天）\n"
        "- **objections**（异议申诉）报错：从未报送（提醒 92 天 / 报错 183 天）"
    )
    assert body["details"]["feeds"][0] == {
        "feed": "tax",
        "level": "error",
        "days": 60,
        "last_delivery": "2026-05-01",
        "warn_after_days": 35,
        "error_after_days": 45,
    }


def test_every_contract_has_a_freshness_window():
    windows = {
        f: (c.freshness.warn_after_days, c.freshness.error_after_days) for f, c in feeds.load_contracts().items()
    }
    assert windows == {
        "commitments": (35, 45),
        "dishonest_debtors": (35, 45),
        "ledgers": (35, 45),
        "licenses": (10, 20),
        "objections": (92, 183),
        "penalties": (10, 20),
        "real_estate": (35, 45),
        "repairs": (92, 183),
        "subjects": (7, 14),
        "tax": (35, 45),
        "utilities": (35, 45),
    }


@pytest.mark.parametrize(
    "block", ["{warn_after_days: 50, error_after_days: 40}", "{warn_after_days: 0}", "{warn_after: 3}", "35"]
)
def test_a_malformed_window_is_refused(tmp_path, block):
    path = tmp_path / "tax.yaml"
    path.write_text(
        f"feed: tax\ncolumns:\n  - {{name: uscc, header: 统一社会信用代码, type: uscc}}\nfreshness: {block}\n",
        encoding="utf-8",
    )
    with pytest.raises(feeds.ContractError, match="tax.yaml: freshness"):
        feeds.parse_contract(path)
