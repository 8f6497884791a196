"""The suite's markers and timeouts: `make test-fast` leaves out exactly the tests that start
Airflow, every test is filed as `unit` or `db`, and no pytest timeout is shorter than the
subprocess timeouts a test waits for (a hung child must end in its own TimeoutExpired)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from include.settings import REPO_ROOT


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> dict[str, set[str]]:
    """Every test pytest collects here, with its suite markers (unit, db, e2e): one collection
    (tests/support/collected_markers.py) rather than one per `-m` expression. pytest's `-m NAME`
    matches the names of an item's markers, which is what the plugin reports."""
    report = tmp_path_factory.mktemp("markers") / "markers.json"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["-p", "tests.support.collected_markers"],
        cwd=REPO_ROOT,
        env={**os.environ, "COLLECTED_MARKERS_FILE": str(report)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    markers = {nodeid: set(names) for nodeid, names in json.loads(report.read_text()).items()}
    assert len(markers) == sum(1 for line in out.stdout.splitlines() if "::" in line)  # every test reported
    return markers


def _files(collected: dict[str, set[str]], selects) -> set[str]:
    """The test files with at least one test that `selects` (a predicate on its markers) keeps."""
    return {nodeid.split("::")[0] for nodeid, markers in collected.items() if selects(markers)}


def test_e2e_is_what_starts_airflow_and_test_fast_leaves_it_out(collected):
    assert _files(collected, lambda m: "e2e" in m) == {
        "tests/test_dags.py",
        "tests/test_end_to_end.py",
        "tests/test_memory.py",
        "tests/alerts/test_alerts_in_dags.py",
    }
    fast = _files(collected, lambda m: "e2e" not in m)  # make test-fast: -m "not e2e"
    assert "tests/test_end_to_end.py" not in fast and "tests/test_dags.py" not in fast
    # the memory module's tests without Airflow stay in the fast loop
    assert {"tests/test_memory.py", "tests/ingest/test_codes.py", "tests/dbt/test_dbt_warehouse_rules.py"} <= fast


def test_every_test_is_unit_or_db(collected):
    unit, db = _files(collected, lambda m: "unit" in m), _files(collected, lambda m: "db" in m)
    assert "tests/ingest/test_codes.py" in unit and "tests/ingest/test_codes.py" not in db
    assert {"tests/dbt/test_dbt_warehouse_rules.py", "tests/test_end_to_end.py"} <= db
    filed_twice_or_never = {nodeid for nodeid, m in collected.items() if len(m & {"unit", "db"}) != 1}
    assert not filed_twice_or_never


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
