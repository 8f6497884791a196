"""Faults in the middle of the work: the loader SIGKILLed during COPY, dbt SIGKILLed during its build,
the publisher SIGKILLed inside the swap, PostgreSQL stopped mid-run. Each time nothing half-done is
visible, and a rerun reaches exactly the state of a clean run (checksums of every published table,
the export files' bytes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from include import embedded_pg, ingest, quality, settings
from include.settings import REPO_ROOT
from tests.reliability import pipeline
from tests.reliability.codes import uscc
from tests.reliability.warehouse import database, export_digests, scalar, table_checksums

pytestmark = pytest.mark.timeout(pipeline.TEST_TIMEOUT)
BIG_ROWS = 300_000


def _child_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # The child must pseudonymise with the key of this session, wherever its STATE_DIR points.
    env.update(PYTHONPATH=str(REPO_ROOT), CREDIT_PSEUDONYM_KEY=settings.pseudonym_key().decode(), **extra)
    return env


def _spawn(code: str, env: dict | None = None) -> subprocess.Popen:
    """A Python child in its own process group, so that SIGKILL reaches dbt's processes too."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env or _child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen) -> str:
    os.killpg(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"the child ended by itself before the kill:\n{out[-3000:]}"
    return out


def _wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 120, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the child finished before {what}:\n{proc.stdout.read()[-3000:]}")
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")


def _backends(url: str) -> set[int]:
    with psycopg.connect(url) as conn:
        return {
            r[0]
            for r in conn.execute(
                "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
            )
        }


def _no_backend_left(url: str, before: set[int], timeout: float = 60) -> None:
    """Wait until the server processes the killed child opened are gone (its transaction rolled
    back). `before`: the backends from before the child started (e.g. GX's pooled connections)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _backends(url) - before:
            return
        time.sleep(0.1)
    pytest.fail(f"the killed child's backends are still there: {_backends(url) - before}")


def _assert_equals_clean_run(url: str, export_dir: Path, clean_run: dict) -> None:
    assert table_checksums(url) == clean_run["tables"]
    assert export_digests(export_dir, pipeline.AS_OF.isoformat()) == clean_run["files"]


# --- SIGKILL during COPY ---------------------------------------------------------------------


def _big_bills(path: Path) -> int:
    """A large utilities delivery (every 1000th row with a bad utility kind); returns its bad rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codes = [uscc(f"91640100MA{n:07d}") for n in range(50)]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("统一社会信用代码,户名,户号,类别,账期,应缴金额（元）,实缴金额（元）,缴费日期,供应单位\r\n")
        for i in range(BIG_ROWS):
            kind = "热" if i % 1000 == 999 else "电"
            f.write(f"{codes[i % 50]},测试公司,E{i:07d},{kind},2026-0{1 + i % 6},{i % 500}.5,{i % 500}.5,,国网\r\n")
    return BIG_ROWS // 1000


def test_sigkill_during_copy_leaves_nothing_and_the_rerun_loads_exactly_once(postgres_server, tmp_path):
    landing = tmp_path / "landing"
    bad = _big_bills(landing / "utilities" / "big.csv")
    with database(postgres_server, "rel_copykill") as url:
        ingest.ensure_schemas(url)
        before = _backends(url)
        child = _spawn(
            f"from include.ingest import load_file; load_file({url!r}, 'utilities', 'big.csv', "
            f"__import__('pathlib').Path({str(landing)!r}))"
        )

        def copying() -> bool:
            with psycopg.connect(url) as conn:
                n = conn.execute(
                    "select max(tuples_processed) from pg_stat_progress_copy p join pg_database d "
                    "on d.oid = p.datid where d.datname = current_database()"
                ).fetchone()[0]
            return bool(n and n > 1000)

        _wait_for(copying, "the COPY was under way", child)
        _kill(child)
        _no_backend_left(url, before)
        sha = ingest.load.fingerprint(landing / "utilities" / "big.csv").sha256
        visible = (
            "select row((select count(*) from raw.utilities where _file_sha256 = %(s)s),"
            " (select count(*) from audit.quarantine where sha256 = %(s)s),"
            " (select count(*) from audit.file_ledger where sha256 = %(s)s))::text"
        )
        assert scalar(url, visible, {"s": sha}) == "(0,0,0)", "nothing of the file is visible"

        result = ingest.load_file(url, "utilities", "big.csv", landing)
        assert (result["status"], result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (
            "loaded",
            BIG_ROWS,
            BIG_ROWS - bad,
            bad,
        )
        assert ingest.load_file(url, "utilities", "big.csv", landing) == result, "a second rerun is a no-op"
        assert scalar(url, visible, {"s": sha}) == f"({BIG_ROWS - bad},{bad},1)"


# --- SIGKILL during dbt build, then during the publication swap ------------------------------


@pytest.fixture(scope="module")
def loaded_db(postgres_server, sample_landing):
    """A database with the sample ingested, nothing transformed yet."""
    with database(postgres_server, "rel_faults") as url:
        ingest.ingest_all(url, sample_landing)
        yield url


def _relations_in(url: str, schemas: list[str]) -> int:
    return scalar(
        url,
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind in ('r', 'v')",
        (schemas,),
    )


def test_sigkill_during_dbt_build_then_the_rerun_equals_a_clean_build(loaded_db, clean_run, tmp_path):
    before = _backends(loaded_db)
    child = _spawn(
        "import datetime as dt; from include.transform import run_dbt; "
        f"run_dbt(['build'], {loaded_db!r}, dt.date.fromisoformat({pipeline.AS_OF.isoformat()!r}), "
        f"target_path={str(tmp_path / 'killed-target')!r})"
    )
    # Killed once staging exists and the intermediate models are being built: mid-way.
    _wait_for(
        lambda: _relations_in(loaded_db, ["intermediate"]) >= 2, "dbt built intermediate models", child, every=0.1
    )
    _kill(child)
    _no_backend_left(loaded_db, before)
    assert _relations_in(loaded_db, ["marts", "export"]) == 0, "nothing was published by a killed build"

    pipeline.transform_build(loaded_db, pipeline.AS_OF, tmp_path / "target")
    pipeline.gate_and_publish(loaded_db, pipeline.AS_OF, tmp_path / "export")
    _assert_equals_clean_run(loaded_db, tmp_path / "export", clean_run)


def _published_state(url: str) -> dict:
    with psycopg.connect(url) as conn:
        oids = dict(
            conn.execute(
                "select n.nspname || '.' || c.relname, c.oid::bigint from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname in ('marts', 'export') and c.relkind = 'r'"
            ).fetchall()
        )
        log = conn.execute("select array_agg(version order by version) from audit.publication_log").fetchone()[0]
    return {"oids": oids, "log": log, "tables": table_checksums(url)}


def test_sigkill_inside_the_publication_swap_keeps_the_previous_publication(loaded_db, clean_run, tmp_path):
    if scalar(loaded_db, "select to_regclass('audit.publication_log') is null"):
        pipeline.transform_build(loaded_db, pipeline.AS_OF, tmp_path / "target")
        pipeline.gate_and_publish(loaded_db, pipeline.AS_OF, tmp_path / "export")
    before = _published_state(loaded_db)
    assert before["log"], "a previous publication exists"
    pipeline.transform_build(loaded_db, pipeline.AS_OF, tmp_path / "target")  # the next build
    gate = quality.run_gate(loaded_db, "publication", pipeline.AS_OF, tmp_path / "quality")
    gate_file = tmp_path / "gate.json"
    gate_file.write_text(json.dumps(gate, default=str))

    backends_before = _backends(loaded_db)
    blocker = psycopg.connect(loaded_db)
    try:
        # A reader holding SHARE on the publications history stops the swap after its renames, at
        # its `delete from history.financing_profile_publications`: inside the one transaction.
        blocker.execute("lock table history.financing_profile_publications in share mode")
        child = _spawn(
            "import datetime as dt, json; from include import publish; "
            f"publish.publish({loaded_db!r}, dt.date.fromisoformat({pipeline.AS_OF.isoformat()!r}), "
            f"[json.load(open({str(gate_file)!r}))])"
        )

        def swapping() -> bool:
            return bool(
                scalar(
                    loaded_db,
                    "select count(*) from pg_stat_activity where datname = current_database() "
                    "and wait_event_type = 'Lock' and query ilike 'delete from history.%%'",
                )
            )

        _wait_for(swapping, "the swap renamed the schemas and waits inside its transaction", child, every=0.1)
        _kill(child)
    finally:
        blocker.rollback()
        blocker.close()
    _no_backend_left(loaded_db, backends_before)

    after = _published_state(loaded_db)
    assert after == before, "the previous publication is intact: same tables, same rows, same log"
    assert _relations_in(loaded_db, ["marts_build", "export_build"]) > 0, "the build waits for the rerun"

    published = pipeline.gate_and_publish(loaded_db, pipeline.AS_OF, tmp_path / "export")
    assert published["version"] not in before["log"]
    assert _published_state(loaded_db)["oids"] != before["oids"], "the rerun swapped the new build in"
    _assert_equals_clean_run(loaded_db, tmp_path / "export", clean_run)


# --- PostgreSQL stopped and started again mid-run --------------------------------------------


@pytest.fixture
def own_server(tmp_path, monkeypatch):
    """A PostgreSQL of this test's own (stopping the session's server would hurt other tests)."""
    key = settings.pseudonym_key().decode()
    monkeypatch.setenv("CREDIT_PSEUDONYM_KEY", key)
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "pg-state"))
    monkeypatch.setenv("EMBEDDED_PG_PORT", os.environ.get("RELIABILITY_PG_PORT", "56901"))
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    embedded_pg.start()
    try:
        yield embedded_pg.url("warehouse")
    finally:
        embedded_pg.stop()


