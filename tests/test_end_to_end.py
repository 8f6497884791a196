"""`make run` end to end on a small sample, through real Airflow, dbt, GX and PostgreSQL; then again.

The second run must load nothing twice and publish the same tables.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from include.settings import REPO_ROOT
from tests.reliability.warehouse import table_checksums

AS_OF = "2026-06-30"
RUN_TIMEOUT = 1200                   # one `make run` of the 300-subject sample, installs included
SHORT_TIMEOUT = 120                  # `make warehouse-url`
# Longer than every subprocess the test waits for together, so that a hung `make run` ends in
# its own TimeoutExpired (with the command named) before pytest-timeout kills the session.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2 * RUN_TIMEOUT + SHORT_TIMEOUT + 300)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    # A fresh shell's view: none of this session's Airflow/dbt settings or make's own variables.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "WAREHOUSE_URL", "DBT_", "MAKE", "MFLAGS"))}
    env.update({
        "STATE_DIR": str(root / "state"),
        "LANDING_DIR": str(root / "landing"),
        "EXPORT_DIR": str(root / "export"),
        "AS_OF": AS_OF,
        "SAMPLE_SUBJECTS": "300",
        "EMBEDDED_PG_PORT": "57500",
    })
    yield root, env
    subprocess.run(["make", "stop"], cwd=REPO_ROOT, env=env, capture_output=True)


def make(target: str, env: dict, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "--no-print-directory", target], cwd=REPO_ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def warehouse(env) -> str:
    return make("warehouse-url", env, SHORT_TIMEOUT).stdout.strip().splitlines()[-1]


def test_make_run_publishes_then_reruns_without_duplicates(workspace):
    root, env = workspace
    first = make("run", env)
    assert first.returncode == 0, first.stdout[-6000:]
    assert "Feeds (files, rows read = loaded + quarantined)" in first.stdout
    assert "Indicator scorecard" in first.stdout
    assert "financing_penalties_changes" in first.stdout and "since nothing (first publication)" in first.stdout

    out = root / "export" / AS_OF
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("financing_profile.parquet", "financing_profile.csv"):
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == manifest["files"][name]["sha256"]

    url = warehouse(env)
    with psycopg.connect(url) as conn:
        ledger = conn.execute("""select feed, file_name, rows_read, rows_loaded, rows_quarantined, status
                                 from audit.file_ledger""").fetchall()
        assert len({r[0] for r in ledger}) == 11
        for feed, name, read, loaded, quarantined, status in ledger:
            if status == "loaded":
                assert read == loaded + quarantined, (feed, name)
        raw_rows = conn.execute("select count(*) from raw.subjects").fetchone()[0]
        loaded_subjects = conn.execute("""select sum(rows_loaded) from audit.file_ledger
                                          where feed = 'subjects' and status = 'loaded'""").fetchone()[0]
        assert raw_rows == loaded_subjects > 0
        archive = conn.execute("select count(*) from marts.subject_archive").fetchone()[0]
        assert archive > 0
    before = table_checksums(url)

    second = make("run", env)
    assert second.returncode == 0, second.stdout[-6000:]
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw.subjects").fetchone()[0] == raw_rows
        assert conn.execute("select count(*) from audit.file_ledger").fetchone()[0] == len(ledger)
    assert table_checksums(url) == before
    # ... and the same export files, byte for byte (the manifest's timestamps aside).
    for name in ("financing_profile.parquet", "financing_profile.csv"):
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == manifest["files"][name]["sha256"]
