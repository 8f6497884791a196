"""Readers see the previous publication or the new one, never a mix, while publications swap in.

Reader threads hammer `marts` and `export` during several swaps. Each publication has its own
size (N enterprises: N + 2 archive rows, N export rows), so any reading that pairs an archive of
one publication with an export of another is caught.
"""
from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest

from include import publish
from tests.publish import builders

AS_OF = dt.date(2026, 6, 30)
SIZES = (3, 6, 4, 7)  # enterprises per successive publication


def passed_gate() -> dict:
    """The swap's mechanics are under test here, not GX: a publication gate that passed."""
    return {"checkpoint": "publication", "as_of": AS_OF.isoformat(), "run_id": "test", "success": True,
            "blocking_failures": [], "warnings": [], "results": []}


CONSISTENT = {(n + 2, n) for n in SIZES}
SINGLE_STATEMENT = """select (select count(*) from marts.subject_archive),
                             (select count(*) from export.financing_profile)"""


def reader(url: str, stop: threading.Event, seen: list, errors: list, transactional: bool) -> None:
    with psycopg.connect(url, autocommit=not transactional) as conn:
        if transactional:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        while not stop.is_set():
            try:
                if transactional:
                    # Two statements in one transaction: must still agree with each other.
                    with conn.transaction():
                        a = conn.execute("select count(*) from marts.subject_archive").fetchone()[0]
                        e = conn.execute("select count(*) from export.financing_profile").fetchone()[0]
                    seen.append((a, e))
                else:
                    seen.append(conn.execute(SINGLE_STATEMENT).fetchone())
            except psycopg.errors.DeadlockDetected:
                # PostgreSQL broke a lock cycle with the swap by aborting the reader: an error,
                # never a mixed answer; the reader simply asks again.
                errors.append("deadlock")


def test_readers_never_see_a_mix_during_swaps(scratch_db):
    builders.build(scratch_db, AS_OF, enterprises=SIZES[0])
    publish.publish(scratch_db, AS_OF, [passed_gate()])

    stop = threading.Event()
    seen: list = []
    errors: list = []
    threads = [threading.Thread(target=reader, args=(scratch_db, stop, seen, errors, transactional))
               for transactional in (False, False, True)]
    for t in threads:
        t.start()
    try:
        for n in SIZES[1:]:
            builders.build(scratch_db, AS_OF, enterprises=n)
            time.sleep(0.2)
            publish.publish(scratch_db, AS_OF, [passed_gate()])
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)

    assert len(seen) > 50, "the readers barely ran"
    mixed = [pair for pair in seen if pair not in CONSISTENT]
    assert not mixed, f"readers saw a mix of publications: {sorted(set(mixed))}"
    assert {pair for pair in seen} >= {(SIZES[0] + 2, SIZES[0]), (SIZES[-1] + 2, SIZES[-1])}
    assert set(errors) <= {"deadlock"}
    assert builders.count(scratch_db, "export", "financing_profile") == SIZES[-1]
    with psycopg.connect(scratch_db) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace where nspname like '%%_previous'")}
        versions = conn.execute("select count(*) from audit.publication_log").fetchone()[0]
    assert schemas == set() and versions == len(SIZES)


def test_publish_without_a_build_is_refused(scratch_db):
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("drop schema if exists marts_build cascade")
    with pytest.raises(publish.PublicationRefused, match="marts_build"):
        publish.publish(scratch_db, AS_OF, [passed_gate()])
