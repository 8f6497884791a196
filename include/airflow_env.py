"""The environment every Airflow command of this project runs with.

One place, so `make run`, `make airflow` and the tests start Airflow the same way: its home and
metadata under STATE_DIR (PostgreSQL, not SQLite), our DAGs only, no telemetry to the internet.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from include import settings


def metadata_url() -> str:
    """SQLAlchemy URL of Airflow's metadata database."""
    explicit = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if explicit:
        return explicit
    from include import embedded_pg

    return embedded_pg.url("airflow").replace("postgresql://", "postgresql+psycopg2://", 1)


def environment(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    root = str(settings.REPO_ROOT)
    home = settings.state_dir() / "airflow"
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": env.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url(),
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "180",
        "AIRFLOW__API__PORT": env.get("AIRFLOW_PORT", "8080"),
        # A credit office's platform must not phone home.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        # Airflow is not the warehouse's gatekeeper for paths: keep our settings absolute.
        "STATE_DIR": str(settings.state_dir()),
        "LANDING_DIR": str(settings.landing_dir()),
        "EXPORT_DIR": str(settings.export_dir()),
        "PYTHONPATH": os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p),
        # glibc gives each thread that allocates its own arena (up to 8 per core) and returns little
        # of them: the DAG runners' threads (execution API, COPY pipeline, GX) kept freed memory
        # as RSS. Two arenas: the same speed here, a smaller high-water mark (docs/performance.md).
        "MALLOC_ARENA_MAX": env.get("MALLOC_ARENA_MAX", "2"),
        # Airflow starts its own components (`airflow standalone`, task runners) by name.
        "PATH": os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH", "")) if p),
    })
    if not env.get("WAREHOUSE_URL"):
        env["WAREHOUSE_URL"] = settings.warehouse_url()
    from include.transform import dbt_env

    env.update(dbt_env(env["WAREHOUSE_URL"]))
    return env
