"""A dbt process that imports dbt once and runs one dbt command per line of standard input, the
way the transform DAG runs dbt (Cosmos' InvocationMode.DBT_RUNNER: dbtRunner inside the task
process, which `make run` keeps for the whole transform). bench/transform.py measures its builds
here, so that a build's time is the build's, not Python importing dbt (~3–4.5 s on the
development machine, measured separately and reported beside).

Protocol: each input line is a JSON list of dbt arguments; each output line is
{"success": bool, "error": str | null, "seconds": float}. dbt's own output goes to stderr.
"""
from __future__ import annotations

import contextlib
import json
import sys
import time

from dbt.cli.main import dbtRunner


def main() -> int:
    protocol = sys.stdout
    for line in sys.stdin:
        args = json.loads(line)
        started = time.perf_counter()
        # dbt prints its progress on stdout; keep stdout for the protocol
        with contextlib.redirect_stdout(sys.stderr):
            try:
                result = dbtRunner().invoke(args)
                success, error = result.success, (str(result.exception) if result.exception else None)
            except Exception as exc:   # reported to the bench, which stops with dbt's message
                success, error = False, f"{type(exc).__name__}: {exc}"
        protocol.write(json.dumps({"success": success, "error": error,
                                   "seconds": round(time.perf_counter() - started, 3)}) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
