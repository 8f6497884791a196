"""Shared fixtures: a real PostgreSQL for every test that needs one; the suite's markers.

The embedded server starts once per session under STATE_DIR (`make test` uses `.local/test`, so
tests never touch the data of `make run`). With WAREHOUSE_URL set, that server is used instead.
Each test module asking for `scratch_db` gets a database of its own, dropped afterwards, so
modules cannot see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from include import airflow_env, embedded_pg, warehouse
from tests.support.scratch_db import scratch_database

# Tests that start Airflow itself (its metadata migrated, DAG files parsed, or `make run` through
# the DAGs). `make test-fast` leaves them out: `-m "not e2e"`.
AIRFLOW_FIXTURES = frozenset({"dagbag", "airflow_ready"})


def pytest_collection_modifyitems(config, items):
    """Every test gets exactly one of `unit` / `db`, from what it uses, and `e2e` when it starts
    Airflow: the marker follows the fixture, so a new test cannot be filed under the wrong one."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & AIRFLOW_FIXTURES:
            item.add_marker(pytest.mark.e2e)
        # an e2e test without the fixture (`make run` in a subprocess) starts a server of its own
        uses_db = "postgres_server" in names or item.get_closest_marker("e2e") is not None
        item.add_marker(pytest.mark.db if uses_db else pytest.mark.unit)


def pytest_configure(config):
    # Airflow reads its configuration when first imported, and several modules import it: point it
    # at this session's STATE_DIR (metadata in the embedded PostgreSQL) before any test does.
    for key, value in airflow_env.environment().items():
        if key.startswith(("AIRFLOW", "DBT_", "SCARF", "DO_NOT_TRACK", "GX_")):
            os.environ[key] = value


@pytest.fixture(scope="session")
def postgres_server():
    """URL of the maintenance database `postgres` on a running server."""
    if warehouse.is_external():
        yield warehouse.url("postgres")
        return
    was_running = embedded_pg.is_running()
    yield warehouse.start("postgres")
    if not was_running:  # leave the machine as we found it
        embedded_pg.stop()


@pytest.fixture(scope="module")
def scratch_db(postgres_server: str):
    """A fresh, empty database for one test module; yields its libpq URL."""
    with scratch_database(postgres_server, "test") as url:
        yield url
    # the dbt target dir of its runs (tests/dbt/dbt_runner.py target_of), ~8 MB each
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    shutil.rmtree(Path(tempfile.gettempdir()) / f"dbt-target-{dbname}", ignore_errors=True)
