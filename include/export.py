"""The financing platform's files (信易贷, docs/spec/CONTRACT.md §4): EXPORT_DIR/<AS_OF>/.

Per export dataset (DATASETS) a Parquet file and a CSV file (UTF-8 with BOM, for Excel), written
from the PUBLISHED `export.<dataset>` in key order, so a rerun over the same publication gives
byte-identical data files: the full tables (`financing_profile`, `financing_penalties`) and their
change sets against the publication of the latest earlier AS_OF (`*_changes`, the lenders' delta:
docs/spec/DOMAIN.md §7). Beside them `data_dictionary.csv` (every field: type, meaning in Chinese
and English, source — from the export models' dbt docs) and `manifest.json` (every file's rows,
bytes and SHA-256, the change sets' from/to versions, the gate results).

The commit protocol (a reader never sees a half-written file, and no manifest lists one):
1. every file, the manifest included, is written into `<AS_OF>/.staging-<pid>/` (same filesystem),
   each fsynced, then the folder;
2. the folder is renamed to `<AS_OF>/.commit` (atomic): from here the publication is decided;
3. its files are renamed into `<AS_OF>/` one by one, `manifest.json` last, and `.commit` removed.
A writer killed in 1 leaves the previous publication's files and manifest untouched (its staging
folder is removed by the next export, or by `recover` at the start of `make run`); killed in 3,
`recover` completes the renames (roll forward) before anything reads the folder. A write that
fails (a full disk: ENOSPC) raises ExportError naming the file, and the staging folder is removed.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import errno
import hashlib
import io
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from psycopg import sql

from include.settings import REPO_ROOT

SCHEMA = "export"
MANIFEST_VERSION = 2
DICTIONARY = "data_dictionary.csv"
EXPORT_DOCS = REPO_ROOT / "dbt_project" / "models" / "export" / "_export.yml"
BATCH_ROWS = 20_000
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)$")  # an earlier version's temporary files
_STAGING = re.compile(r"^\.staging-(\d+)$")
COMMIT = ".commit"
MANIFEST = "manifest.json"
# PostgreSQL type name → Arrow type; numeric is decided from the values (see _arrow_column).
_ARROW_TYPES = {
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "uuid": pa.string(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp": pa.timestamp("us"),
    "json": pa.string(),
    "jsonb": pa.string(),
}


@dataclass(frozen=True)
class Dataset:
    table: str  # export.<table>, and the files' base name
    key: str  # the key the files are ordered by
    changes_of: str | None = None  # a change set: of which full dataset


DATASETS = (
    Dataset("financing_profile", "uscc"),
    Dataset("financing_penalties", "record_key"),
    Dataset("financing_profile_changes", "uscc", changes_of="financing_profile"),
    Dataset("financing_penalties_changes", "record_key", changes_of="financing_penalties"),
)
PRIMARY = DATASETS[0]


class ExportError(RuntimeError):
    """The published tables are not the publication the caller asked to export."""


def _publication(conn: psycopg.Connection, version: str, as_of: dt.date) -> dict:
    """The log row of `version`, which must be the latest publication (what export.* holds now)."""
    latest = conn.execute("""select version, as_of, published_at, pipeline_version, gate_results
                             from audit.publication_log order by published_at desc, version desc
                             limit 1""").fetchone()
    if latest is None or latest[0] != version:
        raise ExportError(
            f"export.{PRIMARY.table} holds publication {latest[0] if latest else None!r}, "
            f"not {version!r}: export the latest publication, or publish first"
        )
    if latest[1] != as_of:
        raise ExportError(f"publication {version} is for AS_OF {latest[1]}, not {as_of}")
    return {
        "version": latest[0],
        "as_of": latest[1].isoformat(),
        "published_at": latest[2].isoformat(),
        "pipeline_version": latest[3],
        "gate_results": latest[4],
    }


def _columns(conn: psycopg.Connection, dataset: Dataset) -> list[tuple[str, str]]:
    """(name, PostgreSQL type name) of the published table, in table order."""
    exists = conn.execute(
        "select to_regclass(%s) is not null", (sql.Identifier(SCHEMA, dataset.table).as_string(conn),)
    ).fetchone()[0]
    if not exists:
        raise ExportError(
            f"{SCHEMA}.{dataset.table} is not published: the transform builds every export "
            f"dataset ({', '.join(d.table for d in DATASETS)}); run it and publish again"
        )
    query = sql.SQL("select * from {} limit 0").format(sql.Identifier(SCHEMA, dataset.table))
    with conn.cursor() as cur:
        cur.execute(query)
        return [
            (d.name, conn.adapters.types.get(d.type_code).name if conn.adapters.types.get(d.type_code) else "text")
            for d in cur.description
        ]


def _numeric_scales(conn: psycopg.Connection, dataset: Dataset, columns: list[tuple[str, str]]) -> dict[str, int]:
    """Per numeric column, the largest scale of its values: the Arrow decimal that holds every value
    exactly, known before the first batch is written (same data, same schema)."""
    numeric = [n for n, t in columns if t == "numeric"]
    if not numeric:
        return {}
    query = sql.SQL("select {} from {}").format(
        sql.SQL(", ").join(sql.SQL("coalesce(max(scale({})), 0)").format(sql.Identifier(n)) for n in numeric),
        sql.Identifier(SCHEMA, dataset.table),
    )
    return dict(zip(numeric, conn.execute(query).fetchone()))


def _batches(conn: psycopg.Connection, dataset: Dataset):
    """The published rows in key order, BATCH_ROWS at a time, from a server-side cursor: the
    export holds one batch, not 300,000 rows at city scale (it was the largest memory peak)."""
    query = sql.SQL("select * from {} order by {}").format(
        sql.Identifier(SCHEMA, dataset.table), sql.Identifier(dataset.key)
    )
    with conn.cursor(name=f"{dataset.table}_export") as cur:
        cur.itersize = BATCH_ROWS
        cur.execute(query)
        while rows := cur.fetchmany(BATCH_ROWS):
            yield rows


def _arrow_column(pg_type: str, values: list, scale: int | None = None) -> pa.Array:
    if pg_type == "numeric":
        quantum = decimal.Decimal(1).scaleb(-(scale or 0))
        return pa.array(
            [None if v is None else v.quantize(quantum) for v in values], type=pa.decimal128(38, scale or 0)
        )
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


def _open_for_writing(path: Path, mode: str = "wb", **kwargs):
    """Every export file is opened here: the one place a write can fail for want of space."""
    return open(path, mode, **kwargs)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _roll_forward(out: Path) -> None:
    """Move a decided publication's files from `.commit` into place, the manifest last."""
    commit = out / COMMIT
    names = sorted(p.name for p in commit.iterdir() if p.name != MANIFEST)
    for name in names:
        os.replace(commit / name, out / name)
    if (commit / MANIFEST).exists():
        _fsync_dir(out)
        os.replace(commit / MANIFEST, out / MANIFEST)
    _fsync_dir(out)
    commit.rmdir()
    _fsync_dir(out)


