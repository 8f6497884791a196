"""The incremental build gives exactly what a full rebuild gives, and does only the changed part.

One database, steps in file order: a first build; corrections (a tax month re-sent, a utility
account moved to another subject, a new taxpayer, a penalty); the incremental build, compared
table by table with `--full-refresh` for the same as_of; then as_of in the next month (window W
moves: every history row is stale) the same comparison; and a load that was still open while a
build ran is taken by the next build (commit order is not load-time order). Then the archive:
as_of moving within a month across the dates of five subjects, a record re-sent under another
subject, and changed scoring rules — each time only the subjects concerned are recomputed, and
the result is again a full rebuild's.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest
from dbt_runner import build, query, rows_affected
from psycopg import sql
from warehouse_rows import RawWriter, uscc

from include.transform import run_dbt

D = dt.date.fromisoformat
S1, S2, S3, S4, S10 = (uscc(i) for i in (1, 2, 3, 4, 10))
UNIT = uscc(900, kind="11")
JUNE, JULY = D("2022-06-30"), D("2022-07-31")
# Bookkeeping of the incremental models (which transaction wrote a row, what it had seen, which
# subjects the deliveries that changed it named, the as_of a row was last computed for): legitimately
# different between an incremental run and a full rebuild, and never published.
BOOKKEEPING = ("_built_xid", "_seen_xmin", "_load_xid", "_key_subjects", "_as_of")
COMPARED_SCHEMAS = ("staging", "intermediate", "marts_build", "export_build")
# where this very build began; the subjects this very run recomputed (empty after a full build)
NOT_COMPARED = {"staging.build_started", "intermediate.int_subject_facts__affected"}


def subject(code, name):
    return {"uscc": code, "name": name, "subject_type": "企业", "status": "存续", "region_code": "640102"}


def tax(code, month, paid=100, rating="B"):
    return {
        "uscc": code,
        "name": "n",
        "period": D(f"{month}-01"),
        "tax_due": 100,
        "tax_paid": paid,
        "credit_rating": rating,
    }


def bill(code, account, month, paid=50):
    return {
        "uscc": code,
        "name": "户",
        "account_no": account,
        "utility": "电",
        "period": D(f"{month}-01"),
        "amount_due": 50,
        "amount_paid": paid,
        "provider": "供电公司",
    }


def tables(url: str) -> dict[str, list[tuple]]:
    """Every table the build writes, its rows sorted, without the bookkeeping columns."""
    out = {}
    with psycopg.connect(url) as conn:
        names = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = any(%s) and table_type = 'BASE TABLE'",
            (list(COMPARED_SCHEMAS),),
        ).fetchall()
        for schema, table in names:
            if f"{schema}.{table}" in NOT_COMPARED:
                continue
            columns = [
                c
                for (c,) in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
                    " order by ordinal_position",
                    (schema, table),
                )
                if c not in BOOKKEEPING
            ]
            rows = conn.execute(
                sql.SQL("select {} from {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(schema, table)
                )
            ).fetchall()
            out[f"{schema}.{table}"] = sorted(rows, key=repr)
    return out


def assert_same(incremental: dict, full: dict) -> None:
    assert incremental.keys() == full.keys()
    for name in full:
        assert incremental[name] == full[name], f"{name}: the incremental build differs from a full rebuild"


@pytest.fixture(scope="module")
def db(scratch_db):
    w = RawWriter(scratch_db)
    w.rows(
        "subjects",
        [subject(S1, "甲"), subject(S2, "乙"), subject(S3, "丙"), subject(S4, "丁")],
        file="s1.csv",
        arrived="2022-06-01 09:00+08",
    )
    w.rows(
        "tax",
        [tax(c, f"2022-{m:02d}") for c in (S1, S2) for m in range(1, 7)],
        file="t1.csv",
        arrived="2022-06-10 09:00+08",
    )
    w.rows(
        "utilities",
        [bill(S1, "A1", f"2022-{m:02d}") for m in range(1, 7)]
        + [bill(S2, "A2", f"2022-{m:02d}", paid=10) for m in range(1, 7)],
        file="u1.csv",
        arrived="2022-06-10 09:00+08",
    )
    build(scratch_db, JUNE)
    return {"url": scratch_db, "writer": w}


def test_corrections_rebuild_only_the_changed_subjects_and_match_a_full_rebuild(db):
    url, w = db["url"], db["writer"]
    w.rows("tax", [tax(S1, "2022-06", paid=200, rating="A")], file="t2.csv", arrived="2022-06-20 09:00+08")
    w.rows("tax", [tax(S4, "2022-05")], file="t3.csv", arrived="2022-06-20 09:00+08")
    # account A2 belonged to S2 by mistake: all its months re-sent under S3 (S2 keeps no utilities)
    w.rows(
        "utilities",
        [bill(S3, "A2", f"2022-{m:02d}", paid=10) for m in range(1, 7)],
        file="u2.csv",
        arrived="2022-06-20 09:00+08",
    )
    w.rows(
        "penalties",
        [
            {
                "decision_no": "P1",
                "subject_name": "丙",
                "subject_category": "法人及非法人组织",
                "uscc": S3,
                "penalty_type": "罚款",
                "decided_on": D("2022-06-01"),
                "reported_on": D("2022-06-02"),
                "source_unit_uscc": UNIT,
            }
        ],
        file="p1.csv",
        arrived="2022-06-20 09:00+08",
    )
    build(url, JUNE)
    assert rows_affected(url, "stg_tax") == 2  # the two keys that received rows
    assert rows_affected(url, "stg_utilities") == 6
    assert rows_affected(url, "int_subject_history") == 4  # S1, S4 (tax); S2 (account moved away), S3
    history = {
        r[0]: r[1:]
        for r in query(url, "select uscc, utility_bills, tax_paid_12m from intermediate.int_subject_history")
    }
    assert S2 in history and history[S2][0] == 0  # tax left, utilities moved away
    assert history[S3][0] == 6 and history[S1][1] == 700
    incremental = tables(url)
    build(url, JUNE, "--full-refresh")
    assert_same(incremental, tables(url))


def storage_of(url: str, table: str) -> int:
    """The table's file: TRUNCATE gives it a new one, deletes and inserts keep it."""
    return query(url, "select pg_relation_filenode(%s::regclass)", (table,))[0][0]


