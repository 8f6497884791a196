"""The staging gate validates rows loaded since it last passed for a table (real GX, real PostgreSQL).

A hand-made `staging.stg_probe` with a `_load_xid xid8` column (as the dbt staging models have)
and a small suite of our own: a row-level rule (status in a set) and a key's uniqueness, which a
new row can break against an old one.
"""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest

from include import quality

AS_OF = dt.date(2026, 6, 30)
TABLE = "staging.stg_probe"


def _e(type_: str, kwargs: dict, description: str) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": "blocking"}, "description": description}


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    folder = tmp_path_factory.mktemp("expectations")
    (folder / "staging").mkdir()
    document = {
        "name": "staging.staging.stg_probe",
        "meta": {"checkpoint": "staging", "schema": "staging", "table": "stg_probe"},
        "expectations": [
            _e("expect_column_values_to_be_in_set", {"column": "status", "value_set": ["ok"]}, "status is ok"),
            _e("expect_column_values_to_be_unique", {"column": "account_no"}, "account_no is unique"),
        ],
    }
    (folder / "staging" / "staging.stg_probe.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def db(scratch_db):
    with psycopg.connect(scratch_db) as conn:
        conn.execute("create schema staging")
        conn.execute(
            "create table staging.stg_probe (account_no text, status text, "
            "_load_xid xid8 not null default pg_current_xact_id())"
        )
    return scratch_db


def load(conninfo: str, *rows: tuple[str, str], xid: str | None = None) -> None:
    """Rows as one load transaction would bring them (or with an explicit, older load xid)."""
    with psycopg.connect(conninfo) as conn:
        for account_no, status in rows:
            if xid:
                conn.execute("insert into staging.stg_probe values (%s, %s, %s::xid8)", (account_no, status, xid))
            else:
                conn.execute("insert into staging.stg_probe (account_no, status) values (%s, %s)", (account_no, status))


def run(conninfo, suites, docs, as_of=AS_OF):
    return quality.run_gate(conninfo, "staging", as_of, docs, expectations_dir=suites, incremental=True)


def watermark(conninfo):
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "select snapshot_xmin::text::bigint, as_of from audit.gate_watermarks "
            "where checkpoint = 'staging' and table_name = %s",
            (TABLE,),
        ).fetchone()


def in_set(result) -> dict:
    (r,) = [r for r in result["results"] if r["expectation"] == "expect_column_values_to_be_in_set"]
    return r


def test_without_a_watermark_the_whole_table_is_validated(db, suites, tmp_path):
    load(db, ("A1", "ok"), ("A2", "ok"), ("A3", "ok"))
    result = run(db, suites, tmp_path)
    assert result["success"], result["blocking_failures"]
    assert in_set(result)["observed"]["element_count"] == 3
    assert in_set(result)["observed"]["scope"] == {"rows": "all", "why": "no earlier passing gate for this table"}
    with psycopg.connect(db) as conn:
        now = int(conn.execute("select pg_current_xact_id()::text").fetchone()[0])
    mark, as_of = watermark(db)
    assert as_of == AS_OF and mark < now


def test_only_rows_loaded_since_the_last_pass_are_validated(db, suites, tmp_path):
    mark, _ = watermark(db)
    load(db, ("OLD", "broken"), xid=str(mark - 1))  # a row of an earlier load, already validated
    load(db, ("B1", "ok"), ("B2", "ok"))
    result = run(db, suites, tmp_path)
    assert result["success"], result["blocking_failures"]
    assert in_set(result)["observed"]["element_count"] == 2
    assert in_set(result)["observed"]["scope"] == {"rows": "scoped", "_load_xid": {"min": mark}}
    assert watermark(db)[0] > mark


def test_a_bad_new_row_blocks_and_the_watermark_stays(db, suites, tmp_path):
    mark, _ = watermark(db)
    load(db, ("C1", "broken"))
    result = run(db, suites, tmp_path)
    assert not result["success"]
    (failure,) = result["blocking_failures"]
    assert failure["column"] == "status" and failure["observed"]["partial_unexpected_list"] == ["broken"]
    assert failure["observed"]["unexpected_count"] == 1  # C1, not the old broken row
    assert watermark(db)[0] == mark
    with psycopg.connect(db) as conn:
        conn.execute("update staging.stg_probe set status = 'ok' where account_no = 'C1'")


