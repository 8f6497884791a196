"""Readers see the previous publication or the new one, never a mix, while a publication swaps in.

Each publication has its own size (N enterprises: N + 2 archive rows, N export rows), so a reading
that pairs an archive of one publication with an export of another is caught. The interleavings
are made with locks, not timing: a reader transaction that holds the previous tables, and a lock
that holds the swap after it has taken its locks and renamed the schemas; each step waits for
PostgreSQL to report the wait (pg_blocking_pids) before the next.
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
PREVIOUS, NEXT = 3, 6  # enterprises of the published and of the next publication
SINGLE_STATEMENT = """select (select count(*) from marts.subject_archive),
                             (select count(*) from export.financing_profile)"""
WAIT = 60  # seconds: only bounds a wait that never ends (a failure, named)


def passed_gate() -> dict:
    """The swap's mechanics are under test here, not GX: a publication gate that passed."""
    return {
        "checkpoint": "publication",
        "as_of": AS_OF.isoformat(),
        "run_id": "test",
        "success": True,
        "blocking_failures": [],
        "warnings": [],
        "results": [],
    }


def expected(n: int) -> tuple[int, int]:
    return n + 2, n


class Swap(threading.Thread):
    """publish.publish in a thread of its own, its outcome kept for the test."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.result, self.error = url, None, None

    def run(self) -> None:
        try:
            self.result = publish.publish(self.url, AS_OF, [passed_gate()])
        except BaseException as exc:  # re-raised by finish() in the test's thread
            self.error = exc

    def finish(self) -> dict:
        self.join(WAIT)
        assert not self.is_alive(), "the swap did not finish"
        if self.error:
            raise self.error
        return self.result


def wait_for(check, what: str):
    """Ask `check` until it answers something true; that answer."""
    deadline = time.monotonic() + WAIT
    while not (answer := check()):
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)
    return answer


def waiting_on(watcher: psycopg.Connection, holder: int) -> list[tuple[int, str]]:
    """(pid, statement) of the backends waiting for a lock that backend `holder` holds."""
    return watcher.execute(
        "select pid, query from pg_stat_activity where %s = any(pg_blocking_pids(pid))", (holder,)
    ).fetchall()


def publications(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from audit.publication_log").fetchone()[0]


def published_and_next_built(url: str) -> int:
    """PREVIOUS published, NEXT built; the number of publications so far."""
    builders.build(url, AS_OF, enterprises=PREVIOUS)
    publish.publish(url, AS_OF, [passed_gate()])
    builders.build(url, AS_OF, enterprises=NEXT)
    return publications(url)


def assert_swapped_once(url: str, before: int) -> None:
    with psycopg.connect(url) as conn:
        assert conn.execute(SINGLE_STATEMENT).fetchone() == expected(NEXT)
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace where nspname like '%%_previous'")}
    assert schemas == set() and publications(url) == before + 1


@pytest.mark.parametrize(
    "isolation",
    [psycopg.IsolationLevel.READ_COMMITTED, psycopg.IsolationLevel.REPEATABLE_READ],
    ids=["read_committed", "repeatable_read"],
)
def test_a_reader_transaction_begun_before_the_swap_finishes_on_the_previous_publication(scratch_db, isolation):
    # READ COMMITTED takes a new snapshot per statement: only the swap's locks keep the second
    # statement on the previous publication.
    before = published_and_next_built(scratch_db)
    with psycopg.connect(scratch_db, autocommit=True) as watcher, psycopg.connect(scratch_db) as reader:
        reader.isolation_level = isolation
        swap = Swap(scratch_db)
        with reader.transaction():
            archive = reader.execute("select count(*) from marts.subject_archive").fetchone()[0]
            swap.start()
            # A swap that did not wait for this transaction would have ended: then the next
            # statement shows what that costs.
            wait_for(
                lambda: waiting_on(watcher, reader.info.backend_pid) or not swap.is_alive(),
                "the swap waits for the reader's transaction, or ends",
            )
            exported = reader.execute("select count(*) from export.financing_profile").fetchone()[0]
        swap.finish()
    assert (archive, exported) == expected(PREVIOUS)
    assert_swapped_once(scratch_db, before)


def reader(url: str, transactional: psycopg.IsolationLevel | None, pids: dict, seen: dict, errors: list) -> None:
    """One reading: one statement (transactional None) or two statements in one transaction."""
    try:
        with psycopg.connect(url, autocommit=transactional is None) as conn:
            pids[transactional] = conn.info.backend_pid
            if transactional is None:
                seen[transactional] = conn.execute(SINGLE_STATEMENT).fetchone()
                return
            conn.isolation_level = transactional
            with conn.transaction():
                a = conn.execute("select count(*) from marts.subject_archive").fetchone()[0]
                e = conn.execute("select count(*) from export.financing_profile").fetchone()[0]
            seen[transactional] = (a, e)
    except BaseException as exc:
        errors.append(exc)


def test_readers_arriving_during_the_swap_wait_and_see_the_new_publication(scratch_db):
    before = published_and_next_built(scratch_db)
    modes = [None, psycopg.IsolationLevel.READ_COMMITTED, psycopg.IsolationLevel.REPEATABLE_READ]
    pids: dict = {}
    seen: dict = {}
    errors: list = []
    with psycopg.connect(scratch_db, autocommit=True) as watcher, psycopg.connect(scratch_db) as holder:
        # The swap records what lenders were given (history.financing_profile_publications) after
        # the renames, in its one transaction: a SHARE lock on that table holds it there, with the
        # published tables locked and the schemas renamed, not yet committed.
        holder.execute("lock table history.financing_profile_publications in share mode")
        swap = Swap(scratch_db)
        swap.start()
        ((pid, _),) = wait_for(lambda: waiting_on(watcher, holder.info.backend_pid), "the swap reaches the history")
        assert (
            watcher.execute(
                """select count(*) from pg_locks where pid = %s and granted
                                    and mode = 'AccessExclusiveLock' and relation = any(%s::regclass[])""",
                (pid, ["marts.subject_archive", "export.financing_profile"]),
            ).fetchone()[0]
            == 2
        )
        readers = [
            threading.Thread(target=reader, args=(scratch_db, m, pids, seen, errors), daemon=True) for m in modes
        ]
        for t in readers:
            t.start()

        # Every reader has asked for the archive and waits for the swap (or, if it did not have to
        # wait, has read already: the assertions below say what it saw).
        def settled():
            waiting = {p for p, _ in waiting_on(watcher, pid)}
            return all(m in pids and (pids[m] in waiting or not t.is_alive()) for m, t in zip(modes, readers))

        wait_for(settled, "every reader waits for the swap")
        holder.commit()
        swap.finish()
        for t in readers:
            t.join(WAIT)
    assert not errors, errors
    assert seen == {m: expected(NEXT) for m in modes}
    assert_swapped_once(scratch_db, before)


def test_publish_without_a_build_is_refused(scratch_db):
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("drop schema if exists marts_build cascade")
    with pytest.raises(publish.PublicationRefused, match="marts_build"):
        publish.publish(scratch_db, AS_OF, [passed_gate()])
