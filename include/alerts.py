"""Alerts to the engineers: a failed task, a blocking quality gate, a feed a department has not
delivered in time (docs/quality.md "Alerts").

Each alert is posted to ONE webhook, configured in the environment:

    ALERT_WEBHOOK_URL      the robot's URL (DingTalk 自定义机器人, WeCom 群机器人, or any HTTP endpoint)
    ALERT_WEBHOOK_KIND     dingtalk | wecom | json   (default json)
    ALERT_WEBHOOK_SECRET   DingTalk only, when the robot is secured by 加签: the SEC… secret
    ALERT_WEBHOOK_TIMEOUT  seconds to wait for the robot (default 10)

and the JSON is the shape that robot accepts (`payload`). Without ALERT_WEBHOOK_URL nothing is
sent. Every alert, sent or not, is a row of `audit.alert_log` (time, kind, target, payload,
delivery status), which the run summary reads to show what was (or would have been) sent. A
robot that does not answer, or answers with an error, is logged and recorded as `failed`: an
alert never fails the pipeline it reports on.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import os
import time
import urllib.parse
from dataclasses import dataclass, field

import psycopg
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)

KINDS = ("dingtalk", "wecom", "json")
URL_ENV, KIND_ENV, SECRET_ENV, TIMEOUT_ENV = (
    "ALERT_WEBHOOK_URL",
    "ALERT_WEBHOOK_KIND",
    "ALERT_WEBHOOK_SECRET",
    "ALERT_WEBHOOK_TIMEOUT",
)
SOURCE = "credit-platform"
# WeCom refuses markdown content over 4096 bytes; DingTalk takes more, but a phone screen does not.
MAX_TEXT_BYTES = 4000

ALERT_LOG_DDL = """
create schema if not exists audit;
create table if not exists audit.alert_log (
    id           bigint generated always as identity primary key,
    created_at   timestamptz not null default now(),
    kind         text        not null check (kind in ('task_failed', 'quality_gate', 'feed_freshness')),
    severity     text        not null check (severity in ('error', 'warning')),
    as_of        date,
    subject      text        not null,
    title        text        not null,
    webhook_kind text        not null,
    target       text,
    payload      jsonb       not null,
    status       text        not null check (status in ('sent', 'failed', 'not_configured')),
    http_status  integer,
    error        text,
    dedupe_key   text
);
create index if not exists alert_log_created_idx on audit.alert_log (created_at);
create index if not exists alert_log_dedupe_idx on audit.alert_log (kind, dedupe_key) where status = 'sent'
"""


@dataclass(frozen=True)
class Alert:
    """What happened, said once; `payload` gives it the shape of each robot."""

    kind: str  # task_failed | quality_gate | feed_freshness
    severity: str  # error | warning
    subject: str  # what it is about: dag.task, the gate, the feed(s)
    title: str  # one line, also the notification's title
    lines: tuple[str, ...]  # the body, one markdown line each
    as_of: dt.date | None = None
    details: dict = field(default_factory=dict)  # machine-readable, for the plain JSON shape
    dedupe_key: str | None = None  # the same state already sent is not sent again

    @property
    def text(self) -> str:
        return _truncate("\n".join(f"- {line}" for line in self.lines), MAX_TEXT_BYTES)


def _truncate(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("\n…".encode())].decode("utf-8", errors="ignore") + "\n…"


def payload(alert: Alert, kind: str) -> dict:
    """The JSON body for a robot of `kind` (DingTalk / WeCom markdown messages, or plain JSON)."""
    heading = f"【信用平台】{alert.title}"
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": heading, "text": f"### {heading}\n\n{alert.text}"}}
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"### {heading}\n{alert.text}"}}
    if kind == "json":
        return {
            "source": SOURCE,
            "kind": alert.kind,
            "severity": alert.severity,
            "subject": alert.subject,
            "as_of": alert.as_of.isoformat() if alert.as_of else None,
            "title": alert.title,
            "text": alert.text,
            "details": alert.details,
        }
    raise ValueError(f"{KIND_ENV}={kind!r}: expected one of {', '.join(KINDS)}")


def webhook_kind() -> str:
    kind = (os.environ.get(KIND_ENV) or "json").strip().lower()
    if kind not in KINDS:
        raise ValueError(f"{KIND_ENV}={kind!r}: expected one of {', '.join(KINDS)}")
    return kind


def _target(url: str) -> str:
    """The URL without its query: robots' URLs carry their access token there, which is a secret."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _signed(url: str, secret: str) -> str:
    """DingTalk 加签: timestamp (ms) and base64 HMAC-SHA256 of "timestamp\\nsecret", appended to the URL."""
    timestamp = str(round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _deliver(url: str, kind: str, body: dict) -> tuple[str, int | None, str | None]:
    """POST the body; (status, HTTP status, error). Robots answer 200 with errcode ≠ 0 on refusal."""
    import requests

    if kind == "dingtalk" and os.environ.get(SECRET_ENV):
        url = _signed(url, os.environ[SECRET_ENV])
    timeout = float(os.environ.get(TIMEOUT_ENV) or 10)
    try:
        response = requests.post(url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        return "failed", None, f"{type(exc).__name__}: {exc}"[:500]
    if not response.ok:
        return "failed", response.status_code, response.text[:500] or response.reason
    if kind in ("dingtalk", "wecom"):
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if answer.get("errcode", 0) != 0:
            return "failed", response.status_code, f"errcode {answer.get('errcode')}: {answer.get('errmsg')}"
    return "sent", response.status_code, None


def ensure_alert_log(conn: psycopg.Connection) -> None:
    from include.quality.audit import run_ddl

    run_ddl(conn, ALERT_LOG_DDL)


def already_sent(conninfo: str, kind: str, dedupe_key: str) -> bool:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        ensure_alert_log(conn)
        return conn.execute(
            "select exists (select 1 from audit.alert_log where kind = %s and dedupe_key = %s and status = 'sent')",
            (kind, dedupe_key),
        ).fetchone()[0]


def _record(
    conninfo: str,
    alert: Alert,
    kind: str,
    target: str | None,
    body: dict,
    status: str,
    http_status: int | None,
    error: str | None,
) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        ensure_alert_log(conn)
        conn.execute(
            "insert into audit.alert_log (kind, severity, as_of, subject, title, webhook_kind, target, "
            "payload, status, http_status, error, dedupe_key) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                alert.kind,
                alert.severity,
                alert.as_of,
                alert.subject,
                alert.title,
                kind,
                target,
                Jsonb(body),
                status,
                http_status,
                error,
                alert.dedupe_key,
            ),
        )


def send(alert: Alert, conninfo: str | None) -> str:
    """Post `alert` to the configured webhook (if any) and record it in `audit.alert_log` of the
    warehouse at `conninfo` (if given). Returns the delivery status; never raises."""
    url = (os.environ.get(URL_ENV) or "").strip()
    try:
        kind = webhook_kind()
    except ValueError as exc:
        log.error("alert not sent: %s", exc)
        kind, url = "json", ""
    try:
        body = payload(alert, kind)
        if url:
            status, http_status, error = _deliver(url, kind, body)
        else:
            status, http_status, error = "not_configured", None, None
    except Exception as exc:  # an alert must never take the pipeline down with it
        log.exception("alert %r could not be prepared or sent", alert.title)
        body, status, http_status, error = {"title": alert.title}, "failed", None, f"{type(exc).__name__}: {exc}"
    if status == "failed":
        log.error("alert %r NOT delivered to %s: %s", alert.title, _target(url), error)
    elif status == "sent":
        log.info("alert %r sent to %s", alert.title, _target(url))
    else:
        log.warning("alert (no %s configured, not sent): %s\n%s", URL_ENV, alert.title, alert.text)
    if conninfo:
        try:
            _record(conninfo, alert, kind, _target(url) if url else None, body, status, http_status, error)
        except Exception:
            log.exception("alert %r could not be recorded in audit.alert_log", alert.title)
    return status


# ---------------------------------------------------------------------------------------------
# The three alerts


def gate_blocked(result: dict) -> Alert:
    """A quality gate blocked: which checkpoint, and per blocking failure its suite, table, column,
    expectation and what was observed."""
    failures = result.get("blocking_failures") or []
    lines = [
        f"质量门 **{result['checkpoint']}**（AS_OF {result['as_of']}）阻断发布：{len(failures)} 项阻断性检查未通过"
    ]
    for f in failures[:15]:
        where = f["table"] + (f".{f['column']}" if f.get("column") else "")
        observed = {
            k: v
            for k, v in (f.get("observed") or {}).items()
            if k in ("observed_value", "unexpected_count", "unexpected_percent", "error", "element_count")
        }
        lines.append(
            f"{f.get('suite') or f['table']}: {where} — {f['expectation']}"
            f"{'：' + f['description'] if f.get('description') else ''}"
            f"{' (observed ' + str(observed) + ')' if observed else ''}"
        )
    if len(failures) > 15:
        lines.append(f"… and {len(failures) - 15} more (audit.gate_results, run {result.get('run_id')})")
    if result.get("docs_path"):
        lines.append(f"Data Docs: {result['docs_path']}")
    details = {
        "checkpoint": result["checkpoint"],
        "run_id": result.get("run_id"),
        "docs_path": result.get("docs_path"),
        "blocking_failures": [
            {k: f.get(k) for k in ("suite", "table", "column", "expectation", "description")} for f in failures
        ],
    }
    return Alert(
        kind="quality_gate",
        severity="error",
        subject=f"gate {result['checkpoint']}",
        title=f"质量门 {result['checkpoint']} 阻断 (AS_OF {result['as_of']})",
        lines=tuple(lines),
        as_of=dt.date.fromisoformat(result["as_of"]),
        details=details,
    )


def task_failed(
    dag_id: str,
    task_id: str,
    error: BaseException | str | None,
    *,
    as_of: dt.date | None = None,
    run_id: str | None = None,
    try_number: int | None = None,
    map_index: int | None = None,
) -> Alert:
    where = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index is not None and map_index >= 0 else "")
    message = str(error).strip().splitlines() if error else ["(no error message)"]
    kind = type(error).__name__ if isinstance(error, BaseException) else "error"
    lines = [
        f"任务失败 **{where}**",
        f"run {run_id} · try {try_number}" + (f" · AS_OF {as_of}" if as_of else ""),
        f"{kind}: {message[0][:300]}",
        *[m[:300] for m in message[1:8]],
    ]
    return Alert(
        kind="task_failed",
        severity="error",
        subject=where,
        title=f"任务失败 {where}",
        lines=tuple(lines),
        as_of=as_of,
        details={
            "dag_id": dag_id,
            "task_id": task_id,
            "map_index": map_index,
            "run_id": run_id,
            "try_number": try_number,
            "error_type": kind,
            "error": str(error)[:2000] if error else None,
        },
    )


def on_task_failure(context) -> None:
    """Airflow `on_failure_callback` (the DAG files' default_args): a task failed for good (after
    its retries). A blocked gate (include/quality/gate.py GateBlocked, which carries the gate's
    result; not imported here, so that parsing a DAG file does not import GX) gets the gate's own
    alert: suite, table, column and expectation of each blocking failure."""
    from include import warehouse
    from include.run_context import as_of_from

    error = context.get("exception")
    gate_result = getattr(error, "gate_result", None)
    if gate_result is not None:
        send(gate_blocked(gate_result), warehouse.url())
        return
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    try:
        as_of = as_of_from(context.get("params"), getattr(dag_run, "conf", None))
    except ValueError:
        as_of = None
    alert = task_failed(
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        error,
        as_of=as_of,
        run_id=getattr(ti, "run_id", None),
        try_number=getattr(ti, "try_number", None),
        map_index=getattr(ti, "map_index", None),
    )
    send(alert, warehouse.url())
