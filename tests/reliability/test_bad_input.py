"""A corpus of malformed deliveries, loaded together with good files in one landing zone.

For each file: no crash; the file rejected (its reason naming the file and the rule) or its rows
quarantined (file, row, column, rule and value named); rows read = loaded + quarantined in the
result, the ledger, raw and the quarantine; and the good files beside them load fully.
"""

from __future__ import annotations

import psycopg
import pytest

from include import feeds
from include.ingest import ensure_schemas, load_file, pending_files, unknown_folders
from include.ingest.load import display_name
from tests.ingest.helpers import ledger as ledger_row
from tests.reliability import corpus, pipeline
from tests.reliability.warehouse import database

pytestmark = pytest.mark.timeout(pipeline.TEST_TIMEOUT)


def _shown(case: corpus.Case) -> str:
    """The name the pipeline reports for a case: the OS name, or its GB18030 reading if not UTF-8."""
    return display_name(case.fs_name)


@pytest.fixture(scope="module")
def delivered(postgres_server, tmp_path_factory):
    """Every case of the corpus loaded the way the ingest DAGs do: each pending file of each feed."""
    landing = tmp_path_factory.mktemp("corpus-landing")
    cases = corpus.build(landing)
    with database(postgres_server, "rel_corpus") as url:
        ensure_schemas(url)
        results, crashes = {}, {}
        for feed in feeds.feed_ids():
            for name in pending_files(feed, landing):
                try:
                    results[(feed, name)] = load_file(url, feed, name, landing)
                except Exception as exc:  # collected: one crash must not hide the other files' outcome
                    crashes[(feed, name)] = exc
        yield {"url": url, "landing": landing, "cases": cases, "results": results, "crashes": crashes}


def _case_id(case: corpus.Case) -> str:
    return f"{case.feed}:{ascii(case.fs_name)[1:50]}"


CASES = corpus.good_files() + corpus.bad_cases()


def test_the_corpus_is_broad():
    bad = corpus.bad_cases()
    assert len(bad) >= 30
    assert {c.expect for c in bad} >= {"rejected", "quarantined", "loaded", "duplicate"}


def test_no_file_crashes_the_loader(delivered):
    assert {k: repr(v) for k, v in delivered["crashes"].items()} == {}


def test_every_delivered_file_was_listed_and_loaded(delivered):
    listed = set(delivered["results"]) | set(delivered["crashes"])
    assert listed == {(c.feed, _shown(c)) for c in delivered["cases"]}


@pytest.mark.parametrize("case", [c for c in CASES if not isinstance(c.name, bytes)], ids=_case_id)
def test_each_file_gets_the_outcome_its_defect_calls_for(delivered, case):
    url = delivered["url"]
    result = delivered["results"][(case.feed, case.fs_name)]
    _assert_accounted(url, result)
    ledger = ledger_row(url, case.feed, case.fs_name)
    assert ledger is not None, "every delivery has its ledger row"
    assert ledger["file_name"] == case.fs_name, "the name is stored verbatim"
    if case.expect in ("rejected", "duplicate"):
        assert (result["status"], ledger["status"]) == (case.expect, case.expect)
        assert result["rows_loaded"] == ledger["rows_loaded"] == 0
        assert case.fs_name in ledger["reason"] and f"rule: {case.rule}" in ledger["reason"], ledger["reason"]
        assert _raw_count(url, case.feed, result["sha256"], ledger_status=case.expect) == 0
        return
    assert result["status"] == "loaded", result
    if case.rows_read is not None:
        assert result["rows_read"] == case.rows_read
    if case.expect == "loaded":
        assert (result["rows_loaded"], result["rows_quarantined"]) == (case.rows_read, 0), _problems(url, result)
    if case.expect == "quarantined":
        assert result["rows_quarantined"] == case.rows_bad
        problems = _problems(url, result)
        named = [p for p in problems if p["rule"] == case.rule and p["column_name"] == case.column]
        assert named, problems
        if case.value is not None:
            assert any(p["value"] == case.value for p in named), named
    for problem in _problems(url, result):
        _assert_message_names_everything(problem, case.fs_name)


