"""The financing platform's files (信易贷, CONTRACT §4): EXPORT_DIR/<AS_OF>/.

`financing_profile.parquet`, `financing_profile.csv` (UTF-8 with BOM, for Excel) and
`manifest.json`, written from the PUBLISHED `export.financing_profile` in `uscc` order, so a rerun
over the same publication gives byte-identical data files. Each file is written under a temporary
name in the same folder and renamed into place: a reader never sees a half-written file, and the
manifest is renamed last, so it never describes files that are not there yet.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import io
import json
import os
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

SOURCE = ("export", "financing_profile")
DATASET = "financing_profile"
# PostgreSQL type name → Arrow type; numeric is decided from the values (see _arrow_column).
_ARROW_TYPES = {
    "text": pa.string(), "varchar": pa.string(), "bpchar": pa.string(), "uuid": pa.string(),
    "int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(),
    "float4": pa.float32(), "float8": pa.float64(), "bool": pa.bool_(), "date": pa.date32(),
    "timestamptz": pa.timestamp("us", tz="UTC"), "timestamp": pa.timestamp("us"),
    "json": pa.string(), "jsonb": pa.string(),
}


class ExportError(RuntimeError):
    """The published table is not the publication the caller asked to export."""


def _publication(conn: psycopg.Connection, version: str, as_of: dt.date) -> dict:
    """The log row of `version`, which must be the latest publication (what export.* holds now)."""
    latest = conn.execute("""select version, as_of, published_at, pipeline_version, gate_results
                             from audit.publication_log order by published_at desc, version desc
                             limit 1""").fetchone()
    if latest is None or latest[0] != version:
        raise ExportError(f"export.financing_profile holds publication {latest[0] if latest else None!r}, "
                          f"not {version!r}: export the latest publication, or publish first")
    if latest[1] != as_of:
        raise ExportError(f"publication {version} is for AS_OF {latest[1]}, not {as_of}")
    return {"version": latest[0], "as_of": latest[1].isoformat(), "published_at": latest[2].isoformat(),
            "pipeline_version": latest[3], "gate_results": latest[4]}


def _read(conn: psycopg.Connection) -> tuple[list[tuple[str, str]], list[tuple]]:
    query = sql.SQL("select * from {} order by uscc").format(sql.Identifier(*SOURCE))
    with conn.cursor() as cur:
        cur.execute(query)
        columns = [(d.name, conn.adapters.types.get(d.type_code).name
                    if conn.adapters.types.get(d.type_code) else "text") for d in cur.description]
        return columns, cur.fetchall()


def _arrow_column(pg_type: str, values: list) -> pa.Array:
    if pg_type == "numeric":
        present = [v for v in values if v is not None]
        if not present:
            return pa.array(values, type=pa.decimal128(38, 0))
        # The narrowest decimal that holds every value exactly: same data, same schema.
        scale = max(max(-v.as_tuple().exponent, 0) for v in present)
        return pa.array([None if v is None else v.quantize(decimal.Decimal(1).scaleb(-scale)) for v in values],
                        type=pa.decimal128(38, scale))
    if pg_type in ("json", "jsonb"):
        values = [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values]
    return pa.array(values, type=_ARROW_TYPES.get(pg_type, pa.string()))


def _parquet_bytes(columns: list[tuple[str, str]], rows: list[tuple]) -> bytes:
    arrays = [_arrow_column(t, [r[i] for r in rows]) for i, (_, t) in enumerate(columns)]
    table = pa.Table.from_arrays(arrays, names=[n for n, _ in columns])
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _csv_bytes(columns: list[tuple[str, str]], rows: list[tuple]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([n for n, _ in columns])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return text.getvalue().encode("utf-8-sig")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_exports(conninfo: str, as_of: dt.date, export_dir: Path, version: str) -> dict:
    """Write the three files for publication `version`; returns the manifest (plus `export_dir`)."""
    with psycopg.connect(conninfo) as conn:
        # One snapshot for the log check and the rows: a publish in between cannot mix them.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            publication = _publication(conn, version, as_of)
            columns, rows = _read(conn)
    files = {f"{DATASET}.parquet": _parquet_bytes(columns, rows), f"{DATASET}.csv": _csv_bytes(columns, rows)}
    manifest = {
        "dataset": f"{SOURCE[0]}.{SOURCE[1]}",
        "as_of": as_of.isoformat(),
        "publication_version": publication["version"],
        "published_at": publication["published_at"],
        "pipeline_version": publication["pipeline_version"],
        "row_count": len(rows),
        "order_by": ["uscc"],
        "columns": [{"name": n, "type": t} for n, t in columns],
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in files.items()},
        "gate_results": publication["gate_results"],
    }
    out = Path(export_dir) / as_of.isoformat()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        _write_atomically(out / name, data)
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    _write_atomically(out / "manifest.json", body.encode("utf-8"))
    return {**manifest, "export_dir": str(out)}