def test_postgres_stopped_mid_run_fails_cleanly_and_the_rerun_completes(
    own_server, sample_landing, clean_run, tmp_path
):
    url = own_server
    env = _child_env(STATE_DIR=os.environ["STATE_DIR"])
    child = _spawn(
        f"import sys; from tests.reliability.pipeline import main; sys.exit(main({[url, str(sample_landing), str(tmp_path / 'export'), pipeline.AS_OF.isoformat(), str(tmp_path / 'target-1')]!r}))",
        env,
    )

    def some_files_loaded() -> bool:
        try:
            return bool(
                scalar(
                    url,
                    "select to_regclass('audit.file_ledger') is not null and "
                    "(select count(*) from audit.file_ledger) >= 3",
                )
            )
        except psycopg.errors.UndefinedTable:
            return False

    _wait_for(some_files_loaded, "the run had loaded some files", child)
    embedded_pg.stop()
    try:
        out, _ = child.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        pytest.fail("the run hung after PostgreSQL stopped instead of failing")
    assert child.returncode not in (0, -signal.SIGKILL), out[-3000:]
    assert "published" not in out.splitlines()[-1:], out[-3000:]
    assert any(
        word in out for word in ("OperationalError", "terminating connection", "connection", "dbt build failed")
    ), out[-3000:]

    embedded_pg.start()
    with psycopg.connect(url) as conn:
        for feed, read, loaded, quarantined, status in conn.execute(
            "select feed, rows_read, rows_loaded, rows_quarantined, status from audit.file_ledger"
        ):
            assert read == loaded + quarantined, (feed, status)
    pipeline.run(url, sample_landing, tmp_path / "export", pipeline.AS_OF, tmp_path / "target-2")
    _assert_equals_clean_run(url, tmp_path / "export", clean_run)
