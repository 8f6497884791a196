"""The publication gate blocks or lets through; publishing and exporting follow only a clean gate.

One scratch database, in order: a first clean publication with its export files; a build with a
duplicate key and one with a clear-text identity number, both refused with everything published
left as it was; then a build that only trips a warning, which is published.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import psycopg
import pyarrow.parquet as pq
import pytest

from include import export, publish, quality, summary
from tests.publish import builders

AS_OF = dt.date(2026, 6, 30)


def file_hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.*")) if p.is_file()}


@pytest.fixture(scope="module")
def first(scratch_db, tmp_path_factory):
    """A clean build, gated, published and exported."""
    export_dir = tmp_path_factory.mktemp("export")
    builders.build(scratch_db, AS_OF, enterprises=5)
    gate = quality.run_gate(scratch_db, "publication", AS_OF, export_dir / AS_OF.isoformat() / "quality")
    published = publish.publish(scratch_db, AS_OF, [gate])
    files = export.write_exports(scratch_db, AS_OF, export_dir, published["version"])
    return {"gate": gate, "published": published, "files": files, "export_dir": export_dir}


def test_clean_build_passes_every_blocking_expectation(first, scratch_db):
    gate = first["gate"]
    assert gate["success"], gate["blocking_failures"]
    assert gate["blocking_failures"] == []
    assert {r["table"] for r in gate["results"]} >= {"marts_build.subject_archive", "export_build.financing_profile"}
    assert {r["severity"] for r in gate["results"]} == {"blocking", "warning"}
    with psycopg.connect(scratch_db) as conn:
        recorded = conn.execute(
            "select count(*), bool_and(success) from audit.gate_results where run_id = %s", (gate["run_id"],)
        ).fetchone()
    assert recorded == (len(gate["results"]), True)
    docs = first["export_dir"] / AS_OF.isoformat() / "quality" / "publication" / "index.html"
    assert gate["docs_path"] == str(docs) and docs.stat().st_size > 0


def test_publish_swaps_the_build_in_and_logs_it(first, scratch_db):
    published = first["published"]
    assert published["version"] == "2026-06-30.1"
    assert published["row_counts"]["marts.subject_archive"] == 7
    assert published["row_counts"]["export.financing_profile"] == 5
    with psycopg.connect(scratch_db) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
        log = conn.execute(
            "select as_of, row_counts, gate_results from audit.publication_log where version = %s",
            (published["version"],),
        ).fetchone()
    assert {"marts", "export"} <= schemas and not {"marts_build", "export_build"} & schemas
    assert log[0] == AS_OF and log[1] == published["row_counts"]
    assert log[2][0]["checkpoint"] == "publication" and log[2][0]["success"] is True


def test_export_files_match_the_published_table_and_manifest(first, scratch_db):
    out = first["export_dir"] / AS_OF.isoformat()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    with psycopg.connect(scratch_db) as conn:
        rows = conn.execute(
            "select uscc, credit_grade, credit_score, as_of from export.financing_profile order by uscc"
        ).fetchall()
    assert manifest["row_count"] == len(rows) == 5
    assert manifest["publication_version"] == first["published"]["version"]
    assert manifest["gate_results"][0]["run_id"] == first["gate"]["run_id"]
    assert [c["name"] for c in manifest["columns"]][:2] == ["uscc", "subject_name"]
    for name, meta in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == meta["sha256"]

    table = pq.read_table(out / "financing_profile.parquet").to_pylist()
    assert [(r["uscc"], r["credit_grade"], r["credit_score"], r["as_of"]) for r in table] == rows

    raw = (out / "financing_profile.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["uscc"] for r in parsed] == [r[0] for r in rows]
    assert parsed[0]["subject_name"] == "宁夏测试企业0有限公司"
    assert not list(out.glob(".*.tmp-*"))


def test_rerun_gives_identical_files(first, scratch_db):
    out = first["export_dir"] / AS_OF.isoformat()
    before = file_hashes(out)
    export.write_exports(scratch_db, AS_OF, first["export_dir"], first["published"]["version"])
    assert file_hashes(out) == before


def test_export_refuses_a_version_that_is_not_the_published_one(first, scratch_db, tmp_path):
    with pytest.raises(export.ExportError, match="not '2026-06-30.9'"):
        export.write_exports(scratch_db, AS_OF, tmp_path, "2026-06-30.9")
    assert not list(tmp_path.iterdir())


def test_publish_refuses_without_a_publication_gate(first, scratch_db):
    builders.build(scratch_db, AS_OF, enterprises=5)
    with pytest.raises(publish.PublicationRefused, match="publication gate did not run"):
        publish.publish(scratch_db, AS_OF, [])
    staging_only = {
        "checkpoint": "staging",
        "as_of": AS_OF.isoformat(),
        "success": True,
        "blocking_failures": [],
        "warnings": [],
        "results": [],
    }
    with pytest.raises(publish.PublicationRefused):
        publish.publish(scratch_db, AS_OF, [staging_only])


def _assert_nothing_changed(first, scratch_db, published_before, files_before):
    assert builders.count(scratch_db, "marts", "subject_archive") == 7
    assert builders.count(scratch_db, "export", "financing_profile") == 5
    with psycopg.connect(scratch_db) as conn:
        versions = [r[0] for r in conn.execute("select version from audit.publication_log order by 1")]
        assert conn.execute("select to_regclass('marts_build.subject_archive') is not null").fetchone()[0]
    assert versions == published_before
    assert file_hashes(first["export_dir"] / AS_OF.isoformat()) == files_before


@pytest.mark.parametrize(
    "breakage, table, column",
    [
        # a duplicate key in a mart
        (
            "insert into marts_build.subject_archive select * from marts_build.subject_archive limit 1",
            "marts_build.subject_archive",
            "uscc",
        ),
        # a clear-text resident identity number (valid check digit) in an export text column
        (
            "update export_build.financing_profile set subject_name = '法人 ' || %(pid)s "
            "where uscc = (select min(uscc) from export_build.financing_profile)",
            "export_build.financing_profile",
            None,
        ),
        # a grade outside A–D
        (
            "update marts_build.subject_archive set credit_grade = 'E' where subject_type = '个体工商户'",
            "marts_build.subject_archive",
            "credit_grade",
        ),
    ],
)
def test_blocking_failure_blocks_and_leaves_the_publication_as_it_was(first, scratch_db, breakage, table, column):
    out = first["export_dir"] / AS_OF.isoformat()
    files_before = file_hashes(out)
    builders.build(scratch_db, AS_OF, enterprises=5)
    with psycopg.connect(scratch_db) as conn:
        conn.execute(breakage, {"pid": builders.resident_id("64010219800101123")})
    gate = quality.run_gate(scratch_db, "publication", AS_OF, out / "quality")

    assert not gate["success"]
    assert any(f["table"] == table and f["column"] == column for f in gate["blocking_failures"]), gate[
        "blocking_failures"
    ]
    with pytest.raises(quality.GateBlocked, match=table):
        quality.raise_if_blocked(gate)
    with pytest.raises(publish.PublicationRefused, match="blocking failure"):
        publish.publish(scratch_db, AS_OF, [gate])
    _assert_nothing_changed(first, scratch_db, ["2026-06-30.1"], files_before)
    # The run's summary says the gate failed and what failed, without opening any log.
    with psycopg.connect(scratch_db) as conn:
        lines = summary.gate_lines(conn, AS_OF)
    assert any(line.split()[:2] == ["publication", "FAILED"] for line in lines), lines
    assert any(line.strip().startswith(f"blocking: publication {table}") for line in lines), lines


def test_digit_runs_that_are_not_identity_numbers_pass(first, scratch_db):
    builders.build(scratch_db, AS_OF, enterprises=5)
    not_an_id = builders.resident_id("64010219800101123")[:-1] + "0"  # wrong check digit
    assert not_an_id != builders.resident_id("64010219800101123")
    with psycopg.connect(scratch_db) as conn:
        conn.execute("update export_build.financing_profile set subject_name = %s", (f"合同号{not_an_id}",))
    gate = quality.run_gate(
        scratch_db, "publication", AS_OF, first["export_dir"] / "q", tables=["export_build.financing_profile"]
    )
    assert gate["success"], gate["blocking_failures"]


def test_warning_does_not_block(first, scratch_db):
    # One more enterprise: +20 % rows in the export, past the 10 % warning band, inside the 50 % one.
    builders.build(scratch_db, AS_OF, enterprises=6)
    gate = quality.run_gate(scratch_db, "publication", AS_OF, first["export_dir"] / AS_OF.isoformat() / "quality")
    assert gate["success"], gate["blocking_failures"]
    band = [
        w
        for w in gate["warnings"]
        if w["table"] == "export_build.financing_profile" and w["expectation"] == "expect_table_row_count_to_be_between"
    ]
    assert band and band[0]["observed"]["observed_value"] == 6
    assert band[0]["observed"]["compared_with"]["previous_row_count"] == 5

    published = publish.publish(scratch_db, AS_OF, [gate])
    assert published["version"] == "2026-06-30.2"
    assert builders.count(scratch_db, "export", "financing_profile") == 6
    manifest = export.write_exports(scratch_db, AS_OF, first["export_dir"], published["version"])
    assert manifest["row_count"] == 6 and manifest["gate_results"][0]["warnings"]