def test_as_of_in_the_next_month_recomputes_every_history_row(db):
    """Also: S10 (no tax or utilities, so no history row to rewrite) has an unfulfilled commitment
    of 1 July 2021, in W for June 2022; in July W starts 1 August 2021. Nothing is delivered in
    between: W's first day moving over the commitment is what recomputes S10."""
    url, w = db["url"], db["writer"]
    w.rows("subjects", [subject(S10, "癸")], file="s10.csv", arrived="2022-06-25 09:00+08")
    w.rows("commitments", [commitment("K0", S10, "2021-07-01")], file="k0.csv", arrived="2022-06-25 09:00+08")
    before = storage_of(url, "intermediate.int_subject_history")
    build(url, JUNE)
    assert storage_of(url, "intermediate.int_subject_history") == before  # same month: kept
    unfulfilled = "select commitments_unfulfilled from intermediate.int_subject_facts where uscc = %s"
    assert query(url, unfulfilled, (S10,)) == [(1,)]
    build(url, JULY)
    assert rows_affected(url, "int_subject_history") == 4  # window W moved: every row was stale
    assert query(url, unfulfilled, (S10,)) == [(0,)]
    # ... so the table was emptied and refilled with the full build's SQL, not deleted row by row
    assert storage_of(url, "intermediate.int_subject_history") != before
    assert rows_affected(url, "stg_tax") == 0  # nothing new delivered
    incremental = tables(url)
    build(url, JULY, "--full-refresh")
    assert_same(incremental, tables(url))


