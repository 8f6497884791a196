"""One Python process that imports dbt once and runs many dbt commands in it, each a `dbtRunner`
invocation: the way the transform DAG runs dbt (Cosmos' InvocationMode.DBT_RUNNER, inside the task
process). Importing dbt costs a fresh `dbt` command 4–6 s on the development machine before any
work; the benchmark (bench/transform.py) and the dbt tests run their builds here instead, so a
build's time is the build's.

    with DbtProcess() as dbt:
        reply = dbt.invoke(dbt_arguments(["build"], as_of), env=dbt_run_env(conninfo))
        reply["success"], reply["output"]

Protocol (`python -m tests.support.dbt_process`): each line of standard input is a JSON object
{"args": [...], "env": {...}}; `env` is set in the process before the invocation (dbt reads the
connection from the environment: dbt_project/profiles.yml). Each reply is one line
{"success": bool, "error": str | null, "seconds": float, "output": str}, `output` being what dbt
printed. Commands run one at a time, as dbtRunner requires.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from include.transform import PROJECT_DIR


def serve(requests=sys.stdin, replies=sys.stdout) -> int:
    from dbt.cli.main import dbtRunner

    for line in requests:
        request = json.loads(line)
        os.environ.update(request.get("env") or {})
        printed = io.StringIO()
        started = time.perf_counter()
        # dbt prints its progress on stdout, which carries the replies: capture it for the reply
        with contextlib.redirect_stdout(printed):
            try:
                result = dbtRunner().invoke(request["args"])
                success, error = result.success, (str(result.exception) if result.exception else None)
            except Exception as exc:  # handed to the caller, who reports it with dbt's output
                success, error = False, f"{type(exc).__name__}: {exc}"
        replies.write(
            json.dumps(
                {
                    "success": success,
                    "error": error,
                    "output": printed.getvalue(),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
            + "\n"
        )
        replies.flush()
    return 0


class DbtProcess:
    """The process, started on construction; `log` (optional) receives what dbt printed."""

    def __init__(self, log: Path | None = None):
        self.log = None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            self.log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.dbt_process"],
            cwd=PROJECT_DIR,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )  # no log: the caller's stderr

    def invoke(self, args: list[str], env: dict[str, str] | None = None) -> dict:
        """Run `dbt <args>` with `env` added to the process environment; returns the reply."""
        self.proc.stdin.write(json.dumps({"args": args, "env": env or {}}) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(
                f"the dbt process ended (exit {self.proc.wait()})"
                + (f"; its output: {self.log.name}" if self.log else "")
            )
        reply = json.loads(reply)
        if self.log:
            self.log.write(reply["output"])
            self.log.flush()
        return reply

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()  # the process ends at the end of its input
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.log:
            self.log.close()

    def __enter__(self) -> DbtProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pythonpath() -> str:
    # the process imports this package from the repository root, wherever it was started from
    root = str(PROJECT_DIR.parent)
    current = os.environ.get("PYTHONPATH")
    return root if not current else f"{root}{os.pathsep}{current}"


if __name__ == "__main__":
    raise SystemExit(serve())
