"""Loading one delivered file: raw rows, quarantine rows and the ledger row in ONE transaction.

    load_file(conninfo, feed, file_name, landing_dir=None) -> dict

Order of work inside the transaction:
1. an advisory lock on (feed, sha256), so two tasks given the same bytes at once serialise;
2. the ledger decides: bytes already taken → `duplicate` (nothing loaded); the very same delivery
   (name, bytes, mtime) already recorded → nothing new is written at all (a re-scan);
3. otherwise the rows stream through the checks into `COPY raw.<feed>` in chunks, problems are
   spooled to a temporary file (bounded memory) and copied into audit.quarantine afterwards;
4. the ledger row. A file that cannot be read is rolled back to a savepoint and recorded as
   `rejected` with its reason. Database errors propagate (Airflow retries; nothing committed).
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import json
import os
import queue
import stat
import tempfile
import threading
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.copy import LibpqWriter

from include import corrections, settings
from include import feeds as feed_contracts
from include.ingest import pgbinary, schema
from include.ingest.checks import Problem, RowChecker, copy_text
from include.ingest.readers import FileRejected, fingerprint, open_delivery

CHUNK_ROWS = 16384  # rows per COPY write (~10 MB): bounded memory, few round trips
PROBLEM_BATCH = 4096  # rows with a problem checked per call of the per-row path
QUEUED_CHUNKS = 3  # chunks checked ahead of the server at most: memory stays bounded
SPOOL_IN_MEMORY = 4 << 20  # quarantine rows beyond this go to a temporary file
COLLECT_AFTER_BYTES = 16 << 20  # a file this large leaves enough garbage to pay a full gc.collect()
QUARANTINE_COLUMNS = (
    "feed",
    "file_name",
    "sha256",
    "row_number",
    "column_name",
    "rule",
    "value",
    "message",
    "severity",
    "reference_date",
    "unit",
    "unit_uscc",
    "correction_key",
    "cells",
    "column_header",
    "instruction",
)

_schemas_ready: set[tuple[str, str]] = set()


class DiskFull(RuntimeError):
    """No space to write a delivery (the warehouse's disk, or the loader's spool): the file's
    transaction rolled back, nothing of it is kept; the rerun loads it once space is back."""


def _spool_file():
    """The quarantine rows' spool (in memory, on disk past SPOOL_IN_MEMORY): the loader's own write."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8")


class UnsafeFileName(ValueError):
    """A file name that is not a plain name inside the feed's folder."""


def check_file_name(file_name: str) -> None:
    """File names are data, never paths: no separators, no hidden files, nothing to resolve."""
    if (
        not file_name
        or "/" in file_name
        or "\\" in file_name
        or file_name.startswith(".")
        or "\x00" in file_name
        or file_name in (".", "..")
    ):
        raise UnsafeFileName(f"{file_name!r} is not a plain file name")


