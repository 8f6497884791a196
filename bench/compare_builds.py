"""Are two checkouts' warehouses identical? Builds the same landing data with the dbt project of each
checkout and compares every published and history table with EXCEPT ALL both ways.

    python bench/compare_builds.py build --repo PATH --database NAME [--subjects 2000] [--work DIR]
                                         [--earlier-repo PATH --switch-day N]
    python bench/compare_builds.py compare --database A --other B [--json FILE]

`build` (run once per checkout, with that checkout's code: `--repo` is put first on sys.path):
a fresh database on the embedded PostgreSQL of STATE_DIR (or WAREHOUSE_URL's server); the sample
for `--subjects` (include.sample_data, written once under --work and copied per database) is
ingested; then, as the daily runs would:
  day 1  `dbt build --full-refresh` as of 2026-06-30, recorded as published;
  day 2  corrections for 1 % of the subjects (bench/transform.py write_corrections) loaded,
         `dbt build` as of 2026-07-31, recorded as published;
  day 3  the same as of 2026-08-31, then the same build again (a rerun changes nothing).
So the history has first versions, versions closed and opened by a new as_of and by corrections.
With --earlier-repo, days before --switch-day (1–3) are built by that checkout's dbt project and the
rest by --repo's: the upgrade of a warehouse an earlier release built.
`compare` copies database B's tables of the compared schemas into database A (schema cmp_<schema>)
and counts, per table, the rows of each side missing from the other (EXCEPT ALL on the row's text,
so column order, types and numeric scale count too). Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

COMPARED_SCHEMAS = ("marts_build", "export_build", "history")
DAYS = (dt.date(2026, 6, 30), dt.date(2026, 7, 31), dt.date(2026, 8, 31))
SHARE = 0.01
ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def server_url() -> str:
    """The embedded server of STATE_DIR (or WAREHOUSE_URL's), started by THIS checkout's code in a
    child process: the checkout being built may predate `include.warehouse`, and its `include`
    package is the one this process imports."""
    import psycopg

    code = "from include import warehouse; print(warehouse.start('postgres'))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the warehouse did not start:\n{done.stderr[-3000:]}")
    url = done.stdout.strip().splitlines()[-1]
    # An earlier checkout's dbt profile takes no passfile: libpq finds the password through this.
    passfile = psycopg.conninfo.conninfo_to_dict(url).get("passfile")
    if passfile:
        os.environ.setdefault("PGPASSFILE", str(passfile))
    return url


def database_url(name: str) -> str:
    import psycopg

    return psycopg.conninfo.make_conninfo(server_url(), dbname=name)


def build(
    repo: Path, database: str, subjects: int, work: Path, earlier_repo: Path | None = None, switch_day: int = 1
) -> None:
    sys.path[:0] = [str(repo), str(repo / "bench")]
    import psycopg
    from psycopg import sql
    from transform import mark_published, write_corrections  # bench/transform.py of that checkout

    from include.ingest import ingest_all, load_file
    from include.sample_data import write_sample
    from include.transform import dbt_arguments, dbt_executable, dbt_run_env

    sample = work / f"sample-{subjects}"
    if not (sample / ".complete").exists():
        shutil.rmtree(sample, ignore_errors=True)
        write_sample(sample / "landing", subjects, DAYS[0])
        (sample / ".complete").touch()
    landing = work / database / "landing"
    shutil.rmtree(landing.parent, ignore_errors=True)
    shutil.copytree(sample / "landing", landing)
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    url = database_url(database)
    ingest_all(url, landing)

    def dbt_build(day: int, *args: str) -> None:
        as_of = DAYS[day - 1]
        project = (earlier_repo if earlier_repo and day < switch_day else repo) / "dbt_project"
        # the arguments include.transform.run_dbt gives dbt, in the project of this day's checkout
        command = [dbt_executable(), *dbt_arguments(["build", *args], as_of, target_path=work / database / "target")]
        done = subprocess.run(
            command, cwd=project, env={**os.environ, **dbt_run_env(url)}, text=True, capture_output=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"dbt build as of {as_of} failed:\n{(done.stdout + done.stderr)[-6000:]}")
        print(f"{database}: dbt build {' '.join(args)} as of {as_of} by {project} done", file=sys.stderr, flush=True)

    dbt_build(1, "--full-refresh")
    mark_published(url, DAYS[0])
    for day, as_of in enumerate(DAYS[1:], start=2):
        for feed, (file_name, _) in write_corrections(url, landing, subjects, SHARE, as_of).items():
            assert load_file(url, feed, file_name, landing)["status"] == "loaded"
        dbt_build(day)
        mark_published(url, as_of)
    dbt_build(len(DAYS))


def tables(conn, schemas) -> dict[str, list[tuple[str, str]]]:
    rows = conn.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns"
        " where table_schema = any(%s) order by table_schema, table_name, ordinal_position",
        (list(schemas),),
    ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        found.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return found


def compare(database: str, other: str) -> dict:
    import psycopg
    from psycopg import sql

    report: dict = {"databases": [database, other], "tables": {}}
    with psycopg.connect(database_url(database)) as a, psycopg.connect(database_url(other)) as b:
        ours, theirs = tables(a, COMPARED_SCHEMAS), tables(b, COMPARED_SCHEMAS)
        report["only_in_" + database] = sorted(set(ours) - set(theirs))
        report["only_in_" + other] = sorted(set(theirs) - set(ours))
        for name in sorted(set(ours) & set(theirs)):
            schema, table = name.split(".")
            entry: dict = {"columns_equal": ours[name] == theirs[name]}
            report["tables"][name] = entry
            if not entry["columns_equal"]:
                entry["columns"] = {database: ours[name], other: theirs[name]}
                continue
            copy_schema = sql.Identifier(f"cmp_{schema}")
            a.execute(sql.SQL("create schema if not exists {}").format(copy_schema))
            a.execute(sql.SQL("drop table if exists {}.{}").format(copy_schema, sql.Identifier(table)))
            a.execute(
                sql.SQL("create table {}.{} (like {}.{})").format(
                    copy_schema, sql.Identifier(table), sql.Identifier(schema), sql.Identifier(table)
                )
            )
            with (
                b.cursor().copy(
                    sql.SQL("copy {}.{} to stdout (format binary)").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                ) as out,
                a.cursor().copy(
                    sql.SQL("copy {}.{} from stdin (format binary)").format(copy_schema, sql.Identifier(table))
                ) as into,
            ):
                for chunk in out:
                    into.write(chunk)
            mine, copied = sql.Identifier(schema, table), sql.Identifier(f"cmp_{schema}", table)
            count = "select count(*) from (select t::text from {} as t except all select t::text from {} as t) as d"
            entry["rows"] = {
                database: a.execute(sql.SQL("select count(*) from {}").format(mine)).fetchone()[0],
                other: a.execute(sql.SQL("select count(*) from {}").format(copied)).fetchone()[0],
            }
            entry["missing_in_" + other] = a.execute(sql.SQL(count).format(mine, copied)).fetchone()[0]
            entry["missing_in_" + database] = a.execute(sql.SQL(count).format(copied, mine)).fetchone()[0]
        a.commit()
    report["identical"] = (
        not report["only_in_" + database]
        and not report["only_in_" + other]
        and all(
            t["columns_equal"] and t["missing_in_" + other] == 0 and t["missing_in_" + database] == 0
            for t in report["tables"].values()
        )
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build")
    b.add_argument("--repo", type=Path, required=True)
    b.add_argument("--database", required=True)
    b.add_argument("--subjects", type=int, default=2000)
    b.add_argument("--work", type=Path, default=Path("/tmp/compare-builds"))
    b.add_argument("--earlier-repo", type=Path, help="the checkout that builds the days before --switch-day")
    b.add_argument("--switch-day", type=int, default=1, choices=range(1, len(DAYS) + 1))
    c = commands.add_parser("compare")
    c.add_argument("--database", required=True)
    c.add_argument("--other", required=True)
    c.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        build(
            args.repo.resolve(),
            args.database,
            args.subjects,
            args.work,
            args.earlier_repo.resolve() if args.earlier_repo else None,
            args.switch_day,
        )
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    report = compare(args.database, args.other)
    text = json.dumps(report, indent=1, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0 if report["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
