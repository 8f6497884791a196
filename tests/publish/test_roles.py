"""Each role logs in and reads what is its own, and is refused everything else (docs/spec/DOMAIN.md §8)."""

from __future__ import annotations

import datetime as dt
import os

import psycopg
import pytest

from include import publish, settings
from include.quality import audit as quality_audit
from tests.publish import builders

AS_OF = dt.date(2026, 6, 30)

if os.environ.get("WAREHOUSE_URL") and not os.environ.get("CREDIT_ANALYST_PASSWORD"):
    pytest.skip("role logins on an external warehouse need CREDIT_<ROLE>_PASSWORD", allow_module_level=True)


def passed_gate() -> dict:
    return {
        "checkpoint": "publication",
        "as_of": AS_OF.isoformat(),
        "run_id": "test",
        "success": True,
        "blocking_failures": [],
        "warnings": [],
        "results": [],
    }


def as_role(url: str, role: str) -> str:
    return psycopg.conninfo.make_conninfo(url, user=role, password=settings.role_password(role))


def can_read(url: str, role: str, table: str) -> bool:
    with psycopg.connect(as_role(url, role)) as conn:
        try:
            conn.execute(f"select count(*) from {table}").fetchone()
            return True
        except psycopg.errors.InsufficientPrivilege:
            return False


@pytest.fixture(scope="module")
def warehouse(scratch_db):
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.subjects (uscc text, name text)")  # before the roles
    publish.ensure_roles(scratch_db)
    publish.ensure_roles(scratch_db)  # idempotent
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        # Created after ensure_roles: default privileges must cover them.
        conn.execute("create table raw.tax (uscc text, period date)")
        conn.execute("create table audit.file_ledger (feed text, sha256 text)")
        quality_audit.ensure_gate_results(conn)
    builders.build(scratch_db, AS_OF, enterprises=2)
    publish.publish(scratch_db, AS_OF, [passed_gate()])
    builders.build(scratch_db, AS_OF, enterprises=3)  # a next build, not yet published
    return scratch_db


OWN = {
    "credit_loader": ["raw.subjects", "raw.tax", "audit.file_ledger", "audit.gate_results", "audit.publication_log"],
    "credit_analyst": ["marts.subject_archive", "marts.indicator_scorecard", "history.indicator_scorecard_history"],
    "credit_financing": ["export.financing_profile", "export.financing_profile_changes"],
}
ALL = sorted(
    {t for tables in OWN.values() for t in tables}
    | {
        "marts_build.subject_archive",
        "export_build.financing_profile",
        "audit.publication_log",
        "audit.gate_results",
        "history.financing_profile_publications",
    }
)


@pytest.mark.parametrize("role", sorted(OWN))
def test_role_reads_its_own_and_nothing_else(warehouse, role):
    readable = {table for table in ALL if can_read(warehouse, role, table)}
    assert readable == set(OWN[role])


def test_loader_writes_raw_and_audit_only(warehouse):
    with psycopg.connect(as_role(warehouse, "credit_loader")) as conn:
        conn.execute("insert into raw.tax values ('91640100MA0000000X', '2026-06-01')")
        conn.execute("insert into audit.file_ledger values ('tax', 'abc')")
        conn.execute("create table raw.loader_made (x int)")
        conn.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from marts.subject_archive")


def test_readers_cannot_write(warehouse):
    with psycopg.connect(as_role(warehouse, "credit_analyst")) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from marts.subject_archive")


def test_grants_follow_each_new_publication(warehouse):
    publish.publish(warehouse, AS_OF, [passed_gate()])  # the 3-enterprise build
    assert can_read(warehouse, "credit_analyst", "marts.subject_archive")
    assert can_read(warehouse, "credit_financing", "export.financing_profile")
    assert not can_read(warehouse, "credit_financing", "marts.subject_archive")
    with psycopg.connect(as_role(warehouse, "credit_financing")) as conn:
        assert conn.execute("select count(*) from export.financing_profile").fetchone()[0] == 3


def test_roles_have_no_superpowers(warehouse):
    with psycopg.connect(warehouse) as conn:
        rows = conn.execute("""select rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb
                               from pg_roles where rolname like 'credit\\_%%' order by 1""").fetchall()
    assert rows == [(r, True, False, False, False) for r in sorted(OWN)]
