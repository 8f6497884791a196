"""Airflow Assets naming the warehouse tables the DAGs hand over to each other.

A `postgres://` Asset URI must have host, port, database, schema and table; they come from the
warehouse URL the DAGs run against, so the lineage the UI shows is the real one.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from airflow.sdk import Asset


def _warehouse_authority() -> tuple[str, str]:
    url = os.environ.get("WAREHOUSE_URL") or "postgresql://localhost:5432/warehouse"
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    database = (parts.path or "/warehouse").lstrip("/") or "warehouse"
    return f"{host}:{port}", database


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
