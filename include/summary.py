"""The summary `make run` prints (docs/spec/CONTRACT.md §1): feeds, gates, scorecard, where the exports went."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg


def _table_exists(conn, qualified: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (qualified,)).fetchone()[0]


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal, where a Chinese character takes two columns."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - shown, 1)


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) or hasattr(value, "quantize"):
        return f"{float(value):.{digits}g}" if abs(float(value)) < 1e6 else f"{float(value):,.0f}"
    return str(value)


def feed_lines(conn) -> list[str]:
    if not _table_exists(conn, "audit.file_ledger"):
        return ["  (no ledger yet: nothing was ingested)"]
    rows = conn.execute("""
        select feed, count(*) filter (where status <> 'duplicate'),
               coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
               coalesce(sum(rows_quarantined), 0),
               count(*) filter (where status = 'rejected'), count(*) filter (where status = 'duplicate')
        from audit.file_ledger group by feed order by feed""").fetchall()
    lines = [f"  {'feed':<18}{'files':>6}{'read':>10}{'loaded':>10}{'quarant.':>10}{'rejected':>9}{'dup.':>6}"]
    for feed, files, read, loaded, quarantined, rejected, dups in rows:
        lines.append(f"  {feed:<18}{files:>6}{read:>10}{loaded:>10}{quarantined:>10}{rejected:>9}{dups:>6}")
    rejected = conn.execute("""select feed, file_name, reason from audit.file_ledger
                               where status = 'rejected' order by feed, file_name limit 20""").fetchall()
    for feed, name, reason in rejected:
        lines.append(f"  rejected {feed}/{name}: {reason}")
    if _table_exists(conn, "audit.quarantine"):
        problems = conn.execute("""select feed, column_name, rule, count(*) from audit.quarantine
                                   where severity = 'error' group by 1, 2, 3 order by 4 desc, 1, 2, 3
                                   limit 8""").fetchall()
        if problems:
            lines.append("  most frequent row problems (audit.quarantine):")
            lines += [f"    {n:>6} × {feed}.{column}: {rule}" for feed, column, rule, n in problems]
    return lines


def gate_lines(conn, as_of: dt.date) -> list[str]:
    if not _table_exists(conn, "audit.gate_results"):
        return ["  (no gate has run)"]
    # The latest validation of each table: the raw gate runs once per feed, the others once per run.
    rows = conn.execute(
        """
        with latest as (
            select distinct on (checkpoint, table_name) checkpoint, table_name, run_id
            from audit.gate_results where as_of = %s
            order by checkpoint, table_name, recorded_at desc)
        select g.checkpoint,
               count(*) filter (where g.success),
               count(*) filter (where not g.success and g.severity = 'warning'),
               count(*) filter (where not g.success and g.severity = 'blocking')
        from audit.gate_results g join latest using (checkpoint, table_name, run_id)
        group by g.checkpoint
        order by array_position(array['raw', 'staging', 'publication'], g.checkpoint)""",
        (as_of,),
    ).fetchall()
    lines = []
    for checkpoint, passed, warned, failed in rows:
        verdict = "FAILED" if failed else ("passed with warnings" if warned else "passed")
        lines.append(f"  {checkpoint:<12} {verdict:<22} {passed} passed, {warned} warnings, {failed} blocking failures")
    # What failed, so a person knows where to look without opening the logs.
    findings = conn.execute(
        """
        with latest as (
            select distinct on (checkpoint, table_name) checkpoint, table_name, run_id
            from audit.gate_results where as_of = %s
            order by checkpoint, table_name, recorded_at desc)
        select g.severity, g.checkpoint, g.table_name, g.column_name, coalesce(g.description, g.expectation)
        from audit.gate_results g join latest using (checkpoint, table_name, run_id)
        where not g.success order by g.severity, g.checkpoint, g.table_name limit 12""",
        (as_of,),
    ).fetchall()
    for severity, checkpoint, table, column, what in findings:
        lines.append(f"    {severity}: {checkpoint} {table}{'.' + column if column else ''}: {what}")
    return lines or ["  (no gate ran for this AS_OF)"]


def scorecard_lines(conn, as_of: dt.date) -> list[str]:
    if not _table_exists(conn, "marts.indicator_scorecard"):
        return ["  (nothing published yet)"]
    rows = conn.execute(
        """
        select indicator_id, indicator_name, numerator, denominator, value, comparator, target, passed
        from marts.indicator_scorecard where as_of = %s and region_code = 'all'
        order by indicator_id""",
        (as_of,),
    ).fetchall()
    lines = [f"  {'id':<16}{_pad('indicator', 34)}{'value':>10}  {'target':<12}{'passed':<6}"]
    for ind, name, num, den, value, comparator, target, passed in rows:
        target_text = f"{comparator} {_fmt(target)}" if target is not None else "(reported)"
        mark = "—" if target is None else ("yes" if passed else "NO")
        lines.append(
            f"  {ind:<16}{_pad(name, 34)}{_fmt(value):>10}  {target_text:<12}{mark:<6} ({_fmt(num)}/{_fmt(den)})"
        )
    return lines


def returns_lines(conn, as_of: dt.date, limit: int = 8) -> list[str]:
    """Returns to departments and 通报 (docs/departments.md): per unit over all months, then the
    units below target in the latest month of the window that has a 通报."""
    if not _table_exists(conn, "marts.unit_returns"):
        return ["  (nothing published yet)"]
    rows = conn.execute(
        """
        select unit, sum(returned_rows), sum(corrected_rows), sum(open_rows), sum(rejected_files),
               round(sum(corrected_rows)::numeric / nullif(sum(returned_rows), 0), 4)
        from marts.unit_returns where as_of = %s
        group by unit_uscc, unit order by sum(open_rows) desc, sum(rejected_files) desc, unit limit %s""",
        (as_of, limit),
    ).fetchall()
    lines = [f"  {_pad('unit', 34)}{'returned':>9}{'corrected':>10}{'open':>6}{'files':>6}{'纠正率':>8}"]
    for unit, returned, corrected, still_open, files, rate in rows:
        lines.append(f"  {_pad(unit or '—', 34)}{returned:>9}{corrected:>10}{still_open:>6}{files:>6}{_fmt(rate):>9}")
    if not rows:
        lines = ["  no rows or files returned"]
    if _table_exists(conn, "marts.unit_bulletin"):
        bulletin = conn.execute(
            """
            select month, unit, indicator_id, value, comparator, target, numerator, denominator
            from marts.unit_bulletin
            where as_of = %s and month = (select max(month) from marts.unit_bulletin where as_of = %s)
            order by indicator_id, value, unit limit %s""",
            (as_of, as_of, limit),
        ).fetchall()
        if bulletin:
            lines.append(f"  通报 {bulletin[0][0]:%Y-%m} (below target; all: marts.unit_bulletin):")
            lines += [
                f"    {ind:<12} {_pad(unit or '—', 32)}{_fmt(value):>8} {comparator} {_fmt(target)}"
                f" ({_fmt(num)}/{_fmt(den)})"
                for _, unit, ind, value, comparator, target, num, den in bulletin
            ]
    return lines


def publication(conn, as_of: dt.date):
    if not _table_exists(conn, "audit.publication_log"):
        return None
    return conn.execute(
        """select version, published_at from audit.publication_log
                           where as_of = %s order by published_at desc limit 1""",
        (as_of,),
    ).fetchone()


def export_lines(manifest: dict) -> list[str]:
    """Per exported dataset its rows, and for a change set what it changed since which publication."""
    lines = []
    for name, dataset in sorted((manifest.get("datasets") or {}).items()):
        line = f"                {name:<28}{dataset['row_count']:>9,} rows"
        if dataset["kind"] == "changes":
            counts = dataset["change_counts"]
            since = dataset["from_version"] or "nothing (first publication)"
            line += (
                f"  (+{counts['insert']:,} inserted, {counts['update']:,} updated, "
                f"-{counts['delete']:,} deleted since {since})"
            )
        lines.append(line)
    return lines


# -- Alerts (issue 19: alerts) ------------------------------------------------------------------


def alert_lines(conn, since) -> list[str]:
    """The alerts this run recorded (audit.alert_log since `since`): sent, failed, or — without a
    webhook — what would have been sent, each with its text."""
    if not _table_exists(conn, "audit.alert_log"):
        return ["  (none)"]
    rows = conn.execute(
        """select status, webhook_kind, target, title, payload, error from audit.alert_log
                           where created_at >= %s order by id""",
        (since,),
    ).fetchall()
    if not rows:
        return ["  (none)"]
    lines = []
    for status, kind, target, title, payload, error in rows:
        where = {
            "sent": f"sent to {target} ({kind})",
            "failed": f"NOT delivered to {target} ({kind}): {error}",
            "not_configured": "not sent (no ALERT_WEBHOOK_URL); would have sent",
        }[status]
        lines.append(f"  {title} — {where}")
        if status != "sent":
            text = (
                payload.get("text")
                or (payload.get("markdown") or {}).get("text")
                or (payload.get("markdown") or {}).get("content")
                or ""
            )
            lines += [f"      {line}" for line in text.splitlines()[:12]]
    return lines


def print_summary(
    url: str, as_of: dt.date, export_dir: Path, landing_dir: Path | None = None, alerts_since=None
) -> bool:
    """Print the summary; True when `AS_OF` has a publication with its export files."""
    with psycopg.connect(url) as conn:
        print(f"\n== Credit platform run for AS_OF {as_of} ==")
        print("\nFeeds (files, rows read = loaded + quarantined):")
        print("\n".join(feed_lines(conn)))
        if landing_dir is not None:
            from include.ingest import unknown_folders

            strays = unknown_folders(landing_dir)
            if strays:
                print(f"  landing folders that are no feed (not read): {', '.join(strays)}")
        print("\nQuality gates:")
        print("\n".join(gate_lines(conn, as_of)))
        print("\nIndicator scorecard (whole jurisdiction):")
        print("\n".join(scorecard_lines(conn, as_of)))
        print("\nReturned to departments (marts.unit_returns; workbooks under quality/corrections):")
        print("\n".join(returns_lines(conn, as_of)))
        if alerts_since is not None:
            print("\nAlerts to the engineers (audit.alert_log):")
            print("\n".join(alert_lines(conn, alerts_since)))
        published = publication(conn, as_of)
    out = export_dir / as_of.isoformat()
    manifest = out / "manifest.json"
    print("\nPublication:")
    if published and manifest.exists():
        print(f"  version {published[0]} published at {published[1]:%Y-%m-%d %H:%M:%S %Z}")
        print(f"  exports:      {out}/ (manifest.json, data_dictionary.csv, each dataset as .parquet and .csv)")
        print("\n".join(export_lines(json.loads(manifest.read_text(encoding="utf-8")))))
        pages = sorted((out / "quality").glob("**/index.html"))
        print(f"  quality docs: {len(pages)} Data Docs sites under {out / 'quality'}")
        for page in pages:
            if "feeds" not in page.parts:  # one site per feed too; the folder says where
                print(f"                {page}")
        print(f"  dbt docs:     {out / 'dbt-docs' / 'index.html'}")
        books = sorted((out / "quality" / "corrections").glob("*.xlsx"))
        print(f"  workbooks:    {len(books)} correction workbooks under {out / 'quality' / 'corrections'}")
        page = out / "indicators" / "index.html"  # include/reports/indicator_page.py
        print(f"  indicators:   {page if page.exists() else 'NOT written (see the publish DAG log)'}")
        return True
    print("  NOT published for this AS_OF: see the failures above and the DAG logs")
    return False
