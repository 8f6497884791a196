"""The warehouse over several runs: reproducible reruns, SCD2 history on as_of, incremental
staging, changes against the published export, and a year the working-day calendar does not know.
Tests run in file order on one database; each step is one `dbt build`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import psycopg
import pytest
from dbt_runner import build, by_key, dbt, query, rows_affected, target_of
from warehouse_rows import RawWriter, uscc

D = dt.date.fromisoformat
S1, S2, S3 = uscc(1), uscc(2), uscc(3)
UNIT = uscc(900, kind="11")
FIRST, SECOND, UNKNOWN_YEAR = D("2022-06-30"), D("2022-07-31"), D("2027-03-31")


def subject(code, name, status="存续", closed_on=None):
    return {
        "uscc": code,
        "name": name,
        "subject_type": "企业",
        "status": status,
        "closed_on": closed_on,
        "region_code": "640102",
    }


def tax(code, period, rating):
    return {"uscc": code, "name": "n", "period": D(period), "tax_due": 10, "tax_paid": 10, "credit_rating": rating}


def penalty(no, code, decided, reported):
    return {
        "decision_no": no,
        "subject_name": "n",
        "subject_category": "法人及非法人组织",
        "uscc": code,
        "penalty_type": "罚款",
        "decided_on": D(decided),
        "reported_on": D(reported),
        "source_unit_uscc": UNIT,
    }


@pytest.fixture(scope="module")
def db(scratch_db):
    w = RawWriter(scratch_db)
    w.rows("subjects", [subject(S1, "甲"), subject(S2, "乙")], file="s1.csv", arrived="2022-06-01 09:00+08")
    w.rows("tax", [tax(S1, f"2022-{m:02d}-01", "B") for m in range(1, 6)], file="t1.csv", arrived="2022-06-01 09:00+08")
    return {"url": scratch_db, "writer": w}


def _snapshot_of_results(url):
    return (
        query(url, "select * from marts_build.subject_archive order by uscc"),
        query(url, "select * from marts_build.indicator_scorecard order by region_code, indicator_id"),
        query(url, "select uscc, valid_from, valid_to from marts_build.subject_archive_history order by 1, 2"),
    )


def test_first_build_and_reproducible_rerun(db):
    url = db["url"]
    build(url, FIRST)
    first = _snapshot_of_results(url)
    assert by_key(url, "select uscc, credit_score from marts_build.subject_archive") == {S1: 85, S2: 80}
    assert first[2] == [(S1, FIRST, None), (S2, FIRST, None)]
    build(url, FIRST)
    assert _snapshot_of_results(url) == first  # same inputs and as_of: same result, no new versions


def test_incremental_history_and_changes(db):
    url, w = db["url"], db["writer"]
    # record the first publication as the publish step does (the swap itself is not dbt's job)
    with psycopg.connect(url) as conn:
        conn.execute("create schema if not exists history")
        conn.execute(
            "create table history.financing_profile_publications as"
            " select as_of, '1'::text as version, uscc, subject_name, profile_hash"
            " from export_build.financing_profile"
        )
    # 1 new tax month for S1 (rating A), S2 closed, S3 registered, a penalty for S3
    w.rows("tax", [tax(S1, "2022-06-01", "A")], file="t2.csv", arrived="2022-07-10 09:00+08")
    # a late file that arrived *before* t1 resends S1's May row with rating C: the older delivery loses
    w.rows(
        "tax", [tax(S1, "2022-05-01", "C")], file="t0.csv", arrived="2022-05-20 09:00+08", loaded="2022-07-10 10:00+08"
    )
    w.rows(
        "subjects",
        [subject(S2, "乙", status="注销", closed_on=D("2022-07-15")), subject(S3, "丙")],
        file="s2.csv",
        arrived="2022-07-20 09:00+08",
    )
    w.rows("penalties", [penalty("X1", S3, "2022-07-01", "2022-07-04")], file="p1.csv", arrived="2022-07-20 09:00+08")
    build(url, SECOND)
    # incremental: of the two (uscc, period) keys that received rows only June was rewritten; the
    # late May row loses to the current one and leaves it as it is
    assert rows_affected(url, "stg_tax") == 1
    assert by_key(url, "select period, credit_rating from staging.stg_tax where uscc = %s", (S1,)) == {
        D(f"2022-{m:02d}-01"): "B" for m in range(1, 6)
    } | {D("2022-06-01"): "A"}
    history = query(
        url, "select uscc, valid_from, valid_to, credit_score from marts_build.subject_archive_history order by 1, 2"
    )
    assert history == [
        (S1, FIRST, SECOND, 85),
        (S1, SECOND, None, 90),  # rating B → A: 85 → 90
        (S2, FIRST, SECOND, 80),
        (S2, SECOND, None, 80),  # closed: status changed
        (S3, SECOND, None, 75),
    ]  # new, one public penalty
    changes = by_key(url, "select uscc, change_type from export_build.financing_profile_changes")
    assert changes == {S1: "update", S2: "delete", S3: "insert"}
    assert query(url, "select previous_as_of from export_build.financing_profile_changes where uscc = %s", (S1,)) == [
        (FIRST,)
    ]
    # a rerun for the same as_of compares with the same earlier publication: the same changes
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into history.financing_profile_publications"
            " select as_of, '2', uscc, subject_name, profile_hash from export_build.financing_profile"
        )
    build(url, SECOND)
    assert by_key(url, "select uscc, change_type from export_build.financing_profile_changes") == changes


def test_a_missing_required_value_fails_its_models_test_which_names_the_column(db):
    """A model's required columns are checked by one test (not_null_columns): its name lists them,
    and its rows say which column lacks values on how many rows."""
    url = db["url"]
    with psycopg.connect(url) as conn:
        conn.execute("update marts_build.subject_archive set as_of = null where uscc = %s", (S1,))
    reply = dbt(url, SECOND, "test", "--select", "subject_archive")
    assert not reply["success"]
    assert "FAIL 1 not_null_columns_subject_archive_uscc__as_of" in reply["output"]
    compiled = next(target_of(url).glob("compiled/**/not_null_columns_subject_archive_uscc__as_of.sql"))
    assert query(url, compiled.read_text()) == [("as_of", 1)]
    with psycopg.connect(url) as conn:
        conn.execute("update marts_build.subject_archive set as_of = %s where uscc = %s", (SECOND, S1))
    assert dbt(url, SECOND, "test", "--select", "subject_archive")["success"]


def test_incremental_equals_full_refresh(db):
    url = db["url"]
    before = query(url, "select uscc, period, credit_rating, tax_paid from staging.stg_tax order by 1, 2")
    build(url, SECOND, "--full-refresh", "--select", "stg_tax")
    assert query(url, "select uscc, period, credit_rating, tax_paid from staging.stg_tax order by 1, 2") == before


def test_year_outside_the_calendar_is_reported_not_guessed(db):
    url, w = db["url"], db["writer"]
    w.rows(
        "penalties",
        [penalty("X2", S1, "2026-12-28", "2027-01-04"), penalty("X3", S1, "2027-01-05", "2027-01-06")],
        file="p2.csv",
        arrived="2027-01-10 09:00+08",
    )
    w.rows(
        "repairs",
        [
            {
                "repair_no": "R9",
                "uscc": S1,
                "subject_name": "甲",
                "decision_no": "X2",
                "applied_on": D("2027-02-01"),
                "completed_on": D("2027-02-03"),
                "result": "不同意",
                "unit": "u",
            }
        ],
        file="r1.csv",
        arrived="2027-02-05 09:00+08",
    )
    build(url, UNKNOWN_YEAR)
    card = {
        r[0]: r[1:]
        for r in query(
            url,
            """select indicator_id, numerator, denominator, value, passed, note
                                              from marts_build.indicator_scorecard where region_code = 'all'""",
        )
    }
    for indicator in ("I04", "I07"):
        numerator, denominator, value, passed, note = card[indicator]
        assert value is None and passed is False and numerator is None
        assert "2026-12-31" in note and "calendar_schedules" in note
    assert card["I04"][1] == 2  # the records are still counted
    # indicators without working days are unaffected
    assert card["I08"][2] == Decimal("0")


def test_the_history_writes_a_version_per_change_and_closes_the_current_one(db):
    """models/history/subject_archive_snapshot.sql writes the SCD2 versions dbt's timestamp snapshot
    wrote: from the same history and archives — one changed, one new subject, the rest unchanged —
    the changed subject's current version is closed at the new as_of (only dbt_valid_to changes),
    a new version opens with dbt's scd_id md5(uscc|valid_from), the new subject gets its first
    version, every other row stays as it was; a table of an earlier release (no partial index)
    gets the index before the query; a rerun for the same as_of changes nothing, even with a
    changed archive."""
    url = db["url"]
    later, s9 = D("2027-04-30"), uscc(9)
    with psycopg.connect(url) as conn:
        conn.execute(
            "update intermediate.int_subject_archive set credit_score = credit_score - 5,"
            " archive_hash = md5(archive_hash) where uscc = %s",
            (S1,),
        )
        conn.execute(
            """insert into intermediate.int_subject_archive
                        select (jsonb_populate_record(null::intermediate.int_subject_archive,
                                                      to_jsonb(a) || jsonb_build_object('uscc', %s::text))).*
                        from intermediate.int_subject_archive as a where uscc = %s""",
            (s9, S2),
        )
        conn.execute("create table history.snapshot_before as select * from history.subject_archive_snapshot")
        # as on a table of an earlier release: the pre-hook makes the index before the query
        conn.execute("drop index history.subject_archive_snapshot_uscc_idx")
    everything = "select * from history.subject_archive_snapshot order by uscc, dbt_valid_from"
    before = query(url, "select * from history.snapshot_before order by uscc, dbt_valid_from")
    reply = dbt(url, later, "run", "--select", "subject_archive_snapshot")
    assert reply["success"], reply["output"][-4000:]
    after = query(url, everything)
    assert len(after) == len(before) + 2  # S1's new version, S9's first
    columns = [
        r[0]
        for r in query(
            url,
            "select column_name from information_schema.columns where table_schema"
            " = 'history' and table_name = 'subject_archive_snapshot' order by ordinal_position",
        )
    ]
    assert columns[-4:] == ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]
    scd_id, valid_to = columns.index("dbt_scd_id"), columns.index("dbt_valid_to")
    s1_before = [r for r in before if r[0] == S1]
    s1_after = [r for r in after if r[0] == S1]
    assert s1_before[-1][valid_to] is None
    closed, current = s1_after[-2], s1_after[-1]
    # the closed version: the same row but dbt_valid_to
    assert closed[:valid_to] == s1_before[-1][:valid_to] and closed[valid_to] == dt.datetime(2027, 4, 30)
    assert current[scd_id] == hashlib.md5(f"{S1}|2027-04-30 00:00:00".encode()).hexdigest()
    assert current[valid_to] is None and current[scd_id + 2] == dt.datetime(2027, 4, 30)  # dbt_valid_from
    s9_rows = [r for r in after if r[0] == s9]
    assert [(r[scd_id], r[valid_to]) for r in s9_rows] == [
        (hashlib.md5(f"{s9}|2027-04-30 00:00:00".encode()).hexdigest(), None)
    ]
    untouched = [r for r in after if r[0] not in (S1, s9)]
    assert untouched == [r for r in before if r[0] != S1]
    # the current versions are found by the partial index (made again by the pre-hook)
    assert query(
        url, "select indexdef from pg_indexes where schemaname = 'history' and tablename = 'subject_archive_snapshot'"
    ) == [
        (
            "CREATE INDEX subject_archive_snapshot_uscc_idx ON history.subject_archive_snapshot"
            " USING btree (uscc) WHERE (dbt_valid_to IS NULL)",
        )
    ]
    reply = dbt(url, later, "run", "--select", "subject_archive_snapshot")
    assert reply["success"], reply["output"][-4000:]
    assert query(url, everything) == after
    # a correction rerun for the same as_of is not a new version (it is recorded at the next later as_of)
    with psycopg.connect(url) as conn:
        conn.execute(
            "update intermediate.int_subject_archive set archive_hash = md5(archive_hash) where uscc = %s", (S1,)
        )
    reply = dbt(url, later, "run", "--select", "subject_archive_snapshot")
    assert reply["success"], reply["output"][-4000:]
    assert query(url, everything) == after


def test_the_rule_unit_tests_run_and_pass(db):
    """The dbt unit tests of the per-rule models (`unit_tests:` in models/intermediate/_intermediate.yml,
    models/intermediate/indicators/_indicators.yml and models/marts/_marts.yml: publicity of penalties
    and licences, dishonest records, points, score and grade, each indicator's measure, the
    scorecard's valuation, the timeline's words) run in CI, not in production builds; here by
    themselves, each must be found and pass."""
    url = db["url"]
    reply = dbt(url, D("2026-06-30"), "test", "--select", "test_type:unit")
    assert reply["success"], reply["output"][-6000:]
    results = json.loads((target_of(url) / "run_results.json").read_text())["results"]
    assert sorted((r["unique_id"].split(".")[-1], r["status"]) for r in results) == [
        ("credit_evaluation_points_score_and_grade", "pass"),
        ("credit_events_state_each_record_in_words_as_of", "pass"),
        ("dishonest_record_active_from_publication_until_removal", "pass"),
        ("i01_rejected_codes_unregistered_and_codes_under_two_names", "pass"),
        ("i02_min_of_records_and_ledger_decisions_per_unit_and_month", "pass"),
        ("i03_rows_loaded_without_any_problem_over_all_rows_read", "pass"),
        ("i04_reported_by_the_working_day_deadline", "pass"),
        ("i05_valid_objections_on_double_publicity_raised_in_the_window", "pass"),
        ("i06_working_days_from_raising_to_completion", "pass"),
        ("i07_repairs_completed_within_three_working_days_of_acceptance", "pass"),
        ("i08_to_i14_over_the_registry_per_region_and_in_all", "pass"),
        ("licence_publicity_while_valid_until_withdrawn", "pass"),
        ("penalty_publicity_by_regime_severity_repair_and_objection", "pass"),
        ("scorecard_values_against_targets_and_says_why_not", "pass"),
    ]