def test_a_load_still_open_during_a_build_is_taken_by_the_next(db):
    """A load that began before another but committed after it, and after a build had run: a
    load-time watermark would skip it for ever; the transaction-id watermark takes it."""
    url, w = db["url"], db["writer"]
    opened, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_load():
        with psycopg.connect(url) as conn:
            conn.execute("select pg_current_xact_id()")  # the load's transaction begins
            opened.set()
            release.wait(timeout=600)
            sha = "f" * 64
            conn.execute(
                "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at,"
                " loaded_at, rows_read, rows_loaded, status) values ('tax', 'slow.csv', %s, 0,"
                " '2022-07-20 09:00+08', now(), 1, 1, 'loaded')",
                (sha,),
            )
            conn.execute(
                "insert into raw.tax (_file_sha256, _row_number, uscc, name, period, tax_due, tax_paid,"
                " credit_rating) values (%s, 2, %s, 'n', '2022-07-01', 100, 300, 'A')",
                (sha, S3),
            )
        done.set()

    loader = threading.Thread(target=slow_load)
    loader.start()
    assert opened.wait(timeout=60)
    w.rows("tax", [tax(S4, "2022-07")], file="t4.csv", arrived="2022-07-20 09:00+08")  # begins later, commits first
    build(url, JULY)
    assert query(url, "select count(*) from staging.stg_tax where uscc = %s and period = '2022-07-01'", (S3,)) == [(0,)]
    release.set()
    loader.join(timeout=600)
    assert done.is_set()
    build(url, JULY)
    assert query(url, "select tax_paid from staging.stg_tax where uscc = %s and period = '2022-07-01'", (S3,)) == [
        (300,)
    ]
    assert query(url, "select tax_paid_12m from intermediate.int_subject_history where uscc = %s", (S3,)) == [(300,)]


# --- the archive: int_subject_facts and int_subject_archive recompute only the subjects that change
S5, S6, S7, S8, S9 = (uscc(i) for i in (5, 6, 7, 8, 9))
JULY_10, JULY_20, JULY_21 = D("2022-07-10"), D("2022-07-20"), D("2022-07-21")


def dated_subject(code, name, established=None, status="存续", closed=None):
    return {
        **subject(code, name),
        "established_on": D(established) if established else None,
        "status": status,
        "closed_on": D(closed) if closed else None,
    }


def commitment(no, code, committed, fulfilment="未履约"):
    return {
        "commitment_no": no,
        "subject_name": "x",
        "uscc": code,
        "commitment_type": "告知承诺",
        "reason": "r",
        "committed_on": D(committed),
        "unit": "局",
        "unit_uscc": UNIT,
        "fulfilment": fulfilment,
    }


def penalty(no, code, decided):
    return {
        "decision_no": no,
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": code,
        "penalty_type": "罚款",
        "decided_on": D(decided),
        "reported_on": D(decided),
        "source_unit_uscc": UNIT,
    }


