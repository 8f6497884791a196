"""The export files are written batch by batch: the export never holds the whole published table.

At city scale (~300,000 rows) holding every row as Python tuples, plus the whole CSV text and
Parquet bytes, was most of the transform runner's 1.37 GB peak. What makes the export stream is
checked here by its structure: the rows come from a server-side cursor export.BATCH_ROWS at a
time, and each batch is written as it arrives (one Parquet row group per batch). The memory it
saves is measured by bench/export_memory.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import psycopg
import pyarrow.parquet as pq

from include import export
from tests.publish.builders import published_export

AS_OF = dt.date(2026, 6, 30)
ROWS = 6 * export.BATCH_ROWS + 123  # several batches and a short last one


def _export_session(watcher: psycopg.Connection) -> list[tuple[str, str]]:
    """(state, latest statement) of every other client of this database: the export's connection."""
    return watcher.execute("""select state, query from pg_stat_activity
                              where datname = current_database() and pid <> pg_backend_pid()
                                and backend_type = 'client backend'""").fetchall()


def test_export_streams_and_writes_every_row_in_order(scratch_db, tmp_path, monkeypatch):
    published_export(scratch_db, ROWS, AS_OF, "2026-06-30.1")
    written: list[tuple[int, list]] = []

    class WatchedWriter(pq.ParquetWriter):
        """Notes each financing_profile batch's size and, at that moment, what the export's session
        last asked the server."""

        def __init__(self, where, *args, **kwargs):
            # a file object of the export's staging folder (include/export.py _open_for_writing)
            self.profile = str(getattr(where, "name", where)).endswith("/financing_profile.parquet")
            super().__init__(where, *args, **kwargs)

        def write_batch(self, batch, *args, **kwargs):
            if self.profile:
                written.append((batch.num_rows, _export_session(watcher)))
            return super().write_batch(batch, *args, **kwargs)

    monkeypatch.setattr(export.pq, "ParquetWriter", WatchedWriter)
    with psycopg.connect(scratch_db, autocommit=True) as watcher:
        manifest = export.write_exports(scratch_db, AS_OF, tmp_path, "2026-06-30.1")

    batches = [export.BATCH_ROWS] * 6 + [123]
    # While each batch is written, the export's transaction waits on the server having handed out
    # BATCH_ROWS rows of its cursor: not the whole SELECT's result, not FETCH ALL.
    fetch = f"FETCH FORWARD {export.BATCH_ROWS} FROM"
    assert [n for n, _ in written] == batches
    for n, sessions in written:
        assert len(sessions) == 1 and sessions[0][0] == "idle in transaction", (n, sessions)
        assert sessions[0][1].startswith(fetch), (n, sessions)
    out = tmp_path / AS_OF.isoformat()
    parquet = pq.ParquetFile(out / "financing_profile.parquet")
    assert [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)] == batches

    assert manifest["row_count"] == ROWS
    table = parquet.read()
    assert table.num_rows == ROWS and table.column("uscc").to_pylist() == sorted(table.column("uscc").to_pylist())
    assert str(table.schema.field("registered_capital").type) == "decimal128(38, 2)"  # scale of all values
    with open(out / "financing_profile.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == ROWS + 1 and rows[0][0] == "uscc"
    for name, facts in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == facts["sha256"]
    assert json.loads((out / "manifest.json").read_text())["row_count"] == ROWS
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
