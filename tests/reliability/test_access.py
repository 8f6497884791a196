"""Access and secrets (docs/spec/DOMAIN.md §8): each role reads only its own schemas; no resident identity number
in clear outside raw/audit; no secret in the repository; identifiers from contracts validated;
landing file names never lead outside the landing zone."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from include import feeds, publish, run_context, settings
from include.ingest import ensure_schemas, load_file, pending_files
from include.settings import REPO_ROOT
from tests.reliability import corpus, pipeline
from tests.reliability.codes import clear_rics_in
from tests.reliability.warehouse import database

pytestmark = pytest.mark.timeout(pipeline.TEST_TIMEOUT)

OWN_SCHEMAS = {"credit_loader": {"raw", "audit"}, "credit_analyst": {"marts"}, "credit_financing": {"export"}}
# Tables a role reads outside its own schemas (docs/spec/DOMAIN.md §8): the kept scorecards.
ALSO_READS = {"credit_analyst": {("history", "indicator_scorecard_history")}}
NOT_PERSONAL = {"raw", "audit"}  # the only schemas where identity numbers may be in clear


def _as_role(url: str, role: str) -> str:
    return psycopg.conninfo.make_conninfo(url, user=role, password=settings.role_password(role))


def _user_tables(conn) -> list[tuple[str, str]]:
    return conn.execute("""select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                           where c.relkind in ('r', 'v', 'm', 'p') and n.nspname not like 'pg\\_%%'
                             and n.nspname <> 'information_schema' order by 1, 2""").fetchall()


def _can(conn, statement) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement)
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


@pytest.fixture(scope="module")
def warehouse(clean_run):
    if os.environ.get("WAREHOUSE_URL") and not os.environ.get("CREDIT_ANALYST_PASSWORD"):
        pytest.skip("role logins on an external warehouse need CREDIT_<ROLE>_PASSWORD")
    publish.ensure_roles(clean_run["url"])
    return clean_run["url"]


@pytest.mark.parametrize("role", sorted(OWN_SCHEMAS))
def test_each_role_reads_its_own_schemas_and_is_refused_every_other_table(warehouse, role):
    with psycopg.connect(warehouse) as admin:
        tables = _user_tables(admin)
    assert {s for s, _ in tables} >= {"raw", "audit", "staging", "intermediate", "marts", "export", "rules"}
    wrong = []
    with psycopg.connect(_as_role(warehouse, role), autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] == role
        for schema, table in tables:
            readable = _can(conn, sql.SQL("select 1 from {} limit 1").format(sql.Identifier(schema, table)))
            if readable != (schema in OWN_SCHEMAS[role] or (schema, table) in ALSO_READS.get(role, set())):
                wrong.append((schema, table, "read" if readable else "refused"))
    assert wrong == [], f"{role}: {wrong}"


def test_the_analyst_logs_in_with_its_own_password_reads_marts_and_never_raw(warehouse):
    """Through the server's authentication (scram-sha-256), not trust: without its password the
    analyst is refused; with it, marts are readable and raw (clear identity numbers) is not."""
    no_password = psycopg.conninfo.make_conninfo(warehouse, user="credit_analyst", passfile="/nonexistent")
    with pytest.raises(psycopg.OperationalError, match="no password supplied|password authentication failed"):
        psycopg.connect(no_password).close()
    with psycopg.connect(warehouse) as admin:
        persons = admin.execute(
            "select count(*) from raw.real_estate where owner_id ~ '^[0-9]{17}[0-9Xx]$'"
        ).fetchone()[0]
    assert persons > 0, "raw holds clear identity numbers: the refusal below protects something"
    with psycopg.connect(_as_role(warehouse, "credit_analyst"), autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone() == ("credit_analyst",)
        assert conn.execute("select count(*) from marts.subject_archive").fetchone()[0] == pipeline.SUBJECTS
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select owner_id from raw.real_estate limit 1")


@pytest.mark.parametrize("role", ["credit_analyst", "credit_financing"])
def test_readers_cannot_change_or_extend_what_is_published(warehouse, role):
    target = ("marts", "subject_archive") if role == "credit_analyst" else ("export", "financing_profile")
    table = sql.Identifier(*target)
    with psycopg.connect(_as_role(warehouse, role), autocommit=True) as conn:
        assert _can(conn, sql.SQL("select count(*) from {}").format(table))
        for statement in (
            sql.SQL("delete from {}").format(table),
            sql.SQL("update {} set uscc = uscc").format(table),
            sql.SQL("truncate {}").format(table),
            sql.SQL("drop table {}").format(table),
            sql.SQL("create table {} (x int)").format(sql.Identifier(target[0], "intruder")),
            sql.SQL("create table public.intruder (x int)"),
            sql.SQL("create schema intruder"),
            sql.SQL("set role postgres"),
        ):
            assert not _can(conn, statement), statement.as_string(conn)


def test_the_loader_writes_raw_and_audit_but_cannot_publish(warehouse):
    with psycopg.connect(_as_role(warehouse, "credit_loader"), autocommit=True) as conn:
        with conn.transaction(force_rollback=True):
            conn.execute(
                "insert into audit.quarantine (feed, file_name, sha256, row_number, rule, value, message,"
                " severity) values ('tax', 'x.csv', 'x', 2, 'test', 'v', 'm', 'error')"
            )
        for statement in (
            "delete from marts.subject_archive",
            "alter schema marts rename to marts_old",
            "drop schema export cascade",
            "create schema marts_build",
        ):
            assert not _can(conn, statement), statement


def test_no_clear_resident_identity_number_outside_raw_and_audit(warehouse, clean_run):
    found, scanned = [], 0
    with psycopg.connect(warehouse) as conn:
        raw_ids = conn.execute("select string_agg(owner_id, ' ') from raw.real_estate").fetchone()[0] or ""
        columns = conn.execute(
            """select c.table_schema, c.table_name, c.column_name from information_schema.columns c
               join information_schema.tables t using (table_schema, table_name)
               where c.table_schema <> all(%s) and c.table_schema not like 'pg\\_%%'
                 and c.table_schema <> 'information_schema'
                 and (c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
                      or c.udt_name in ('text', 'varchar', 'bpchar', 'json', 'jsonb'))
               order by 1, 2, 3""",
            (sorted(NOT_PERSONAL),),
        ).fetchall()
        for schema, table, column in columns:
            scanned += 1
            # A cheap filter in SQL (18 characters of the right shape); the check digit in Python.
            query = sql.SQL("select distinct {c}::text from {t} where {c}::text ~ '[0-9]{{17}}[0-9Xx]'").format(
                c=sql.Identifier(column), t=sql.Identifier(schema, table)
            )
            for (text,) in conn.execute(query):
                found += [(schema, table, column, n[:6] + "…") for n in clear_rics_in(text)]
    assert clear_rics_in(raw_ids), "the sample holds persons: the scan is meaningful"
    assert scanned > 50
    assert found == []
    for name in ("financing_profile.csv",):
        text = (clean_run["export_dir"] / pipeline.AS_OF.isoformat() / name).read_text(encoding="utf-8-sig")
        assert clear_rics_in(text) == [], name


# --- secrets in the repository ----------------------------------------------------------------

# Built from pieces so that this file does not match itself.
SECRET_PATTERNS = {
    "private key": re.compile("-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE" + " KEY"),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"]+)@"),
    "password literal": re.compile(r"(?i)\b(pass" + r"word|passwd|pwd)\s*[=:]\s*['\"]([^'\"\s]{4,})['\"]"),
}
# Values that are obviously placeholders, not secrets.
PLACEHOLDER = re.compile(
    r"(?i)^(\$\{?[A-Z_]+\}?|\{[a-z_]+\}|%\(?\w*\)?s|change-?me|x+|\*+|<[^>]+>|example|"
    r"password|secret|\.\.\.)$"
)


# Fake credentials that tests feed on purpose to the code under test (the dbt profile's URL parser,
# the docker-compose secret checker), each allowed in its one file only: a new one fails this test.
FAKE_TEST_CREDENTIALS = {
    ("tests/dbt/test_dbt_transform.py", "s3cret"),
    ("tests/test_docker_compose.py", "s3cr3t"),
    ("tests/test_docker_compose.py", "hunter2"),
    ("tests/test_assets.py", "s3cret"),
}


def test_no_secret_in_any_tracked_file():
    listing = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z"], capture_output=True, timeout=60)
    if listing.returncode != 0:
        pytest.skip("not a git checkout")
    hits = []
    files = [f for f in listing.stdout.decode().split("\0") if f]
    assert len(files) > 50
    for name in files:
        path = REPO_ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for what, pattern in SECRET_PATTERNS.items():
            for m in pattern.finditer(text):
                value = m.group(m.lastindex) if m.lastindex else m.group(0)
                if what in ("password in a URL", "password literal") and (
                    PLACEHOLDER.match(value or "") or (name, value) in FAKE_TEST_CREDENTIALS
                ):
                    continue
                hits.append((name, what, m.group(0)[:60]))
    assert hits == []


def test_the_secret_scan_would_see_a_secret():
    planted = {
        "private key": "-----BEGIN RSA PRIVATE" + " KEY-----",
        "AWS access key": "key = AKIA" + "ABCDEFGHIJKLMNOP",
        "password in a URL": "postgresql://loader:" + "s3cr3tPa55@db:5432/warehouse",
        "password literal": "pass" + 'word = "hunter2-real"',
    }
    for what, text in planted.items():
        m = SECRET_PATTERNS[what].search(text)
        assert m, what
        value = m.group(m.lastindex) if m.lastindex else m.group(0)
        assert not PLACEHOLDER.match(value), what
    assert PLACEHOLDER.match("${CREDIT_LOADER_PASSWORD}") and PLACEHOLDER.match("change-me")


# --- identifiers from contracts -----------------------------------------------------------------


def _contract(tmp_path: Path, feed: str, column_name: str) -> Path:
    folder = tmp_path / f"contracts-{abs(hash((feed, column_name)))}"
    folder.mkdir()
    (folder / f"{feed}.yaml").write_text(
        f"feed: {feed!r}\ntitle: t\ncolumns:\n"
        f"  - {{name: {column_name!r}, header: 代码, type: text, required: true}}\n"
        f"business_key: []\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    "column_name",
    [
        'uscc"; drop table raw.subjects; --',
        "Uscc",
        "uscc name",
        "_file_sha256x;",
        "1uscc",
        "uscc\u00a0",
        "x" * 64,
        "统一社会信用代码",
        "uscc)",
        "",
        "a-b",
    ],
)
def test_a_contract_with_a_hostile_column_name_is_refused(tmp_path, column_name):
    folder = _contract(tmp_path, "hostile", column_name)
    with pytest.raises(feeds.ContractError):
        feeds.load_contracts(folder)


@pytest.mark.parametrize("feed_id", ['x"; drop schema raw cascade; --', "Tax", "tax feed"])
def test_a_contract_with_a_hostile_feed_id_is_refused(tmp_path, feed_id):
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "hostile.yaml").write_text(
        f"feed: {feed_id!r}\ntitle: t\ncolumns:\n  - {{name: uscc, header: 代码, type: text}}\n", encoding="utf-8"
    )
    with pytest.raises(feeds.ContractError):
        feeds.load_contracts(folder)


def test_a_reasonable_contract_is_accepted(tmp_path):
    """The refusals above are about the names, not about a broken test contract."""
    assert feeds.load_contracts(_contract(tmp_path, "fine", "uscc"))["fine"].column_names == ["uscc"]


def test_a_raw_meta_column_name_in_a_contract_is_refused(tmp_path):
    """A contract column named like a meta column (`_file_sha256`) would collide in raw.<feed>."""
    with pytest.raises(feeds.ContractError):
        feeds.load_contracts(_contract(tmp_path, "meta", "_file_sha256"))


# --- the landing zone's names never lead outside it ---------------------------------------------


@pytest.fixture(scope="module")
def landing_db(postgres_server):
    with database(postgres_server, "rel_paths") as url:
        ensure_schemas(url)
        yield url


@pytest.fixture
def zone(tmp_path):
    """A landing zone, and a secret outside it that a path trick would reach."""
    landing = tmp_path / "landing"
    (landing / "subjects").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_bytes(corpus.subjects_csv([corpus.subject_row(700)]))
    return landing, outside


def _raw_subjects(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from raw.subjects").fetchone()[0]


@pytest.mark.parametrize(
    "name",
    [
        "../outside/secret.csv",
        "../../outside/secret.csv",
        "..",
        ".",
        "/etc/passwd",
        "subjects/../../outside/secret.csv",
        "..\\outside\\secret.csv",
        ".hidden.csv",
        "x\x00.csv",
        "",
    ],
)
def test_a_path_as_a_file_name_is_refused_and_nothing_read(landing_db, zone, name):
    landing, _ = zone
    before = _raw_subjects(landing_db)
    result = load_file(landing_db, "subjects", name, landing)
    assert result["status"] == "rejected" and "rule: file_name" in result["reason"], result
    assert result["rows_read"] == 0 and _raw_subjects(landing_db) == before


def test_a_symlink_in_the_landing_zone_is_neither_listed_nor_read(landing_db, zone):
    landing, outside = zone
    (landing / "subjects" / "link.csv").symlink_to(outside / "secret.csv")
    (landing / "subjects" / "etc.csv").symlink_to("/etc/passwd")
    (landing / "subjects" / "folder.csv").symlink_to(outside, target_is_directory=True)
    os.mkfifo(landing / "subjects" / "pipe.csv")  # reading it would block the task forever
    assert pending_files("subjects", landing) == []
    before = _raw_subjects(landing_db)
    for name in ("link.csv", "etc.csv", "folder.csv", "pipe.csv"):
        result = load_file(landing_db, "subjects", name, landing)
        assert result["status"] == "rejected" and "rule: regular_file" in result["reason"], result
    assert _raw_subjects(landing_db) == before


def test_a_feed_folder_that_is_a_symlink_to_outside_is_not_read(landing_db, zone):
    landing, outside = zone
    (landing / "subjects").rmdir()
    (landing / "subjects").symlink_to(outside, target_is_directory=True)
    listed = pending_files("subjects", landing)
    result = load_file(landing_db, "subjects", "secret.csv", landing)
    assert listed == [] and result["status"] == "rejected", (listed, result)


@pytest.mark.parametrize("as_of", ["../../etc", "2026-06-30/../../x", "/tmp/x", "2026-02-30"])
def test_as_of_from_a_dag_run_cannot_name_a_path(as_of):
    """EXPORT_DIR/<AS_OF>/ is the only place files are written: AS_OF must be a date."""
    with pytest.raises(ValueError):
        run_context.as_of_from({}, {"as_of": as_of})


def test_the_run_wrote_only_under_its_export_folder(clean_run):
    export_dir = clean_run["export_dir"].resolve()
    folder = export_dir / pipeline.AS_OF.isoformat()
    for path in export_dir.rglob("*"):
        assert path.resolve().is_relative_to(folder), path
        assert not path.is_symlink(), path
