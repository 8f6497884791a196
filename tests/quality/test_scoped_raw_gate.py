"""The raw gate scoped to the files one ingest run loaded (real loads, real GX, real PostgreSQL).

In order, on one database: file A loaded and gated; file B loaded with a row the ingest should
have refused (planted afterwards) — B's gate blocks and names it; file C loaded later — C's gate
passes although B's bad row is still in the table (it was reported by B's run); a run that loaded
nothing does not scan the table.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from include import quality
from include.ingest.load import load_file
from include.quality.scope import ScopeError
from tests.publish.builders import uscc

AS_OF = dt.date(2026, 6, 30)
HEADER = (
    "统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,登记状态,注销日期,行政区划代码,行业代码,注册资本（万元）"
)


def deliver(conninfo: str, landing, name: str, first: int, count: int = 3) -> str:
    """Write and load one subjects file; return its sha256."""
    rows = [HEADER] + [
        f"{uscc(f'91640100MA{i:07d}')},银川测试{i}有限公司,企业,李四,2020-01-0{1 + i % 9},存续,,640104,C13,100"
        for i in range(first, first + count)
    ]
    (landing / "subjects" / name).write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    outcome = load_file(conninfo, "subjects", name, landing)
    assert outcome["status"] == "loaded" and outcome["rows_loaded"] == count, outcome
    return outcome["sha256"]


def gate(conninfo: str, docs, files: list[str] | None):
    scope = None if files is None else {"raw.subjects": {"_file_sha256": files}}
    return quality.run_gate(conninfo, "raw", AS_OF, docs, tables=["raw.subjects"], scope=scope)


def with_lock_timeout(conninfo: str) -> str:
    """The same database, but any lock wait fails after 2 s instead of hanging the test."""
    return psycopg.conninfo.make_conninfo(conninfo, options="-c lock_timeout=2000")


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("landing")
    (folder / "subjects").mkdir()
    return folder


@pytest.fixture(scope="module")
def files(scratch_db, landing):
    return {"A": deliver(scratch_db, landing, "a.csv", 0)}


def test_a_run_validates_only_its_own_files(scratch_db, files, tmp_path):
    result = gate(scratch_db, tmp_path, [files["A"]])
    assert result["success"], result["blocking_failures"]
    not_null = [
        r
        for r in result["results"]
        if r["expectation"] == "expect_column_values_to_not_be_null" and r["column"] == "uscc"
    ]
    assert not_null[0]["observed"]["element_count"] == 3
    assert not_null[0]["observed"]["scope"] == {"rows": "scoped", "_file_sha256": [files["A"]]}


def test_a_bad_row_in_the_new_file_blocks_and_is_named(scratch_db, files, landing, tmp_path):
    files["B"] = deliver(scratch_db, landing, "b.csv", 10)
    with psycopg.connect(scratch_db) as conn:  # what the ingest should have refused
        conn.execute(
            "update raw.subjects set subject_type = '公司' where _file_sha256 = %s and _row_number = 3", (files["B"],)
        )
    result = gate(scratch_db, tmp_path, [files["B"]])
    assert not result["success"]
    (failure,) = [f for f in result["blocking_failures"] if f["column"] == "subject_type"]
    assert failure["observed"]["unexpected_count"] == 1
    assert failure["observed"]["partial_unexpected_list"] == ["公司"]
    assert failure["observed"]["scope"]["_file_sha256"] == [files["B"]]


def test_an_old_files_bad_row_does_not_fail_a_later_run(scratch_db, files, landing, tmp_path):
    files["C"] = deliver(scratch_db, landing, "c.csv", 20)
    later = gate(scratch_db, tmp_path, [files["C"]])
    assert later["success"], later["blocking_failures"]
    # ... while the row is still there and the whole-table gate still sees it (B's run reported it).
    whole = gate(scratch_db, tmp_path, None)
    assert {f["column"] for f in whole["blocking_failures"]} == {"subject_type"}
    with psycopg.connect(scratch_db) as conn:
        reported = conn.execute(
            "select count(*) from audit.gate_results where checkpoint = 'raw' and column_name = 'subject_type' "
            "and not success and observed -> 'scope' -> '_file_sha256' ? %s",
            (files["B"],),
        ).fetchone()[0]
    assert reported == 1


def test_an_empty_load_skips_validation_without_reading_the_table(scratch_db, files, tmp_path):
    # Someone holds the table exclusively: any read of it would wait, then fail on lock_timeout.
    with psycopg.connect(scratch_db) as holder:
        holder.execute("lock table raw.subjects in access exclusive mode")
        result = gate(with_lock_timeout(scratch_db), tmp_path, [])
        assert result["success"], result["blocking_failures"]
        (only,) = result["results"]
        assert only["expectation"] == "rows_in_scope" and only["observed"]["skipped"] is True
        # The probe can see a read: a scoped gate does read the table, and here stops on the lock.
        with pytest.raises(Exception, match="lock timeout"):
            gate(with_lock_timeout(scratch_db), tmp_path, [files["A"]])


def test_uniqueness_of_rows_within_a_file_is_judged_on_the_scoped_rows(scratch_db, files, tmp_path):
    with psycopg.connect(scratch_db) as conn:
        conn.execute(
            "insert into raw.subjects select * from raw.subjects where _file_sha256 = %s and _row_number = 2",
            (files["C"],),
        )
    result = gate(scratch_db, tmp_path, [files["C"]])
    failed = {f["expectation"] for f in result["blocking_failures"]}
    assert failed == {"expect_compound_columns_to_be_unique"}
    with psycopg.connect(scratch_db) as conn:
        conn.execute(
            "delete from raw.subjects where ctid = (select max(ctid) from raw.subjects "
            "where _file_sha256 = %s and _row_number = 2)",
            (files["C"],),
        )


@pytest.mark.parametrize("bad", [["ABC"], ["'; drop table raw.subjects; --"], "f" * 64, [("a" * 63) + "G"]])
def test_a_scope_that_is_not_a_list_of_sha256_is_refused(scratch_db, bad, tmp_path):
    with pytest.raises(ScopeError):
        gate(scratch_db, tmp_path, bad)


def test_a_scope_for_a_table_outside_the_gate_is_refused(scratch_db, tmp_path):
    with pytest.raises(ValueError, match="does not check"):
        quality.run_gate(
            scratch_db, "raw", AS_OF, tmp_path, tables=["raw.subjects"], scope={"raw.tax": {"_file_sha256": []}}
        )
