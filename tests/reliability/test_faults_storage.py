"""Faults of storage and of concurrency: the export SIGKILLed while it writes its files and while
it commits them, the disk full (ENOSPC injected at the write call: tests/reliability/diskfull.py)
during the ingest and during the export, two `make run` at once on one STATE_DIR. Each time the
previous publication stays whole, nothing half-written is visible, and the rerun publishes exactly
what a clean run does (tests/reliability/conftest.py clean_run)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from include import export, ingest
from include.settings import REPO_ROOT
from tests.reliability import pipeline
from tests.reliability.diskfull import DiskFull, LimitedSpool
from tests.reliability.test_faults import _child_env, _kill, _spawn, _wait_for
from tests.reliability.warehouse import database, export_digests, scalar, table_checksums

pytestmark = pytest.mark.timeout(pipeline.TEST_TIMEOUT)
AS_OF = pipeline.AS_OF.isoformat()


def _folder_state(out: Path) -> dict[str, str]:
    """Every entry of EXPORT_DIR/<AS_OF> but the gates' docs: name → sha256 (folders: 'dir')."""
    return {
        p.name: ("dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(out.iterdir())
        if p.name != "quality"
    }


def _assert_consistent(out: Path, version: str) -> None:
    """The manifest is `version`'s, lists exactly the data files there, each with its bytes."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["publication_version"] == version
    files = {p.name for p in out.iterdir() if p.is_file()} - {"manifest.json"}
    assert files == set(manifest["files"]), "the folder holds exactly the files the manifest lists"
    for name, facts in manifest["files"].items():
        data = (out / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (facts["bytes"], facts["sha256"]), name


@pytest.fixture(scope="module")
def published(postgres_server, sample_landing, tmp_path_factory):
    """The sample published and exported once (version .1), then built and published again
    (version .2, same data) but not exported: the export the tests kill or starve."""
    work = tmp_path_factory.mktemp("rel-storage")
    with database(postgres_server, "rel_storage") as url:
        pipeline.run(url, sample_landing, work / "export", pipeline.AS_OF, work / "target")
        pipeline.transform_build(url, pipeline.AS_OF, work / "target")
        from include import publish, quality

        gate = quality.run_gate(url, "publication", pipeline.AS_OF, work / "quality")
        second = publish.publish(url, pipeline.AS_OF, [gate])
        assert second["version"] == f"{AS_OF}.2"
        yield {"url": url, "export_dir": work / "export", "version": second["version"]}


@pytest.fixture
def previous_export(published, tmp_path):
    """A copy of publication .1's export folder for one test to damage."""
    import shutil

    export_dir = tmp_path / "export"
    shutil.copytree(published["export_dir"], export_dir)
    out = export_dir / AS_OF
    _assert_consistent(out, f"{AS_OF}.1")
    return export_dir, out, _folder_state(out)


def _export_child(url: str, export_dir: Path, version: str, pause: str, marker: Path) -> subprocess.Popen:
    """`write_exports` in a process of its own that stops at `pause` (writing | committing), says
    so in `marker`, and waits there to be killed."""
    code = f"""
import datetime as dt, os, pathlib, time
from include import export
marker = pathlib.Path({str(marker)!r})
def stop_here():
    marker.write_text(str(os.getpid()))
    time.sleep(600)
if {pause!r} == "writing":
    batches, seen = export._batches, []
    def paused(conn, dataset):
        seen.append(dataset.table)
        if len(seen) == 2:   # financing_profile written, financing_penalties' files just opened
            stop_here()
        yield from batches(conn, dataset)
    export._batches = paused
else:
    replace = os.replace
    def paused_replace(src, dst):
        replace(src, dst)
        if pathlib.Path(src).parent.name == export.COMMIT:
            stop_here()      # the first file moved into place, the others (and the manifest) not yet
    export.os.replace = paused_replace
export.write_exports({url!r}, dt.date.fromisoformat({AS_OF!r}), pathlib.Path({str(export_dir)!r}), {version!r})
"""
    return _spawn(code)


def test_sigkill_while_the_export_writes_keeps_the_previous_files_and_the_rerun_is_clean(
    published, previous_export, clean_run, tmp_path
):
    export_dir, out, before = previous_export
    marker = tmp_path / "writing"
    child = _export_child(published["url"], export_dir, published["version"], "writing", marker)
    _wait_for(marker.exists, "the export was writing its files", child)
    _kill(child)

    staging = out / f".staging-{child.pid}"
    assert staging.is_dir() and (staging / "financing_profile.parquet").exists(), "killed mid-way, as meant"
    assert {n: h for n, h in _folder_state(out).items() if n != staging.name} == before, (
        "the previous publication's files and manifest are untouched"
    )
    _assert_consistent_besides(out, staging.name, f"{AS_OF}.1")

    export.write_exports(published["url"], pipeline.AS_OF, export_dir, published["version"])
    assert not staging.exists(), "the killed writer's leftovers are removed by the rerun"
    _assert_consistent(out, published["version"])
    assert export_digests(export_dir, AS_OF) == clean_run["files"]


def _assert_consistent_besides(out: Path, leftover: str, version: str) -> None:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["publication_version"] == version
    assert not any(leftover in name or name.startswith(".") for name in manifest["files"])
    for name, facts in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == facts["sha256"], name


def test_sigkill_while_the_export_commits_is_rolled_forward_by_the_next_run(
    published, previous_export, clean_run, tmp_path
):
    export_dir, out, before = previous_export
    marker = tmp_path / "committing"
    child = _export_child(published["url"], export_dir, published["version"], "committing", marker)
    _wait_for(marker.exists, "the export was moving its files into place", child)
    _kill(child)
    commit = out / export.COMMIT
    assert (commit / "manifest.json").exists(), "decided, not yet complete: the manifest still waits"
    assert json.loads((out / "manifest.json").read_text())["publication_version"] == f"{AS_OF}.1"

    export.recover(export_dir)  # what `make run` does first, before anything reads the folder
    assert not commit.exists()
    _assert_consistent(out, published["version"])
    assert export_digests(export_dir, AS_OF) == clean_run["files"]


# --- the disk full ----------------------------------------------------------------------------


def test_disk_full_during_the_export_fails_naming_the_file_and_keeps_the_previous_export(
    published, previous_export, clean_run, monkeypatch
):
    export_dir, out, before = previous_export
    disk = DiskFull(budget=40_000)  # financing_profile's files fit, financing_penalties' do not
    opened = export._open_for_writing
    monkeypatch.setattr(
        export, "_open_for_writing", lambda path, *a, **k: disk.wrap(opened(path, *a, **k), Path(path).name)
    )

    with pytest.raises(export.ExportError) as failed:
        export.write_exports(published["url"], pipeline.AS_OF, export_dir, published["version"])
    message = str(failed.value)
    assert disk.failed, "the injected ENOSPC was hit"
    assert f"could not write {out}/.staging-{os.getpid()}/{disk.failed[0]}" in message, message
    assert "No space left on device" in message and "Free space" in message
    assert _folder_state(out) == before, "nothing half-written visible: no staging folder, the old files"

    disk.space_returns()
    export.write_exports(published["url"], pipeline.AS_OF, export_dir, published["version"])
    _assert_consistent(out, published["version"])
    assert export_digests(export_dir, AS_OF) == clean_run["files"]


def test_disk_full_during_the_ingest_keeps_nothing_of_the_file_and_the_rerun_is_clean(
    postgres_server, sample_landing, clean_run, tmp_path, monkeypatch
):
    from include.ingest import load

    disk = DiskFull(budget=0)  # the first quarantine row that must be written fails
    monkeypatch.setattr(load, "_spool_file", lambda: LimitedSpool(disk, "quarantine spool"))
    with database(postgres_server, "rel_diskfull") as url:
        with pytest.raises(load.DiskFull) as failed:
            ingest.ingest_all(url, sample_landing)
        message = str(failed.value)
        feed, name = message.removeprefix("could not load ").split(" into ")[0].split("/", 1)
        assert (sample_landing / feed / name).exists(), message
        assert "No space left on device" in message and "nothing of the file is kept" in message
        with psycopg.connect(url) as conn:
            kept = conn.execute(
                "select row((select count(*) from audit.file_ledger where feed = %(f)s and file_name = %(n)s),"
                " (select count(*) from audit.quarantine where feed = %(f)s and file_name = %(n)s))::text",
                {"f": feed, "n": name},
            ).fetchone()[0]
            sha = ingest.load.fingerprint(sample_landing / feed / name).sha256
            raw = conn.execute(f"select count(*) from raw.{feed} where _file_sha256 = %s", (sha,)).fetchone()[0]
            for read, loaded, quarantined in conn.execute(
                "select rows_read, rows_loaded, rows_quarantined from audit.file_ledger"
            ):
                assert read == loaded + quarantined
        assert (kept, raw) == ("(0,0)", 0), "nothing of the file that could not be written is visible"

        disk.space_returns()
        pipeline.run(url, sample_landing, tmp_path / "export", pipeline.AS_OF, tmp_path / "target")
        assert table_checksums(url) == clean_run["tables"]
        assert export_digests(tmp_path / "export", AS_OF) == clean_run["files"]
        assert scalar(url, "select count(*) from audit.file_ledger") == len(clean_run["outcome"]["files"])


# --- two `make run` at once ------------------------------------------------------------------


def test_a_second_make_run_on_the_same_state_dir_refuses_at_once_naming_the_holder(tmp_path):
    state = tmp_path / "state"
    env = {
        k: v
        for k, v in _child_env(STATE_DIR=str(state), EMBEDDED_PG_PORT="57620").items()
        if not k.startswith(("AIRFLOW", "WAREHOUSE_URL", "DBT_", "MAKE", "MFLAGS"))
    }
    env.update(LANDING_DIR=str(tmp_path / "landing"), EXPORT_DIR=str(tmp_path / "export"), AS_OF=AS_OF)
    first = subprocess.Popen(
        [sys.executable, "-m", "include.pipeline", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lock = state / "run.lock"
        _wait_for(
            lambda: lock.exists() and f"pid {first.pid} " in lock.read_text(),
            "the first run held the lock",
            first,
            timeout=60,
        )
        # Refused, not queued: it ends while the first still runs (and holds the lock).
        second = subprocess.run(
            ["make", "-s", "--no-print-directory", "run"],
            cwd=REPO_ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        assert first.poll() is None, "the first run was still going when the second was refused"
    finally:
        _kill(first)
        subprocess.run(
            [sys.executable, "-m", "include.embedded_pg", "stop"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )
    assert second.returncode != 0
    holder = lock.read_text().strip()
    assert f"another run is in progress on STATE_DIR {state}: pid {first.pid} started " in second.stdout, second.stdout
    assert holder.split(" (")[0] in second.stdout, "the holder's pid and start time, as it wrote them"
    assert "running the pipeline" not in second.stdout, "the second did not begin"