def recover_folder(out: Path) -> None:
    """Finish or forget what a killed export left in EXPORT_DIR/<AS_OF>: a decided publication
    (`.commit`) is rolled forward; staging folders and temporary files of writers that are gone
    are removed (never listed in any manifest, they would only take space)."""
    if not out.is_dir():
        return
    if (out / COMMIT).is_dir():
        _roll_forward(out)
    for path in out.iterdir():
        staging, temporary = _STAGING.match(path.name), _TEMPORARY.match(path.name)
        match = staging or temporary
        if match and not _process_alive(int(match.group(1))):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def recover(export_dir: Path) -> None:
    """recover_folder on every AS_OF folder of EXPORT_DIR (the start of `make run`)."""
    export_dir = Path(export_dir)
    if export_dir.is_dir():
        for folder in sorted(export_dir.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                recover_folder(folder)


def _write_durably(path: Path, data: bytes) -> None:
    with _open_for_writing(path) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _file_facts(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _write_dataset(
    conn: psycopg.Connection, staging: Path, dataset: Dataset, columns: list[tuple[str, str]]
) -> tuple[int, dict[str, Path]]:
    """Parquet and CSV written side by side, batch by batch, into the staging folder."""
    parquet_path = staging / f"{dataset.table}.parquet"
    csv_path = staging / f"{dataset.table}.csv"
    scales = _numeric_scales(conn, dataset, columns)
    schema = _arrow_batch(columns, scales, []).schema
    rows_written = _fill(conn, dataset, parquet_path, csv_path, columns, scales, schema)
    return rows_written, {f"{dataset.table}.parquet": parquet_path, f"{dataset.table}.csv": csv_path}


def _fill(
    conn: psycopg.Connection,
    dataset: Dataset,
    parquet_tmp: Path,
    csv_tmp: Path,
    columns: list[tuple[str, str]],
    scales: dict[str, int],
    schema: pa.Schema,
) -> int:
    rows_written = 0
    # The Parquet writer writes through a Python file object (not its own C++ file), so that every
    # byte of the export goes through _open_for_writing.
    with (
        _open_for_writing(parquet_tmp) as binary,
        pq.ParquetWriter(binary, schema, compression="zstd") as parquet,
        _open_for_writing(csv_tmp, "w", encoding="utf-8-sig", newline="") as text,
    ):
        writer = csv.writer(text, lineterminator="\r\n")
        with _NamedWrite(csv_tmp):
            writer.writerow([n for n, _ in columns])
        for rows in _batches(conn, dataset):
            with _NamedWrite(parquet_tmp):
                parquet.write_batch(_arrow_batch(columns, scales, rows))
            with _NamedWrite(csv_tmp):
                writer.writerows([_csv_cell(v) for v in row] for row in rows)
            rows_written += len(rows)
        with _NamedWrite(parquet_tmp):
            parquet.close()
            binary.flush()
            os.fsync(binary.fileno())
        with _NamedWrite(csv_tmp):
            text.flush()
            os.fsync(text.fileno())
    return rows_written


def _change_counts(conn: psycopg.Connection, dataset: Dataset) -> tuple[dict, str | None, str | None]:
    """({insert, update, delete} row counts, from_version, from_as_of) of a change set."""
    table = sql.Identifier(SCHEMA, dataset.table)
    counts: dict[str, int] = dict(
        conn.execute(sql.SQL("select change_type, count(*) from {} group by change_type").format(table))
    )
    previous = conn.execute(
        sql.SQL("select distinct previous_version, previous_as_of from {}").format(table)
    ).fetchall()
    if len(previous) > 1:
        raise ExportError(f"{SCHEMA}.{dataset.table} compares with more than one publication: {previous}")
    version, as_of = previous[0] if previous else (None, None)
    return (
        {kind: counts.get(kind, 0) for kind in ("insert", "update", "delete")},
        version,
        as_of.isoformat() if as_of else None,
    )


# --- the data dictionary ----------------------------------------------------------------------


def _documented_columns() -> dict[str, dict[str, dict]]:
    """model → column → its dbt docs (description `中文 — English`, meta.source)."""
    models = yaml.safe_load(EXPORT_DOCS.read_text(encoding="utf-8"))["models"]
    return {m["name"]: {c["name"]: c for c in m.get("columns", [])} for m in models}


def data_dictionary(columns_by_dataset: dict[str, list[tuple[str, str]]]) -> list[dict]:
    """One row per field of every exported file. A change set's fields are documented where they
    differ from its full dataset's, and take the full dataset's docs otherwise. A field without
    docs stops the export: a lender must never receive a field nobody described."""
    docs = _documented_columns()
    rows, undocumented = [], []
    for dataset in DATASETS:
        own, base = docs.get(dataset.table, {}), docs.get(dataset.changes_of or "", {})
        for name, pg_type in columns_by_dataset[dataset.table]:
            doc = own.get(name) or base.get(name)
            if not doc or " — " not in (doc.get("description") or ""):
                undocumented.append(f"{dataset.table}.{name}")
                continue
            chinese, english = (part.strip() for part in doc["description"].split(" — ", 1))
            rows.append(
                {
                    "dataset": dataset.table,
                    "field": name,
                    "type": pg_type,
                    "meaning_zh": chinese,
                    "meaning_en": english,
                    "source": (doc.get("meta") or {}).get("source", ""),
                }
            )
    if undocumented:
        raise ExportError(
            f"fields without a description '中文 — English' in {EXPORT_DOCS.relative_to(REPO_ROOT)}: "
            f"{', '.join(undocumented)}"
        )
    return rows


def _dictionary_csv(rows: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["dataset", "field", "type", "含义", "meaning", "source"])
    for r in rows:
        writer.writerow([r["dataset"], r["field"], r["type"], r["meaning_zh"], r["meaning_en"], r["source"]])
    return text.getvalue().encode("utf-8-sig")


# --- the whole publication --------------------------------------------------------------------


def write_exports(conninfo: str, as_of: dt.date, export_dir: Path, version: str) -> dict:
    """Write every file of publication `version` (the commit protocol above); returns the manifest
    (plus `export_dir`)."""
    out = Path(export_dir) / as_of.isoformat()
    staging = out / f".staging-{os.getpid()}"
    try:
        manifest = _stage(conninfo, as_of, out, staging, version)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise ExportError(
                f"could not write {exc.filename or 'an export file'} of publication {version}: "
                f"{os.strerror(exc.errno)}; nothing of it was published, {out} still holds the "
                f"previous export. Free space on {Path(export_dir)} and run again."
            ) from exc
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.rename(staging, out / COMMIT)  # the decision: from here the rerun rolls forward
    _fsync_dir(out)
    _roll_forward(out)
    return {**manifest, "export_dir": str(out)}


class _NamedWrite:
    """Gives an OSError raised while writing a file the file's name (pyarrow and the csv module
    raise it without one)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = str(self.path)
        return False


def _stage(conninfo: str, as_of: dt.date, out: Path, staging: Path, version: str) -> dict:
    """Every file and the manifest, complete and fsynced, in the staging folder."""
    datasets, written = {}, {}
    with psycopg.connect(conninfo) as conn:
        # One snapshot for the log check and every table: a publish in between cannot mix them.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            publication = _publication(conn, version, as_of)
            columns = {d.table: _columns(conn, d) for d in DATASETS}
            dictionary = data_dictionary(columns)
            out.mkdir(parents=True, exist_ok=True)  # only for a publication that may be exported
            recover_folder(out)
            staging.mkdir()
            for each in DATASETS:
                row_count, files = _write_dataset(conn, staging, each, columns[each.table])
                written.update(files)
                datasets[each.table] = _dataset_entry(conn, each, columns[each.table], row_count, files, publication)
    with _NamedWrite(staging / DICTIONARY):
        _write_durably(staging / DICTIONARY, _dictionary_csv(dictionary))
    written[DICTIONARY] = staging / DICTIONARY
    facts = {name: _file_facts(path) for name, path in written.items()}
    for dataset in datasets.values():
        for name in dataset["files"]:
            facts[name]["rows"] = dataset["row_count"]
    primary = datasets[PRIMARY.table]
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "as_of": as_of.isoformat(),
        "publication_version": publication["version"],
        "published_at": publication["published_at"],
        "pipeline_version": publication["pipeline_version"],
        # the full financing_profile, as in every manifest since the first
        "dataset": f"{SCHEMA}.{PRIMARY.table}",
        "row_count": primary["row_count"],
        "order_by": primary["order_by"],
        "columns": primary["columns"],
        "datasets": datasets,
        "data_dictionary": DICTIONARY,
        "files": facts,
        "gate_results": publication["gate_results"],
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    with _NamedWrite(staging / MANIFEST):
        _write_durably(staging / MANIFEST, body.encode("utf-8"))
    _fsync_dir(staging)
    return manifest


def _dataset_entry(
    conn: psycopg.Connection,
    dataset: Dataset,
    columns: list[tuple[str, str]],
    row_count: int,
    files: dict[str, Path],
    publication: dict,
) -> dict:
    entry: dict[str, Any] = {
        "table": f"{SCHEMA}.{dataset.table}",
        "kind": "changes" if dataset.changes_of else "full",
        "key": [dataset.key],
        "order_by": [dataset.key],
        "row_count": row_count,
        "columns": [{"name": n, "type": t} for n, t in columns],
        "files": sorted(files),
    }
    if dataset.changes_of:
        counts, from_version, from_as_of = _change_counts(conn, dataset)
        entry.update(
            {
                "changes_of": dataset.changes_of,
                "change_counts": counts,
                "from_version": from_version,
                "from_as_of": from_as_of,
                "to_version": publication["version"],
                "to_as_of": publication["as_of"],
            }
        )
    return entry
