"""Secrets never stored in the clear by Airflow: with an external WAREHOUSE_URL carrying a
password (here the embedded server's own, written into the URL as an external one would be), the
whole pipeline runs through the Airflow DAGs, and then no row of Airflow's metadata database (the
serialized DAGs, the rendered template fields, …) and no log file holds the password."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from include import embedded_pg
from include.settings import REPO_ROOT

RUN_TIMEOUT = 1500
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(RUN_TIMEOUT + 300)]


@pytest.fixture(scope="module")
def external_run():
    # Not under pytest's basetemp: a pytest session started meanwhile (another checkout's) makes
    # /tmp/pytest-of-<user> 0700 again, and a server running as another user (`pgserver`, under
    # root) would lose its way to its data in the middle of this long run.
    root = Path(tempfile.mkdtemp(prefix="credit-secrets-"))
    root.chmod(0o755)
    state = root / "state"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "WAREHOUSE_URL", "DBT_", "MAKE", "MFLAGS", "PGPASSFILE", "PYTEST_"))}
    env.update(STATE_DIR=str(state), LANDING_DIR=str(root / "landing"), EXPORT_DIR=str(root / "export"),
               AS_OF="2026-06-30", SAMPLE_SUBJECTS="60", EMBEDDED_PG_PORT="57660", PYTHONPATH=str(REPO_ROOT))
    start = subprocess.run([sys.executable, "-m", "include.embedded_pg", "start"], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert start.returncode == 0, start.stdout + start.stderr
    password = (state / "secrets" / "postgres.password").read_text().strip()
    port = (state / "postgres" / "port").read_text().strip()
    env["WAREHOUSE_URL"] = f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{port}/warehouse"
    try:
        run = subprocess.run([sys.executable, "-m", "include.pipeline", "run"], cwd=REPO_ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
        yield {"state": state, "password": password, "output": run.stdout, "returncode": run.returncode, "env": env}
    finally:
        subprocess.run([sys.executable, "-m", "include.embedded_pg", "stop"], cwd=REPO_ROOT, check=False,
                       env={**env, "WAREHOUSE_URL": ""}, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def test_the_run_through_airflow_published_with_the_external_url(external_run):
    assert external_run["returncode"] == 0, external_run["output"][-6000:]
    leaked = external_run["password"] in external_run["output"]
    assert not leaked, "the pipeline's output holds the password"


def _metadata_url(state: Path) -> str:
    port = (state / "postgres" / "port").read_text().strip()
    return f"postgresql://postgres@127.0.0.1:{port}/airflow?passfile={state / 'secrets' / 'pgpass'}"


def test_no_metadata_row_holds_the_password(external_run):
    url = _metadata_url(external_run["state"])
    with psycopg.connect(url) as conn:
        serialized = conn.execute("select count(*) from serialized_dag").fetchone()[0]
        rendered = conn.execute("select count(*) from rendered_task_instance_fields").fetchone()[0]
        dbt_rendered = conn.execute("select count(*) from rendered_task_instance_fields "
                                    "where task_id like 'dbt.%%'").fetchone()[0]
    assert serialized >= 13 and rendered > 0 and dbt_rendered > 0, "there is something to look into"
    # Every row of every table, as pg_dump writes them (serialized DAGs, rendered fields, XComs,
    # connections, variables, Cosmos' cache, …).
    dump = subprocess.run([embedded_pg._bin("pg_dump"), "--data-only", "--dbname", url], capture_output=True,
                          text=True, timeout=300, check=True).stdout
    assert "serialized_dag" in dump and len(dump) > 100_000
    # a boolean, so that a failure does not print the password itself
    leaked = [table for table in dump.split("\nCOPY ")[1:] if external_run["password"] in table]
    assert [t.split(" ", 1)[0] for t in leaked] == [], "these tables hold the password"


def test_no_log_file_holds_the_password(external_run):
    """Every file under STATE_DIR's logs (the DAG runners' output: every task's log, as
    `airflow dags test` prints it) and Airflow's home (its own logs, dbt's target and logs)."""
    state = external_run["state"]
    needle = external_run["password"].encode()
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