def test_as_of_moving_within_a_month_recomputes_only_the_subjects_whose_dates_it_crosses(db):
    """Between 10 and 20 July (same window W) one thing happens to each of S5–S9 on 15 July: S5 is
    established, S6 closes, S7's dishonest-debtor record is removed, S8 makes a commitment, S9's
    penalty of 15 July 2021 leaves publicity (12 months). Nothing is delivered in between."""
    url, w = db["url"], db["writer"]
    w.rows(
        "subjects",
        [
            dated_subject(S5, "戊", established="2022-07-15"),
            dated_subject(S6, "己", status="注销", closed="2022-07-15"),
            dated_subject(S7, "庚"),
            dated_subject(S8, "辛"),
            dated_subject(S9, "壬"),
        ],
        file="s2.csv",
        arrived="2022-07-01 09:00+08",
    )
    w.rows(
        "dishonest_debtors",
        [
            {
                "case_no": "(2022)宁01执9号",
                "subject_name": "庚",
                "subject_id": S7,
                "subject_id_key": S7,
                "subject_id_masked": S7,
                "court": "法院",
                "filed_on": D("2022-01-01"),
                "circumstance": "c",
                "published_on": D("2022-02-01"),
                "removed_on": D("2022-07-15"),
            }
        ],
        file="d1.csv",
        arrived="2022-07-01 09:00+08",
    )
    w.rows("commitments", [commitment("K1", S8, "2022-07-15")], file="k1.csv", arrived="2022-07-01 09:00+08")
    w.rows("penalties", [penalty("P9", S9, "2021-07-15")], file="p9.csv", arrived="2022-07-01 09:00+08")
    build(url, JULY_10)
    before = dict(
        query(
            url,
            "select uscc, (is_active_enterprise, dishonest_active, commitments_total,"
            " penalties_public)::text from intermediate.int_subject_facts",
        )
    )
    build(url, JULY_20)
    assert rows_affected(url, "int_subject_facts") == 5
    assert rows_affected(url, "int_subject_archive") == 5
    after = dict(
        query(
            url,
            "select uscc, (is_active_enterprise, dishonest_active, commitments_total,"
            " penalties_public)::text from intermediate.int_subject_facts",
        )
    )
    assert {code for code in after if after[code] != before[code]} == {S5, S6, S7, S8, S9}
    assert (before[S5], after[S5]) == ("(f,f,0,0)", "(t,f,0,0)")  # established on 15 July
    assert (before[S9], after[S9]) == ("(t,f,0,1)", "(t,f,0,0)")  # publicity over
    incremental = tables(url)
    build(url, JULY_20, "--full-refresh")
    assert_same(incremental, tables(url))


def test_a_record_moved_to_another_subject_recomputes_both(db):
    url, w = db["url"], db["writer"]
    # the commitment of S8 was S1's: re-sent under S1 (same commitment number)
    w.rows("commitments", [commitment("K1", S1, "2022-07-15")], file="k2.csv", arrived="2022-07-18 09:00+08")
    build(url, JULY_20)
    assert rows_affected(url, "int_subject_facts") == 2
    assert dict(
        query(
            url, "select uscc, commitments_total from intermediate.int_subject_facts where uscc in (%s, %s)", (S1, S8)
        )
    ) == {S1: 1, S8: 0}
    build(url, JULY_20)  # nothing new: nothing rewritten
    assert rows_affected(url, "int_subject_facts") == 0
    assert rows_affected(url, "int_subject_archive") == 0
    incremental = tables(url)
    build(url, JULY_20, "--full-refresh")
    assert_same(incremental, tables(url))


def test_a_subject_whose_only_account_moves_away_loses_its_history(db):
    """S10's only history is account A9; A9 is then re-sent under S4. Within the same month (W
    unchanged) S10 is found among the subjects of the rows delivered since the last build: its
    history row is gone and its facts say so, as a full rebuild's do."""
    url, w = db["url"], db["writer"]
    w.rows(
        "utilities",
        [bill(S10, "A9", f"2022-{m:02d}") for m in range(1, 7)],
        file="u3.csv",
        arrived="2022-07-18 09:00+08",
    )
    build(url, JULY_20)
    assert query(
        url, "select utility_bills, _has_history from intermediate.int_subject_facts where uscc = %s", (S10,)
    ) == [(6, True)]
    w.rows(
        "utilities",
        [bill(S4, "A9", f"2022-{m:02d}") for m in range(1, 7)],
        file="u4.csv",
        arrived="2022-07-19 09:00+08",
    )
    build(url, JULY_20)
    assert rows_affected(url, "int_subject_facts") == 2  # S10 lost A9, S4 gained it
    assert query(url, "select count(*) from intermediate.int_subject_history where uscc = %s", (S10,)) == [(0,)]
    assert query(
        url, "select utility_bills, _has_history from intermediate.int_subject_facts where uscc = %s", (S10,)
    ) == [(0, False)]
    incremental = tables(url)
    build(url, JULY_20, "--full-refresh")
    assert_same(incremental, tables(url))


