"""The environment every Airflow command of this project runs with.

One place, so `make run`, `make airflow` and the tests start Airflow the same way: its home and
metadata under STATE_DIR (PostgreSQL, not SQLite), our DAGs only, no telemetry to the internet.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from include import settings, warehouse

# The Airflow connection the transform DAG's dbt tasks read the warehouse's credentials from.
WAREHOUSE_CONN_ID = "credit_warehouse"


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
    env.update(
        {
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
        }
    )
    if not env.get("WAREHOUSE_URL"):
        env["WAREHOUSE_URL"] = warehouse.url()
    from include.transform import dbt_env

    env.update(dbt_env(env["WAREHOUSE_URL"]))
    # The connection exists only in the environment of Airflow's processes (Airflow reads
    # AIRFLOW_CONN_* there first and never writes it to its metadata database).
    env[f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}"] = warehouse_connection_uri(env["WAREHOUSE_URL"])
    return env


def warehouse_connection_uri(conninfo: str) -> str:
    """The Airflow connection URI (type postgres) of a libpq URL. Cosmos' profile mapping wants a
    password: the URL's own, else the one its libpq password file (`passfile=`, the embedded
    server's) holds for its host, port and user."""
    from urllib.parse import quote

    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    host = str(params.get("host") or "127.0.0.1")
    port = str(params.get("port") or "5432")
    user = str(params.get("user") or os.environ.get("PGUSER") or "postgres")
    password = (
        params.get("password")
        or _from_passfile(str(params.get("passfile") or os.environ.get("PGPASSFILE") or ""), host, port, user)
        or ""
    )
    dbname = str(params.get("dbname") or "warehouse")
    return f"postgres://{quote(user, safe='')}:{quote(str(password), safe='')}@{host}:{port}/{quote(dbname, safe='')}"


def _from_passfile(path: str | None, host: str, port: str, user: str) -> str | None:
    if not path or not Path(path).is_file():
        return None
    for line in Path(path).read_text().splitlines():
        fields = line.split(":", 4)
        if len(fields) == 5 and all(f in ("*", want) for f, want in zip(fields[:4], (host, port, fields[2], user))):
            return fields[4]
    return None
