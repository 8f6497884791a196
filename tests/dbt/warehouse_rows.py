"""Hand-made raw rows for the dbt tests: raw.<feed> created by the ingest's own ensure_schemas,
rows inserted with SQL exactly as the ingest would leave them (docs/internals.md): the file's
ledger row, then raw rows carrying its sha256."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import psycopg
from psycopg import sql

from include import feeds
from include.ingest.schema import ensure_schemas, raw_columns

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(n: int, region: str = "640102", kind: str = "91") -> str:
    """A valid 18-character USCC (GB 32100-2015 check character computed)."""
    body = f"{kind}{region}MA{n:07d}"
    total = sum(ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(body))
    return body + ALPHABET[(31 - total % 31) % 31]


def person_key(label: str) -> str:
    """What the ingest stores for a person: `p:` + a keyed hash (any stable hex is fine here)."""
    return "p:" + hashlib.sha256(label.encode()).hexdigest()


class RawWriter:
    """Inserts rows into raw.<feed> / audit.quarantine, filling the meta columns of a delivery."""

    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        ensure_schemas(conninfo)
        self._rows_in_file: dict[str, int] = {}

    def rows(self, feed: str, rows: list[dict], *, file: str, arrived: str, loaded: str | None = None) -> None:
        """Rows of one delivered file: its ledger row (name, arrival, load time: what raw rows
        join on their sha256) and its raw rows, numbered on from the file's earlier ones."""
        contract = feeds.get(feed)
        columns = [name for name, _ in raw_columns(contract)]
        # an organisation's code in an `id` column: the ingest stores it as its own key and display
        # form; a row gives a person's pseudonym and masked number itself
        rows = [
            {
                **row,
                **{f"{c}_key": v for c, v in row.items() if f"{c}_key" in columns and f"{c}_key" not in row},
                **{f"{c}_masked": v for c, v in row.items() if f"{c}_masked" in columns and f"{c}_masked" not in row},
            }
            for row in rows
        ]
        sha = hashlib.sha256(f"{feed}/{file}".encode()).hexdigest()
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at, loaded_at,"
                " rows_read, rows_loaded, status, detail) values (%s, %s, %s, 0, %s, %s, %s, %s, 'loaded', %s)"
                " on conflict (feed, sha256) where status <> 'duplicate' do update"
                " set rows_read = file_ledger.rows_read + excluded.rows_read,"
                "     rows_loaded = file_ledger.rows_loaded + excluded.rows_loaded,"
                # rows added to a file are new to the next incremental build, as a load would be
                "     load_xid = pg_current_xact_id()",
                (
                    feed,
                    file,
                    sha,
                    arrived,
                    loaded or arrived,
                    len(rows),
                    len(rows),
                    json.dumps({"received_headers": list(rows[0]) if rows else []}, ensure_ascii=False),
                ),
            )
            for values in rows:
                unknown = set(values) - set(columns)
                assert not unknown, f"{feed}: no such raw columns {unknown}"
                number = self._rows_in_file.get(file, 1) + 1  # header on row 1
                self._rows_in_file[file] = number
                record = {
                    "_file_sha256": sha,
                    "_row_number": number,
                    "_received": [str(v) for v in values.values()],
                    **values,
                }
                names = list(record)
                conn.execute(
                    sql.SQL("insert into {} ({}) values ({})").format(
                        sql.Identifier("raw", feed),
                        sql.SQL(", ").join(map(sql.Identifier, names)),
                        sql.SQL(", ").join(sql.Placeholder() * len(names)),
                    ),
                    [record[n] for n in names],
                )

    def quarantine(
        self,
        feed: str,
        *,
        file: str,
        row: int,
        column: str,
        value: str,
        severity: str = "error",
        reference_date: dt.date | None = None,
        rule: str = "check",
    ) -> None:
        sha = hashlib.sha256(f"{feed}/{file}".encode()).hexdigest()
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "insert into audit.quarantine (feed, file_name, sha256, row_number, column_name, rule, value,"
                " message, severity, reference_date) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (feed, file, sha, row, column, rule, value, f"{column}: {rule} ({value})", severity, reference_date),
            )
