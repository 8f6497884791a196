"""Shared helpers of the benchmarks: the machine, peak memory of a process tree, results files.

    machine() -> dict                       # cores, RAM, CPU model, kernel, date (UTC)
    TreeMonitor(pid, postgres_pid=None)     # thread polling the RSS of a process tree (+ the server)
                                            # .stop() -> peaks: tree RSS/PSS, by role, at the peak
    write_results(name, payload) -> Path    # bench/results/<name>.json
    scratch_bench_database() -> ctx[url]    # a fresh database on the warehouse server, dropped after
    print_table(rows, columns)              # a fixed-width table on stdout

Memory is measured from outside (psutil polling): dbt, Airflow's task runners and the ingest are
separate processes, so a process's own ru_maxrss would miss most of it. The embedded PostgreSQL
is not a descendant of the pipeline (pg_ctl daemonises it), so it is measured apart, as PSS:
its shared buffers appear in every backend's RSS and summing RSS would count them many times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import threading
import time
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or BENCH_DIR / "results")
MB = 1024 * 1024


def machine() -> dict:
    cpu_model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def postmaster_pid(state_dir: Path) -> int | None:
    """The embedded server's main process (first line of postmaster.pid), if it runs."""
    pid_file = Path(state_dir) / "postgres" / "data" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss(pid: int) -> tuple[int, int, psutil.Process | None]:
    """(sum of RSS over the tree, largest single RSS in bytes, that process) at this instant."""
    total = largest = 0
    biggest = None
    for proc in _tree(pid):
        try:
            rss = proc.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        if rss > largest:
            largest, biggest = rss, proc
    return total, largest, biggest


def _command(proc: psutil.Process | None) -> str | None:
    try:
        return " ".join(proc.cmdline())[:200] if proc else None
    except psutil.Error:
        return None


def tree_pss(pid: int) -> int:
    """Sum of PSS over the tree (shared pages split between the processes sharing them)."""
    total = 0
    for proc in _tree(pid):
        try:
            total += proc.memory_full_info().pss
        except (psutil.Error, AttributeError):
            continue
    return total


def role(command: str | None) -> str:
    """A short name for what a process of `make run` is, from its command line: the per-process
    peaks are reported by role (which runner, dbt, Airflow's task runner, …), not by pid."""
    if not command:
        return "?"
    if "include.dag_runner" in command:
        dags = [w for w in command.split() if w.startswith(("ingest_", "transform", "publish"))]
        return "dag_runner " + (" ".join(dags) if len(dags) <= 2 else f"{dags[0]}…(+{len(dags) - 1})")
    for marker, name in (
        ("include.pipeline", "pipeline"),
        ("bin/dbt", "dbt subprocess"),
        ("airflow", "airflow"),
        ("make", "make"),
    ):
        if marker in command:
            return name
    return command.split()[0].rsplit("/", 1)[-1]