def display_name(os_name: str) -> str:
    """The name a person and the ledger see for a file name as the OS gave it.

    A name that is not UTF-8 (Chinese Windows tools often write GB18030 names) reaches Python as
    surrogate escapes, which PostgreSQL, JSON and the logs cannot carry: it is decoded as GB18030,
    else UTF-8 with U+FFFD for the undecodable bytes. Plain names come back unchanged.
    """
    try:
        os_name.encode("utf-8")
        return os_name
    except UnicodeEncodeError:
        raw = os.fsencode(os_name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def _folder_entry(folder: Path, file_name: str) -> str | None:
    """The on-disk name behind `file_name` (a display name): itself, else the entry displayed so."""
    if os.path.lexists(folder / file_name):
        return file_name
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    return next((e for e in entries if e != display_name(e) and display_name(e) == file_name), None)


def _feed_folder_problem(folder: Path) -> str | None:
    """A feed folder must be a real folder inside the landing zone, not a link to elsewhere."""
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return (
            f"the feed folder {folder} is a link or not a folder: deliveries are read only from real "
            f"folders inside the landing zone; rule: feed_folder"
        )
    return None


def _result(
    feed: str,
    file_name: str,
    sha256: str | None,
    status: str,
    read: int = 0,
    loaded: int = 0,
    quarantined: int = 0,
    reason: str | None = None,
) -> dict:
    return {
        "feed": feed,
        "file_name": file_name,
        "sha256": sha256,
        "status": status,
        "rows_read": read,
        "rows_loaded": loaded,
        "rows_quarantined": quarantined,
        "reason": reason,
    }


def _ensure_ready(conninfo: str, feed: str) -> None:
    if (conninfo, feed) not in _schemas_ready:
        schema.ensure_schemas(conninfo, [feed])
        _schemas_ready.add((conninfo, feed))


def load_file(conninfo: str, feed: str, file_name: str, landing_dir: Path | None = None) -> dict:
    """Load one file of LANDING/<feed>/; see the module docstring. Never raises for bad input."""
    contract = feed_contracts.get(feed)
    try:
        check_file_name(file_name)
    except UnsafeFileName as exc:
        return _result(feed, file_name, None, "rejected", reason=f"{exc}; rule: file_name; nothing read")
    folder = Path(landing_dir or settings.landing_dir()) / feed
    problem = _feed_folder_problem(folder)
    if problem:
        return _result(feed, file_name, None, "rejected", reason=f"{file_name}: {problem}; nothing read")
    file_name = display_name(file_name)
    os_name = _folder_entry(folder, file_name)
    if os_name is None:
        return _result(
            feed,
            file_name,
            None,
            "rejected",
            reason=f"{file_name}: no such file in {folder}; rule: file_exists; nothing read",
        )
    path = folder / os_name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return _result(
            feed,
            file_name,
            None,
            "rejected",
            reason=f"{file_name}: no such file in {folder}; rule: file_exists; nothing read",
        )
    if not stat.S_ISREG(info.st_mode):
        return _result(
            feed,
            file_name,
            None,
            "rejected",
            reason=f"{file_name}: not a regular file (a link or folder); rule: regular_file; nothing read",
        )
    fp = fingerprint(path)
    received_at = dt.datetime.fromtimestamp(info.st_mtime, tz=dt.UTC)
    _ensure_ready(conninfo, feed)
    try:
        outcome = _load_in_one_transaction(conninfo, contract, feed, file_name, path, fp, received_at)
    except (OSError, psycopg.errors.DiskFull) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise DiskFull(
            f"could not load {feed}/{file_name} into raw.{feed}: no space left to write it ({exc}); "
            f"its transaction was rolled back, nothing of the file is kept and the ledger does not "
            f"list it. Free space (the warehouse's data disk, or {tempfile.gettempdir()}) and run "
            f"again: the file is then loaded once."
        ) from exc
    return_memory(collect=fp.size_bytes >= COLLECT_AFTER_BYTES)
    return outcome


def _load_in_one_transaction(
    conninfo: str, contract, feed: str, file_name: str, path: Path, fp, received_at: dt.datetime
) -> dict:
    with psycopg.connect(conninfo) as conn:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{feed}:{fp.sha256}",))
            earlier = _earlier_delivery(conn, feed, fp.sha256, file_name, received_at)
            if earlier is not None:
                if earlier.pop("_record", False):
                    _record(conn, earlier, fp.size_bytes, received_at)
                earlier.pop("detail", None)
                return earlier
            try:
                with conn.transaction():  # a savepoint: a rejected file leaves no row behind
                    outcome = _load_rows(conn, contract, path, file_name, fp, received_at)
            except FileRejected as rejected:
                outcome = _result(feed, file_name, fp.sha256, "rejected", reason=str(rejected))
                outcome["detail"] = {}
            _record(conn, outcome, fp.size_bytes, received_at)
    outcome.pop("detail", None)
    return outcome


def return_memory(collect: bool = True) -> None:
    """Give what a load freed back to the OS. A load runs in a long-lived DAG runner: at city size
    a file leaves ~100 MB behind (reference cycles not yet collected, pyarrow's mimalloc pages,
    glibc's free lists) that would otherwise stack on the next task's peak (the raw gate's GX).
    `collect`: also a full garbage collection, ~0.5 s in a runner holding Airflow and GX, so only
    after a large file (docs/performance.md "Memory"); the rest costs milliseconds."""
    import ctypes
    import gc
    import sys

    if collect:
        gc.collect()
    if "pyarrow" in sys.modules:  # only if a load imported it
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _earlier_delivery(
    conn: psycopg.Connection, feed: str, sha256: str, file_name: str, received_at: dt.datetime
) -> dict | None:
    """None if these bytes are new; else the result to return (recording a duplicate if needed)."""
    rows = conn.execute(
        "select file_name, received_at, status, rows_read, rows_loaded, rows_quarantined, reason, loaded_at "
        "from audit.file_ledger where feed = %s and sha256 = %s order by id",
        (feed, sha256),
    ).fetchall()
    if not rows:
        return None
    for name, at, status, read, loaded, quarantined, reason, _ in rows:
        if name == file_name and at == received_at:  # the same delivery seen again: write nothing
            return _result(feed, file_name, sha256, status, read, loaded, quarantined, reason)
    first = rows[0]
    reason = (
        f"{file_name}: the same bytes (sha256 {sha256[:12]}…) were delivered before as {first[0]!r} "
        f"on {first[7]:%Y-%m-%d %H:%M} ({first[2]}); rule: taken_once; nothing loaded"
    )
    outcome = _result(feed, file_name, sha256, "duplicate", reason=reason)
    outcome["detail"] = {"duplicate_of": first[0]}
    return outcome | {"_record": True}


def _record(conn: psycopg.Connection, outcome: dict, size_bytes: int, received_at: dt.datetime) -> None:
    conn.execute(
        "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at, rows_read, rows_loaded,"
        " rows_quarantined, status, reason, detail, unit, unit_uscc, instruction)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            outcome["feed"],
            outcome["file_name"],
            outcome["sha256"],
            size_bytes,
            received_at,
            outcome["rows_read"],
            outcome["rows_loaded"],
            outcome["rows_quarantined"],
            outcome["status"],
            outcome["reason"],
            json.dumps(outcome.get("detail") or {}, ensure_ascii=False),
            *feed_contracts.get(outcome["feed"]).reporting_unit,
            corrections.file_instruction(outcome["reason"]) if outcome["status"] == "rejected" else None,
        ),
    )


