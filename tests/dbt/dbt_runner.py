"""One `dbt build` per scenario; failures show dbt's own output."""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import psycopg

from include.transform import run_dbt


def build(conninfo: str, as_of: dt.date, *args: str, extra_vars: dict | None = None, target_path=None) -> str:
    # each test database gets its own target dir: concurrent dbt runs must not share artefacts
    target_path = target_path or Path(tempfile.gettempdir()) / f"dbt-target-{conninfo.rsplit('/', 1)[-1]}"
    result = run_dbt(["build", *args], conninfo, as_of, extra_vars=extra_vars, target_path=target_path, timeout=600)
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    return result.stdout


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
    target = Path(tempfile.gettempdir()) / f"dbt-target-{conninfo.rsplit('/', 1)[-1]}"
    results = json.loads((target / "run_results.json").read_text())["results"]
    for r in results:
        if r["unique_id"].endswith("." + model):
            return r["adapter_response"].get("rows_affected")
    raise KeyError(model)
