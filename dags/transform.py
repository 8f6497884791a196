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
from cosmos.constants import TestBehavior

from include import assets, feeds, quality, settings
from include.run_context import AS_OF_PARAM, DEFAULT_ARGS, START_DATE, as_of_from
from include.transform import PROFILE_NAME, PROJECT_DIR, TARGET_NAME, dbt_env, dbt_executable


def resolve_as_of(conf, params) -> str:
    return as_of_from(params, conf).isoformat()


@dag(
    dag_id="transform",
    description="dbt build of archives, evaluation, indicators and export into the build schemas",
    schedule=reduce(lambda a, b: a | b, (assets.raw_asset(f) for f in feeds.load_contracts())),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=AS_OF_PARAM,
    user_defined_macros={"resolve_as_of": resolve_as_of},
    tags=["transform", "dbt"],
    doc_md=__doc__,
)
def transform():
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(PROJECT_DIR),
        profile_config=ProfileConfig(profile_name=PROFILE_NAME, target_name=TARGET_NAME,
                                     profiles_yml_filepath=PROJECT_DIR / "profiles.yml"),
        execution_config=ExecutionConfig(dbt_executable_path=dbt_executable()),
        # BUILD: each model is one `dbt build` of itself and its tests (half the dbt invocations of
        # AFTER_EACH); a test spanning several models (relationships) waits for all of them.
        render_config=RenderConfig(test_behavior=TestBehavior.BUILD, emit_datasets=False,
                                   should_detach_multiple_parents_tests=True,
                                   env_vars=dbt_env(settings.warehouse_url())),
        operator_args={
            "vars": {"as_of": "{{ resolve_as_of(dag_run.conf, params) }}"},
            "env": dbt_env(settings.warehouse_url()),
            "append_env": True,
            "install_deps": False,
        },
        # A failed dbt model or test is a fact about the data, not a transient fault: no retries.
        default_args={"retries": 0},
    )

    @task(outlets=[assets.build_asset()], retries=0)
    def staging_gate(params=None, dag_run=None) -> dict:
        as_of = as_of_from(params, dag_run.conf if dag_run else None)
        result = quality.run_gate(settings.warehouse_url(), "staging", as_of,
                                  settings.export_dir() / as_of.isoformat() / "quality")
        quality.raise_if_blocked(result)
        return {k: result[k] for k in ("checkpoint", "success", "warnings")}

    dbt >> staging_gate()


transform()
