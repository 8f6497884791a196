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
PROFILE_NAME = "credit_warehouse"
TARGET_NAME = "warehouse"
# What a production build adds to dbt's environment: dbt's unit tests (the rules pinned on
# hand-made rows, models' YAML) belong to the test suite and CI, as dbt recommends. The transform
# DAG's dbt tasks and the transform benchmark both take it from here.
PRODUCTION_DBT_ENV = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}


def dbt_executable() -> str:
    """The dbt of the running interpreter's environment (the project's .venv)."""
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    return str(REPO_ROOT / ".venv" / "bin" / "dbt")


def dbt_env(conninfo: str) -> dict[str, str]:
    """Environment variables for profiles.yml from a libpq URL or key=value string.

    Only the DBT_* variables (and PGPASSFILE); callers merge them into their own environment. The
    password, if any, travels in the environment, never in a file of the repository; a URL that
    names a libpq password file instead (the embedded server's) hands dbt that file.
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
    if params.get("passfile"):
        env["PGPASSFILE"] = str(params["passfile"])
    return env


def dbt_arguments(
    args: list[str], as_of: dt.date, *, extra_vars: dict | None = None, target_path: str | os.PathLike | None = None
) -> list[str]:
    """`<args>` on the project with `--vars {as_of: ...}` (and `extra_vars`), the artefacts under
    `target_path` when given: the arguments after `dbt`, for a command line or dbtRunner."""
    dbt_vars = {"as_of": as_of.isoformat(), **(extra_vars or {})}
    arguments = [
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--vars",
        json.dumps(dbt_vars),
    ]
    if target_path is not None:
        arguments += ["--target-path", str(target_path), "--log-path", str(Path(target_path) / "logs")]
    return arguments


def dbt_run_env(conninfo: str) -> dict[str, str]:
    """What a dbt run needs in its environment beyond the caller's: the connection, and no usage
    statistics sent anywhere."""
    return {**dbt_env(conninfo), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


def run_dbt(
    args: list[str],
    conninfo: str,
    as_of: dt.date,
    *,
    extra_vars: dict | None = None,
    target_path: str | os.PathLike | None = None,
    check: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project with `--vars {as_of: ...}`; output captured as text.

    `extra_vars` adds dbt vars (e.g. marts_schema). `target_path` keeps this run's artefacts
    (manifest, run_results.json, logs) apart from concurrent runs. With check=True a failing run
    raises CalledProcessError carrying dbt's output.
    """
    command = [dbt_executable(), *dbt_arguments(args, as_of, extra_vars=extra_vars, target_path=target_path)]
    env = {**os.environ, **dbt_run_env(conninfo)}
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, text=True, capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, command, result.stdout, result.stderr)
    return result


def write_docs(conninfo: str, as_of: dt.date, out_dir: Path) -> Path:
    """The dbt docs site for analysts, describing the PUBLISHED schemas, into `out_dir`.

    Generated into a temporary folder beside `out_dir` and swapped in, so a reader never sees a
    half-written site. Returns the path of index.html.
    """
    import shutil
    import tempfile

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".dbt-docs-", dir=out_dir.parent))
    try:
        run_dbt(
            ["docs", "generate"],
            conninfo,
            as_of,
            target_path=work / "target",
            check=True,
            extra_vars={"marts_schema": "marts", "export_schema": "export"},
        )
        site = work / "site"
        site.mkdir()
        for name in ("index.html", "manifest.json", "catalog.json"):
            shutil.copy2(work / "target" / name, site / name)
        old = out_dir.with_name(out_dir.name + ".old")
        if out_dir.exists():
            out_dir.rename(old)
        site.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir / "index.html"


def main(argv: list[str]) -> int:
    """`python -m include.transform build …`: dbt on the warehouse as of AS_OF."""
    from include import settings, warehouse

    result = run_dbt(argv or ["build"], warehouse.url(), settings.as_of())
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