def _load_rows(conn: psycopg.Connection, contract, path: Path, file_name: str, fp, received_at) -> dict:
    delivery = open_delivery(path, file_name, contract, fp)
    try:
        checker = RowChecker(
            contract,
            delivery,
            file_name=file_name,
            sha256=fp.sha256,
            arrival_date=received_at.astimezone(settings.SHANGHAI).date().isoformat(),
            pseudonym_key=settings.pseudonym_key(),
        )
        columns = [name for name, _ in schema.raw_columns(contract)]
        copy_raw = sql.SQL("copy {} ({}) from stdin with (format binary)").format(
            sql.Identifier("raw", contract.id), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        from include.ingest import vectorized  # pyarrow: imported on the first load, not when DAGs are parsed

        offset = None
        if vectorized.applies(contract, delivery, fp):
            offset = vectorized.data_offset(path, fp.encoding, _delimiter(delivery), delivery.header_row)
        with _spool_file() as spool:
            if offset is None:
                counts = _copy_rows(conn, copy_raw, delivery, checker, spool, contract.id, file_name, fp.sha256)
            else:
                blocks = vectorized.blocks(
                    path,
                    fp.encoding,
                    _delimiter(delivery),
                    checker.width,
                    offset,
                    delivery.header_row + 1,
                    file_name,
                    CHUNK_ROWS,
                )
                counts = _copy_blocks(
                    conn,
                    copy_raw,
                    blocks,
                    vectorized.ColumnarChecker(checker, contract),
                    spool,
                    contract.id,
                    file_name,
                    fp.sha256,
                )
            spool.seek(0)
            _copy_quarantine(conn, spool)
    finally:
        delivery.close()
    read, loaded, quarantined = counts
    if loaded:
        mark_corrections(conn, contract, file_name, fp.sha256, received_at)
    # The header once per file (the rows' `_received` hold the cells only): audit.received_rows.
    detail = dict(delivery.detail, header_row=delivery.header_row, **checker.received_detail())
    outcome = _result(contract.id, file_name, fp.sha256, "loaded", read, loaded, quarantined)
    outcome["detail"] = detail
    return outcome


class PipelinedWriter(LibpqWriter):
    """A COPY writer whose thread sends one chunk while the caller checks the next, so Python's
    work and the server's overlap. Unlike psycopg's QueuedLibpqWriter (1024 buffers queued) at
    most QUEUED_CHUNKS chunks wait: a server slower than the checks cannot make memory grow."""

    def __init__(self, cursor):
        super().__init__(cursor)
        self._chunks: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._send, name="ingest-copy-writer", daemon=True)
        self._thread.start()

    def _send(self) -> None:
        try:
            while (data := self._chunks.get()) is not None:
                super().write(data)
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc
            while self._chunks.get() is not None:  # drain, or the caller's put() would block
                pass

    def write(self, data) -> None:
        if self._error is not None:
            raise self._error
        self._chunks.put(data)

    def finish(self, exc: BaseException | None = None) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._error is not None and exc is None:
            raise self._error
        super().finish(exc)


