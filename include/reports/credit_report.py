"""公共信用信息报告: a printable HTML report of one subject's public credit information, laid out
after the national 公共信用信息报告标准 (2022), from the PUBLISHED marts (what analysts read):

    python -m include.reports.credit_report USCC [USCC ...] [--file LIST] [--out DIR]
    make report USCC=91640100MA...   |   make report USCC_FILE=list.txt

Only what may be published appears (docs/spec/DOMAIN.md §3, §8): penalties while public (a
repaired, withdrawn or expired one is not shown), licences while valid, dishonest-debtor listings
while active, and the subject's own commitments, repairs and objections — the last two without
the decision number they concern, which would name a record no longer public. Subjects are
enterprises and other registered organisations by USCC: a natural person's identity number never
appears. Each report carries the publication it was made from, the data's as-of date, the time
it was made and a report number derived from the publication and the subject, so two reports of
one publication have the same number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import jinja2
import psycopg

from include import settings, warehouse

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORTS_FOLDER = "reports"


class ReportError(RuntimeError):
    """The report cannot be made (no publication, or no such subject in it)."""


def _rows(conn: psycopg.Connection, query: str, params: tuple) -> list[dict]:
    cur = conn.execute(query, params)
    names = [d.name for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _publication(conn: psycopg.Connection) -> dict:
    rows = _rows(
        conn,
        """select version, as_of, published_at from audit.publication_log
                          order by published_at desc, version desc limit 1""",
        (),
    )
    if not rows:
        raise ReportError("nothing is published yet: run the pipeline (make run) first")
    return rows[0]


def _events(conn: psycopg.Connection, uscc: str, event_type: str, only_public: bool) -> list[dict]:
    return _rows(
        conn,
        f"""select record_no, event_date, authority, content, publicity_start, publicity_end, status,
                                  under_objection, detail
                           from marts.credit_events
                           where uscc = %s and event_type = %s {"and is_public" if only_public else ""}
                           order by event_date desc, record_no""",
        (uscc, event_type),
    )


def subject_report(conninfo: str, uscc: str, made_at: dt.datetime | None = None) -> dict:
    """Everything one report shows, read in one snapshot of the published marts."""
    code = uscc.strip().upper()
    with psycopg.connect(conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            publication = _publication(conn)
            archive = _rows(conn, "select * from marts.subject_archive where uscc = %s", (code,))
            if not archive:
                raise ReportError(
                    f"no subject {code} in publication {publication['version']} "
                    f"(marts.subject_archive): check the code, or whether the registry delivered it"
                )
            sections = {
                "licences": _events(conn, code, "行政许可", only_public=True),
                "penalties": _events(conn, code, "行政处罚", only_public=True),
                "dishonest": _events(conn, code, "失信被执行人", only_public=True),
                "commitments": _events(conn, code, "信用承诺", only_public=False),
                "repairs": _events(conn, code, "信用修复", only_public=False),
                "objections": _events(conn, code, "异议申诉", only_public=False),
            }
    made_at = made_at or dt.datetime.now(settings.SHANGHAI)
    return {
        "report_no": report_number(publication["version"], code),
        "made_at": made_at.strftime("%Y-%m-%d %H:%M:%S"),
        "as_of": publication["as_of"].isoformat(),
        "publication_version": publication["version"],
        "subject": archive[0],
        **sections,
    }


def report_number(version: str, uscc: str) -> str:
    """XYBG-<as_of YYYYMMDD>-<publication n>-<USCC>: one number per subject and publication."""
    as_of, _, n = version.partition(".")
    return f"XYBG-{as_of.replace('-', '')}-{int(n):02d}-{uscc}"


def render(report: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("credit_report.html.j2").render(**report)


def write_report(conninfo: str, uscc: str, out_dir: Path) -> Path:
    """The report of `uscc` as <out_dir>/<report number>.html, written atomically; its path."""
    report = subject_report(conninfo, uscc)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{report['report_no']}.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(report), encoding="utf-8")
    tmp.replace(path)
    return path


def default_out_dir(conninfo: str) -> Path:
    """EXPORT_DIR/<as_of of the latest publication>/reports."""
    with psycopg.connect(conninfo) as conn:
        as_of = _publication(conn)["as_of"]
    return settings.export_dir() / as_of.isoformat() / REPORTS_FOLDER


def _codes(args: argparse.Namespace) -> list[str]:
    codes = list(args.uscc)
    if args.file:
        text = Path(args.file).read_text(encoding="utf-8-sig")
        codes += [line.split(",")[0].strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return codes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make report", description="公共信用信息报告 for one or more subjects")
    parser.add_argument("uscc", nargs="*", help="统一社会信用代码 of each subject")
    parser.add_argument("--file", help="a text or CSV file with one USCC per line (first column)")
    parser.add_argument("--out", help="folder for the reports (default EXPORT_DIR/<AS_OF>/reports)")
    args = parser.parse_args(argv)
    codes = _codes(args)
    if not codes:
        parser.error("name at least one USCC: make report USCC=91640100MA... (or USCC_FILE=list.txt)")
    conninfo = warehouse.url()
    out_dir = Path(args.out) if args.out else default_out_dir(conninfo)
    failed = 0
    for code in codes:
        try:
            print(write_report(conninfo, code, out_dir))
        except ReportError as problem:
            failed += 1
            print(f"{code}: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
