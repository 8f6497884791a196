"""The embedded PostgreSQL 16 (from the `pgserver` wheel) that `make` starts under STATE_DIR.

pgserver's own `get_server` listens on a Unix socket only and stops the server when the Python
process exits; GX's `add_postgres` and Cosmos's Asset URIs want a host, and the server must
outlive `make run`. So we drive its bundled `initdb`/`pg_ctl` ourselves: TCP on 127.0.0.1, a port
chosen once per STATE_DIR and remembered, trust authentication (loopback only, a laptop's dev
server; production uses WAREHOUSE_URL with passwords).

    python -m include.embedded_pg start|stop|status|url [DB]
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from include.settings import state_dir

DATABASES = ("warehouse", "airflow")
SUPERUSER = "postgres"
HOST = "127.0.0.1"
FIRST_PORT = 55432


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
    as_user = {"user": user, "group": user, "extra_groups": []} if user else {}
    return subprocess.run(args, check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/", **as_user)


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


def url(database: str = "warehouse", user: str = SUPERUSER) -> str:
    return f"postgresql://{user}@{HOST}:{port()}/{database}"


def _prepare_permissions(data: Path) -> None:
    user = _system_user()
    if user is None:
        return
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", user],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(user)
    # The server user must be able to walk down to its data and its binaries.
    for leaf in (data, _bin_dir()):
        for parent in leaf.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
    for path in (data.parent, data):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def is_running() -> bool:
    if not (pgdata() / "PG_VERSION").exists():
        return False
    return _run([_bin("pg_ctl"), "-D", str(pgdata()), "status"], check=False).returncode == 0


def _initdb() -> None:
    data = pgdata()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    _prepare_permissions(data)
    out = _run([_bin("initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8"], check=False)
    if out.returncode != 0:
        raise RuntimeError(f"initdb failed for {data}:\n{out.stdout}")


def start() -> str:
    """Start (initialising on first use) and make sure both databases exist. Idempotent."""
    data = pgdata()
    if not (data / "PG_VERSION").exists():
        _initdb()
    else:
        _prepare_permissions(data)
    if not is_running():
        log = data.parent / "server.log"
        if _system_user():
            log.touch()
            import pwd
            entry = pwd.getpwnam(_system_user())
            os.chown(log, entry.pw_uid, entry.pw_gid)
        opts = (f"-h {HOST} -p {port()} -k '' -c max_connections=200 -c shared_buffers=256MB "
                f"-c fsync=on -c timezone=Asia/Shanghai -c max_wal_size=2GB")
        out = _run([_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                    "-o", opts, "start"], check=False, timeout=90)
        if out.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start (data {data}):\n{out.stdout}\n{tail}")
    _ensure_databases()
    return url()


def _ensure_databases() -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(url("postgres"), autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        existing = {r[0] for r in conn.execute("select datname from pg_database")}
        for name in DATABASES:
            if name not in existing:
                conn.execute(f'create database "{name}"')


def stop() -> None:
    if is_running():
        _run([_bin("pg_ctl"), "-D", str(pgdata()), "-m", "fast", "-w", "stop"], timeout=90)


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
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
