"""Where the warehouse is: `WAREHOUSE_URL` (an operator's PostgreSQL), else the embedded one.

The one place that makes this decision; every task, command, test and benchmark asks here.
"""

from __future__ import annotations

import os

from psycopg.conninfo import make_conninfo

from include import embedded_pg


def is_external() -> bool:
    return bool(os.environ.get("WAREHOUSE_URL"))


def url(database: str | None = None) -> str:
    """libpq URL of the warehouse database, or of another `database` on the same server (e.g.
    the maintenance database `postgres` for scratch databases)."""
    external = os.environ.get("WAREHOUSE_URL")
    if external:
        return external if database is None else make_conninfo(external, dbname=database)
    return embedded_pg.url(database or "warehouse")


def start(database: str | None = None) -> str:
    """`url(database)`, after starting the embedded server when it is the warehouse."""
    if not is_external():
        embedded_pg.start()
    return url(database)
