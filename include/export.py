"""The financing platform's files (信易贷, docs/spec/CONTRACT.md §4): EXPORT_DIR/<AS_OF>/.

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


BATCH_ROWS = 20_000


def _columns(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, PostgreSQL type name) of the published table, in table order."""
    query = sql.SQL("select * from {} limit 0").format(sql.Identifier(*SOURCE))
    with conn.cursor() as cur:
        cur.execute(query)
        return [(d.name, conn.adapters.types.get(d.type_code).name
                 if conn.adapters.types.get(d.type_code) else "text") for d in cur.description]


def _numeric_scales(conn: psycopg.Connection, columns: list[tuple[str, str]]) -> dict[str, int]:
    """Per numeric column, the largest scale of its values: the Arrow decimal that holds every value
    exactly, known before the first batch is written (same data, same schema)."""
    numeric = [n for n, t in columns if t == "numeric"]
    if not numeric:
        return {}
    query = sql.SQL("select {} from {}").format(
        sql.SQL(", ").join(sql.SQL("coalesce(max(scale({})), 0)").format(sql.Identifier(n)) for n in numeric),
        sql.Identifier(*SOURCE))
    return dict(zip(numeric, conn.execute(query).fetchone()))


def _batches(conn: psycopg.Connection):
    """The published rows in `uscc` order, BATCH_ROWS at a time, from a server-side cursor: the
    export holds one batch, not 300,000 rows at city scale (it was the largest memory peak)."""
    query = sql.SQL("select * from {} order by uscc").format(sql.Identifier(*SOURCE))
    with conn.cursor(name="financing_profile_export") as cur:
        cur.itersize = BATCH_ROWS
        cur.execute(query)
        while rows := cur.fetchmany(BATCH_ROWS):
            yield rows


def _arrow_column(pg_type: str, values: list, scale: int | None = None) -> pa.Array:
    if pg_type == "numeric":
        quantum = decimal.Decimal(1).scaleb(-(scale or 0))
        return pa.array([None if v is None else v.quantize(quantum) for v in values],
                        type=pa.decimal128(38, scale or 0))
    if pg_type in ("json", "jsonb"):
        values = [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values]
    return pa.array(values, type=_ARROW_TYPES.get(pg_type, pa.string()))


def _arrow_batch(columns: list[tuple[str, str]], scales: dict[str, int], rows: list[tuple]) -> pa.RecordBatch:
    arrays = [_arrow_column(t, [r[i] for r in rows], scales.get(n)) for i, (n, t) in enumerate(columns)]
    return pa.RecordBatch.from_arrays(arrays, names=[n for n, _ in columns])


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


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = _temporary(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _file_facts(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _write_data_files(conn: psycopg.Connection, out: Path, columns: list[tuple[str, str]],
                      scales: dict[str, int]) -> tuple[int, dict[str, Path]]:
    """Parquet and CSV written side by side, batch by batch, to temporary names (renamed later)."""
    parquet_tmp, csv_tmp = _temporary(out / f"{DATASET}.parquet"), _temporary(out / f"{DATASET}.csv")
    schema = _arrow_batch(columns, scales, []).schema
    try:
        rows_written = _fill(conn, parquet_tmp, csv_tmp, columns, scales, schema)
    except BaseException:
        for tmp in (parquet_tmp, csv_tmp):
            tmp.unlink(missing_ok=True)
        raise
    return rows_written, {f"{DATASET}.parquet": parquet_tmp, f"{DATASET}.csv": csv_tmp}


def _fill(conn: psycopg.Connection, parquet_tmp: Path, csv_tmp: Path, columns: list[tuple[str, str]],
          scales: dict[str, int], schema: pa.Schema) -> int:
    rows_written = 0
    with pq.ParquetWriter(parquet_tmp, schema, compression="zstd") as parquet, \
            open(csv_tmp, "w", encoding="utf-8-sig", newline="") as text:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([n for n, _ in columns])
        for rows in _batches(conn):
            parquet.write_batch(_arrow_batch(columns, scales, rows))
            writer.writerows([_csv_cell(v) for v in row] for row in rows)
            rows_written += len(rows)
        text.flush()
        os.fsync(text.fileno())
    with open(parquet_tmp, "rb") as f:
        os.fsync(f.fileno())
    return rows_written


def write_exports(conninfo: str, as_of: dt.date, export_dir: Path, version: str) -> dict:
    """Write the three files for publication `version`; returns the manifest (plus `export_dir`)."""
    out = Path(export_dir) / as_of.isoformat()
    with psycopg.connect(conninfo) as conn:
        # One snapshot for the log check and the rows: a publish in between cannot mix them.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            publication = _publication(conn, version, as_of)
            out.mkdir(parents=True, exist_ok=True)      # only for a publication that may be exported
            columns = _columns(conn)
            row_count, written = _write_data_files(conn, out, columns, _numeric_scales(conn, columns))
    facts = {name: _file_facts(tmp) for name, tmp in written.items()}
    manifest = {
        "dataset": f"{SOURCE[0]}.{SOURCE[1]}",
        "as_of": as_of.isoformat(),
        "publication_version": publication["version"],
        "published_at": publication["published_at"],
        "pipeline_version": publication["pipeline_version"],
        "row_count": row_count,
        "order_by": ["uscc"],
        "columns": [{"name": n, "type": t} for n, t in columns],
        "files": facts,
        "gate_results": publication["gate_results"],
    }
    for name, tmp in written.items():
        os.replace(tmp, out / name)
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    _write_atomically(out / "manifest.json", body.encode("utf-8"))
    return {**manifest, "export_dir": str(out)}
