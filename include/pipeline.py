"""`make run` and the other make targets that drive the whole platform (docs/spec/CONTRACT.md §1).

`run`: start the warehouse, prepare Airflow, write the sample when the landing zone is empty, run
the DAGs through Airflow (every ingest DAG, then `transform`, then `publish`), print the summary.
Exit code 0 only when the run was published. One run at a time per STATE_DIR: `run` holds an
exclusive lock (flock) on STATE_DIR/run.lock from its first step to its last, and a second `make run`
on the same STATE_DIR refuses at once, naming the holder; there are never two publishers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from include import airflow_env, settings, warehouse

DAG_ORDER_TAIL = ("transform", "publish")
# After the ingests, beside the transform (in a runner of its own: it only reads the ledger, and
# does not wait for the build): is any department overdue? It alerts, it never stops the run.
FRESHNESS_DAG = "feed_freshness"
SAMPLE_SUBJECTS = int(os.environ.get("SAMPLE_SUBJECTS", "2000"))


class RunInProgress(SystemExit):
    """Another run holds STATE_DIR's run lock."""


@contextlib.contextmanager
def run_lock():
    """The exclusive lock of a run on this STATE_DIR (STATE_DIR/run.lock, flock: released by the
    kernel when the holder ends, however it ends). The file says who holds it (pid, start time),
    for the message the next run gives. Yields the locked descriptor (children that must hold the
    lock too are given it)."""
    path = settings.state_dir() / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = (
                os.pread(fd, 4096, 0).decode(errors="replace").strip() or "a process that has not yet said who it is"
            )
            raise RunInProgress(
                f"another run is in progress on STATE_DIR {settings.state_dir()}: {holder}. "
                f"Wait for it to finish (or stop it); two runs must never publish at once."
            ) from None
        started = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} started {started} ({' '.join(sys.argv)})\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _airflow(args: list[str], env: dict, log: Path | None = None, check: bool = True) -> int:
    cmd = [_venv_bin("airflow"), *args]
    if log is None:
        out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and out.returncode != 0:
            say(out.stdout[-4000:])
            raise SystemExit(f"`airflow {' '.join(args)}` failed (exit {out.returncode})")
        return out.returncode
    with log.open("w") as f:
        rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if check and rc != 0:
        raise SystemExit(f"`airflow {' '.join(args)}` failed (exit {rc}); log: {log}")
    return rc


def prepare_airflow(env: dict) -> None:
    """Migrate the metadata database once per Airflow version; pools; serialize the DAGs."""
    # The version from the package's metadata, not `import airflow`: this process lives through
    # the whole run beside the DAG runners, and Airflow's import alone is ~100 MB of it.
    from importlib.metadata import version

    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / f".migrated-{version('apache-airflow')}"
    if not marker.exists():
        say("preparing Airflow's metadata database (first run only)…")
        _airflow(["db", "migrate"], env)
        marker.touch()
    set_pools(env)
    _airflow(["dags", "reserialize"], env)


def set_pools(env: dict) -> None:
    """The load pool at `settings.load_pool_slots()`; set again only when that changed."""
    slots = str(settings.load_pool_slots())
    marker = Path(env["AIRFLOW_HOME"]) / ".load-pool-slots"
    if marker.exists() and marker.read_text() == slots:
        return
    _airflow(["pools", "set", settings.LOAD_POOL, slots, settings.LOAD_POOL_DESCRIPTION], env)
    marker.write_text(slots)


def landing_is_empty(landing: Path) -> bool:
    if not landing.exists():
        return True
    return not any(p.is_file() for folder in landing.iterdir() if folder.is_dir() for p in folder.iterdir())


