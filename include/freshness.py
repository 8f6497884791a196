"""Feed freshness: has each department delivered its feed within the window its contract sets?

Each contract's `freshness: {warn_after_days, error_after_days}` (include/feeds/*.yaml) is compared
with the days from the feed's latest delivery to AS_OF. A delivery is a file the ledger took
(`audit.file_ledger`, status `loaded`: a rejected file or the same bytes again is no new data);
its time is when it arrived (`received_at`), as a day in Asia/Shanghai. A feed never delivered is
an error. Overdue feeds make ONE alert per check (include/alerts.py); the same overdue state (feed,
level, latest delivery) already sent to the webhook is not sent again, so an hourly check does not
repeat itself every hour.

Why not dbt `source freshness`: it measures against the clock, not AS_OF (a rerun for a past day
would judge by today), its thresholds would live in dbt YAML instead of the feed contract, all
feeds share one ledger table (a filtered source per feed), and its answer is a file we would still
have to turn into an alert. This is one query over the ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import psycopg

from include import alerts, feeds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedFreshness:
    feed: str
    title: str
    last_delivery: dt.date | None  # received_at of the latest loaded file, in Asia/Shanghai
    days: int | None  # AS_OF − last_delivery; None: never delivered
    warn_after_days: int
    error_after_days: int

    @property
    def level(self) -> str:
        """ok | warning | error"""
        if self.days is None or self.days > self.error_after_days:
            return "error"
        return "warning" if self.days > self.warn_after_days else "ok"


def check(conninfo: str, as_of: dt.date, contracts: dict[str, feeds.Feed] | None = None) -> list[FeedFreshness]:
    """Every feed's freshness by AS_OF (deliveries after AS_OF do not count: a rerun for an
    earlier day sees what that day saw)."""
    contracts = contracts if contracts is not None else feeds.load_contracts()
    with psycopg.connect(conninfo) as conn:
        has_ledger = conn.execute("select to_regclass('audit.file_ledger') is not null").fetchone()[0]
        latest: dict[str, dt.date] = (
            dict(
                conn.execute(
                    """select feed, max((received_at at time zone 'Asia/Shanghai')::date) from audit.file_ledger
               where status = 'loaded' and (received_at at time zone 'Asia/Shanghai')::date <= %s
               group by feed""",
                    (as_of,),
                ).fetchall()
            )
            if has_ledger
            else {}
        )
    out = []
    for feed_id, contract in contracts.items():
        last = latest.get(feed_id)
        out.append(
            FeedFreshness(
                feed=feed_id,
                title=contract.title,
                last_delivery=last,
                days=(as_of - last).days if last else None,
                warn_after_days=contract.freshness.warn_after_days,
                error_after_days=contract.freshness.error_after_days,
            )
        )
    return out


def alert_for(overdue: list[FeedFreshness], as_of: dt.date) -> alerts.Alert:
    errors = sum(f.level == "error" for f in overdue)
    lines = [f"截至 {as_of}，{len(overdue)} 个数据源未在约定期限内报送（{errors} 个超过报错期限）"]
    for f in overdue:
        since = f"最近一次报送 {f.last_delivery}，已 {f.days} 天" if f.last_delivery else "从未报送"
        lines.append(
            f"**{f.feed}**（{f.title}）{'报错' if f.level == 'error' else '提醒'}：{since}"
            f"（提醒 {f.warn_after_days} 天 / 报错 {f.error_after_days} 天）"
        )
    return alerts.Alert(
        kind="feed_freshness",
        severity="error" if errors else "warning",
        subject=",".join(f.feed for f in overdue),
        title=f"{len(overdue)} 个数据源逾期未报送 (AS_OF {as_of})",
        lines=tuple(lines),
        as_of=as_of,
        details={
            "feeds": [
                {
                    "feed": f.feed,
                    "level": f.level,
                    "days": f.days,
                    "last_delivery": f.last_delivery.isoformat() if f.last_delivery else None,
                    "warn_after_days": f.warn_after_days,
                    "error_after_days": f.error_after_days,
                }
                for f in overdue
            ]
        },
        dedupe_key=";".join(f"{f.feed}:{f.level}:{f.last_delivery}" for f in overdue),
    )


def check_and_alert(conninfo: str, as_of: dt.date, contracts: dict[str, feeds.Feed] | None = None) -> dict:
    """Check every feed; alert on the overdue ones. Returns {feed: level} and the alert's status."""
    results = check(conninfo, as_of, contracts)
    overdue = [f for f in results if f.level != "ok"]
    for f in results:
        log.info("%s: latest delivery %s, %s days by AS_OF %s: %s", f.feed, f.last_delivery, f.days, as_of, f.level)
    status = None
    if overdue:
        alert = alert_for(overdue, as_of)
        if alerts.already_sent(conninfo, alert.kind, alert.dedupe_key or ""):
            log.info("the same overdue feeds were already reported: not sent again (%s)", alert.dedupe_key)
            status = "already_sent"
        else:
            status = alerts.send(alert, conninfo)
    return {"feeds": {f.feed: f.level for f in results}, "alert": status}
