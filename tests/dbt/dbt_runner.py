"""One `dbt build` per scenario; failures show dbt's own output.

The builds of the whole test session run in one dbt process (tests/support/dbt_process.py, dbtRunner as
the transform DAG runs dbt): a fresh `dbt` command first spends 4–6 s importing dbt, and these
tests run ~40 builds. Tests about the `dbt` command itself use include.transform.run_dbt.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import tempfile
from pathlib import Path

import psycopg

from include.transform import dbt_arguments, dbt_run_env
from tests.support.dbt_process import DbtProcess

_process: DbtProcess | None = None


def _dbt() -> DbtProcess:
    global _process
    if _process is None or _process.proc.poll() is not None:
        _process = DbtProcess()
        atexit.register(_process.close)
    return _process


def dbt(conninfo: str, as_of: dt.date, *args: str, extra_vars: dict | None = None, target_path=None) -> dict:
    """`dbt <args>` as of `as_of`; the reply: success, error, output (what dbt printed)."""
    return _dbt().invoke(
        dbt_arguments(list(args), as_of, extra_vars=extra_vars, target_path=target_path or target_of(conninfo)),
        env=dbt_run_env(conninfo),
    )


def build(conninfo: str, as_of: dt.date, *args: str, extra_vars: dict | None = None, target_path=None) -> str:
    """`dbt build <args>` as of `as_of`; returns what dbt printed, or fails the test with it."""
    reply = dbt(conninfo, as_of, "build", *args, extra_vars=extra_vars, target_path=target_path)
    assert reply["success"], f"dbt build failed: {reply['error'] or 'a node failed'}\n{reply['output'][-8000:]}"
    return reply["output"]


def target_of(conninfo: str) -> Path:
    # each test database gets its own target dir: concurrent dbt runs must not share artefacts.
    # Named after the database (tests/conftest.py's scratch_db removes it with the database).
    return Path(tempfile.gettempdir()) / f"dbt-target-{psycopg.conninfo.conninfo_to_dict(conninfo)['dbname']}"


def query(conninfo: str, statement: str, params=None) -> list[tuple]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(statement, params).fetchall()


def by_key(conninfo: str, statement: str, params=None) -> dict:
    """First column → the rest of the row (a tuple, or the single value)."""
    out = {}
    for row in query(conninfo, statement, params):
        out[row[0]] = row[1] if len(row) == 2 else row[1:]
    return out


def rows_affected(conninfo: str, model: str) -> int | None:
    """rows_affected of `model` in the last build's run_results.json."""
    results = json.loads((target_of(conninfo) / "run_results.json").read_text())["results"]
    for r in results:
        if r["unique_id"].endswith("." + model):
            return r["adapter_response"].get("rows_affected")
    raise KeyError(model)
