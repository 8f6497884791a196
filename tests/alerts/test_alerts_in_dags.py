"""Alerts from real Airflow DAG runs (include/dag_runner.py, the way `make run` runs the DAGs):
a blocked publication gate and a task that fails for good each reach a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from include import airflow_env, alerts
from include.pipeline import runner_command
from include.settings import REPO_ROOT
from tests.alerts.webhook import robot
from tests.publish import builders

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def airflow_ready(postgres_server):
    """Airflow's metadata migrated and the DAGs serialized, as `make run` leaves them."""
    env = airflow_env.environment()
    airflow = str(Path(sys.executable).parent / "airflow")
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run([airflow, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return env


def run_dag(
    env: dict, url: str, export_dir: Path, webhook: str, dag_id: str, conf: dict
) -> subprocess.CompletedProcess:
    env = {
        **env,
        "WAREHOUSE_URL": url,
        "EXPORT_DIR": str(export_dir),
        alerts.URL_ENV: webhook,
        alerts.KIND_ENV: "wecom",
    }
    env.pop(alerts.SECRET_ENV, None)
    return subprocess.run(
        runner_command([dag_id], json.dumps(conf), stop_on_failure=False),
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def logged(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select kind, subject, status from audit.alert_log order by id").fetchall()


def test_a_blocked_publication_gate_alerts_with_its_failed_expectations(airflow_ready, scratch_db, tmp_path):
    builders.build(scratch_db, AS_OF, enterprises=5)
    with psycopg.connect(scratch_db) as conn:  # a subject twice: the archive's key is not unique
        conn.execute("insert into marts_build.subject_archive select * from marts_build.subject_archive limit 1")
    with robot() as server:
        out = run_dag(airflow_ready, scratch_db, tmp_path, server.url, "publish", {"as_of": AS_OF.isoformat()})
    assert out.returncode == 1, out.stderr[-3000:]
    assert "dag publish failed" in out.stderr
    # one alert, the gate's: the task's own failure callback leaves it to the gate's more precise one
    assert len(server.received) == 1, [r["body"] for r in server.received]
    content = server.received[0]["body"]["markdown"]["content"]
    assert content.startswith("### 【信用平台】质量门 publication 阻断 (AS_OF 2026-06-30)\n")
    assert (
        "- publication.marts_build.subject_archive: marts_build.subject_archive.uscc — "
        "expect_column_values_to_be_unique"
    ) in content
    assert logged(scratch_db) == [("quality_gate", "gate publication", "sent")]
    with psycopg.connect(scratch_db) as conn:  # nothing was published
        assert conn.execute("select to_regclass('marts.subject_archive')").fetchone()[0] is None


def test_a_task_that_fails_for_good_alerts_through_its_callback(airflow_ready, scratch_db, tmp_path):
    with psycopg.connect(scratch_db) as conn:
        conn.execute("truncate audit.alert_log")
    with robot() as server:
        # publication_gate is not retried; an impossible date fails it at once
        out = run_dag(airflow_ready, scratch_db, tmp_path, server.url, "publish", {"as_of": "2026-02-30"})
    assert out.returncode == 1, out.stderr[-3000:]
    assert len(server.received) == 1, [r["body"] for r in server.received]
    content = server.received[0]["body"]["markdown"]["content"]
    assert content.startswith("### 【信用平台】任务失败 publish.publication_gate\n")
    assert "- ValueError: as_of='2026-02-30' is not a date (YYYY-MM-DD)" in content
    assert logged(scratch_db) == [("task_failed", "publish.publication_gate", "sent")]