def test_changed_scoring_rules_re_evaluate_every_subject(db):
    """Rows evaluated under other rules (scoring_rules or credit_grades differ from their
    _rules_version) are all evaluated again; the facts are not recomputed."""
    url = db["url"]
    with psycopg.connect(url) as conn:
        conn.execute(
            "update intermediate.int_subject_archive set _rules_version = 'rules of an earlier release',"
            " credit_score = -1"
        )
    build(url, JULY_20)
    assert rows_affected(url, "int_subject_facts") == 0
    assert rows_affected(url, "int_subject_archive") == 10
    assert query(url, "select count(*) from intermediate.int_subject_archive where credit_score < 0") == [(0,)]


def record_publication(url: str, as_of: dt.date, version: str) -> None:
    """What the publish step records for the next build (audit.publication_log.build_xmin)."""
    from include.publish import PUBLICATION_LOG_DDL

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PUBLICATION_LOG_DDL)
        conn.execute(
            "insert into audit.publication_log (version, as_of, pipeline_version, row_counts,"
            " gate_results, build_xmin) select %s, %s, 'test', '{}', '[]', build_xmin"
            " from staging.build_started",
            (version, as_of),
        )


def test_after_a_publication_the_history_compares_only_archives_written_since(db):
    """The snapshot reads the archives written since the published build began: a subject changed
    after the publication gets its new version, unchanged ones keep theirs, and a build that is
    not published leaves its changes to be compared again (and found equal) by the next."""
    url, w = db["url"], db["writer"]
    versions = "select uscc, count(*) from history.subject_archive_snapshot group by uscc"
    build(url, JULY_20)
    record_publication(url, JULY_20, "2022-07-20.1")
    before = dict(query(url, versions))
    # versions are per as_of (the snapshot's timestamp is as_of): the change is seen the next day
    w.rows("commitments", [commitment("K2", S5, "2022-07-16")], file="k3.csv", arrived="2022-07-19 09:00+08")
    build(url, JULY_21)  # not published
    build(url, JULY_21)  # compares S5 again: same hash
    after = dict(query(url, versions))
    assert after[S5] == before[S5] + 1
    assert {code: n for code, n in after.items() if code != S5} == {code: n for code, n in before.items() if code != S5}
    assert query(
        url,
        "select commitments_total from history.subject_archive_snapshot where uscc = %s and dbt_valid_to is null",
        (S5,),
    ) == [(1,)]


def test_a_table_left_by_an_older_release_stops_the_build_with_dbts_message_to_rebuild(db, tmp_path):
    """An older release's int_subject_facts without this release's bookkeeping column: the build
    stops with dbt's on_schema_change message (not a missing-column error); a full refresh fixes it."""
    url = db["url"]
    with psycopg.connect(url) as conn:
        conn.execute("alter table intermediate.int_subject_facts drop column _as_of")
    result = run_dbt(["build"], url, JULY_20, target_path=tmp_path, timeout=600)
    assert result.returncode != 0
    assert "out of sync" in result.stdout and "does not exist" not in result.stdout
    build(url, JULY_20, "--full-refresh")
    assert query(url, "select count(*) from intermediate.int_subject_facts where _as_of = %s", (JULY_20,)) == [(10,)]


WATERMARK_INDEXES = """select t.relname, a.attname from pg_index as i
    join pg_class as t on t.oid = i.indrelid join pg_namespace as n on n.oid = t.relnamespace
    join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where n.nspname in ('staging', 'intermediate') and a.attname in ('_built_xid', '_seen_xmin')"""
INCREMENTAL_MODELS = {
    "stg_commitments",
    "stg_dishonest_debtors",
    "stg_ledgers",
    "stg_licenses",
    "stg_objections",
    "stg_penalties",
    "stg_real_estate",
    "stg_repairs",
    "stg_subjects",
    "stg_tax",
    "stg_utilities",
    "int_double_publicity",
    "int_subject_history",
    "int_subject_facts",
    "int_subject_archive",
}


# The other plain indexes the daily run reads by, and the partial index of major tax violations.
DAILY_INDEXES = """select i.indrelid::regclass::text, a.attname, pg_get_expr(i.indpred, i.indrelid) from pg_index as i
    join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid in ('staging.stg_commitments'::regclass, 'staging.stg_tax'::regclass)
      and not i.indisunique and a.attname not in ('_built_xid', '_seen_xmin')"""
