"""Small marts_build / export_build tables with the docs/spec/CONTRACT.md §4 columns, for the publish tests.

Until (and independently of) the dbt models, the tests build the next publication themselves:
a handful of subjects with valid codes, so every gate passes unless a test breaks something.
"""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
INDICATORS = [
    "I01",
    "I02",
    "I03",
    "I04",
    "I05",
    "I06",
    "I07",
    "I08",
    "I09",
    "I10",
    "I11_tax",
    "I11_water",
    "I11_electricity",
    "I11_gas",
    "I11_real_estate",
    "I12",
    "I13",
    "I14",
]


def uscc(body17: str) -> str:
    """A valid USCC from its first 17 characters (GB 32100 check character)."""
    total = sum(USCC_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(body17))
    return body17 + USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    value = (12 - sum(int(c) * w for c, w in zip(body17, weights)) % 11) % 11
    return body17 + ("X" if value == 10 else str(value))


def subjects(n: int) -> list[tuple[str, str, str, str]]:
    """(uscc, name, subject_type, status): n active enterprises plus one closed, one individual business."""
    rows = [(uscc(f"91640100MA{i:07d}"), f"宁夏测试企业{i}有限公司", "企业", "存续") for i in range(n)]
    rows.append((uscc("91640100MA9999998"), "已注销企业", "企业", "注销"))
    rows.append((uscc("92640100MA9999997"), "个体户甲", "个体工商户", "存续"))
    return rows


DDL = """
create schema if not exists marts_build;
create schema if not exists export_build;
drop table if exists marts_build.subject_archive, marts_build.subject_archive_history,
    marts_build.credit_events, marts_build.indicator_scorecard, marts_build.focus_subjects,
    marts_build.unit_corrections, export_build.financing_profile, export_build.financing_profile_changes, export_build.financing_penalties,
    export_build.financing_penalties_changes;
create table marts_build.subject_archive (uscc text, subject_name text, subject_type text, status text,
    region_code text, legal_rep text, is_active_enterprise boolean, utility_paid_share numeric,
    credit_score numeric, credit_grade text, as_of date);
create table marts_build.subject_archive_history (version_id text, uscc text, credit_score numeric,
    credit_grade text, valid_from date, valid_to date, is_current boolean);
create table marts_build.credit_events (uscc text, event_type text, event_date date, source_feed text,
    source_key text, publicity_start date, publicity_end date, is_public boolean, detail jsonb, as_of date);
create table marts_build.indicator_scorecard (as_of date, region_code text, indicator_id text,
    indicator_name text, numerator numeric, denominator numeric, value numeric, target numeric,
    comparator text, passed boolean, note text);
create table marts_build.focus_subjects (subject_key text, subject_name text, penalties_3y integer,
    dishonest_cases_3y integer, as_of date);
create table marts_build.unit_corrections (unit text, unit_uscc text, feed text, file_name text,
    received_at timestamptz, month date, row_number integer, column_name text, column_header text, value text,
    rule text, instruction text, corrected_at timestamptz, corrected_by_file text, file_sha256 text);
create table export_build.financing_profile (uscc text, subject_name text, region_code text,
    credit_grade text, credit_score numeric, tax_rating text, tax_paid_12m numeric(18, 2),
    utility_paid_share numeric, penalties_public integer, penalties_public_any_serious boolean,
    dishonest_active boolean, profile_hash text, as_of date);
create table export_build.financing_profile_changes (change_type text, uscc text, subject_name text,
    previous_as_of date, previous_version text, as_of date);
create table export_build.financing_penalties (record_key text, uscc text, decision_no text, severity text,
    decided_on date, publicity_start date, publicity_end date, record_hash text, as_of date);
create table export_build.financing_penalties_changes (change_type text, record_key text, uscc text,
    decision_no text, previous_as_of date, previous_version text, as_of date)
"""


