"""The embedded PostgreSQL: starts on a fresh STATE_DIR, survives a second start, stops; lets in
only who proves a password (scram-sha-256 on TCP and on its socket); converts a STATE_DIR an
earlier version initialised with `trust` without losing its data."""

from __future__ import annotations

import stat

import psycopg
import pytest

from include import embedded_pg, settings


@pytest.fixture
def own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("EMBEDDED_PG_PORT", "57300")
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    for role in embedded_pg.LOGIN_ROLES:
        monkeypatch.delenv(f"{role.upper()}_PASSWORD", raising=False)
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


# --- authentication --------------------------------------------------------------------------


def _tcp(user: str = "postgres", **extra) -> str:
    # passfile=/nonexistent: no ~/.pgpass of the person running the tests may help
    params = {"dbname": "warehouse", "passfile": "/nonexistent", "connect_timeout": "5", **extra}
    return psycopg.conninfo.make_conninfo(host="127.0.0.1", port=str(embedded_pg.port()), user=user, **params)


def _socket(user: str = "postgres", **extra) -> str:
    return psycopg.conninfo.make_conninfo(_tcp(user, **extra), host=str(embedded_pg.socket_dir()))


def _refused(conninfo: str) -> str:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(conninfo).close()
    return str(refused.value)


@pytest.mark.parametrize("where", [_tcp, _socket], ids=["tcp", "socket"])
def test_a_connection_without_the_password_or_with_a_wrong_one_is_refused(own_state, where):
    embedded_pg.start()
    for user in ("postgres", "credit_analyst"):
        assert "no password supplied" in _refused(where(user))
        assert f'password authentication failed for user "{user}"' in _refused(where(user, password="xxxxxxxx"))
    with psycopg.connect(where(password=embedded_pg.superuser_password())) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)
    with psycopg.connect(where("credit_analyst", password=settings.role_password("credit_analyst"))) as conn:
        assert conn.execute("select current_user").fetchone() == ("credit_analyst",)


def test_secrets_and_server_folders_are_the_owners_only(own_state):
    url = embedded_pg.start()
    assert "password" not in url and "passfile=" in url
    secrets = own_state / "secrets"
    for path in (
        secrets / "postgres.password",
        secrets / "pgpass",
        secrets / "credit_analyst.password",
        secrets / "credit_financing.password",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    password = (secrets / "postgres.password").read_text().strip()
    assert len(password) == 64 and embedded_pg.superuser_password() == password
    for folder in (secrets, own_state / "postgres" / "data", embedded_pg.socket_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    with psycopg.connect(url) as conn:
        hba = conn.execute("select type, auth_method from pg_hba_file_rules order by line_number").fetchall()
        socket_mode = conn.execute("show unix_socket_permissions").fetchone()[0]
    assert hba == [("local", "scram-sha-256"), ("host", "scram-sha-256"), ("host", "scram-sha-256")]
    assert socket_mode == "0700"
    embedded_pg.stop()
    embedded_pg.start()  # the password is made once: the same after a restart
    assert embedded_pg.superuser_password() == password


def _initdb_with_trust_as_before() -> None:
    """What the previous version did: initdb --auth=trust, TCP only (`-k ''`)."""
    data = embedded_pg.pgdata()
    data.mkdir(parents=True)
    data.chmod(0o700)
    embedded_pg._prepare_permissions(data)
    embedded_pg._run(
        [
            embedded_pg._bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
    )
    embedded_pg._run(
        [
            embedded_pg._bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(data.parent / "server.log"),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {embedded_pg.port()} -k ''",
            "start",
        ],
        timeout=90,
    )


@pytest.mark.parametrize("left_running", [True, False], ids=["left-running", "stopped"])
def test_a_state_dir_made_with_trust_is_converted_without_losing_data(own_state, left_running):
    _initdb_with_trust_as_before()
    with psycopg.connect(_tcp(dbname="postgres"), autocommit=True) as conn:  # trust: no password yet
        conn.execute("create database warehouse")
    with psycopg.connect(_tcp()) as conn:
        conn.execute("create table kept (uscc text primary key, name text)")
        conn.execute("insert into kept values ('91640100MA0000001X', '银川甲公司'), ('91640100MA0000002X', '乙')")
    if not left_running:
        embedded_pg.stop()

    url = embedded_pg.start()

    assert "no password supplied" in _refused(_tcp())
    assert "no password supplied" in _refused(_socket())
    with psycopg.connect(url) as conn:
        assert conn.execute("select uscc, name from kept order by uscc").fetchall() == [
            ("91640100MA0000001X", "银川甲公司"),
            ("91640100MA0000002X", "乙"),
        ]
    with psycopg.connect(_socket(password=embedded_pg.superuser_password())) as conn:
        assert conn.execute("select count(*) from kept").fetchone() == (2,)
    embedded_pg.stop()
    assert embedded_pg.start() == url  # converted once: the next start is an ordinary one


def test_make_credentials_prints_a_url_the_role_connects_with(own_state):
    import os
    import subprocess
    import sys

    from include.settings import REPO_ROOT

    out = subprocess.run(
        [sys.executable, "-m", "include.embedded_pg", "credentials", "credit_analyst"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    lines = dict(line.split(":", 1) for line in out.splitlines())
    password = (own_state / "secrets" / "credit_analyst.password").read_text().strip()
    assert lines["password"].strip() == password
    for key in ("tcp", "socket"):
        with psycopg.connect(lines[key].strip()) as conn:
            assert conn.execute("select current_user").fetchone() == ("credit_analyst",), key
    wrong = subprocess.run(
        [sys.executable, "-m", "include.embedded_pg", "credentials", "postgres"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wrong.returncode == 2
    assert "ROLE must be one of credit_loader, credit_analyst, credit_financing" in wrong.stderr