class TreeMonitor(threading.Thread):
    """Polls a process tree every `interval` s until stop(); keeps peaks and a time series.

    `postgres_pid` is a pid or a callable returning one (or None while no server runs).
    Samples are (unix time, tree RSS bytes, server PSS bytes) so that per-step peaks (a dbt
    model's execute window) can be read off afterwards with `peak_between`.
    Beside the sums it keeps each process's peak RSS (by role, see `role`), the processes that
    coexisted at the tree's peak, and the tree's peak PSS (every `postgres_every` samples): the
    sum of RSS counts pages shared between a parent and its forked children more than once.
    """

    def __init__(self, pid: int, postgres_pid=None, interval: float = 0.5, postgres_every: int = 4):
        super().__init__(daemon=True)
        self.pid, self.postgres_pid, self.interval = pid, postgres_pid, interval
        self.postgres_every = postgres_every  # PSS reads /proc/*/smaps: sample it less often
        self.samples: list[tuple[float, int, int]] = []
        self.peak_tree = self.peak_single = self.peak_postgres = 0
        self.peak_tree_pss = self.peak_total_pss = 0
        self.peak_single_command: str | None = None
        self.per_process: dict[int, dict] = {}  # pid -> {role, command, peak_rss, started}
        self.at_peak: list[tuple[str, int]] = []  # (role, RSS) of each process at the tree's peak
        self._halt = threading.Event()

    def run(self) -> None:
        tick, pg = 0, 0
        while not self._halt.is_set():
            procs = self._sample_processes()
            total = sum(rss for _, rss in procs)
            largest, biggest = max(((rss, p) for p, rss in procs), key=lambda x: x[0], default=(0, None))
            if largest > self.peak_single:  # which process it was: the first thing to fix
                self.peak_single_command = _command(biggest)
            if total > self.peak_tree:
                self.at_peak = [(self.per_process[p.pid]["role"], rss) for p, rss in procs]
            server = self._postgres()
            if tick % self.postgres_every == 0:
                tree_p = tree_pss(self.pid)
                if server:
                    pg = tree_pss(server)
                self.peak_tree_pss = max(self.peak_tree_pss, tree_p)
                self.peak_total_pss = max(self.peak_total_pss, tree_p + pg)
            self.peak_tree, self.peak_single = max(self.peak_tree, total), max(self.peak_single, largest)
            self.peak_postgres = max(self.peak_postgres, pg)
            self.samples.append((time.time(), total, pg))
            tick += 1
            self._halt.wait(self.interval)

    def _sample_processes(self) -> list[tuple[psutil.Process, int]]:
        out = []
        for proc in _tree(self.pid):
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            seen = self.per_process.get(proc.pid)
            if seen is None:
                command = _command(proc)
                seen = self.per_process[proc.pid] = {
                    "role": role(command),
                    "command": command,
                    "peak_rss": 0,
                    "first_seen": time.time(),
                }
            if rss > seen["peak_rss"]:
                if seen["role"] in ("make", "?"):  # sampled between fork and exec: look again
                    seen["command"] = _command(proc)
                    seen["role"] = role(seen["command"])
                seen["peak_rss"] = rss
            out.append((proc, rss))
        return out

    def _postgres(self) -> int | None:
        """The server's pid; a callable is asked until it answers (the run may start the server)."""
        if callable(self.postgres_pid):
            return self.postgres_pid()
        return self.postgres_pid

    def per_role(self) -> dict[str, float]:
        """Largest peak RSS (MB) of any one process of each role; the largest roles first."""
        peaks: dict[str, int] = {}
        for seen in self.per_process.values():
            peaks[seen["role"]] = max(peaks.get(seen["role"], 0), seen["peak_rss"])
        return {r: round(b / MB, 1) for r, b in sorted(peaks.items(), key=lambda x: -x[1]) if b >= 20 * MB}

    def stop(self) -> dict:
        self._halt.set()
        self.join(timeout=10)
        return {
            "peak_tree_rss_mb": round(self.peak_tree / MB, 1),
            "peak_single_process_rss_mb": round(self.peak_single / MB, 1),
            "peak_single_process": self.peak_single_command,
            "peak_postgres_pss_mb": round(self.peak_postgres / MB, 1) if self.postgres_pid else None,
            "peak_tree_pss_mb": round(self.peak_tree_pss / MB, 1),
            "peak_tree_plus_server_pss_mb": round(self.peak_total_pss / MB, 1),
            "peak_rss_by_role_mb": self.per_role(),
            "at_tree_peak_mb": [
                (r, round(b / MB, 1)) for r, b in sorted(self.at_peak, key=lambda x: -x[1]) if b >= 20 * MB
            ],
        }

    def peak_between(self, start: float, end: float) -> tuple[float | None, float | None]:
        """Peak (tree RSS MB, server PSS MB) among the samples taken in [start, end] (unix time)."""
        window = [s for s in self.samples if start - self.interval <= s[0] <= end + self.interval]
        if not window:
            return None, None
        return (
            round(max(s[1] for s in window) / MB, 1),
            round(max(s[2] for s in window) / MB, 1) if self.postgres_pid else None,
        )


def write_results(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
    tmp.replace(path)  # a reader never sees half a file
    return path


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """columns: (key, heading, format spec such as '.1f'); text left-aligned, numbers right;
    missing values print as '-'."""

    def cell(row, key, spec):
        value = row.get(key)
        return "-" if value is None else format(value, spec) if spec else str(value)

    table = [[cell(row, key, spec) for key, _, spec in columns] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, (_, h, _) in enumerate(columns)]
    numeric = [bool(spec) for _, _, spec in columns]

    def fmt(cells):
        return "  ".join(f"{c:>{w}}" if n else f"{c:<{w}}" for c, w, n in zip(cells, widths, numeric))

    print(fmt([h for _, h, _ in columns]))
    for r in table:
        print(fmt(r))


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


@contextlib.contextmanager
def scratch_bench_database():
    """A fresh database named bench_* on the warehouse's server (the embedded one, started if
    WAREHOUSE_URL is not set), dropped afterwards; yields its URL."""

    from include import warehouse
    from tests.support.scratch_db import scratch_database

    server_url = warehouse.start("postgres")
    with scratch_database(server_url, "bench") as url:
        yield url
