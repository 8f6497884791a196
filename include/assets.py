"""Airflow Assets naming the warehouse tables the DAGs hand over to each other.

A `postgres://` Asset URI must have host, port, database, schema and table; they come from the
warehouse URL the DAGs run against, so the lineage the UI shows is the real one.
"""

from __future__ import annotations

import os

from airflow.sdk import Asset
from psycopg.conninfo import conninfo_to_dict


def _warehouse_authority() -> tuple[str, str]:
    """host:port and database of WAREHOUSE_URL, a libpq URL or `key=value` string (no password
    is read): a socket directory as host names no host, so it stands as localhost."""
    params = conninfo_to_dict(os.environ.get("WAREHOUSE_URL") or "postgresql://localhost:5432/warehouse")
    host = str(params.get("host") or "localhost")
    host = "localhost" if host.startswith("/") else host
    return f"{host}:{params.get('port') or 5432}", str(params.get("dbname") or "warehouse")


def table_asset(schema: str, table: str) -> Asset:
    authority, database = _warehouse_authority()
    return Asset(name=f"{schema}.{table}", uri=f"postgres://{authority}/{database}/{schema}/{table}")


def raw_asset(feed: str) -> Asset:
    return table_asset("raw", feed)


# The transform hands the gated build (marts_build + export_build) to the publish DAG.
BUILD_ASSET_TABLE = ("marts_build", "subject_archive")


def build_asset() -> Asset:
    return table_asset(*BUILD_ASSET_TABLE)


def published_asset() -> Asset:
    return table_asset("export", "financing_profile")
