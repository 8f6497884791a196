"""The embedded PostgreSQL 16 (from the `pgserver` wheel) that `make` starts under STATE_DIR.

pgserver's own `get_server` listens on a Unix socket only and stops the server when the Python
process exits; GX's `add_postgres` and Cosmos's Asset URIs want a host, and the server must
outlive `make run`. So we drive its bundled `initdb`/`pg_ctl` ourselves: TCP on 127.0.0.1, a port
chosen once per STATE_DIR and remembered, and a Unix socket in an owner-only folder.

Closed like a production server (an office may run it on a shared machine): `scram-sha-256` on
TCP and on the socket, nothing trusted. The superuser's password is generated once per STATE_DIR
and kept in STATE_DIR/secrets/postgres.password (mode 0600, like the pseudonym key); the URL we
hand out carries no password but names a libpq password file (`passfile=`, also 0600) holding
it, so a URL that reaches a log or a process list gives nothing away. The reader roles
(credit_loader, credit_analyst, credit_financing) get generated passwords of their own
(`make credentials ROLE=…`). A STATE_DIR initialised with `trust` by an earlier version is
converted in place on its next start: the password is set while trust still lets us in, then
pg_hba.conf is rewritten and the server restarted; no data is touched.

    python -m include.embedded_pg start|stop|status|url [DB]|credentials ROLE
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from include import settings
from include.settings import state_dir

logger = logging.getLogger(__name__)
DATABASES = ("warehouse", "airflow")
SUPERUSER = "postgres"
HOST = "127.0.0.1"
FIRST_PORT = 55432
# The roles of include/publish.py that log in (named here: publish imports much more than this needs).
LOGIN_ROLES = ("credit_loader", "credit_analyst", "credit_financing")
# Every client authenticates; nothing is trusted, not even the local socket.
PG_HBA = """\
# Written by include/embedded_pg.py: every connection proves its password (scram-sha-256).
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""
SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; the socket's own name is `.s.PGSQL.<port>`


def _bin_dir() -> Path:
    # Located without importing `pgserver` itself: its __init__ sets up runtime dirs we don't use.
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed: run `make install`")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _bin(name: str) -> str:
    return str(_bin_dir() / name)


def pgdata() -> Path:
    return state_dir() / "postgres" / "data"


def _port_file() -> Path:
    return state_dir() / "postgres" / "port"


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; under root (CI, containers) it runs as `pgserver`."""
    return "pgserver" if os.geteuid() == 0 else None


def _run(args: list[str], *, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    user = _system_user()
    # Drop root's groups too: with gid 0 the server would be judged by the group bits of
    # root-owned parent folders (often ---), not by the world-execute bit we grant.
    as_user: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
    return subprocess.run(
        args,
        check=check,
        timeout=timeout,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd="/",
        **as_user,
    )


def _free_port(start: int) -> int:
    for port in range(start, start + 500):
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port on {HOST} from {start} to {start + 500}")


def port() -> int:
    f = _port_file()
    if f.exists():
        return int(f.read_text().strip())
    f.parent.mkdir(parents=True, exist_ok=True)
    chosen = _free_port(int(os.environ.get("EMBEDDED_PG_PORT", FIRST_PORT)))
    f.write_text(f"{chosen}\n")
    return chosen


def superuser_password() -> str:
    return settings.generated_secret("postgres.password")


def passfile() -> Path:
    """The libpq password file (mode 0600) holding the superuser's password for this server's
    TCP address and socket: what lets the password-less URL connect."""
    return settings.secrets_dir() / "pgpass"


def _write_passfile() -> None:
    password = superuser_password()
    lines = "".join(f"{host}:{port()}:*:{SUPERUSER}:{password}\n" for host in (HOST, str(socket_dir())))
    path = passfile()
    if path.exists() and path.read_text() == lines:
        return
    tmp = path.with_name(f".pgpass.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(lines)
    os.replace(tmp, path)


def socket_dir() -> Path:
    """The server's Unix socket folder (owner-only), under STATE_DIR unless that path is too long
    for a socket; then a folder in the temporary directory named after STATE_DIR."""
    preferred = state_dir() / "postgres" / "socket"
    if len(str(preferred)) + len(f"/.s.PGSQL.{port()}") <= SOCKET_PATH_MAX:
        return preferred
    tag = hashlib.sha256(str(state_dir().resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"credit-pg-{tag}"


def url(database: str = "warehouse", user: str = SUPERUSER) -> str:
    """The superuser's URL: no password in it, the password file named instead."""
    return f"postgresql://{user}@{HOST}:{port()}/{database}?passfile={quote(str(passfile()), safe='/')}"


def role_url(role: str, database: str = "warehouse", *, via_socket: bool = False) -> str:
    """A reader role's URL with its own password (what `make credentials ROLE=…` prints)."""
    password = quote(settings.role_password(role), safe="")
    if via_socket:
        return f"postgresql://{role}:{password}@/{database}?host={quote(str(socket_dir()), safe='/')}&port={port()}"
    return f"postgresql://{role}:{password}@{HOST}:{port()}/{database}"


def _prepare_permissions(data: Path) -> None:
    _owner_only(socket_dir())
    user = _system_user()
    if user is None:
        return
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", user],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(user)
    # The server user must be able to walk down to its data and its binaries.
    for leaf in (data, _bin_dir()):
        for parent in leaf.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
    for path in (data.parent, data, socket_dir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _owner_only(*folders: Path) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)


