"""Running the dbt project (dbt_project/) against the warehouse.

dbt reads its connection from environment variables only (dbt_project/profiles.yml), so the same
profiles.yml serves the tests, `make run` and the Airflow transform DAG (Cosmos):

    env = dbt_env(conninfo)                    # DBT_HOST, DBT_PORT, DBT_USER, DBT_PASSWORD, DBT_DBNAME
    run_dbt(["build"], conninfo, as_of=date(2026, 6, 30))
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from include.settings import REPO_ROOT

PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = PROJECT_DIR


def dbt_executable() -> str:
    """The dbt of the running interpreter's environment (the project's .venv)."""
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    return str(REPO_ROOT / ".venv" / "bin" / "dbt")


def dbt_env(conninfo: str) -> dict[str, str]:
    """Environment variables for profiles.yml from a libpq URL or key=value string.

    Only the DBT_* variables; callers merge them into their own environment. The password, if any,
    travels in the environment, never in a file.
    """
    params = conninfo_to_dict(conninfo)
    env = {
        "DBT_HOST": str(params.get("host") or "127.0.0.1"),
        "DBT_PORT": str(params.get("port") or "5432"),
        "DBT_USER": str(params.get("user") or os.environ.get("PGUSER") or "postgres"),
        "DBT_PASSWORD": str(params.get("password") or ""),
        "DBT_DBNAME": str(params.get("dbname") or "warehouse"),
        "DBT_THREADS": os.environ.get("DBT_THREADS", "2"),
    }
    return env


def run_dbt(args: list[str], conninfo: str, as_of: dt.date, *, extra_vars: dict | None = None,
            target_path: str | os.PathLike | None = None, check: bool = False,
            timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project with `--vars {as_of: ...}`; output captured as text.

    `extra_vars` adds dbt vars (e.g. marts_schema). `target_path` keeps this run's artefacts
    (manifest, run_results.json, logs) apart from concurrent runs. With check=True a failing run
    raises CalledProcessError carrying dbt's output.
    """
    dbt_vars = {"as_of": as_of.isoformat(), **(extra_vars or {})}
    command = [dbt_executable(), *args,
               "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR),
               "--vars", json.dumps(dbt_vars)]
    if target_path is not None:
        command += ["--target-path", str(target_path), "--log-path", str(Path(target_path) / "logs")]
    env = {**os.environ, **dbt_env(conninfo),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, text=True, capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, command, result.stdout, result.stderr)
    return result


def main(argv: list[str]) -> int:
    """`python -m include.transform build …`: dbt on the warehouse as of AS_OF."""
    from include import settings

    result = run_dbt(argv or ["build"], settings.warehouse_url(), settings.as_of())
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