def build(conninfo: str, as_of: dt.date, enterprises: int = 5, score_shift: int = 0) -> None:
    """(Re)create the build schemas with `enterprises` active enterprises, all gates passing."""
    rows = subjects(enterprises)
    with psycopg.connect(conninfo) as conn:
        for statement in DDL.split(";"):
            conn.execute(statement)
        for i, (code, name, kind, status) in enumerate(rows):
            score = min(100, 70 + i * 5 + score_shift)
            grade = "A" if score >= 90 else "B" if score >= 75 else "C" if score >= 60 else "D"
            active = kind == "企业" and status == "存续"
            conn.execute(
                "insert into marts_build.subject_archive values (%s, %s, %s, %s, '640100', '张三', "
                "%s, 0.95, %s, %s, %s)",
                (code, name, kind, status, active, score, grade, as_of),
            )
            conn.execute(
                "insert into marts_build.subject_archive_history values (%s, %s, %s, %s, %s, null, true)",
                (f"{code}|{as_of}", code, score, grade, as_of),
            )
            conn.execute(
                "insert into marts_build.credit_events values (%s, 'penalty', %s, 'penalties', %s, %s, %s, "
                "true, %s, %s)",
                (
                    code,
                    as_of,
                    f"宁罚〔2026〕{i}号",
                    as_of,
                    as_of + dt.timedelta(days=90),
                    Jsonb({"owner_masked": "640102********1234"}),
                    as_of,
                ),
            )
            if active:
                conn.execute(
                    "insert into export_build.financing_profile values (%s, %s, '640100', %s, %s, "
                    "'B', 12000.50, 0.95, 1, false, false, md5(%s), %s)",
                    (code, name, grade, score, f"{code}{score}", as_of),
                )
                conn.execute(
                    "insert into export_build.financing_profile_changes values ('insert', %s, %s, null, null, %s)",
                    (code, name, as_of),
                )
                # the one public penalty its profile counts (penalties_public = 1)
                key = f"宁罚〔2026〕{i}号|{code}"
                conn.execute(
                    "insert into export_build.financing_penalties values (%s, %s, %s, '一般', %s, %s, %s, md5(%s), %s)",
                    (key, code, f"宁罚〔2026〕{i}号", as_of, as_of, as_of + dt.timedelta(days=90), key, as_of),
                )
                conn.execute(
                    "insert into export_build.financing_penalties_changes values ('insert', %s, %s, %s, "
                    "null, null, %s)",
                    (key, code, f"宁罚〔2026〕{i}号", as_of),
                )
        for indicator in INDICATORS:
            for region in ("all", "640100"):
                den = enterprises if indicator == "I08" else 10
                conn.execute(
                    "insert into marts_build.indicator_scorecard values (%s, %s, %s, %s, 1, %s, "
                    "%s, 1, '>=', true, null)",
                    (as_of, region, indicator, f"指标{indicator}", den, 1 / den),
                )
        conn.execute("insert into marts_build.focus_subjects values (%s, '屡罚企业', 10, 0, %s)", (rows[0][0], as_of))


def count(conninfo: str, schema: str, table: str) -> int:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[0]


def published_export(url: str, rows: int, as_of: dt.date, version: str, changed_share: float = 0.0) -> None:
    """A published `export` schema as the transform and publish leave it, synthetic and fast to
    make at any size: financing_profile with `rows` enterprises, a penalty for every tenth,
    change sets against an earlier publication in which `changed_share` of the enterprises (and
    their penalties) were updated, inserted or deleted in equal parts — and the publication log
    naming `version`. Codes are 18 characters but not valid USCCs (the export does not check)."""
    from include.publish import PUBLICATION_LOG_DDL

    changed = int(rows * changed_share)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema export")
        conn.execute(
            """create table export.financing_profile as
                        select lpad(i::text, 18, '9') as uscc, '企业' || i as subject_name,
                               round((i %% 97)::numeric / 4, 2) as registered_capital, i %% 100 as credit_score,
                               (i %% 2 = 0) as dishonest_active, date '2020-01-01' + i %% 900 as established_on,
                               (i %% 10 = 0)::int as penalties_public, md5(i::text) as profile_hash, %s::date as as_of
                        from generate_series(1, %s) as i""",
            (as_of, rows),
        )
        conn.execute(
            """create table export.financing_penalties as
                        select '宁罚〔2026〕' || i || '号|' || lpad(i::text, 18, '9') as record_key, uscc,
                               '宁罚〔2026〕' || i || '号' as decision_no, '一般'::text as severity,
                               round((i %% 50)::numeric / 10, 1) as fine_amount, %s::date - 30 as publicity_start,
                               %s::date + 60 as publicity_end, md5('p' || i) as record_hash, %s::date as as_of
                        from export.financing_profile, lateral (select uscc::bigint as i) as n
                        where penalties_public = 1""",
            (as_of, as_of, as_of),
        )
        # every third changed key inserted, updated, deleted: the changed ones are the first `changed`
        conn.execute(
            """create table export.financing_profile_changes as
                        select (array['insert', 'update', 'delete'])[1 + n %% 3] as change_type, uscc,
                               subject_name, registered_capital, credit_score, dishonest_active, established_on,
                               penalties_public, profile_hash, %s::date - 1 as previous_as_of,
                               %s::text as previous_version, as_of
                        from (select *, row_number() over (order by uscc) as n from export.financing_profile) as f
                        where n <= %s""",
            (as_of, f"{as_of - dt.timedelta(days=1)}.1", changed),
        )
        conn.execute("""create table export.financing_penalties_changes as
                        select c.change_type, p.record_key, p.uscc, p.decision_no, p.severity, p.fine_amount,
                               p.publicity_start, p.publicity_end, p.record_hash, c.previous_as_of,
                               c.previous_version, p.as_of
                        from export.financing_penalties as p join export.financing_profile_changes as c using (uscc)""")
        for table in (
            "financing_profile",
            "financing_penalties",
            "financing_profile_changes",
            "financing_penalties_changes",
        ):
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier("export", table)))
        conn.execute(PUBLICATION_LOG_DDL)
        conn.execute(
            "insert into audit.publication_log (version, as_of, pipeline_version, row_counts, gate_results)"
            " values (%s, %s, 'synthetic', '{}', '[]')",
            (version, as_of),
        )
