"""The edges of the warehouse's rules that no other test pins, each on a hand-made case with a literal
expected value worked out from docs/spec/DOMAIN.md (the arithmetic is in the comments, never
computed with project code).

Two builds, each in a database of its own, so the tests can run in any order:
- `warehouse`: AS_OF 2026-06-30, so W = 2025-07-01 … 2026-06-30, the 3 years of I14 are
  (2023-06-30, 2026-06-30], and every regime of the publicity table (2019, 2023, 2026) is in reach;
- `next_year`: AS_OF 2027-03-31, a year the working-day calendar does not know yet (the seed stops
  at 2026-12-31: I06 must say so), and then a rules change that makes a score above 100 possible
  (the default points reach at most 80 + 10 + 5 = 95), to show the clamp at 100: the seed table
  edited in place and the two scoring models rerun, so the real model and the seed's own
  score_ceiling row are what is tested (a dbt `unit_tests:` block tests the rows it is given, rules
  included, not the seed the warehouse runs on). When 2027's schedule is dropped into the
  calendar, NEXT_YEAR moves to the first year it does not know.

Working days were checked with the `chinese_calendar` package (an independent source) as well as
the seed: New Year 2022 = 2022-01-01 … 01-03 off with no make-up day; New Year 2026 = 2026-01-01 …
01-03 off and Sunday 2026-01-04 a make-up working day (调休).
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import psycopg
import pytest
from dbt_runner import build, by_key, dbt, query, target_of
from warehouse_rows import RawWriter, uscc

from tests.support.scratch_db import scratch_database

D = dt.date.fromisoformat
AS_OF = D("2026-06-30")  # W = 2025-07-01 … 2026-06-30
NEXT_YEAR = D("2027-03-31")  # W = 2026-04-01 … 2027-03-31; the calendar knows up to 2026-12-31
A, B, C = "640102", "640106", "640121"
ARRIVED = "2026-06-30 18:00:00+08"
UNIT = uscc(900, A, "11")

# every subject is an enterprise (91) unless said otherwise; numbers only keep the codes apart
_REGISTRY = {
    # name: (number, region, kind)
    "G90": (101, A, "91"),
    "G85": (102, A, "91"),
    "G75": (103, A, "91"),
    "G70": (104, A, "91"),
    "G60": (105, A, "91"),
    "TD": (106, A, "91"),
    "TM": (107, A, "91"),
    "TJUNE": (108, A, "91"),
    "SER2": (109, A, "91"),
    "CLAMP0": (110, A, "91"),
    "R26": (111, A, "91"),
    "S26S": (112, A, "91"),
    "B23": (113, A, "91"),
    "RMPRE": (114, A, "91"),
    "RMON": (115, A, "91"),
    "ON": (116, A, "91"),
    "DPUB": (117, A, "91"),
    "F10": (118, A, "91"),
    "F9": (119, A, "91"),
    "P10": (120, B, "91"),
    "P9": (121, B, "91"),
    "INST_B": (122, B, "12"),  # 事业单位
    "INST_C": (123, C, "12"),
    "EST_ON": (124, C, "91"),
    "CLOSED_ON": (125, C, "91"),  # 事业单位, …
    "EST_AFTER": (126, C, "91"),
    "CLOSED_AFTER": (127, C, "91"),
}
S = {name: uscc(n, region, kind) for name, (n, region, kind) in _REGISTRY.items()}
U1 = uscc(201, A)  # the next_year build's only subject


def subject(name, type_="企业", status="存续", established_on="2015-01-01", closed_on=None, code=None):
    code = code or S[name]
    return {
        "uscc": code,
        "name": name,
        "subject_type": type_,
        "status": status,
        "established_on": D(established_on),
        "closed_on": D(closed_on) if closed_on else None,
        "region_code": code[2:8],
    }


def penalty(no, code, decided, severity=None, types="罚款", summary=None):
    return {
        "decision_no": no,
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": code,
        "penalty_type": types,
        "decided_on": D(decided),
        "reported_on": D(decided),
        "severity": severity,
        "summary_procedure": summary,
        "source_unit_uscc": UNIT,
        "violation_type": "v",
        "violation_facts": "f",
        "legal_basis": "b",
        "penalty_content": "c",
        "authority": "局",
        "authority_uscc": UNIT,
        "source_unit": "局",
    }


def tax(code, period, rating, arrears=0):
    return {
        "uscc": code,
        "name": "x",
        "period": D(period),
        "tax_due": 100,
        "tax_paid": 100,
        "credit_rating": rating,
        "arrears": arrears,
    }


def debtor(case, code, filed, published, removed=None):
    return {
        "case_no": case,
        "subject_name": "x",
        "subject_id": code,
        "subject_id_key": code,
        "subject_id_masked": code,
        "court": "法院",
        "filed_on": D(filed),
        "circumstance": "c",
        "published_on": D(published),
        "removed_on": D(removed) if removed else None,
    }


def repair(no, code, decision_no, completed):
    done = D(completed)
    return {
        "repair_no": no,
        "uscc": code,
        "subject_name": "x",
        "decision_no": decision_no,
        "applied_on": done - dt.timedelta(days=10),
        "accepted_on": done - dt.timedelta(days=9),
        "completed_on": done,
        "result": "同意",
        "unit": "局",
    }


def objection(no, code, raised, completed):
    return {
        "objection_no": no,
        "uscc": code,
        "subject_name": "x",
        "info_category": "行政处罚",
        "raised_on": D(raised),
        "completed_on": D(completed),
        "result": "维持",
        "valid": False,
    }


def license_(no, code, decided):
    return {
        "decision_no": no,
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": code,
        "license_type": "普通",
        "decided_on": D(decided),
        "reported_on": D(decided),
        "source_unit_uscc": UNIT,
    }


@pytest.fixture(scope="module")
def warehouse(scratch_db):
    w = RawWriter(scratch_db)
    enterprises_a = [n for n, (_, region, kind) in _REGISTRY.items() if region == A]
    w.rows(
        "subjects",
        [subject(n) for n in enterprises_a]
        + [
            subject("P10"),
            subject("P9"),
            subject("INST_B", "事业单位"),
            subject("INST_C", "事业单位"),
            subject("EST_ON", established_on="2026-06-30"),  # established on AS_OF
            subject("CLOSED_ON", status="注销", closed_on="2026-06-30"),  # closed on AS_OF
            subject("EST_AFTER", established_on="2026-07-01"),  # the day after
            subject("CLOSED_AFTER", status="注销", closed_on="2026-07-01"),  # the day after
        ],
        file="subjects.csv",
        arrived=ARRIVED,
    )

    w.rows(
        "tax",
        [
            tax(S["G90"], "2026-03-01", "A"),
            tax(S["G85"], "2026-03-01", "A", arrears=100),
            tax(S["G70"], "2026-03-01", "C"),
            tax(S["TD"], "2026-04-01", "B"),
            tax(S["TD"], "2026-05-01", "D"),  # latest: D
            tax(S["TM"], "2026-04-01", "A"),
            tax(S["TM"], "2026-05-01", "M"),  # latest: M
            tax(S["TJUNE"], "2026-05-01", "C"),
            tax(S["TJUNE"], "2026-06-01", "A"),  # latest: AS_OF's month
            tax(S["CLAMP0"], "2026-05-01", "D"),
        ],
        file="tax.csv",
        arrived=ARRIVED,
    )

    penalties = [
        penalty("G75-1", S["G75"], "2026-02-02"),  # 一般, public
        penalty("G60-1", S["G60"], "2025-09-01", "严重"),  # 严重, public
        penalty("SER2-1", S["SER2"], "2025-10-08", "严重"),
        penalty("SER2-2", S["SER2"], "2025-11-03", "严重"),
        penalty("CLAMP0-1", S["CLAMP0"], "2025-08-01", "严重"),
        penalty("CLAMP0-2", S["CLAMP0"], "2025-09-01", "严重"),
        penalty("CLAMP0-3", S["CLAMP0"], "2025-10-09", "严重"),
        # the 2026 regime (令2025年第36号, decided from 2026-04-01), and the day before it
        penalty("R26-W", S["R26"], "2026-04-01", types="警告"),
        penalty("R26-T", S["R26"], "2026-04-15", types="通报批评"),
        penalty("R26-WT", S["R26"], "2026-05-06", types="警告;通报批评"),
        penalty("R26-F", S["R26"], "2026-05-06", types="罚款"),
        penalty("R26-WF", S["R26"], "2026-05-06", types="警告;罚款"),
        penalty("R26-SP", S["R26"], "2026-05-07", types="罚款", summary=True),
        penalty("R26-WT-0331", S["R26"], "2026-03-31", types="警告;通报批评"),
        penalty("S26S-1", S["S26S"], "2026-04-01", "严重"),
        # the 2023-05-01 boundary: 发改办财金〔2019〕527号 the day before, 令2023年第58号 from that day
        penalty("B23-0430", S["B23"], "2023-04-30", "严重"),
        penalty("B23-0501", S["B23"], "2023-05-01", "严重"),
        # the repair minimum of 严重 (12 months under 令2023年第58号)
        penalty("RMPRE-1", S["RMPRE"], "2025-03-17", "严重"),
        penalty("RMON-1", S["RMON"], "2025-03-17", "严重"),
        penalty("ON-1", S["ON"], "2026-06-30"),  # decided on AS_OF
        # I14, penalties: P10 has 10 in (2023-06-30, 2026-06-30]; P9 has 9, its tenth on 2023-06-30
        penalty("P10-Q1", S["P10"], "2023-07-01"),
        penalty("P10-Q10", S["P10"], "2026-06-30"),
        penalty("P9-Z0", S["P9"], "2023-06-30"),
    ]
    penalties += [penalty(f"P10-Q{k}", S["P10"], f"2024-{k - 1:02d}-05") for k in range(2, 10)]  # 8: 2024-01 … 08
    penalties += [penalty(f"P9-Z{k}", S["P9"], f"2024-{k:02d}-05") for k in range(1, 10)]  # 9: 2024-01 … 09
    w.rows("penalties", penalties, file="penalties.csv", arrived=ARRIVED)

    w.rows(
        "licenses",
        [
            license_("NY22", S["G90"], "2021-12-28"),
            license_("NY26", S["G90"], "2025-12-29"),
            license_("NY26-31", S["G90"], "2025-12-31"),
        ],
        file="licenses.csv",
        arrived=ARRIVED,
    )

    w.rows(
        "repairs",
        [
            repair("RP-B23a", S["B23"], "B23-0430", "2023-12-01"),
            repair("RP-B23b", S["B23"], "B23-0501", "2023-12-01"),
            repair("RP-PRE", S["RMPRE"], "RMPRE-1", "2026-03-16"),
            repair("RP-ON", S["RMON"], "RMON-1", "2026-03-17"),
            repair("RP-26S", S["S26S"], "S26S-1", "2026-06-30"),  # completed on AS_OF
        ],
        file="repairs.csv",
        arrived=ARRIVED,
    )

    debtors = [
        debtor("CL-1", S["CLAMP0"], "2024-12-01", "2025-01-10"),  # active
        debtor("DP-1", S["DPUB"], "2026-06-01", "2026-06-30"),  # published on AS_OF
        debtor("IB-1", S["INST_B"], "2025-02-01", "2025-03-01"),  # 事业单位, active
        debtor("IB-2", S["INST_B"], "2025-03-01", "2025-04-01"),  # … a second active record
        debtor("IC-1", S["INST_C"], "2024-04-01", "2024-05-01", removed="2026-06-30"),  # removed on AS_OF
        # I14, cases: F10 has 10 filed in (2023-06-30, 2026-06-30], F9 has 9, its tenth filed 2023-06-30
        debtor("F10-K1", S["F10"], "2023-07-01", "2023-08-01", removed="2024-12-31"),
        debtor("F10-K10", S["F10"], "2026-06-30", "2026-07-15"),  # filed on AS_OF, published after
        debtor("F9-J0", S["F9"], "2023-06-30", "2023-07-20", removed="2024-12-31"),
    ]
    debtors += [
        debtor(f"F10-K{k}", S["F10"], f"2024-{k - 1:02d}-10", f"2024-{k - 1:02d}-20", removed="2024-12-31")
        for k in range(2, 10)
    ]  # 8: 2024-01 … 08
    debtors += [
        debtor(f"F9-J{k}", S["F9"], f"2024-{k:02d}-10", f"2024-{k:02d}-20", removed="2024-12-31") for k in range(1, 10)
    ]  # 9: 2024-01 … 09
    w.rows("dishonest_debtors", debtors, file="debtors.csv", arrived=ARRIVED)

    w.rows(
        "commitments",
        [
            {
                "commitment_no": "K-ON",
                "subject_name": "x",
                "uscc": S["ON"],
                "commitment_type": "告知承诺",
                "reason": "r",
                "committed_on": D("2026-06-30"),
                "unit": "局",
                "unit_uscc": UNIT,
                "fulfilment": "未履约",
            }
        ],
        file="commitments.csv",
        arrived=ARRIVED,
    )

    def estate(no, registered, seized=False, cancelled=None):
        return {
            "unit_no": f"U{no}",
            "certificate_no": f"C{no}",
            "owner_name": "x",
            "owner_id": S["ON"],
            "owner_id_key": S["ON"],
            "owner_id_masked": S["ON"],
            "registered_on": D(registered),
            "seized": seized,
            "mortgaged": False,
            "cancelled_on": D(cancelled) if cancelled else None,
        }

    w.rows(
        "real_estate",
        [
            estate(1, "2026-06-30"),  # registered on AS_OF
            estate(2, "2020-01-01", seized=True, cancelled="2026-06-30"),
        ],  # cancelled on AS_OF
        file="estate.csv",
        arrived=ARRIVED,
    )

    w.rows(
        "objections",
        [
            objection("O-ON", S["ON"], "2026-06-23", "2026-06-30"),  # completed on AS_OF
            objection("O-BEFORE", S["ON"], "2025-06-27", "2025-06-30"),
        ],  # the day before W
        file="objections.csv",
        arrived=ARRIVED,
    )
    build(scratch_db, AS_OF)
    return scratch_db


@pytest.fixture(scope="module")
def next_year(postgres_server):
    """AS_OF 2027-03-31 in a database of its own: objections in and out of the known calendar."""
    with scratch_database(postgres_server, "test") as url:
        w = RawWriter(url)
        w.rows("subjects", [subject("U1", code=U1)], file="subjects.csv", arrived="2027-03-01 09:00:00+08")
        w.rows("tax", [tax(U1, "2027-02-01", "A")], file="tax.csv", arrived="2027-03-01 09:00:00+08")
        w.rows(
            "objections",
            [
                objection("O-KNOWN", U1, "2026-11-02", "2026-11-04"),
                objection("O-ACROSS", U1, "2026-12-30", "2027-01-05"),
                objection("O-2027", U1, "2027-02-01", "2027-02-03"),
            ],
            file="objections.csv",
            arrived="2027-03-01 09:00:00+08",
        )
        build(url, NEXT_YEAR)
        yield url
    shutil.rmtree(target_of(url), ignore_errors=True)


def _archive(url):
    return by_key(url, "select uscc, credit_score, credit_grade from marts_build.subject_archive")


def _publicity(url):
    return by_key(
        url,
        """select decision_no, regime_id, min_publicity_end, max_publicity_end, publicity_end,
                                 is_public, never_public, premature_repair_flagged
                          from intermediate.int_penalty_publicity""",
    )


def _scorecard(url):
    return {
        (r[0], r[1]): r[2:]
        for r in query(
            url,
            """
        select indicator_id, region_code, numerator, denominator, value, passed, note
        from marts_build.indicator_scorecard""",
        )
    }


# --- §2 working days ---------------------------------------------------------------------------------------------


def test_seven_working_day_deadline_across_new_year(warehouse):
    deadlines = by_key(
        warehouse,
        "select decision_no, report_deadline from intermediate.int_double_publicity where record_type = 'license'",
    )
    # 2021-12-28 (Tue) → 12-29, 12-30, 12-31 (1–3); 2022-01-01 … 01-03 New Year, no make-up day;
    # 01-04, 01-05, 01-06, 01-07 (4–7). Weekdays only would give 01-06.
    assert deadlines["NY22"] == D("2022-01-07")
    # 2025-12-29 (Mon) → 12-30, 12-31 (1–2); 2026-01-01 … 01-03 off; Sun 01-04 调休 (3); 01-05 … 01-08 (4–7).
    # Without the make-up Sunday: 01-09; weekdays only: 01-07.
    assert deadlines["NY26"] == D("2026-01-08")
    # 2025-12-31 (Wed) → 01-04 (调休, 1), 01-05 … 01-09 (2–6), 01-12 (7)
    assert deadlines["NY26-31"] == D("2026-01-12")


def test_i06_says_so_when_a_year_is_outside_the_calendar(next_year):
    card = _scorecard(next_year)
    # W = 2026-04-01 … 2027-03-31: three objections completed in W. O-KNOWN 2026-11-02 → 11-04 = 2
    # working days; O-ACROSS (2026-12-30 → 2027-01-05) and O-2027 need days of 2027, which the
    # calendar (2004–2026) does not hold: no mean of the known one alone, no weekdays-only guess —
    # value NULL, not passed, and the note names the last known day and the file to drop in.
    assert card[("I06", "all")] == (
        None,
        3,
        None,
        False,
        "2 条记录的工作日无法计算：工作日历只到 2026-12-31，请放入之后年份的调休安排（dbt_project/calendar_schedules/<年>.csv）",
    )


def test_i06_counts_an_objection_completed_on_as_of(warehouse):
    # O-ON 2026-06-23 (Tue) → 2026-06-30 (Tue): 06-24, 06-25, 06-26, 06-29, 06-30 = 5 working days;
    # O-BEFORE completed 2025-06-30, the day before W (2025-07-01): not counted. Mean 5/1 = 5 ≤ 5: passed.
    assert _scorecard(warehouse)[("I06", "all")] == (5, 1, Decimal("5"), True, None)


# --- §3 publicity and repair ---------------------------------------------------------------------------------


def test_regime_boundary_on_2023_05_01(warehouse):
    rows = _publicity(warehouse)
    # decided 2023-04-30: 527号, 严重 6–36 months → min 2023-10-30, max 2026-04-30; the repair of
    # 2023-12-01 is after the minimum: honoured, publicity ended on 2023-12-01.
    assert rows["B23-0430"] == (
        "ndrc_2019_527_serious",
        D("2023-10-30"),
        D("2026-04-30"),
        D("2023-12-01"),
        False,
        False,
        False,
    )
    # decided 2023-05-01: 令2023年第58号, 严重 12–36 months → min 2024-05-01, max 2026-05-01; the same
    # repair date is premature: flagged, not honoured, publicity ran to the maximum (2026-05-01,
    # before AS_OF, so not public now).
    assert rows["B23-0501"] == (
        "ndrc_order_2023_58_serious",
        D("2024-05-01"),
        D("2026-05-01"),
        D("2026-05-01"),
        False,
        False,
        True,
    )


def test_2026_regime_light_penalties_and_summary_procedure(warehouse):
    rows = _publicity(warehouse)
    light = {no: rows[no][0] for no in ("R26-W", "R26-T", "R26-WT", "R26-F", "R26-WF", "R26-SP")}
    assert set(light.values()) == {"ndrc_order_2025_36_ordinary"}
    # 轻微 (警告 and/or 通报批评 only) and 简易程序: never public under 令2025年第36号
    for no in ("R26-W", "R26-T", "R26-WT", "R26-SP"):
        assert rows[no][3:6] == (None, False, True), no
    # a fine, alone or with a warning, is public from its decision date for the maximum 12 months
    assert rows["R26-F"][3:6] == (D("2027-05-06"), True, False)
    assert rows["R26-WF"][3:6] == (D("2027-05-06"), True, False)
    # the day before (2026-03-31, 令2023年第58号): only 警告 is hidden, so 警告;通报批评 is public
    assert rows["R26-WT-0331"][0] == "ndrc_order_2023_58_ordinary"
    assert rows["R26-WT-0331"][3:6] == (D("2027-03-31"), True, False)
    reasons = by_key(
        warehouse,
        "select decision_no, never_public_reason from intermediate.int_penalty_publicity"
        " where decision_no like 'R26-%'",
    )
    assert reasons == {
        "R26-W": "仅警告",
        "R26-T": "仅通报批评",
        "R26-WT": "仅警告;通报批评",
        "R26-SP": "简易程序",
        "R26-F": None,
        "R26-WF": None,
        "R26-WT-0331": None,
    }
    # what a lender and the score see: 3 public of 7; 80 − 3 × 5 = 65 → C
    assert query(
        warehouse,
        "select penalties_total, penalties_public, credit_score, credit_grade"
        " from marts_build.subject_archive where uscc = %s",
        (S["R26"],),
    ) == [(7, 3, 65, "C")]
    assert query(
        warehouse, "select penalties_public from export_build.financing_profile where uscc = %s", (S["R26"],)
    ) == [(3,)]


def test_repair_minimum_for_serious_penalties(warehouse):
    rows = _publicity(warehouse)
    # decided 2025-03-17, 严重, 令2023年第58号: minimum 12 months → 2026-03-17, maximum 36 → 2028-03-17.
    # Publicity runs from the decision date (inclusive): 2025-03-17 … 2026-03-16 are the 12 months, so
    # "once the minimum period has passed" = on or after 2026-03-17.
    # Repair completed 2026-03-16, one day early: flagged, not honoured, still public on AS_OF.
    assert rows["RMPRE-1"] == (
        "ndrc_order_2023_58_serious",
        D("2026-03-17"),
        D("2028-03-17"),
        D("2028-03-17"),
        True,
        False,
        True,
    )
    # Repair completed on 2026-03-17 exactly: honoured, publicity ends that day.
    assert rows["RMON-1"] == (
        "ndrc_order_2023_58_serious",
        D("2026-03-17"),
        D("2028-03-17"),
        D("2026-03-17"),
        False,
        False,
        False,
    )
    # 令2025年第36号 (decided 2026-04-01): minimum 12 months → 2027-04-01; an approved repair completed
    # on AS_OF is premature: flagged, publicity continues to 2029-04-01.
    assert rows["S26S-1"] == (
        "ndrc_order_2025_36_serious",
        D("2027-04-01"),
        D("2029-04-01"),
        D("2029-04-01"),
        True,
        False,
        True,
    )
    got = _archive(warehouse)
    assert got[S["RMPRE"]] == (60, "C")  # 80 − 20 (still public)
    assert got[S["RMON"]] == (80, "B")  # publicity ended: nothing deducted
    assert got[S["S26S"]] == (60, "C")  # 80 − 20


# --- §5 the credit evaluation -----------------------------------------------------------------------------------


def test_tax_ratings_d_and_m(warehouse):
    rows = by_key(
        warehouse,
        """select uscc, tax_rating, points_tax, credit_score, credit_grade
                                from marts_build.subject_archive where uscc = any(%s)""",
        ([S["TD"], S["TM"]],),
    )
    assert rows[S["TD"]] == ("D", -25, 55, "D")  # latest row 2026-05 D (not 2026-04's B): 80 − 25 = 55 < 60
    assert rows[S["TM"]] == ("M", 0, 80, "B")  # latest row 2026-05 M (not 2026-04's A): 80 + 0 = 80


def test_score_clamped_at_zero(warehouse):
    row = query(
        warehouse,
        """select points_base, points_tax, points_penalties, points_dishonest, credit_score,
                                     credit_grade from marts_build.subject_archive where uscc = %s""",
        (S["CLAMP0"],),
    )
    # 80 − 25 (tax D) − 3 × 20 (three public 严重) − 40 (active dishonest debtor) = −45 → clamped to 0
    assert row == [(80, -25, -60, -40, 0, "D")]


def test_score_clamped_at_100_when_the_rules_allow_more(next_year):
    # with the seed's points U1 (latest tax rating A) scores 80 + 10 = 90
    assert _archive(next_year)[U1] == (90, "A")
    # a rules change (the seed table edited in place, as a new scoring_rules.csv would load it) that
    # makes 100 reachable: rating A worth +30. The real models re-evaluate every archive (the rules
    # version changed); the ceiling is still the seed's score_ceiling row (100).
    with psycopg.connect(next_year) as conn:
        conn.execute("update rules.scoring_rules set points = 30 where rule_id = 'tax_rating_A'")
    reply = dbt(next_year, NEXT_YEAR, "run", "--select", "int_subject_archive", "subject_archive")
    assert reply["success"], reply["output"][-4000:]
    # 80 + 30 = 110 → clamped to 100, grade A
    assert query(
        next_year,
        "select points_tax, credit_score, credit_grade from marts_build.subject_archive where uscc = %s",
        (U1,),
    ) == [(30, 100, "A")]


def test_grade_boundaries_at_exactly_90_75_60(warehouse):
    got = _archive(warehouse)
    # points are multiples of 5, so 89 / 74 / 59 cannot occur: the score below each boundary is 85 / 70 / 55
    assert got[S["G90"]] == (90, "A")  # 80 + 10 (tax A)
    assert got[S["G85"]] == (85, "B")  # 80 + 10 (tax A) − 5 (arrears)
    assert got[S["G75"]] == (75, "B")  # 80 − 5 (one public 一般 penalty)
    assert got[S["G70"]] == (70, "C")  # 80 − 10 (tax C)
    assert got[S["G60"]] == (60, "C")  # 80 − 20 (one public 严重 penalty)
    assert got[S["TD"]] == (55, "D")  # 80 − 25 (tax D)


def test_more_than_one_serious_penalty(warehouse):
    row = query(
        warehouse,
        """select penalties_public_serious, points_penalties, credit_score, credit_grade
                              from marts_build.subject_archive where uscc = %s""",
        (S["SER2"],),
    )
    # −20 each 严重, no cap (unlike 一般's −20 cap): 80 − 2 × 20 = 40 → D
    assert row == [(2, -40, 40, "D")]
    assert query(
        warehouse,
        "select penalties_public, penalties_public_any_serious from export_build.financing_profile where uscc = %s",
        (S["SER2"],),
    ) == [(2, True)]


# --- records dated exactly on AS_OF -------------------------------------------------------------------------------


def test_records_dated_on_as_of(warehouse):
    # a penalty decided on AS_OF is public that day (publicity starts on the decision date)
    assert _publicity(warehouse)["ON-1"][3:5] == (D("2027-06-30"), True)
    facts = query(
        warehouse,
        """select penalties_public, commitments_total, commitments_unfulfilled, properties,
                                       properties_seized, credit_score, credit_grade
                                from marts_build.subject_archive where uscc = %s""",
        (S["ON"],),
    )
    # the penalty (−5) and the 未履约 commitment committed on AS_OF, inside W (−5) count; the property
    # registered on AS_OF is held, the seized one cancelled on AS_OF is not (else −10): 80 − 5 − 5 = 70
    assert facts == [(1, 1, 1, 1, 0, 70, "C")]
    # a tax row for AS_OF's month (period 2026-06-01) is the latest row up to AS_OF: A, not 2026-05's C
    assert query(
        warehouse,
        "select tax_latest_period, tax_rating, credit_score, credit_grade"
        " from marts_build.subject_archive where uscc = %s",
        (S["TJUNE"],),
    ) == [(D("2026-06-01"), "A", 90, "A")]  # 80 + 10


def test_dishonest_debtor_published_or_removed_on_as_of(warehouse):
    # active from published_on (inclusive) until removed_on (exclusive)
    active = by_key(
        warehouse, "select case_no, is_active from intermediate.int_dishonest_records where case_no in ('DP-1', 'IC-1')"
    )
    assert active == {"DP-1": True, "IC-1": False}
    got = by_key(
        warehouse,
        "select uscc, credit_score, credit_grade, grade_override_reason from marts_build.subject_archive"
        " where uscc = any(%s)",
        ([S["DPUB"], S["INST_C"]],),
    )
    assert got[S["DPUB"]] == (40, "D", "失信被执行人")  # 80 − 40, grade forced to D
    assert got[S["INST_C"]] == (80, "B", None)  # removed on AS_OF: nothing


def test_registry_dates_on_as_of(warehouse):
    # DOMAIN §6: active enterprise = 企业 with status 存续 on AS_OF. Established on AS_OF: exists that
    # day. Closed (注销) on AS_OF: no longer 存续 that day (DOMAIN is silent on the day itself; the
    # natural reading). Established the day after: not yet; closed the day after: still 存续 on AS_OF.
    active = by_key(
        warehouse, "select uscc, is_active_enterprise from intermediate.int_subject_facts where region_code = %s", (C,)
    )
    assert active == {
        S["INST_C"]: False,
        S["EST_ON"]: True,
        S["CLOSED_ON"]: False,
        S["EST_AFTER"]: False,
        S["CLOSED_AFTER"]: True,
    }
    exported = {
        r[0] for r in query(warehouse, "select uscc from export_build.financing_profile where region_code = %s", (C,))
    }
    assert exported == {S["EST_ON"], S["CLOSED_AFTER"]}
    # I08 for region C: 0 dishonest / 2 active enterprises (EST_ON, CLOSED_AFTER)
    assert _scorecard(warehouse)[("I08", C)] == (0, 2, Decimal("0"), True, None)


# --- §6 indicators I13, I14 ----------------------------------------------------------------------------------------


def test_i13_zero_and_one(warehouse):
    card = _scorecard(warehouse)
    # INST_B (事业单位, region B) has two active records: one subject → 1, not passed (target = 0).
    # Region A has no 事业单位; INST_C's only record was removed on AS_OF → 0, passed.
    assert card[("I13", B)] == (1, None, Decimal("1"), False, None)
    assert card[("I13", "all")] == (1, None, Decimal("1"), False, None)
    assert card[("I13", A)] == (0, None, Decimal("0"), True, None)
    assert card[("I13", C)] == (0, None, Decimal("0"), True, None)


def test_i14_cases_branch_and_three_year_edge(warehouse):
    # "in the 3 years up to AS_OF" = (AS_OF − 3 years, AS_OF] = (2023-06-30, 2026-06-30]: exactly three
    # years of days, so 2023-06-30 is out and 2023-07-01 and AS_OF itself are in.
    # F10: cases filed 2023-07-01, 8 in 2024, one on AS_OF = 10 ≥ 10 → focus (cases branch).
    # F9: 9 cases in 2024; its tenth was filed 2023-06-30 → 9 → not.
    # P10: penalties decided 2023-07-01, 8 in 2024, one on AS_OF = 10 → focus (penalties branch).
    # P9: 9 in 2024; its tenth decided 2023-06-30 → 9 → not.
    focus = by_key(
        warehouse, "select subject_key, penalties_3y, dishonest_cases_3y, region_code from marts_build.focus_subjects"
    )
    assert focus == {S["F10"]: (0, 10, A), S["P10"]: (10, 0, B)}
    card = _scorecard(warehouse)
    assert card[("I14", "all")] == (2, None, Decimal("2"), False, None)
    assert card[("I14", A)] == (1, None, Decimal("1"), False, None)
    assert card[("I14", B)] == (1, None, Decimal("1"), False, None)
    assert card[("I14", C)] == (0, None, Decimal("0"), True, None)