def write_chunk(copy, lines) -> None:
    """One COPY write of binary rows (a list of bytes, or `vectorized.Rows`). A seam for tests
    that need a failure in the middle of a COPY. The writer is a `PipelinedWriter`."""
    copy.write(lines.payload() if hasattr(lines, "payload") else b"".join(lines))


def _delimiter(delivery) -> str:
    shown = delivery.detail["delimiter"]
    return "\t" if shown == "tab" else shown


def _copy_rows(
    conn, copy_raw, delivery, checker: RowChecker, spool, feed: str, file_name: str, sha256: str
) -> tuple[int, int, int]:
    """The general path: rows of cells from `readers`, checked chunk by chunk in Python."""
    counts = [0, 0, 0]
    q_prefix = f"{copy_text(feed)}\t{copy_text(file_name)}\t{sha256}\t"
    rows = iter(delivery.rows)
    with conn.cursor() as cur, cur.copy(copy_raw, writer=PipelinedWriter(cur)) as copy:
        copy.write(pgbinary.SIGNATURE)
        while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
            _python_chunk(copy, checker, chunk, spool, q_prefix, counts)
        copy.write(pgbinary.TRAILER)
    read, loaded, quarantined = counts
    return read, loaded, quarantined


def _python_chunk(copy, checker: RowChecker, chunk: list, spool, q_prefix: str, counts: list[int]) -> None:
    lines, flagged = checker.check_chunk(chunk)
    counts[0] += len(chunk)
    counts[1] += len(lines)
    if lines:
        write_chunk(copy, lines)
    for number, cells, problems, rejected in flagged:
        counts[2] += rejected
        _spool(spool, q_prefix, number, problems, checker.reference_date_of(cells), checker, cells)