def is_running() -> bool:
    if not (pgdata() / "PG_VERSION").exists():
        return False
    return _run([_bin("pg_ctl"), "-D", str(pgdata()), "status"], check=False).returncode == 0


def _server_owned(path: Path) -> None:
    """A file the server reads: owned by the server's user when that is not us (root)."""
    user = _system_user()
    if user:
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _initdb() -> None:
    data = pgdata()
    _owner_only(data, socket_dir())
    _prepare_permissions(data)
    # The password reaches initdb in a file only the server's user can read, removed at once.
    pwfile = data.parent / f".initdb-pw-{os.getpid()}"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(superuser_password() + "\n")
    _server_owned(pwfile)
    try:
        out = _run(
            [
                _bin("initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            check=False,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"initdb failed for {data}:\n{out.stdout}")
    _write_hba(data)


def _hba_is_ours(data: Path) -> bool:
    return (data / "pg_hba.conf").read_text() == PG_HBA


def _write_hba(data: Path) -> None:
    tmp = data / f".pg_hba.conf.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(PG_HBA)
        f.flush()
        os.fsync(f.fileno())
    _server_owned(tmp)
    os.replace(tmp, data / "pg_hba.conf")


def _convert_from_trust() -> None:
    """An earlier version's cluster (trust for everyone): give the superuser its password while
    trust still lets us in without one, then close pg_hba.conf; the caller restarts the server."""
    from psycopg import sql

    logger.warning(
        "embedded PostgreSQL %s trusted every local connection: setting the superuser's "
        "password and switching to scram-sha-256",
        pgdata(),
    )
    if not is_running():
        _pg_ctl_start()
    with _connect_when_up(f"host={HOST} port={port()} dbname=postgres user={SUPERUSER}") as conn:
        conn.execute("set password_encryption = 'scram-sha-256'")
        conn.execute(
            sql.SQL("alter role {} with password {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(superuser_password())
            )
        )
    _write_hba(pgdata())
    stop()


def _pg_ctl_start() -> None:
    data = pgdata()
    log = data.parent / "server.log"
    if _system_user():
        log.touch()
        _server_owned(log)
    opts = (
        f"-h {HOST} -p {port()} -k '{socket_dir()}' -c unix_socket_permissions=0700 "
        f"-c password_encryption=scram-sha-256 -c max_connections=200 -c shared_buffers=256MB "
        f"-c fsync=on -c timezone=Asia/Shanghai -c max_wal_size=2GB"
    )
    out = _run(
        [_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", opts, "start"],
        check=False,
        timeout=90,
    )
    if out.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start (data {data}):\n{out.stdout}\n{tail}")


def start() -> str:
    """Start (initialising on first use, converting a trust cluster) and make sure both databases
    and the login roles exist. Idempotent."""
    data = pgdata()
    if not (data / "PG_VERSION").exists():
        _initdb()
    else:
        _owner_only(data, socket_dir())
        _prepare_permissions(data)
        if not _hba_is_ours(data):
            _convert_from_trust()
    _write_passfile()
    if not is_running():
        _pg_ctl_start()
    _ensure_databases_and_roles()
    return url()


def _connect_when_up(conninfo: str):
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _ensure_databases_and_roles() -> None:
    """The two databases, and each login role with its generated password (roles are the
    cluster's, the grants per database are include/publish.py's)."""
    from psycopg import sql

    with _connect_when_up(url("postgres")) as conn:
        existing = {r[0] for r in conn.execute("select datname from pg_database")}
        for name in DATABASES:
            if name not in existing:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        for role in LOGIN_ROLES:
            verb = (
                "alter" if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() else "create"
            )
            # Utility statements take no bind parameters; Literal quotes the value client-side.
            conn.execute(
                sql.SQL("{} role {} with login password {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(settings.role_password(role))
                )
            )


def stop() -> None:
    if is_running():
        _run([_bin("pg_ctl"), "-D", str(pgdata()), "-m", "fast", "-w", "stop"], timeout=90)


def credentials(role: str) -> int:
    """`make credentials ROLE=…`: the role's password and its URLs, for the person who is that role."""
    if role not in LOGIN_ROLES:
        print(f"ROLE must be one of {', '.join(LOGIN_ROLES)} (got {role!r})", file=sys.stderr)
        return 2
    if os.environ.get("WAREHOUSE_URL"):
        print(
            f"WAREHOUSE_URL is an external warehouse: {role}'s password is the {role.upper()}_PASSWORD "
            f"its administrator set (include/publish.py gives it to the role)",
            file=sys.stderr,
        )
        return 2
    start()
    print(f"role:     {role}")
    print(f"password: {settings.role_password(role)}")
    print(f"tcp:      {role_url(role)}")
    print(f"socket:   {role_url(role, via_socket=True)}")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        start()
        print(f"embedded PostgreSQL running: {url()}", file=sys.stderr)
    elif command == "stop":
        stop()
        print("embedded PostgreSQL stopped", file=sys.stderr)
    elif command == "status":
        print("running" if is_running() else "stopped")
    elif command == "url":
        print(url(argv[1] if len(argv) > 1 else "warehouse"))
    elif command == "credentials":
        return credentials(argv[1] if len(argv) > 1 else "")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
