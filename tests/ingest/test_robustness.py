"""All or nothing: a failure inside COPY, concurrent loads of the same bytes, hostile landing zones."""

from __future__ import annotations

import os
import threading

import psycopg
import pytest

from include.ingest import ensure_schemas, load, load_file, pending_files, unknown_folders

from .helpers import ALIBABA, assert_accounted, csv_text, deliver, ledger, quarantine, raw_rows

HEADER = [
    "统一社会信用代码",
    "户名",
    "户号",
    "类别",
    "账期",
    "应缴金额（元）",
    "实缴金额（元）",
    "缴费日期",
    "供应单位",
]


def bills(n: int, tag: str, bad_every: int = 0) -> str:
    rows = [HEADER]
    for i in range(n):
        utility = "热" if bad_every and i % bad_every == 0 else "水"
        rows.append([ALIBABA, "阿里", f"{tag}-{i}", utility, "2022-03", "10", "10", "", "水司"])
    return csv_text(rows)


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    return scratch_db


def _visible(db: str, sha256: str) -> tuple[int, int, int]:
    with psycopg.connect(db) as conn:
        return tuple(
            conn.execute(
                "select (select count(*) from raw.utilities where _file_sha256 = %(s)s),"
                " (select count(*) from audit.quarantine where sha256 = %(s)s),"
                " (select count(*) from audit.file_ledger where sha256 = %(s)s)",
                {"s": sha256},
            ).fetchone()
        )