def _copy_blocks(
    conn, copy_raw, blocks, columnar, spool, feed: str, file_name: str, sha256: str
) -> tuple[int, int, int]:
    """The fast path (`vectorized`): pyarrow blocks encoded column-wise, problem rows and any
    irregular rest of the file through the same per-row checks as `_copy_rows`."""
    import numpy as np
    import pyarrow as pa

    from include.ingest import vectorized

    counts = [0, 0, 0]
    q_prefix = f"{copy_text(feed)}\t{copy_text(file_name)}\t{sha256}\t"
    checker = columnar.checker
    # Problem rows of many parts are checked together: the per-row path has a cost per call (a
    # pass over every column), and 1 % of rows would otherwise make ~100 calls per million rows.
    pending: list[tuple[int, list]] = []

    def check_pending():
        if pending:
            _python_chunk(copy, checker, pending, spool, q_prefix, counts)
            pending.clear()

    with conn.cursor() as cur, cur.copy(copy_raw, writer=PipelinedWriter(cur)) as copy:
        copy.write(pgbinary.SIGNATURE)
        for kind, first_number, item in blocks:
            if kind == "rows":
                check_pending()  # before the Python path may widen the file
                _python_chunk(copy, checker, item, spool, q_prefix, counts)
                continue
            columns = [c.combine_chunks() for c in item.columns]
            numbers = np.arange(first_number, first_number + item.num_rows, dtype=np.int64)
            blank = columnar.blank_rows(columns)
            if blank.any():
                keep = pa.array(~blank)
                columns = [c.filter(keep) for c in columns]
                numbers = numbers[~blank]
            # Parts of about CHUNK_ROWS, evenly: a block a little over a multiple of CHUNK_ROWS
            # would otherwise end in a tiny part that costs every per-column call of a full one.
            size = max(1, -(-len(numbers) // max(1, round(len(numbers) / CHUNK_ROWS))))
            for start in range(0, len(numbers), size):
                part = [c.slice(start, size) for c in columns]
                part_numbers = numbers[start : start + size]
                if not columnar.usable():  # the Python path widened the file: stay on it
                    check_pending()
                    cells = vectorized.python_cells(part, np.arange(len(part_numbers)))
                    _python_chunk(copy, checker, list(zip(part_numbers.tolist(), cells)), spool, q_prefix, counts)
                    continue
                rows, problem_rows = columnar.encode(part, part_numbers)
                counts[0] += len(part_numbers) - len(problem_rows)
                counts[1] += len(rows)
                if len(rows):
                    write_chunk(copy, vectorized.Rows(rows))
                if len(problem_rows):
                    pending += zip(part_numbers[problem_rows].tolist(), vectorized.python_cells(part, problem_rows))
                    if len(pending) >= PROBLEM_BATCH:
                        check_pending()
        check_pending()
        copy.write(pgbinary.TRAILER)
    read, loaded, quarantined = counts
    return read, loaded, quarantined


def _spool(
    spool,
    prefix: str,
    number: int,
    problems: list[Problem],
    reference_date: str | None,
    checker: RowChecker,
    cells: list,
) -> None:
    ref = reference_date or "\\N"
    unit, unit_uscc, key, shown = map(copy_text, checker.returned(cells))
    for p in problems:
        header = checker.header_of(p.column_name)
        spool.write(
            f"{prefix}{number}\t{copy_text(p.column_name)}\t{copy_text(p.rule)}\t{copy_text(p.value)}\t"
            f"{copy_text(p.message)}\t{p.severity}\t{ref}\t{unit}\t{unit_uscc}\t{key}\t{shown}\t"
            f"{copy_text(header)}\t{copy_text(corrections.row_instruction(p.rule, header, p.value))}\n"
        )


def correction_key_sql(contract) -> sql.Composable:
    """The correction key of a raw.<feed> row `r`, as `checks.RowChecker.returned` writes it for a
    quarantined row: a JSON array of the key columns' normalised text (dates YYYY-MM-DD)."""
    parts = []
    for name in contract.correction_columns:
        column = sql.Identifier("r", name)
        if contract.column(name).pg_type == "date":
            parts.append(sql.SQL("to_char({}, 'YYYY-MM-DD')").format(column))
        else:
            parts.append(sql.SQL("{}::text").format(column))
    return sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(parts))


def mark_corrections(conn, contract, file_name: str, sha256: str, received_at: dt.datetime) -> int:
    """A resubmission: the open rejected rows of this feed whose correction key a row of this
    file (just loaded, same transaction) has are corrected, at this file's delivery time, by it.
    Looked for only when the feed has open rows; then raw.<feed> is scanned once for this file's
    rows (it has no index, docs/internals.md), and the open rows are found by `quarantine_open`."""
    if not conn.execute(
        "select exists (select from audit.quarantine where feed = %s and corrected_at is null and severity = 'error')",
        (contract.id,),
    ).fetchone()[0]:
        return 0
    statement = sql.SQL(
        "update audit.quarantine as q set corrected_at = %s, corrected_by_file = %s, corrected_by_sha256 = %s"
        " from (select distinct {key} as correction_key from {raw} as r where r._file_sha256 = %s) as k"
        " where q.feed = %s and q.corrected_at is null and q.severity = 'error'"
        " and q.correction_key = k.correction_key and q.sha256 <> %s"
    ).format(key=correction_key_sql(contract), raw=sql.Identifier("raw", contract.id))
    return conn.execute(statement, (received_at, file_name, sha256, sha256, contract.id, sha256)).rowcount


def _copy_quarantine(conn, spool) -> None:
    statement = sql.SQL("copy audit.quarantine ({}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, QUARANTINE_COLUMNS))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        while block := spool.read(1 << 20):
            copy.write(block)