def test_a_new_row_colliding_with_an_old_key_blocks(db, suites, tmp_path):
    load(db, ("A1", "ok"))
    result = run(db, suites, tmp_path)
    (failure,) = result["blocking_failures"]
    assert failure["expectation"] == "expect_column_values_to_be_unique"
    assert failure["observed"]["scope"]["rows"] == "all"
    with psycopg.connect(db) as conn:
        conn.execute(
            "delete from staging.stg_probe where ctid = (select max(ctid) from staging.stg_probe "
            "where account_no = 'A1')"
        )


def test_another_as_of_still_validates_only_the_new_rows(db, suites, tmp_path):
    """Staging does not depend on AS_OF: the daily run, a new AS_OF each day, stays scoped."""
    assert run(db, suites, tmp_path)["success"]
    result = run(db, suites, tmp_path, as_of=AS_OF + dt.timedelta(days=1))
    assert in_set(result)["observed"]["scope"]["rows"] == "scoped"
    assert result["success"]  # the old broken row is not judged again


def test_a_suite_taking_as_of_validates_the_whole_table_for_another_as_of(db, suites, tmp_path):
    document = json.loads((suites / "staging" / "staging.stg_probe.json").read_text(encoding="utf-8"))
    # an expectation that takes the run's AS_OF (as the publication suites' as_of columns do)
    document["expectations"].append(
        _e(
            "expect_column_values_to_not_be_in_set",
            {"column": "status", "value_set": {"$PARAMETER": "as_of_set"}},
            "status is never the AS_OF date",
        )
    )
    taking_as_of = tmp_path / "expectations"
    (taking_as_of / "staging").mkdir(parents=True)
    (taking_as_of / "staging" / "staging.stg_probe.json").write_text(json.dumps(document), encoding="utf-8")
    assert run(db, taking_as_of, tmp_path / "docs", as_of=AS_OF + dt.timedelta(days=1))["success"]  # same AS_OF
    result = run(db, taking_as_of, tmp_path / "docs", as_of=AS_OF + dt.timedelta(days=2))
    assert in_set(result)["observed"]["scope"]["why"] == "the last pass was for AS_OF 2026-07-01"
    assert in_set(result)["observed"]["unexpected_count"] == 1  # the old broken row, seen again
    assert not result["success"]


def test_a_table_without_load_xid_is_validated_whole(db, suites, tmp_path):
    with psycopg.connect(db) as conn:
        conn.execute("alter table staging.stg_probe drop column _load_xid")
        conn.execute("delete from staging.stg_probe where status <> 'ok'")
    assert run(db, suites, tmp_path)["success"]
    result = run(db, suites, tmp_path)
    assert in_set(result)["observed"]["scope"] == {"rows": "all", "why": "the table has no _load_xid column"}
    assert in_set(result)["observed"]["element_count"] == 6  # A1-A3, B1, B2, C1


def test_the_watermark_is_no_later_than_the_dbt_builds_start(db, suites, tmp_path):
    scratch_db = db
    # A load still open when "dbt" began: its rows are not in staging yet, its xid is below the
    # gate's own xmin by the time the gate runs; the recorded W must not pass over it.
    with psycopg.connect(scratch_db) as conn:
        conn.execute("drop table staging.stg_probe")
        conn.execute(
            "create table staging.stg_probe (account_no text, status text, "
            "_load_xid xid8 not null default pg_current_xact_id())"
        )
    with psycopg.connect(scratch_db) as late_load:
        late_xid = int(late_load.execute("select pg_current_xact_id()::text").fetchone()[0])
        with psycopg.connect(scratch_db) as dbt:
            dbt.execute(
                "create table staging.build_started as "
                "select pg_snapshot_xmin(pg_current_snapshot()) as build_xmin, %s::date as as_of",
                (AS_OF,),
            )
        late_load.commit()
    load(scratch_db, ("D1", "ok"))
    assert run(scratch_db, suites, tmp_path)["success"]
    mark, _ = watermark(scratch_db)
    assert mark <= late_xid
    # The late load's row arrives in staging with the next build: the next gate sees it.
    load(scratch_db, ("LATE", "broken"), xid=str(late_xid))
    result = run(scratch_db, suites, tmp_path)
    assert [f["observed"]["partial_unexpected_list"] for f in result["blocking_failures"]] == [["broken"]]
    with psycopg.connect(scratch_db) as conn:
        conn.execute("drop table staging.build_started")
