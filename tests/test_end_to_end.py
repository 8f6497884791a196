"""`make run` end to end on a small sample, through real Airflow, dbt, GX and PostgreSQL; then again.

The first run reaches the warehouse by an external-style `WAREHOUSE_URL` that carries a password
(the embedded server's own, written into the URL as an operator would write an external one); the
second by the embedded default (a password file). The second must load nothing twice and publish
the same tables. Afterwards no row of Airflow's metadata database (serialized DAGs, rendered
template fields, XComs, …), no log file and no output holds the password (docs/spec/DOMAIN.md §8).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from include import embedded_pg
from include.settings import REPO_ROOT
from tests.reliability.warehouse import table_checksums

AS_OF = "2026-06-30"
RUN_TIMEOUT = 1200  # one `make run` of the 300-subject sample, installs included
SHORT_TIMEOUT = 120  # `make warehouse-url`
# Longer than every subprocess the test waits for together, so that a hung `make run` ends in
# its own TimeoutExpired (with the command named) before pytest-timeout kills the session.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2 * RUN_TIMEOUT + 2 * SHORT_TIMEOUT + 300)]


def make(target: str, env: dict, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", target],
        cwd=REPO_ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
    )


def warehouse(env) -> str:
    return make("warehouse-url", env, SHORT_TIMEOUT).stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    root.chmod(0o755)  # the server runs as another user (`pgserver`) when we are root
    state = root / "state"
    # A fresh shell's view: none of this session's Airflow/dbt settings or make's own variables.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "WAREHOUSE_URL", "DBT_", "MAKE", "MFLAGS", "PGPASSFILE"))
    }
    env.update(
        {
            "STATE_DIR": str(state),
            "LANDING_DIR": str(root / "landing"),
            "EXPORT_DIR": str(root / "export"),
            "AS_OF": AS_OF,
            "SAMPLE_SUBJECTS": "300",
            "EMBEDDED_PG_PORT": "57500",
        }
    )
    try:
        embedded_url = warehouse(env)  # starts the server, makes its password
        password = (state / "secrets" / "postgres.password").read_text().strip()
        port = (state / "postgres" / "port").read_text().strip()
        external = {
            **env,
            "WAREHOUSE_URL": f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{port}/warehouse",
        }
        first = make("run", external)
        facts = {"root": root, "state": state, "env": env, "url": embedded_url, "password": password, "first": first}
        if first.returncode == 0:
            facts["before"] = published_state(root, embedded_url)
            facts["second"] = make("run", env)
        yield facts
    finally:
        subprocess.run(["make", "stop"], cwd=REPO_ROOT, env=env, capture_output=True)


def published_state(root: Path, url: str) -> dict:
    out = root / "export" / AS_OF
    manifest = json.loads((out / "manifest.json").read_text())
    with psycopg.connect(url) as conn:
        ledger = conn.execute("""select feed, file_name, rows_read, rows_loaded, rows_quarantined, status
                                 from audit.file_ledger""").fetchall()
        raw_rows = conn.execute("select count(*) from raw.subjects").fetchone()[0]
    return {"manifest": manifest, "ledger": ledger, "raw_rows": raw_rows, "checksums": table_checksums(url)}


def test_make_run_publishes_then_reruns_without_duplicates(runs):
    first = runs["first"]
    assert first.returncode == 0, first.stdout[-6000:]
    assert "Feeds (files, rows read = loaded + quarantined)" in first.stdout
    assert "Indicator scorecard" in first.stdout
    assert "financing_penalties_changes" in first.stdout and "since nothing (first publication)" in first.stdout

    out = runs["root"] / "export" / AS_OF
    before = runs["before"]
    manifest = before["manifest"]
    for name in ("financing_profile.parquet", "financing_profile.csv"):
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == manifest["files"][name]["sha256"]

    url = runs["url"]
    with psycopg.connect(url) as conn:
        ledger = before["ledger"]
        assert len({r[0] for r in ledger}) == 11
        for feed, name, read, loaded, quarantined, status in ledger:
            if status == "loaded":
                assert read == loaded + quarantined, (feed, name)
        loaded_subjects = conn.execute("""select sum(rows_loaded) from audit.file_ledger
                                          where feed = 'subjects' and status = 'loaded'""").fetchone()[0]
        assert before["raw_rows"] == loaded_subjects > 0
        assert conn.execute("select count(*) from marts.subject_archive").fetchone()[0] > 0

    second = runs["second"]
    assert second.returncode == 0, second.stdout[-6000:]
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw.subjects").fetchone()[0] == before["raw_rows"]
        assert conn.execute("select count(*) from audit.file_ledger").fetchone()[0] == len(ledger)
    assert table_checksums(url) == before["checksums"]
    # ... and the same export files, byte for byte (the manifest's timestamps aside).
    for name in ("financing_profile.parquet", "financing_profile.csv"):
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == manifest["files"][name]["sha256"]


def test_no_output_holds_the_password(runs):
    assert runs["first"].returncode == 0, runs["first"].stdout[-6000:]
    # booleans, so that a failure does not print the password itself
    assert (runs["password"] in runs["first"].stdout) is False
    assert (runs["password"] in runs["second"].stdout) is False


def test_no_metadata_row_holds_the_password(runs):
    state = runs["state"]
    port = (state / "postgres" / "port").read_text().strip()
    url = f"postgresql://postgres@127.0.0.1:{port}/airflow?passfile={state / 'secrets' / 'pgpass'}"
    with psycopg.connect(url) as conn:
        serialized = conn.execute("select count(*) from serialized_dag").fetchone()[0]
        dbt_rendered = conn.execute(
            "select count(*) from rendered_task_instance_fields where task_id like 'dbt.%%'"
        ).fetchone()[0]
    assert serialized >= 13 and dbt_rendered > 0, "there is something to look into"
    # Every row of every table, as pg_dump writes them (serialized DAGs, rendered fields, XComs,
    # connections, variables, Cosmos' cache, …).
    dump = subprocess.run(
        [embedded_pg._bin("pg_dump"), "--data-only", "--dbname", url],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "serialized_dag" in dump and len(dump) > 100_000
    leaked = [table.split(" ", 1)[0] for table in dump.split("\nCOPY ")[1:] if runs["password"] in table]
    assert leaked == [], "these tables hold the password"


def test_no_log_file_holds_the_password(runs):
    """Every file under STATE_DIR's logs (the DAG runners' output: every task's log, as
    `airflow dags test` prints it) and Airflow's home (its own logs, dbt's target and logs)."""
    state = runs["state"]
    needle = runs["password"].encode()
    scanned, found = [], []
    for folder in (state / "logs", state / "airflow"):
        for path in folder.rglob("*"):
            if path.is_file():
                scanned.append(path)
                if needle in path.read_bytes():
                    found.append(str(path.relative_to(state)))
    runner_logs = [p for p in scanned if p.parent.parent == state / "logs"]
    text = "".join(p.read_text(errors="replace") for p in runner_logs)
    assert {p.name for p in runner_logs} >= {"ingest-0.log", "ingest-1.log", "transform-publish.log"}
    assert text.count("Pushing xcom") > 20 and "dbt.stg_subjects" in text, "the task logs are there to be read"
    assert found == []
