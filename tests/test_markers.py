"""The suite's markers and timeouts: `make test-fast` leaves out exactly the tests that start
Airflow, every test is filed as `unit` or `db`, and no pytest timeout is shorter than the
subprocess timeouts a test waits for (a hung child must end in its own TimeoutExpired)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from include.settings import REPO_ROOT


def _collected(marker: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return {line.split("::")[0] for line in out.stdout.splitlines() if "::" in line}


def test_e2e_is_what_starts_airflow_and_test_fast_leaves_it_out():
    assert _collected("e2e") == {
        "tests/test_dags.py",
        "tests/test_end_to_end.py",
        "tests/test_memory.py",
        "tests/alerts/test_alerts_in_dags.py",
    }
    fast = _collected("not e2e")
    assert "tests/test_end_to_end.py" not in fast and "tests/test_dags.py" not in fast
    # the memory module's tests without Airflow stay in the fast loop
    assert {"tests/test_memory.py", "tests/ingest/test_codes.py", "tests/dbt/test_dbt_warehouse_rules.py"} <= fast


def test_every_test_is_unit_or_db():
    unit, db = _collected("unit"), _collected("db")
    assert "tests/ingest/test_codes.py" in unit and "tests/ingest/test_codes.py" not in db
    assert {"tests/dbt/test_dbt_warehouse_rules.py", "tests/test_end_to_end.py"} <= db
    everything = _collected("unit or db or e2e")
    assert everything == _collected("unit or db")


def _timeout(module) -> float:
    marks = module.pytestmark if isinstance(module.pytestmark, list) else [module.pytestmark]
    (seconds,) = [m.args[0] for m in marks if m.name == "timeout"]
    return seconds


def test_end_to_end_timeout_outlasts_its_make_runs():
    from tests import test_end_to_end as e2e

    assert _timeout(e2e) > 2 * e2e.RUN_TIMEOUT + e2e.SHORT_TIMEOUT


@pytest.mark.parametrize("name", ["test_access", "test_bad_input", "test_faults", "test_reruns"])
def test_reliability_timeouts_outlast_two_dbt_builds(name):
    import importlib

    from tests.reliability import pipeline

    module = importlib.import_module(f"tests.reliability.{name}")
    assert _timeout(module) > 2 * pipeline.DBT_TIMEOUT