DAILY_WANTED = {
    ("staging.stg_commitments", "uscc", None),
    ("staging.stg_commitments", "committed_on", None),
    ("staging.stg_tax", "period", "major_violation"),
}


def test_every_incremental_table_has_its_watermark_indexes_and_an_older_table_gets_them(db):
    """Each run reads max(_seen_xmin) of every incremental table and takes rows by _built_xid: both
    indexed. A table built before the indexes existed (dbt creates them only with the table) gets
    them at its next incremental run, not at the next full refresh; so do the other indexes a
    model's config lists, and the partial index of stg_tax, which dbt's config cannot express."""
    url = db["url"]
    wanted = {(m, c) for m in INCREMENTAL_MODELS for c in ("_built_xid", "_seen_xmin")}
    assert set(query(url, WATERMARK_INDEXES)) == wanted
    assert set(query(url, DAILY_INDEXES)) == DAILY_WANTED
    with psycopg.connect(url) as conn:  # what a table of the previous release looks like
        for (name,) in conn.execute("""select i.indexrelid::regclass::text from pg_index as i
                join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                where i.indrelid in ('staging.stg_commitments'::regclass, 'intermediate.int_subject_facts'::regclass,
                                     'staging.stg_tax'::regclass)
                  and not i.indisunique""").fetchall():
            conn.execute(sql.SQL("drop index {}").format(sql.SQL(name)))
    assert set(query(url, WATERMARK_INDEXES)) < wanted
    assert not query(url, DAILY_INDEXES)
    build(url, JULY_20)
    assert set(query(url, WATERMARK_INDEXES)) == wanted
    assert set(query(url, DAILY_INDEXES)) == DAILY_WANTED
    # A full refresh makes the table anew (dbt keeps the old one, with its index, until the end):
    # the partial index is made again on the new table, once.
    build(url, JULY_20, "--full-refresh", "--select", "stg_tax")
    assert set(query(url, DAILY_INDEXES)) == DAILY_WANTED


# The business keys dbt does not test for uniqueness (docs/warehouse.md "Tests": one owner per
# check): each is a unique index, which refuses a duplicate when it is written.
UNIQUE_KEYS = {
    "staging.stg_subjects": ("uscc",),
    "staging.stg_tax": ("uscc", "period"),
    "staging.stg_utilities": ("account_no", "utility", "period"),
    "staging.stg_real_estate": ("record_key",),
    "staging.stg_penalties": ("record_key",),
    "staging.stg_licenses": ("record_key",),
    "staging.stg_dishonest_debtors": ("record_key",),
    "staging.stg_commitments": ("commitment_no",),
    "staging.stg_repairs": ("repair_no",),
    "staging.stg_objections": ("objection_no",),
    "staging.stg_ledgers": ("unit_uscc", "month"),
    "intermediate.int_working_calendar": ("day",),
    "intermediate.int_double_publicity": ("record_key",),
    "intermediate.int_subject_history": ("uscc",),
    "intermediate.int_subject_facts": ("uscc",),
    "intermediate.int_subject_archive": ("uscc",),
}
UNIQUE_INDEXES = """select i.indrelid::regclass::text,
           array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality as k (attnum, n)
                 join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.n)
    from pg_index as i join pg_class as t on t.oid = i.indrelid join pg_namespace as n on n.oid = t.relnamespace
    where i.indisunique and i.indpred is null and n.nspname in ('staging', 'intermediate')"""


def test_every_key_without_a_unique_test_is_a_unique_index_and_a_duplicate_fails_the_model(db):
    url = db["url"]  # built by the tests above: incremental runs after a full build
    indexes = {(table, tuple(columns)) for table, columns in query(url, UNIQUE_INDEXES)}
    missing = {(table, key) for table, key in UNIQUE_KEYS.items() if (table, key) not in indexes}
    assert not missing, f"business keys without their unique index: {missing}"
    with psycopg.connect(url) as conn:
        # a second row for a subject already there: what a faulty model would write
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into staging.stg_subjects select * from staging.stg_subjects limit 1")
        conn.rollback()


