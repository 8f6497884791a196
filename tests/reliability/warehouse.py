"""Helpers shared by the reliability tests: databases of their own, and checksums of what is published."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.scratch_db import scratch_database

PUBLISHED = ("marts", "export")
EXPORT_FILES = ("financing_profile.parquet", "financing_profile.csv")


def database(server_url: str, prefix: str = "rel"):
    """A fresh database on the server of `server_url`; yields its URL, dropped afterwards."""
    return scratch_database(server_url, prefix)


def table_checksums(url: str, schemas: tuple[str, ...] = PUBLISHED) -> dict[str, tuple[int, str]]:
    """(row count, md5 of every row in a canonical order) of every table of `schemas`."""
    sums = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            """select table_schema, table_name from information_schema.tables
                                 where table_schema = any(%s) order by 1, 2""",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL(
                "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} t"
            ).format(sql.Identifier(schema, table))
            sums[f"{schema}.{table}"] = tuple(conn.execute(query).fetchone())
    return sums


def export_digests(export_dir: Path, as_of: str) -> dict[str, str]:
    """sha256 of each export data file, and of the manifest without its timestamps."""
    import json

    folder = Path(export_dir) / as_of
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert set(EXPORT_FILES) <= set(manifest["files"]), manifest["files"]
    digests = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in sorted(manifest["files"])}
    # The moment of publication and its sequence number differ between runs by design.
    for volatile in ("published_at", "publication_version", "pipeline_version"):
        manifest.pop(volatile, None)
    for dataset in (manifest.get("datasets") or {}).values():
        dataset.pop("to_version", None)
    for gate in manifest.get("gate_results") or []:
        gate.pop("run_id", None)
    # the units' correction workbooks (include/workbooks.py): the same bytes from the same inputs
    for book in sorted((folder / "quality" / "corrections").glob("*.xlsx")):
        digests[f"quality/corrections/{book.name}"] = hashlib.sha256(book.read_bytes()).hexdigest()
    digests["manifest.json (timestamps aside)"] = hashlib.sha256(
        json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    return digests


def scalar(url: str, statement, params=None):
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchone()[0]