def ensure_sample(landing: Path, as_of) -> None:
    """An empty landing zone gets the sample (a landing zone with files is never touched: the
    departments' resubmission of the sample is `make sample-resubmission`, by hand)."""
    if not landing_is_empty(landing):
        return
    say(f"landing zone {landing} is empty: writing the sample deliveries ({SAMPLE_SUBJECTS} subjects)…")
    # In a process of its own: the generated registry (hundreds of MB at city scale) is returned
    # when it ends, instead of staying in this process's heap for the rest of the run.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "include.sample_data",
            "--subjects",
            str(SAMPLE_SUBJECTS),
            "--as-of",
            as_of.isoformat(),
            "--landing",
            str(landing),
        ],
        cwd=settings.REPO_ROOT,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def dag_ids() -> list[str]:
    from include import feeds

    return [f"ingest_{feed}" for feed in feeds.load_contracts()] + [FRESHNESS_DAG, *DAG_ORDER_TAIL]


# The two largest feeds go to different workers; the rest alternate.
HEAVY_FEEDS = ("utilities", "tax")


def _ingest_groups(ingest: list[str]) -> list[list[str]]:
    heavy = [d for d in ingest if d.removeprefix("ingest_") in HEAVY_FEEDS]
    light = [d for d in ingest if d not in heavy]
    groups: list[list[str]] = [[], []]
    for i, dag_id in enumerate(heavy + light):
        groups[i % 2].append(dag_id)
    return [g for g in groups if g]


# The run lock's descriptor while `run` holds it: each DAG runner inherits it, so that the lock
# outlives a `make run` killed while its runners still publish.
_LOCK_FD: int | None = None


def runner_command(dag_ids: list[str], conf: str, stop_on_failure: bool) -> list[str]:
    """The command of one DAG runner process (include/dag_runner.py).

    `-X frozen_modules=off`: dbt builds its adapter's behaviour flags from `inspect.stack()`, once per
    dbt task, and `inspect` cannot tell which module a frame of a frozen module (`<frozen runpy>`,
    the frames of `python -m`) belongs to, so it walks all of `sys.modules` for each of them, 26
    flags per task, in a process holding Airflow, Cosmos and dbt. With runpy read from its source
    file every frame is found in `inspect`'s cache (docs/performance.md, "Design decisions").
    """
    flags = ["--stop-on-failure"] if stop_on_failure else []
    return [sys.executable, "-X", "frozen_modules=off", "-m", "include.dag_runner", *flags, "--conf", conf, *dag_ids]


def _start_runner(dag_ids: list[str], conf: str, env: dict, log: Path, stop_on_failure: bool):
    cmd = runner_command(dag_ids, conf, stop_on_failure)
    handle = log.open("w")
    held = (_LOCK_FD,) if _LOCK_FD is not None else ()
    return subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, pass_fds=held), log


def _finish_runner(proc: subprocess.Popen, log: Path) -> bool:
    rc = proc.wait()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("dag "):
            _, dag_id, state, seconds = line.split(" ", 3)
            verdict = "ok" if state == "success" else f"FAILED ({state}), log: {log}"
            say(f"  {dag_id:<28} {seconds:>7}  {verdict}")
    return rc == 0


def current_publication(url: str, as_of) -> str | None:
    """The publication that already holds this run's result, if any: the one now published is for
    `AS_OF`, was made by this very code (a clean checkout's commit), no file was loaded after it,
    and its export files are in place. Then a transform would rebuild the same tables — as under
    the scheduler, where the transform runs only when a raw Asset was updated."""
    import psycopg

    from include.publish import pipeline_version

    version = pipeline_version()
    if (
        os.environ.get("REBUILD")
        or os.environ.get("FULL_REFRESH")
        or version == "unknown"
        or version.endswith("-dirty")
    ):
        return None
    manifest = settings.export_dir() / as_of.isoformat() / "manifest.json"
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('audit.publication_log') is null").fetchone()[0]:
            return None
        latest = conn.execute("""select version, as_of, pipeline_version, published_at
                                 from audit.publication_log order by published_at desc limit 1""").fetchone()
        last_load = conn.execute("select max(loaded_at) from audit.file_ledger").fetchone()[0]
    if latest is None or latest[1] != as_of or latest[2] != version or not manifest.exists():
        return None
    if last_load is not None and last_load >= latest[3]:
        return None
    if json.loads(manifest.read_text()).get("publication_version") != latest[0]:
        return None
    return latest[0]