def test_the_good_files_beside_the_corpus_loaded_fully(delivered):
    url = delivered["url"]
    for case in corpus.good_files():
        result = delivered["results"][(case.feed, case.name)]
        assert (result["status"], result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (
            "loaded",
            case.rows_read,
            case.rows_read,
            0,
        )
        assert _raw_count(url, case.feed, result["sha256"]) == case.rows_read


def test_hostile_values_are_kept_verbatim_and_nothing_was_executed(delivered):
    url = delivered["url"]
    with psycopg.connect(url) as conn:
        names = {r[0] for r in conn.execute("select name from raw.subjects")}
        reps = {r[0] for r in conn.execute("select legal_rep from raw.subjects")}
        ledger_rows = conn.execute("select count(*) from audit.file_ledger").fetchone()[0]
        big = conn.execute("select max(length(name)) from raw.subjects").fetchone()[0]
        columns = {
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = 'subjects'"
            )
        }
    assert corpus.INJECTION in names
    assert "'; select pg_sleep(30); --" in reps
    assert "银川\x01\x1b[31m红\x7f公司\u202e" in names, "control characters are data, kept as received"
    assert "张\n三" in reps, "a quoted newline stays inside its cell"
    assert big == (1 << 20) // 3 + 1, "the 1 MB name is loaded whole, not cut"
    assert '"; drop table raw.subjects; --' not in columns, "a header from a file never becomes a column"
    assert columns >= {"_file_sha256", "uscc", "name"}
    assert ledger_rows == len(delivered["results"])


def test_a_folder_that_is_no_feed_is_reported_and_never_read(delivered):
    assert unknown_folders(delivered["landing"]) == ["penalty"]
    with psycopg.connect(delivered["url"]) as conn:
        assert (
            conn.execute(
                "select count(*) from audit.file_ledger where file_name = '处罚.csv' or feed = 'penalty'"
            ).fetchone()[0]
            == 0
        )


def test_a_file_name_that_is_not_utf8_is_recorded_not_a_crash(delivered):
    case = next(c for c in delivered["cases"] if isinstance(c.name, bytes))
    assert (case.feed, _shown(case)) not in delivered["crashes"], repr(
        delivered["crashes"].get((case.feed, _shown(case)))
    )
    result = delivered["results"][(case.feed, _shown(case))]
    # Recorded under a name PostgreSQL, JSON and a person can read: no surrogate escapes.
    assert result["file_name"].encode("utf-8") and result["file_name"].startswith("gbk-")
    assert ledger_row(delivered["url"], case.feed, result["file_name"]) is not None
    assert result["status"] in ("loaded", "rejected")
    _assert_accounted(delivered["url"], result)


# --- helpers ---------------------------------------------------------------------------------


def _problems(url: str, result: dict) -> list[dict]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            "select * from audit.quarantine where feed = %s and sha256 = %s order by row_number, id",
            (result["feed"], result["sha256"]),
        )
        return [dict(zip([d.name for d in cur.description], r)) for r in cur.fetchall()]


def _raw_count(url: str, feed: str, sha256: str | None, ledger_status: str = "loaded") -> int:
    if sha256 is None:
        return 0
    if ledger_status == "duplicate":  # the original delivery's rows carry the same sha256
        return 0
    from psycopg import sql

    with psycopg.connect(url) as conn:
        return conn.execute(
            sql.SQL("select count(*) from {} where _file_sha256 = %s").format(sql.Identifier("raw", feed)), (sha256,)
        ).fetchone()[0]


def _assert_accounted(url: str, result: dict) -> None:
    """Rows read = loaded + quarantined: in the result, in the ledger, and in raw vs quarantine."""
    assert result["rows_read"] == result["rows_loaded"] + result["rows_quarantined"], result
    if result["status"] != "loaded":
        return
    with psycopg.connect(url) as conn:
        ledger = conn.execute(
            "select rows_read, rows_loaded, rows_quarantined from audit.file_ledger "
            "where feed = %s and sha256 = %s and status = 'loaded'",
            (result["feed"], result["sha256"]),
        ).fetchone()
        bad_rows = conn.execute(
            "select count(distinct row_number) from audit.quarantine where feed = %s "
            "and sha256 = %s and severity = 'error'",
            (result["feed"], result["sha256"]),
        ).fetchone()[0]
    assert ledger == (result["rows_read"], result["rows_loaded"], result["rows_quarantined"])
    assert _raw_count(url, result["feed"], result["sha256"]) == result["rows_loaded"]
    assert bad_rows == result["rows_quarantined"]


def _assert_message_names_everything(problem: dict, file_name: str) -> None:
    message = problem["message"]
    assert file_name in message, message
    assert f"row {problem['row_number']}" in message, message
    assert problem["column_name"] is None or problem["column_name"] in message, message
    assert f"rule {problem['rule']}" in message, message
    assert repr(problem["value"]) in message or len(problem["value"]) > 1000, message
