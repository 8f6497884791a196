"""Ingestion: files delivered in LANDING/<feed>/ → raw.<feed>, with audit.file_ledger and audit.quarantine.

Public entry points (used by the Airflow DAGs and `python -m include.ingest`):

    ensure_schemas(conninfo)                                   # raw + audit tables, idempotent
    pending_files(feed, landing_dir=None) -> list[str]         # file names in LANDING/<feed>/
    unknown_folders(landing_dir=None) -> list[str]             # folders that are not a feed
    load_file(conninfo, feed, file_name, landing_dir=None) -> dict
    ingest_all(conninfo, landing_dir=None, feeds=None) -> list[dict]
"""

from __future__ import annotations

from pathlib import Path

from include.ingest.landing import pending_files, unknown_folders
from include.ingest.load import load_file
from include.ingest.schema import ensure_schemas

__all__ = ["ensure_schemas", "pending_files", "unknown_folders", "load_file", "ingest_all"]


def ingest_all(conninfo: str, landing_dir: Path | None = None, feeds: list[str] | None = None) -> list[dict]:
    """Load every pending file of every feed (or of `feeds`); one result dict per file."""
    from include import feeds as feed_contracts

    ensure_schemas(conninfo)
    results = []
    for feed in feeds or feed_contracts.feed_ids():
        for name in pending_files(feed, landing_dir):
            results.append(load_file(conninfo, feed, name, landing_dir))
    return results
