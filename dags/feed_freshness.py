"""Airflow DAG `feed_freshness`: has every department delivered its feed within its window?

Each feed contract's `freshness:` block says after how many days (by AS_OF) since the latest
delivery a feed is overdue (include/freshness.py); the overdue feeds are reported to the
engineers' webhook (include/alerts.py). The check never fails the run: a late department is a fact
to act on, not a fault of the pipeline.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from include import alerts, freshness, warehouse
from include.run_context import AS_OF_PARAM, DEFAULT_ARGS, START_DATE, as_of_from

# A task that fails for good (after its retries) alerts the engineers (include/alerts.py).
DAG_DEFAULT_ARGS = {**DEFAULT_ARGS, "on_failure_callback": alerts.on_task_failure}


@dag(
    dag_id="feed_freshness",
    description="Alert on feeds not delivered within the window of their contract",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DAG_DEFAULT_ARGS,
    params=AS_OF_PARAM,
    tags=["quality", "alerts"],
    doc_md=__doc__,
)
def feed_freshness():
    @task
    def check_feeds(params=None, dag_run=None) -> dict:
        as_of = as_of_from(params, dag_run.conf if dag_run else None)
        return freshness.check_and_alert(warehouse.url(), as_of)

    check_feeds()


feed_freshness()
