"""Alerts reach a real HTTP server in the shape each robot accepts, and every one is recorded.

A local server (tests/alerts/webhook.py) stands in for the DingTalk / WeCom robot; the warehouse
is the test's own PostgreSQL database (audit.alert_log).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import psycopg
import pytest

from include import alerts
from tests.alerts.webhook import robot

ALERT = alerts.Alert(
    kind="quality_gate",
    severity="error",
    subject="gate publication",
    title="质量门 publication 阻断 (AS_OF 2026-06-30)",
    lines=("质量门 **publication** 阻断", "marts_build.subject_archive.uscc 重复"),
    as_of=dt.date(2026, 6, 30),
    details={"checkpoint": "publication"},
)

EXPECTED = {
    "dingtalk": {
        "msgtype": "markdown",
        "markdown": {
            "title": "【信用平台】质量门 publication 阻断 (AS_OF 2026-06-30)",
            "text": "### 【信用平台】质量门 publication 阻断 (AS_OF 2026-06-30)\n\n"
            "- 质量门 **publication** 阻断\n- marts_build.subject_archive.uscc 重复",
        },
    },
    "wecom": {
        "msgtype": "markdown",
        "markdown": {
            "content": "### 【信用平台】质量门 publication 阻断 (AS_OF 2026-06-30)\n"
            "- 质量门 **publication** 阻断\n- marts_build.subject_archive.uscc 重复"
        },
    },
    "json": {
        "source": "credit-platform",
        "kind": "quality_gate",
        "severity": "error",
        "subject": "gate publication",
        "as_of": "2026-06-30",
        "title": "质量门 publication 阻断 (AS_OF 2026-06-30)",
        "text": "- 质量门 **publication** 阻断\n- marts_build.subject_archive.uscc 重复",
        "details": {"checkpoint": "publication"},
    },
}


@pytest.fixture
def webhook_env(monkeypatch):
    for name in (alerts.URL_ENV, alerts.KIND_ENV, alerts.SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def alert_log(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select kind, webhook_kind, target, status, http_status, error, payload from audit.alert_log order by id"
        ).fetchall()


def clear_log(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("create schema if not exists audit")
        conn.execute("drop table if exists audit.alert_log")


@pytest.mark.parametrize("kind", ["dingtalk", "wecom", "json"])
def test_each_kind_posts_its_robots_shape_and_is_recorded(kind, scratch_db, webhook_env):
    clear_log(scratch_db)
    with robot() as server:
        webhook_env.setenv(alerts.URL_ENV, server.url + "?access_token=SECRET-TOKEN")
        webhook_env.setenv(alerts.KIND_ENV, kind)
        assert alerts.send(ALERT, scratch_db) == "sent"
    assert len(server.received) == 1
    got = server.received[0]
    assert got["body"] == EXPECTED[kind]
    assert got["content_type"] == "application/json"
    assert got["query"]["access_token"] == ["SECRET-TOKEN"]
    [(logged_kind, webhook_kind, target, status, http_status, error, payload)] = alert_log(scratch_db)
    assert (logged_kind, webhook_kind, status, http_status, error) == ("quality_gate", kind, "sent", 200, None)
    assert payload == EXPECTED[kind]
    # the robot's token is a secret: the audit table keeps the URL without its query
    assert target == server.url and "SECRET" not in target


def test_nothing_is_sent_without_a_webhook_but_it_is_recorded(scratch_db, webhook_env):
    clear_log(scratch_db)
    with robot() as server:
        webhook_env.setenv(alerts.KIND_ENV, "wecom")  # a kind alone configures nothing
        assert alerts.send(ALERT, scratch_db) == "not_configured"
    assert server.received == []
    [(_, webhook_kind, target, status, http_status, _, payload)] = alert_log(scratch_db)
    assert (webhook_kind, target, status, http_status) == ("wecom", None, "not_configured", None)
    assert payload == EXPECTED["wecom"]  # what would have been sent


@pytest.mark.parametrize(
    "status, answer, error",
    [
        (500, {"message": "boom"}, '{"message": "boom"}'),
        # robots answer 200 and say no in the body
        (200, {"errcode": 310000, "errmsg": "keywords not in content"}, "errcode 310000: keywords not in content"),
    ],
)
def test_a_refused_delivery_is_recorded_and_never_raises(status, answer, error, scratch_db, webhook_env):
    clear_log(scratch_db)
    with robot() as server:
        server.status, server.answer = status, answer
        webhook_env.setenv(alerts.URL_ENV, server.url)
        webhook_env.setenv(alerts.KIND_ENV, "dingtalk")
        assert alerts.send(ALERT, scratch_db) == "failed"
    assert len(server.received) == 1
    [(_, _, _, logged_status, http_status, logged_error, _)] = alert_log(scratch_db)
    assert (logged_status, http_status, logged_error) == ("failed", status, error)


def test_an_unreachable_webhook_is_recorded_and_never_raises(scratch_db, webhook_env):
    clear_log(scratch_db)
    with robot() as server:
        url = server.url
    # the server is gone: connection refused
    webhook_env.setenv(alerts.URL_ENV, url)
    assert alerts.send(ALERT, scratch_db) == "failed"
    [(_, _, _, status, http_status, error, _)] = alert_log(scratch_db)
    assert (status, http_status) == ("failed", None) and error.startswith("ConnectionError")


def test_an_unreachable_warehouse_does_not_stop_the_alert(webhook_env):
    with robot() as server:
        webhook_env.setenv(alerts.URL_ENV, server.url)
        assert alerts.send(ALERT, "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2") == "sent"
    assert server.received[0]["body"] == EXPECTED["json"]


def test_dingtalk_signed_robot_gets_timestamp_and_sign(scratch_db, webhook_env):
    clear_log(scratch_db)
    secret = "SEC0123456789abcdef"
    with robot() as server:
        webhook_env.setenv(alerts.URL_ENV, server.url + "?access_token=T")
        webhook_env.setenv(alerts.KIND_ENV, "dingtalk")
        webhook_env.setenv(alerts.SECRET_ENV, secret)
        assert alerts.send(ALERT, scratch_db) == "sent"
    query = server.received[0]["query"]
    timestamp = query["timestamp"][0]
    # DingTalk's documented check: base64(HMAC-SHA256(secret, timestamp + "\n" + secret))
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected] and query["access_token"] == ["T"]
    assert server.received[0]["body"] == EXPECTED["dingtalk"]
    assert secret not in str(alert_log(scratch_db))


def test_an_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="expected one of dingtalk, wecom, json"):
        alerts.payload(ALERT, "slack")


def test_a_blocked_gate_alert_names_suite_table_column_and_expectation():
    result = {
        "checkpoint": "publication",
        "as_of": "2026-06-30",
        "run_id": "r1",
        "docs_path": "/x/index.html",
        "blocking_failures": [
            {
                "suite": "publication.marts_build.subject_archive",
                "table": "marts_build.subject_archive",
                "column": "uscc",
                "expectation": "expect_column_values_to_be_unique",
                "description": "每个主体一行",
                "observed": {"unexpected_count": 1, "partial_unexpected_list": ["x"]},
            }
        ],
    }
    alert = alerts.gate_blocked(result)
    assert alert.title == "质量门 publication 阻断 (AS_OF 2026-06-30)"
    assert alert.lines == (
        "质量门 **publication**（AS_OF 2026-06-30）阻断发布：1 项阻断性检查未通过",
        (
            "publication.marts_build.subject_archive: marts_build.subject_archive.uscc — "
            "expect_column_values_to_be_unique：每个主体一行 (observed {'unexpected_count': 1})"
        ),
        "Data Docs: /x/index.html",
    )
    assert alert.details["blocking_failures"] == [
        {
            "suite": "publication.marts_build.subject_archive",
            "table": "marts_build.subject_archive",
            "column": "uscc",
            "expectation": "expect_column_values_to_be_unique",
            "description": "每个主体一行",
        }
    ]


def test_long_bodies_are_cut_to_what_wecom_accepts():
    alert = alerts.Alert(
        kind="task_failed", severity="error", subject="x", title="t", lines=tuple("失败" * 100 for _ in range(30))
    )
    content = alerts.payload(alert, "wecom")["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("\n…")


def test_the_run_summary_shows_what_would_have_been_sent(scratch_db, webhook_env):
    from include import summary

    clear_log(scratch_db)
    with psycopg.connect(scratch_db) as conn:
        alerts.ensure_alert_log(conn)
        since = conn.execute("select now()").fetchone()[0]
    alerts.send(ALERT, scratch_db)
    with psycopg.connect(scratch_db) as conn:
        lines = summary.alert_lines(conn, since)
        later = summary.alert_lines(conn, since + dt.timedelta(hours=1))
    assert lines == [
        "  质量门 publication 阻断 (AS_OF 2026-06-30) — not sent (no ALERT_WEBHOOK_URL); would have sent",
        "      - 质量门 **publication** 阻断",
        "      - marts_build.subject_archive.uscc 重复",
    ]
    assert later == ["  (none)"]  # alerts of earlier runs are not this run's