def run_dags(env: dict, as_of, log_dir: Path) -> bool:
    """Every ingest DAG (two worker processes), then `transform`, then `publish`, via Airflow."""
    # FULL_REFRESH=1: the transform rebuilds its incremental tables from raw (dbt --full-refresh),
    # e.g. after an upgrade changed their columns (dbt then says so and stops).
    conf = json.dumps(
        {"as_of": as_of.isoformat(), **({"full_refresh": True} if os.environ.get("FULL_REFRESH") else {})}
    )
    ingest = [d for d in dag_ids() if d.startswith("ingest_")]
    runners = [
        _start_runner(group, conf, env, log_dir / f"ingest-{i}.log", stop_on_failure=False)
        for i, group in enumerate(_ingest_groups(ingest))
    ]
    ok = all([_finish_runner(proc, log) for proc, log in runners])
    if not ok:
        return False
    freshness = _start_runner([FRESHNESS_DAG], conf, env, log_dir / "feed-freshness.log", stop_on_failure=True)
    unchanged = current_publication(warehouse.url(), as_of)
    if unchanged:
        say(
            f"  nothing new since publication {unchanged} for AS_OF={as_of} by this code: transform and "
            f"publish not needed (REBUILD=1 forces them)"
        )
        return _finish_runner(*freshness)
    proc, log = _start_runner(list(DAG_ORDER_TAIL), conf, env, log_dir / "transform-publish.log", stop_on_failure=True)
    built = _finish_runner(proc, log)
    return _finish_runner(*freshness) and built


def _warehouse_now():
    """The warehouse's clock when the DAGs start: the alerts recorded from then on are this run's."""
    import psycopg

    with psycopg.connect(warehouse.url()) as conn:
        return conn.execute("select now()").fetchone()[0]


def run() -> int:
    global _LOCK_FD
    with run_lock() as fd:
        _LOCK_FD = fd
        try:
            return _run()
        finally:
            _LOCK_FD = None


def _run() -> int:
    started = time.monotonic()
    as_of = settings.as_of()
    landing = settings.landing_dir()
    warehouse.start()
    from include import export

    # What a killed export had decided to publish is completed before anything reads the files.
    export.recover(settings.export_dir())
    env = airflow_env.environment()
    ensure_sample(landing, as_of)
    prepare_airflow(env)
    log_dir = settings.state_dir() / "logs" / time.strftime("run-%Y%m%dT%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    say(f"running the pipeline through Airflow for AS_OF={as_of} (logs: {log_dir})")
    run_started = _warehouse_now()
    ok = run_dags(env, as_of, log_dir)
    from include import summary

    published = summary.print_summary(warehouse.url(), as_of, settings.export_dir(), landing, alerts_since=run_started)
    say(f"wall time {time.monotonic() - started:.0f}s")
    return 0 if ok and published else 1


def airflow_ui() -> int:
    warehouse.start()
    env = airflow_env.environment()
    prepare_airflow(env)
    say(f"Airflow UI on http://localhost:{env['AIRFLOW__API__PORT']} (Ctrl-C stops it)")
    return subprocess.run([_venv_bin("airflow"), "standalone"], env=env).returncode


def psql() -> int:
    url = warehouse.start()
    from include import embedded_pg

    client = shutil.which("psql") or embedded_pg._bin("psql")
    return subprocess.run([client, url]).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        return run()
    if command == "airflow":
        return airflow_ui()
    if command == "psql":
        return psql()
    if command == "warehouse-url":
        print(warehouse.start())
        return 0
    if command == "pools":  # docker-compose's airflow-init: the same pool, from the same setting
        _airflow(
            ["pools", "set", settings.LOAD_POOL, str(settings.load_pool_slots()), settings.LOAD_POOL_DESCRIPTION],
            dict(os.environ),
        )
        return 0
    if command == "bench":
        bench = settings.REPO_ROOT / "bench" / "run_all.py"
        return subprocess.run([sys.executable, str(bench)]).returncode
    say(f"unknown command {command!r}: run | airflow | psql | warehouse-url | pools | bench")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
