"""The whole pipeline twice on the same inputs and AS_OF: the same published tables, the same export
files (the manifest's timestamps aside), and nothing loaded twice."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

from include import feeds, ingest
from include.sample_data import rates
from tests.reliability import pipeline
from tests.reliability.warehouse import export_digests, table_checksums

pytestmark = pytest.mark.timeout(pipeline.TEST_TIMEOUT)


def test_a_second_run_on_the_same_inputs_publishes_identical_tables_and_files(clean_run, sample_landing, tmp_path):
    url = clean_run["url"]
    with psycopg.connect(url) as conn:
        raw_before = conn.execute("select sum(rows_loaded), count(*) from audit.file_ledger").fetchone()
    second = pipeline.run(url, sample_landing, clean_run["export_dir"], pipeline.AS_OF, tmp_path / "target")

    assert second["published"]["version"] == f"{pipeline.AS_OF.isoformat()}.2", "a new publication was made"
    # Every delivery is recognised as the one already in the ledger (same name, bytes and time):
    # the rescan reports what the first run recorded for it, file by file, and records nothing.
    assert second["files"] == clean_run["outcome"]["files"]
    # The ingest DAGs' hourly scan asks the ledger first: of the files it lists, none is left to load.
    listed = sum(len(ingest.pending_files(f, sample_landing)) for f in feeds.feed_ids())
    pending = {f: ingest.pending_files(f, sample_landing, conninfo=url) for f in feeds.feed_ids()}
    assert listed == len(second["files"]) and pending == {f: [] for f in feeds.feed_ids()}
    with psycopg.connect(url) as conn:
        raw_after = conn.execute("select sum(rows_loaded), count(*) from audit.file_ledger").fetchone()
    assert raw_after == raw_before, "the rescan recorded nothing new and loaded nothing twice"
    assert table_checksums(url) == clean_run["tables"]
    assert export_digests(clean_run["export_dir"], pipeline.AS_OF.isoformat()) == clean_run["files"]


def test_the_reference_run_published_something_worth_comparing(clean_run):
    # deliveries to rescan: every file loaded, but the copies the sample re-delivers under another name
    statuses = Counter(r["status"] for r in clean_run["outcome"]["files"])
    assert set(statuses) == {"loaded", "duplicate"}, statuses
    assert statuses["duplicate"] == len(rates.DUPLICATE_DELIVERIES), statuses
    tables = clean_run["tables"]
    assert {"marts.subject_archive", "marts.indicator_scorecard", "export.financing_profile"} <= set(tables)
    assert tables["marts.subject_archive"][0] == pipeline.SUBJECTS
    assert tables["export.financing_profile"][0] > 0
    # the rerun compares the units' correction workbooks too: there must be some to compare
    assert any(name.startswith("quality/corrections/") for name in clean_run["files"]), sorted(clean_run["files"])