def test_a_build_analyses_only_tables_without_statistics_and_no_autovacuum_holds_a_rebuilt_one(db):
    """Tables rebuilt whole have autovacuum off (the build analyses them and the next replaces them);
    an incremental table with statistics is left to autovacuum, not analysed again by the build."""
    url = db["url"]  # built by the tests above
    options = dict(
        query(
            url,
            "select n.nspname || '.' || c.relname, coalesce(c.reloptions, '{}') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where (n.nspname, c.relname) in (('marts_build', 'credit_events'), ('intermediate', 'int_penalty_publicity'),"
            " ('staging', 'stg_tax'), ('intermediate', 'int_subject_archive'))",
        )
    )
    assert "autovacuum_enabled=false" in options["marts_build.credit_events"]
    assert "autovacuum_enabled=false" in options["intermediate.int_penalty_publicity"]
    assert options["staging.stg_tax"] == [] and options["intermediate.int_subject_archive"] == []

    def analysed(table: str) -> int:
        return query(url, "select analyze_count from pg_stat_user_tables where relid = %s::regclass", (table,))[0][0]

    with psycopg.connect(url) as conn:  # every row of stg_tax changed since its statistics were taken
        conn.execute("update staging.stg_tax set period = period")
    analysed_before = analysed("staging.stg_tax")
    build(url, JULY_20)
    # credit_events is a new table (its own counters), analysed once by the build; the server
    # publishes the build's statistics counters shortly after its transactions end
    deadline = time.monotonic() + 10
    while analysed("marts_build.credit_events") < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert analysed("marts_build.credit_events") == 1
    assert analysed("staging.stg_tax") == analysed_before  # it has statistics: their drift is autovacuum's


def test_report_deadlines_are_computed_for_new_records_and_again_for_all_when_the_calendar_changes(db):
    """int_double_publicity: a delivered penalty is the only record computed; deadlines computed
    with another calendar or day count (_rules_version) are all computed again, as a full build would."""
    url, w = db["url"], db["writer"]
    build(url, JULY_20)
    w.rows(
        "penalties",
        [
            {
                "decision_no": "P9",
                "subject_name": "甲",
                "subject_category": "法人及非法人组织",
                "uscc": S1,
                "penalty_type": "罚款",
                "decided_on": D("2022-07-01"),
                "reported_on": D("2022-07-05"),
                "source_unit_uscc": UNIT,
            }
        ],
        file="p9.csv",
        arrived="2022-07-19 09:00+08",
    )
    build(url, JULY_20)
    assert rows_affected(url, "int_double_publicity") == 1
    records = query(url, "select count(*) from intermediate.int_double_publicity")[0][0]
    assert records >= 1
    # 2022-07-01 (Fri) + 7 working days, no holiday in between: 2022-07-12
    assert query(
        url, "select report_deadline from intermediate.int_double_publicity where record_key like 'penalty|P9%%'"
    ) == [(D("2022-07-12"),)]
    with psycopg.connect(url) as conn:  # as if computed with an earlier calendar
        conn.execute(
            "update intermediate.int_double_publicity set _rules_version = 'an earlier calendar',"
            " report_deadline = null"
        )
    build(url, JULY_20)
    assert rows_affected(url, "int_double_publicity") == records
    assert query(url, "select count(*) from intermediate.int_double_publicity where report_deadline is null") == [(0,)]
    with psycopg.connect(url) as conn:  # the table as the release before this one built it
        conn.execute(
            "alter table intermediate.int_double_publicity drop column _rules_version,"
            " drop column _built_xid, drop column _seen_xmin"
        )
        conn.execute("update intermediate.int_double_publicity set report_deadline = null")
    build(url, JULY_20)  # no full refresh needed: computed whole once
    assert rows_affected(url, "int_double_publicity") == records
    incremental = tables(url)
    build(url, JULY_20, "--full-refresh")
    assert_same(incremental, tables(url))