def test_an_exception_inside_copy_leaves_nothing_and_the_retry_loads_once(db, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    deliver(landing, "utilities", "flaky.csv", bills(9, "F", bad_every=4))
    monkeypatch.setattr(load, "CHUNK_ROWS", 2)
    real_write = load.write_chunk
    calls = []

    def failing_write(copy, lines):
        calls.append(len(lines))
        if len(calls) == 2:  # the first chunk went to the server already
            raise ConnectionError("network dropped in the middle of COPY")
        real_write(copy, lines)

    monkeypatch.setattr(load, "write_chunk", failing_write)
    with pytest.raises(ConnectionError):
        load_file(db, "utilities", "flaky.csv", landing)
    sha = load.fingerprint(landing / "utilities" / "flaky.csv").sha256
    assert _visible(db, sha) == (0, 0, 0)
    monkeypatch.setattr(load, "write_chunk", real_write)
    result = load_file(db, "utilities", "flaky.csv", landing)  # Airflow's retry
    assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", 6, 3)
    assert load_file(db, "utilities", "flaky.csv", landing) == result  # and again: a no-op
    assert _visible(db, sha) == (6, 3, 1)
    assert_accounted(db, result)


def test_two_tasks_loading_the_same_bytes_at_once_load_once(db, tmp_path):
    landing = tmp_path / "landing"
    text = bills(300, "C")
    deliver(landing, "utilities", "a.csv", text)
    deliver(landing, "utilities", "b.csv", text)
    results, errors = {}, []
    barrier = threading.Barrier(2)

    def run(name):
        try:
            barrier.wait()
            results[name] = load_file(db, "utilities", name, landing)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a.csv", "b.csv")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(r["status"] for r in results.values()) == ["duplicate", "loaded"]
    sha = results["a.csv"]["sha256"]
    assert _visible(db, sha) == (300, 0, 2)


def test_the_unique_index_refuses_a_second_load_of_the_same_bytes(db):
    with psycopg.connect(db) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        for name in ("x.csv", "y.csv"):
            conn.execute(
                "insert into audit.file_ledger (feed, file_name, sha256, size_bytes, received_at, status)"
                " values ('utilities', %s, 'same', 1, now(), 'loaded')",
                (name,),
            )


def test_pending_files_lists_plain_files_only(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, "tax", "b.csv", "x")
    deliver(landing, "tax", "a 2022年.xlsx", "x")
    deliver(landing, "tax", ".hidden.csv", "x")
    (landing / "tax" / "sub").mkdir()
    deliver(landing / "tax", "sub", "inner.csv", "x")
    secret = tmp_path / "secret.csv"
    secret.write_text("outside the landing zone")
    os.symlink(secret, landing / "tax" / "link.csv")
    os.symlink("/etc", landing / "tax" / "etc")
    (landing / "taxes").mkdir()
    (landing / "utilities").mkdir()
    assert pending_files("tax", landing) == ["a 2022年.xlsx", "b.csv"]
    assert pending_files("repairs", landing) == []
    assert unknown_folders(landing) == ["taxes"]
    with pytest.raises(KeyError):
        pending_files("../tax", landing)


@pytest.mark.parametrize(
    "name, rule",
    [
        ("../tax/b.csv", "file_name"),
        (".hidden.csv", "file_name"),
        ("link.csv", "regular_file"),
        ("sub", "regular_file"),
        ("gone.csv", "file_exists"),
    ],
)
def test_load_file_resolves_nothing_outside(db, tmp_path, name, rule):
    landing = tmp_path / "landing"
    deliver(landing, "utilities", ".hidden.csv", bills(1, "H"))
    (landing / "utilities" / "sub").mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text(bills(1, "S"))
    os.symlink(secret, landing / "utilities" / "link.csv")
    result = load_file(db, "utilities", name, landing)
    assert result["status"] == "rejected" and f"rule: {rule}" in result["reason"]
    assert result["rows_read"] == 0 and ledger(db, "utilities", name) is None


def test_memory_stays_bounded_by_streaming(db, tmp_path, monkeypatch):
    """The rows reach COPY in chunks while the file is still being read, never all at once."""
    landing = tmp_path / "landing"
    deliver(landing, "utilities", "stream.csv", bills(50, "M"))
    monkeypatch.setattr(load, "CHUNK_ROWS", 10)
    sizes = []
    real_write = load.write_chunk
    monkeypatch.setattr(load, "write_chunk", lambda copy, lines: (sizes.append(len(lines)), real_write(copy, lines)))
    result = load_file(db, "utilities", "stream.csv", landing)
    assert sizes == [10] * 5 and result["rows_loaded"] == 50
    assert quarantine(db, result["sha256"]) == [] and len(raw_rows(db, "utilities", result["sha256"])) == 50


def test_pending_files_leaves_out_deliveries_already_in_the_ledger(db, tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, "utilities", "may.csv", bills(3, "M"))
    assert "may.csv" in pending_files("utilities", landing, conninfo=db)
    assert load_file(db, "utilities", "may.csv", landing)["status"] == "loaded"
    assert pending_files("utilities", landing, conninfo=db) == []
    # The same name with new bytes (a corrected re-delivery) is new again.
    deliver(landing, "utilities", "may.csv", bills(4, "M2"))
    assert pending_files("utilities", landing, conninfo=db) == ["may.csv"]
    # A renamed copy is listed: the ledger records it a duplicate on load.
    (landing / "utilities" / "copy.csv").write_bytes((landing / "utilities" / "may.csv").read_bytes())
    assert pending_files("utilities", landing, conninfo=db) == ["copy.csv", "may.csv"]


def test_a_gb18030_file_name_is_shown_decoded_and_loads(db, tmp_path):
    landing = tmp_path / "landing"
    (landing / "utilities").mkdir(parents=True)
    os_name = os.fsdecode("五月水费.csv".encode("gb18030"))
    (landing / "utilities" / os_name).write_text(bills(2, "G"), encoding="utf-8")
    assert pending_files("utilities", landing) == ["五月水费.csv"]
    result = load_file(db, "utilities", "五月水费.csv", landing)
    assert (result["status"], result["file_name"], result["rows_loaded"]) == ("loaded", "五月水费.csv", 2)
    assert pending_files("utilities", landing, conninfo=db) == []  # and the ledger knows it by that name
