"""A throwaway database on the warehouse's server, for tests and benchmarks.

with scratch_database(server_url, "bench") as url:   # created, yielded, dropped (force)
    ...
"""

from __future__ import annotations

import contextlib
import uuid

import psycopg
from psycopg import sql


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "scratch", keep: bool = False):
    """A fresh, empty database beside the one `server_url` names; yields its URL.

    Dropped afterwards (even with sessions still open on it) unless `keep`, which leaves it for a
    person to look into.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(server_url, dbname=name)
    finally:
        if not keep:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
