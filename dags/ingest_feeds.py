"""Airflow ingest DAGs, one per feed contract in include/feeds/ (`ingest_<feed>`).

Each run finds the files of its feed not yet in the ledger, loads them in parallel (one mapped
task per file, bounded by the `warehouse_loads` pool), validates the raw table with the `raw`
quality gate and, when anything new was loaded and the gate passed, announces the `raw.<feed>`
Asset that schedules the transform. Adding a feed is a contract file: no DAG code.
"""

from __future__ import annotations

import logging

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException

from include import alerts, assets, feeds, ingest, quality, settings, warehouse
from include.run_context import AS_OF_PARAM, DEFAULT_ARGS, START_DATE, as_of_from

log = logging.getLogger(__name__)

# A task that fails for good (after its retries) alerts the engineers (include/alerts.py).
DAG_DEFAULT_ARGS = {**DEFAULT_ARGS, "on_failure_callback": alerts.on_task_failure}


def ingest_dag(feed_id: str):
    contract = feeds.get(feed_id)

    @dag(
        dag_id=f"ingest_{feed_id}",
        description=f"Load new deliveries of {contract.title} into raw.{feed_id}",
        schedule="@hourly",
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DAG_DEFAULT_ARGS,
        tags=["ingest", feed_id],
        params=AS_OF_PARAM,
        doc_md=__doc__,
    )
    def ingest_feed():
        @task
        def prepare_warehouse() -> None:
            ingest.schema.ensure_schemas(warehouse.url())

        @task
        def find_new_files() -> list[str]:
            return ingest.pending_files(feed_id, conninfo=warehouse.url())

        @task(pool=settings.LOAD_POOL, map_index_template="{{ file_name }}")
        def load(file_name: str) -> dict:
            return ingest.load_file(warehouse.url(), feed_id, file_name)

        @task(retries=0)
        def check_raw(results: list[dict], params=None, dag_run=None) -> list[dict]:
            """The raw gate on the rows of the files this run loaded; a blocking failure stops the
            hand-over. Files of earlier runs were validated (and reported) by their own run."""
            as_of = as_of_from(params, dag_run.conf if dag_run else None)
            loaded = [r["sha256"] for r in results if r["status"] == "loaded" and r.get("sha256")]
            if loaded:
                ingest.schema.analyze_feed(warehouse.url(), feed_id)
            docs = settings.export_dir() / as_of.isoformat() / "quality" / "feeds" / feed_id
            table = f"raw.{feed_id}"
            gate = quality.run_gate(
                warehouse.url(), "raw", as_of, docs, tables=[table], scope={table: {"_file_sha256": loaded}}
            )
            quality.raise_if_blocked(gate)
            return list(results)

        @task(outlets=[assets.raw_asset(feed_id)], retries=0)
        def announce(results: list[dict]) -> dict:
            for r in results:
                log.info(
                    "%s: %s read=%s loaded=%s quarantined=%s %s",
                    r["file_name"],
                    r["status"],
                    r["rows_read"],
                    r["rows_loaded"],
                    r["rows_quarantined"],
                    r.get("reason") or "",
                )
            loaded = sum(r["rows_loaded"] for r in results if r["status"] == "loaded")
            if not any(r["status"] == "loaded" for r in results):
                # Nothing new: no Asset event, so the transform is not woken for nothing.
                raise AirflowSkipException(f"no new {feed_id} deliveries")
            return {"feed": feed_id, "files": len(results), "rows_loaded": loaded}

        files = find_new_files()
        prepare_warehouse() >> files
        announce(check_raw(load.expand(file_name=files)))

    return ingest_feed()


for _feed_id in feeds.load_contracts():
    globals()[f"ingest_{_feed_id}"] = ingest_dag(_feed_id)
