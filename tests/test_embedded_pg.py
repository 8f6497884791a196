"""The embedded PostgreSQL: starts on a fresh STATE_DIR, survives a second start, stops."""
from __future__ import annotations

import psycopg
import pytest

from include import embedded_pg


@pytest.fixture
def own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("EMBEDDED_PG_PORT", "57300")
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    yield tmp_path / "state"
    embedded_pg.stop()


def test_start_twice_then_stop(own_state):
    url = embedded_pg.start()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(url) as conn:
        conn.execute("create table survivor (x int)")
        conn.execute("insert into survivor values (42)")

    assert embedded_pg.start() == url  # second start: same server, same port, nothing re-initialised
    with psycopg.connect(url) as conn:
        assert conn.execute("select x from survivor").fetchone() == (42,)
        databases = {r[0] for r in conn.execute("select datname from pg_database")}
    assert {"warehouse", "airflow"} <= databases
    assert (own_state / "postgres" / "data" / "PG_VERSION").exists()

    embedded_pg.stop()
    assert not embedded_pg.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)

    embedded_pg.start()  # and comes back with its data
    with psycopg.connect(url) as conn:
        assert conn.execute("select x from survivor").fetchone() == (42,)


def test_listens_on_tcp_loopback_for_tools_that_need_a_host(own_state):
    url = embedded_pg.start()
    with psycopg.connect(url) as conn:
        listen = conn.execute("show listen_addresses").fetchone()[0]
    assert listen == "127.0.0.1"
