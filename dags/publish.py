"""Airflow DAG `publish`: the publication gate, the atomic swap, the exports, the docs, the
indicator page.

Scheduled when the transform has built and gated the next publication. A failed blocking
expectation fails the run here: analysts and lenders keep the previous publication untouched.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from include import alerts, assets, export, quality, settings, transform, warehouse, workbooks
from include import publish as publication
from include.reports import indicator_page as indicator_report
from include.run_context import AS_OF_PARAM, DEFAULT_ARGS, START_DATE, as_of_from

# A task that fails for good (after its retries) alerts the engineers (include/alerts.py).
DAG_DEFAULT_ARGS = {**DEFAULT_ARGS, "on_failure_callback": alerts.on_task_failure}


def _as_of(params, dag_run):
    return as_of_from(params, dag_run.conf if dag_run else None)


@dag(
    dag_id="publish",
    description="Gate the build, swap it into marts/export atomically, write the export files",
    schedule=[assets.build_asset()],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    params=AS_OF_PARAM,
    tags=["publish", "quality"],
    doc_md=__doc__,
)
def publish():
    @task(retries=0)
    def publication_gate(params=None, dag_run=None) -> dict:
        as_of = _as_of(params, dag_run)
        result = quality.run_gate(
            warehouse.url(), "publication", as_of, settings.export_dir() / as_of.isoformat() / "quality"
        )
        quality.raise_if_blocked(result)
        return result

    @task
    def swap_in(gate: dict, params=None, dag_run=None) -> dict:
        publication.ensure_roles(warehouse.url())
        return publication.publish(warehouse.url(), _as_of(params, dag_run), [gate])

    @task(outlets=[assets.published_asset()])
    def write_exports(published: dict, params=None, dag_run=None) -> dict:
        as_of = _as_of(params, dag_run)
        return export.write_exports(warehouse.url(), as_of, settings.export_dir(), published["version"])

    @task
    def analyst_docs(params=None, dag_run=None) -> str:
        as_of = _as_of(params, dag_run)
        return str(transform.write_docs(warehouse.url(), as_of, settings.export_dir() / as_of.isoformat() / "dbt-docs"))

    @task
    def correction_workbooks(published: dict, params=None, dag_run=None) -> dict:
        # one workbook per data-source unit with problems, from the tables just published
        as_of = _as_of(params, dag_run)
        return workbooks.write_workbooks(warehouse.url(), as_of, workbooks.workbooks_folder(as_of))

    @task
    def indicator_page(params=None, dag_run=None) -> str:
        """The publication's indicator page (scorecard, trend, per-unit bars) beside the docs."""
        return str(indicator_report.write_page(warehouse.url(), _as_of(params, dag_run), settings.export_dir()))

    published = swap_in(publication_gate())
    write_exports(published)
    correction_workbooks(published)
    published >> [analyst_docs(), indicator_page()]


publish()
