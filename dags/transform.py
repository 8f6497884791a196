"""Airflow DAG `transform`: the dbt project as Airflow tasks (Cosmos), then the staging gate.

Scheduled whenever any raw table was loaded (the ingest DAGs' Assets). dbt builds staging,
intermediate and the next publication into `marts_build` / `export_build`, each model followed by
its tests; `AS_OF` comes from the run (conf or params), else today in Asia/Shanghai. On success it
announces the build, which schedules the `publish` DAG.
"""

from __future__ import annotations

from functools import reduce

from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from include import alerts, assets, feeds, quality, settings, warehouse
from include.airflow_env import WAREHOUSE_CONN_ID
from include.run_context import AS_OF_PARAM, DEFAULT_ARGS, START_DATE, as_of_from
from include.transform import PRODUCTION_DBT_ENV, PROFILE_NAME, PROJECT_DIR, TARGET_NAME, dbt_executable

# A task that fails for good (after its retries) alerts the engineers (include/alerts.py).
DAG_DEFAULT_ARGS = {**DEFAULT_ARGS, "on_failure_callback": alerts.on_task_failure}


def resolve_as_of(conf, params) -> str:
    return as_of_from(params, conf).isoformat()


@dag(
    dag_id="transform",
    description="dbt build of archives, evaluation, indicators and export into the build schemas",
    schedule=reduce(lambda a, b: a | b, (assets.raw_asset(f) for f in feeds.load_contracts())),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    # full_refresh: rebuild the incremental models from raw (`dbt build --full-refresh`).
    params={**AS_OF_PARAM, "full_refresh": False},
    user_defined_macros={"resolve_as_of": resolve_as_of},
    tags=["transform", "dbt"],
    doc_md=__doc__,
)
def transform():
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(PROJECT_DIR),
        # The warehouse's credentials from the Airflow connection `credit_warehouse`, which the
        # pipeline gives Airflow in its environment (AIRFLOW_CONN_CREDIT_WAREHOUSE), never stored
        # in the metadata database: nothing here is resolved when the file is parsed, so neither
        # the serialized DAG nor a rendered field holds the password. Cosmos hands it to dbt in an
        # environment variable of the task, and Airflow masks it in the task's log.
        profile_config=ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=TARGET_NAME,
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=WAREHOUSE_CONN_ID,
                profile_args={"schema": "staging", "connect_timeout": 15, "threads": int(settings.dbt_threads())},
            ),
        ),
        # dbt in-process (Cosmos' dbtRunner): a subprocess per task returns dbt's ~8 MB per task
        # to the OS but costs a dbt start-up per task (docs/performance.md, "Memory").
        execution_config=ExecutionConfig(
            dbt_executable_path=dbt_executable(), invocation_mode=InvocationMode.DBT_RUNNER
        ),
        # BUILD: each model is one `dbt build` of itself and its tests (half the dbt invocations of
        # AFTER_EACH); a test spanning several models (relationships) waits for all of them.
        # `dbt ls` on a Cosmos cache miss also in a subprocess, not in every process parsing this file.
        render_config=RenderConfig(
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,
            invocation_mode=InvocationMode.SUBPROCESS,
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={
            "vars": {"as_of": "{{ resolve_as_of(dag_run.conf, params) }}"},
            "full_refresh": "{{ (dag_run.conf or {}).get('full_refresh', params.full_refresh) }}",
            "append_env": True,
            "install_deps": False,
            # dbt's unit tests belong to the test suite and CI: production builds leave them out.
            "env": dict(PRODUCTION_DBT_ENV),
        },
        # A failed dbt model or test is a fact about the data, not a transient fault: no retries.
        default_args={"retries": 0},
    )

    @task(outlets=[assets.build_asset()], retries=0)
    def staging_gate(params=None, dag_run=None) -> dict:
        as_of = as_of_from(params, dag_run.conf if dag_run else None)
        # Only rows loaded since each table's last passing staging gate (docs/quality.md, "Scope"),
        # unless the models were rebuilt from raw: then old rows are new results of new code.
        full_refresh = str(
            ((dag_run.conf if dag_run else None) or {}).get("full_refresh", (params or {}).get("full_refresh", False))
        ).lower() in ("true", "1")
        result = quality.run_gate(
            warehouse.url(),
            "staging",
            as_of,
            settings.export_dir() / as_of.isoformat() / "quality",
            incremental=not full_refresh,
        )
        quality.raise_if_blocked(result)
        return {k: result[k] for k in ("checkpoint", "success", "warnings")}

    dbt >> staging_gate()


transform()
