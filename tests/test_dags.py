"""DAG integrity: every DAG file imports, no cycles, owners, retries and tags set."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from include import airflow_env, feeds, settings


@pytest.fixture(scope="module")
def dagbag(postgres_server):
    # A real Airflow: its metadata database migrated (Cosmos caches the dbt graph in it), the DAG
    # files parsed with the settings they get under the scheduler.
    env = airflow_env.environment()
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    os.environ["WAREHOUSE_URL"] = env["WAREHOUSE_URL"]
    try:
        from airflow.dag_processing.dagbag import DagBag

        yield DagBag(dag_folder=str(airflow_env.settings.REPO_ROOT / "dags"))
    finally:
        os.environ.pop("WAREHOUSE_URL", None)


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}


def test_one_ingest_dag_per_feed_plus_transform_and_publish(dagbag):
    expected = {f"ingest_{f}" for f in feeds.load_contracts()} | {"transform", "publish", "feed_freshness"}
    assert expected <= set(dagbag.dag_ids)
    assert len(feeds.load_contracts()) == 11


# The retry policy (include/run_context.py DEFAULT_ARGS, overridden in the DAG files): a task that
# reads or writes the warehouse or files may meet a transient fault, so it is retried 3 times with
# exponential backoff from 20 s up to 10 min; a gate, the hand-over after it and every dbt node fail
# on facts about the data, which a retry cannot change, so they are not retried.
RETRIED = {
    "prepare_warehouse",
    "find_new_files",
    "load",
    "swap_in",
    "write_exports",
    "analyst_docs",
    "indicator_page",
    "check_feeds",
    "correction_workbooks",
}
NOT_RETRIED = {"check_raw", "announce", "publication_gate", "staging_gate"}
BACKOFF = (3, dt.timedelta(seconds=20), 2.0, dt.timedelta(minutes=10))


def test_owner_tags_and_retry_policy(dagbag):
    seen = set()
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        for t in dag.tasks:
            where = (dag_id, t.task_id)
            assert t.owner == "credit-office-data", where
            kind = "dbt." if t.task_id.startswith("dbt.") else t.task_id
            seen.add(kind)
            if kind == "dbt." or kind in NOT_RETRIED:
                assert t.retries == 0, where
            else:
                assert kind in RETRIED, f"{where}: a new task; decide its retry policy and name it here"
                assert (t.retries, t.retry_delay, t.retry_exponential_backoff, t.max_retry_delay) == BACKOFF, where
    # every task named above exists, so the policy is checked on each
    assert seen == RETRIED | NOT_RETRIED | {"dbt."}


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        dag.check_cycle()  # raises AirflowDagCycleException naming the cycle


def test_loads_are_bounded_by_a_pool_and_retried_with_backoff(dagbag):
    dag = dagbag.get_dag("ingest_penalties")
    load = dag.get_task("load")
    assert load.pool == "warehouse_loads" == settings.LOAD_POOL
    assert load.retries >= 1 and load.retry_exponential_backoff


def test_dbt_test_nodes_do_not_retry(dagbag):
    dag = dagbag.get_dag("transform")
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert dbt_tasks, "the transform renders the dbt project as tasks"
    assert all(t.retries == 0 for t in dbt_tasks)


def test_production_dbt_builds_leave_the_unit_tests_to_ci(dagbag):
    # (an ephemeral model is an empty placeholder task: it runs no dbt)
    dbt_tasks = [
        t
        for t in dagbag.get_dag("transform").tasks
        if t.task_id.startswith("dbt.") and type(t).__name__ != "EmptyOperator"
    ]
    assert len(dbt_tasks) > 10
    assert all((t.env or {}).get("DBT_EXCLUDE_RESOURCE_TYPES") == "unit_test" for t in dbt_tasks)


def test_every_task_alerts_when_it_fails_for_good(dagbag):
    from include import alerts

    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            assert alerts.on_task_failure in callbacks, (dag_id, t.task_id)
