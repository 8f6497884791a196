"""The whole pipeline twice on the same inputs and AS_OF: the same published tables, the same export
files (the manifest's timestamps aside), and nothing loaded twice."""
from __future__ import annotations

import psycopg
import pytest

from tests.reliability import pipeline
from tests.reliability.warehouse import export_digests, table_checksums

pytestmark = pytest.mark.timeout(300)


def test_a_second_run_on_the_same_inputs_publishes_identical_tables_and_files(clean_run, sample_landing, tmp_path):
    url = clean_run["url"]
    with psycopg.connect(url) as conn:
        raw_before = conn.execute("select sum(rows_loaded), count(*) from audit.file_ledger").fetchone()
    second = pipeline.run(url, sample_landing, clean_run["export_dir"], pipeline.AS_OF, tmp_path / "target")

    assert second["published"]["version"] == f"{pipeline.AS_OF.isoformat()}.2", "a new publication was made"
    assert {r["status"] for r in second["files"]} <= {"loaded", "rejected", "duplicate"}
    with psycopg.connect(url) as conn:
        raw_after = conn.execute("select sum(rows_loaded), count(*) from audit.file_ledger").fetchone()
    assert raw_after == raw_before, "the rescan recorded nothing new and loaded nothing twice"
    assert table_checksums(url) == clean_run["tables"]
    assert export_digests(clean_run["export_dir"], pipeline.AS_OF.isoformat()) == clean_run["files"]


def test_the_reference_run_published_something_worth_comparing(clean_run):
    tables = clean_run["tables"]
    assert {"marts.subject_archive", "marts.indicator_scorecard", "export.financing_profile"} <= set(tables)
    assert tables["marts.subject_archive"][0] == pipeline.SUBJECTS
    assert tables["export.financing_profile"][0] > 0
