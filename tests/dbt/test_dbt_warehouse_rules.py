"""The warehouse's rules on one hand-made scenario, as of 2022-06-30 (window W = 2021-07-01 …
2022-06-30). Every expected number below is computed by hand from docs/spec/DOMAIN.md, not read from the
models; the comments show the arithmetic. One `dbt build` for the whole module.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from dbt_runner import build, by_key, dbt, query
from warehouse_rows import RawWriter, person_key, uscc

AS_OF = dt.date(2022, 6, 30)
D = dt.date.fromisoformat
A, B, C = "640102", "640106", "640121"  # three regions; C has no enterprise at all

S = {
    i: uscc(i, region)
    for i, region in {1: A, 2: A, 3: A, 4: B, 5: B, 6: A, 7: A, 8: B, 9: A, 10: B, 11: B, 12: C}.items()
}
S[7] = uscc(7, A, kind="11")  # 机关
S[8] = uscc(8, B, kind="12")  # 事业单位
S[12] = uscc(12, C, kind="92")  # 个体工商户
UNIT1, UNIT2 = uscc(901, A, "11"), uscc(902, A, "11")
PERSON = person_key("640102198001011234")
ARRIVED = "2022-06-20 09:00:00+08"


def subject(i, type_, status="存续", name=None, closed_on=None, established_on="2015-01-01"):
    return {
        "uscc": S[i],
        "name": name or f"主体{i}",
        "subject_type": type_,
        "status": status,
        "closed_on": closed_on,
        "established_on": established_on,
        "region_code": S[i][2:8],
    }


def penalty(no, subj, decided, reported, severity=None, types="罚款", summary=None, unit=UNIT1, **extra):
    row = {
        "decision_no": no,
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": subj,
        "penalty_type": types,
        "decided_on": D(decided),
        "reported_on": D(reported) if reported else None,
        "severity": severity,
        "summary_procedure": summary,
        "source_unit_uscc": unit,
        "violation_type": "v",
        "violation_facts": "f",
        "legal_basis": "b",
        "penalty_content": "c",
        "authority": "局",
        "authority_uscc": unit,
        "source_unit": "局",
    }
    row.update(extra)
    return row


@pytest.fixture(scope="module")
def warehouse(scratch_db):
    w = RawWriter(scratch_db)
    w.rows(
        "subjects",
        [
            subject(1, "企业"),
            subject(2, "企业"),
            subject(3, "企业"),
            subject(4, "企业"),
            subject(5, "企业"),
            subject(6, "企业", status="注销", closed_on=D("2022-03-01")),
            subject(7, "机关"),
            subject(8, "事业单位", name="旧名称"),
            subject(9, "企业"),
            subject(10, "企业"),
            subject(11, "企业", established_on=D("2022-07-10")),
            subject(12, "个体工商户"),
        ],
        file="subjects_1.csv",
        arrived="2022-06-01 09:00:00+08",
    )
    # S8 re-delivered under another name: the later delivery wins, and the code has two names (I01)
    w.rows("subjects", [subject(8, "事业单位", name="新名称")], file="subjects_2.csv", arrived=ARRIVED)
    # I01: two distinct malformed codes (one sent full-width and again half-width lower-case)
    w.quarantine(
        "subjects", file="subjects_1.csv", row=20, column="uscc", value=" ９１６４０１０２ＭＡ０００００９９Ｘ "
    )
    w.quarantine("subjects", file="subjects_2.csv", row=3, column="uscc", value="91640102ma0000099x")
    w.quarantine("subjects", file="subjects_2.csv", row=4, column="uscc", value="ABC")
    w.quarantine("subjects", file="subjects_2.csv", row=5, column="name", value="")  # not a code problem
    w.quarantine("subjects", file="subjects_2.csv", row=6, column="uscc", value=S[1], severity="warning")

    tax = [
        {
            "uscc": S[2],
            "name": "主体2",
            "period": D(f"2022-0{m}-01"),
            "tax_due": 1000,
            "tax_paid": 1000,
            "credit_rating": "A",
            "arrears": 0,
        }
        for m in range(1, 5)
    ]
    tax += [
        {
            "uscc": S[2],
            "name": "主体2",
            "period": D("2021-12-01"),
            "tax_due": 1000,
            "tax_paid": 1000,
            "credit_rating": "B",
        },
        {
            "uscc": S[2],
            "name": "主体2",
            "period": D("2021-06-01"),
            "tax_due": 1000,
            "tax_paid": 1000,
            "credit_rating": "B",
        },
        {
            "uscc": S[2],
            "name": "主体2",
            "period": D("2022-07-01"),
            "tax_due": 1000,
            "tax_paid": 1000,
            "credit_rating": "D",
        },
        {
            "uscc": S[2],
            "name": "主体2",
            "period": D("2022-05-01"),
            "tax_due": 1000,
            "tax_paid": 1,
            "credit_rating": "C",
        },
        {
            "uscc": S[3],
            "name": "主体3",
            "period": D("2022-04-01"),
            "tax_due": 900,
            "tax_paid": 400,
            "credit_rating": "C",
            "arrears": 500,
        },
        {
            "uscc": S[6],
            "name": "主体6",
            "period": D("2022-02-01"),
            "tax_due": 10,
            "tax_paid": 10,
            "major_violation": True,
        },
    ]
    w.rows("tax", tax, file="tax_1.csv", arrived="2022-06-01 09:00:00+08")
    # the 2022-05 row corrected by a later delivery: rating A, paid 1000
    w.rows(
        "tax",
        [
            {
                "uscc": S[2],
                "name": "主体2",
                "period": D("2022-05-01"),
                "tax_due": 1000,
                "tax_paid": 1000,
                "credit_rating": "A",
                "arrears": 0,
            }
        ],
        file="tax_2.csv",
        arrived=ARRIVED,
    )

    bills = [
        {
            "uscc": S[2],
            "name": "主体2",
            "account_no": "W-2",
            "utility": "水",
            "period": D(f"2022-0{m}-01"),
            "amount_due": 100,
            "amount_paid": 100,
            "provider": "水务",
        }
        for m in range(1, 7)
    ]
    bills += [
        {
            "uscc": S[2],
            "name": "主体2",
            "account_no": "E-2",
            "utility": "电",
            "period": D("2022-06-01"),
            "amount_due": 50,
            "amount_paid": 60,
            "provider": "电力",
        },
        {
            "uscc": S[10],
            "name": "主体10",
            "account_no": "G-10",
            "utility": "气",
            "period": D("2022-01-01"),
            "amount_due": 80,
            "amount_paid": 80,
            "provider": "燃气",
        },
        {
            "uscc": S[10],
            "name": "主体10",
            "account_no": "G-10",
            "utility": "气",
            "period": D("2022-02-01"),
            "amount_due": 80,
            "amount_paid": 20,
            "provider": "燃气",
        },
    ]
    w.rows("utilities", bills, file="utilities_1.csv", arrived=ARRIVED)

    def estate(no, owner, registered, seized=False, mortgaged=False, cancelled=None):
        return {
            "unit_no": f"U{no}",
            "certificate_no": f"C{no}",
            "owner_name": "x",
            "owner_id": owner,
            "owner_id_key": owner,
            "owner_id_masked": owner,
            "registered_on": D(registered),
            "seized": seized,
            "mortgaged": mortgaged,
            "cancelled_on": D(cancelled) if cancelled else None,
        }

    w.rows(
        "real_estate",
        [
            estate(1, S[3], "2020-05-01", seized=True),
            estate(2, S[2], "2019-01-01", mortgaged=True, cancelled="2022-05-01"),
            estate(3, S[4], "2022-07-01"),
        ],
        file="estate_1.csv",
        arrived=ARRIVED,
    )

    penalties = [
        penalty("P1", S[3], "2021-07-01", "2021-07-20"),  # re-delivered below
        penalty("P2", S[3], "2021-06-30", "2021-07-01"),  # just outside publicity
        penalty("P3", S[3], "2022-03-01", "2022-03-02", summary=True),  # 简易程序: never public
        penalty("P4", S[3], "2022-03-02", "2022-03-03", types="警告"),  # warning only: never public
        penalty("P5", S[10], "2021-09-29", "2021-10-14"),  # National Day 2021: on time
        penalty("P6", S[10], "2021-09-29", "2021-10-15"),  # one working day late
        penalty("P7", S[10], "2022-01-28", "2022-02-11"),  # Spring Festival 2022: on time
        penalty("P8", S[10], "2022-01-28", "2022-02-14"),  # late
        penalty("P9", S[10], "2022-01-10", "2022-01-11"),  # repaired too early (R1)
        penalty("P10", S[2], "2021-08-02", "2021-08-03"),  # repaired properly (R2)
        penalty("P11", S[4], "2021-01-15", "2021-01-18", severity="严重"),  # serious, 6m–3y: public
        penalty("P12", S[4], "2023-06-01", "2023-06-02", severity="严重"),  # after as_of: 2023 regime
        penalty("P13", S[4], "2026-04-01", "2026-04-02", types="通报批评"),  # 2025 regime: never public
        penalty("P14", S[4], "2026-03-31", "2026-04-01", types="通报批评"),  # 2023 regime: public
        penalty(
            "P15",
            None,
            "2022-05-05",
            "2022-05-06",
            subject_category="自然人",
            id_no="640102198001011234",
            id_no_key=PERSON,
            id_no_masked="640102********1234",
        ),
    ]
    # S9: 11 penalties within 3 years before as_of, all before W and no longer public (I14)
    penalties += [penalty(f"P9-{k}", S[9], f"2020-{k:02d}-06", f"2020-{k:02d}-07") for k in range(1, 12)]
    w.rows("penalties", penalties, file="penalties_1.csv", arrived="2022-06-01 09:00:00+08")
    w.rows("penalties", [penalty("P1", S[3], "2021-07-01", "2021-07-12")], file="penalties_2.csv", arrived=ARRIVED)
    w.rows(
        "licenses",
        [
            {
                "decision_no": "L1",
                "subject_name": "主体2",
                "subject_category": "法人及非法人组织",
                "uscc": S[2],
                "license_type": "普通",
                "decided_on": D("2022-04-01"),
                "reported_on": D("2022-04-13"),
                "source_unit_uscc": UNIT2,
            },
            {
                "decision_no": "L2",
                "subject_name": "主体2",
                "subject_category": "法人及非法人组织",
                "uscc": S[2],
                "license_type": "普通",
                "decided_on": D("2022-06-01"),
                "reported_on": None,
                "source_unit_uscc": UNIT2,
            },
        ],
        file="licenses_1.csv",
        arrived="2022-06-02 10:00:00+08",
    )
    # I03: L1 loaded with a warning; two rejected penalty rows in W (one with two problems), one outside
    w.quarantine(
        "licenses",
        file="licenses_1.csv",
        row=2,
        column="uscc",
        value=S[2],
        severity="warning",
        reference_date=D("2022-04-01"),
    )
    w.quarantine(
        "penalties", file="bad.csv", row=5, column="decided_on", value="2022-13-01", reference_date=D("2022-02-01")
    )
    w.quarantine("penalties", file="bad.csv", row=5, column="uscc", value="X", reference_date=D("2022-02-01"))
    w.quarantine("penalties", file="bad.csv", row=6, column="uscc", value="Y", reference_date=D("2022-05-01"))
    w.quarantine("licenses", file="bad_l.csv", row=2, column="uscc", value="Z", reference_date=D("2021-06-01"))

    w.rows(
        "ledgers",
        [
            {
                "unit": "局1",
                "unit_uscc": UNIT1,
                "month": D("2022-03-01"),
                "license_decisions": 0,
                "penalty_decisions": 3,
            },
            {
                "unit": "局1",
                "unit_uscc": UNIT1,
                "month": D("2022-01-01"),
                "license_decisions": 0,
                "penalty_decisions": 2,
            },
            {
                "unit": "局2",
                "unit_uscc": UNIT2,
                "month": D("2022-04-01"),
                "license_decisions": 1,
                "penalty_decisions": 0,
            },
            {
                "unit": "局2",
                "unit_uscc": UNIT2,
                "month": D("2021-05-01"),
                "license_decisions": 5,
                "penalty_decisions": 0,
            },
        ],
        file="ledgers_1.csv",
        arrived=ARRIVED,
    )

    def debtor(case, subj, published, removed=None, filed="2020-01-01"):
        return {
            "case_no": case,
            "subject_name": "x",
            "subject_id": subj,
            "subject_id_key": subj,
            "subject_id_masked": subj,
            "court": "法院",
            "filed_on": D(filed),
            "circumstance": "c",
            "published_on": D(published),
            "removed_on": D(removed) if removed else None,
        }

    w.rows(
        "dishonest_debtors",
        [
            debtor("(2021)宁01执1号", S[4], "2021-03-01"),
            debtor("(2022)宁01执2号", S[5], "2022-07-05"),  # published after as_of
            debtor("(2021)宁01执3号", S[7], "2021-05-01"),
            debtor("(2020)宁01执4号", S[9], "2021-01-01", removed="2022-01-01"),
        ],
        file="debtors_1.csv",
        arrived=ARRIVED,
    )

    def commitment(no, subj, committed, fulfilment):
        return {
            "commitment_no": no,
            "subject_name": "x",
            "uscc": subj,
            "commitment_type": "告知承诺",
            "reason": "r",
            "committed_on": D(committed),
            "unit": "局",
            "unit_uscc": UNIT1,
            "fulfilment": fulfilment,
        }

    w.rows(
        "commitments",
        [commitment(f"K5-{k}", S[5], "2022-02-01", "未履约") for k in range(4)]
        + [
            commitment("K2-1", S[2], "2022-02-01", "履约"),
            commitment("K2-2", S[2], "2022-03-01", "未到期"),
            commitment("K2-old", S[2], "2021-05-01", "履约"),
            commitment("K7-1", S[7], "2021-08-01", "履约"),
        ],
        file="commitments_1.csv",
        arrived=ARRIVED,
    )

    w.rows(
        "repairs",
        [
            {
                "repair_no": "R1",
                "uscc": S[10],
                "subject_name": "x",
                "decision_no": "P9",
                "applied_on": D("2022-02-24"),
                "accepted_on": D("2022-02-25"),
                "completed_on": D("2022-03-01"),
                "result": "同意",
                "unit": "局",
            },
            {
                "repair_no": "R2",
                "uscc": S[2],
                "subject_name": "x",
                "decision_no": "P10",
                "applied_on": D("2021-11-25"),
                "accepted_on": None,
                "completed_on": D("2021-12-01"),
                "result": "同意",
                "unit": "局",
            },
            {
                "repair_no": "R3",
                "uscc": S[10],
                "subject_name": "x",
                "decision_no": "P7",
                "applied_on": D("2022-03-31"),
                "accepted_on": D("2022-03-31"),
                "completed_on": D("2022-04-01"),
                "result": "不同意",
                "unit": "局",
            },
        ],
        file="repairs_1.csv",
        arrived=ARRIVED,
    )
    w.rows(
        "objections",
        [
            {
                "objection_no": "O1",
                "uscc": S[3],
                "subject_name": "x",
                "info_category": "行政处罚",
                "raised_on": D("2022-02-10"),
                "completed_on": D("2022-02-17"),
                "result": "更正",
                "valid": True,
            },
            {
                "objection_no": "O2",
                "uscc": S[3],
                "subject_name": "x",
                "info_category": "行政处罚",
                "raised_on": D("2021-09-30"),
                "completed_on": D("2021-10-11"),
                "result": "维持",
                "valid": False,
            },
            {
                "objection_no": "O3",
                "uscc": S[3],
                "subject_name": "x",
                "info_category": "行政许可",
                "raised_on": D("2021-05-01"),
                "completed_on": D("2021-06-30"),
                "result": "维持",
                "valid": True,
            },
        ],
        file="objections_1.csv",
        arrived=ARRIVED,
    )
    build(scratch_db, AS_OF)
    return scratch_db


# --- working days (docs/spec/DOMAIN.md §2) -----------------------------------------------------------------------


def test_working_day_examples_from_the_domain(warehouse, tmp_path):
    # The project's macro (dbt_project/macros/working_days.sql) as dbt compiles it into a model, run
    # on the built calendar. The decision dates after AS_OF are DOMAIN §2's own examples.
    inline = (
        "select d.start, {{ working_day_deadline('d.start', 7) }} from (values (date '2022-09-29'), "
        "(date '2022-10-01'), (date '2021-09-29'), (date '2022-01-28')) as d(start)"
    )
    reply = dbt(warehouse, AS_OF, "compile", "--inline", inline, "--log-format", "json", target_path=tmp_path)
    assert reply["success"], f"{reply['error']}\n{reply['output'][-4000:]}"
    events = [json.loads(line) for line in reply["output"].splitlines() if line.startswith("{")]
    (compiled,) = [e["data"]["compiled"] for e in events if e["info"]["name"] == "CompiledNode"]
    from_macro = query(warehouse, compiled)
    assert dict(from_macro) == {
        D("2022-09-29"): D("2022-10-13"),
        D("2022-10-01"): D("2022-10-14"),
        D("2021-09-29"): D("2021-10-14"),
        D("2022-01-28"): D("2022-02-11"),
    }


def test_report_deadlines_across_holidays_with_make_up_days(warehouse):
    deadlines = by_key(warehouse, "select decision_no, report_deadline from intermediate.int_double_publicity")
    # 2021-09-29 → 9-30, 10-08, 10-09 (Sat, 调休), 10-11 … 10-14 is the 7th working day
    assert deadlines["P5"] == deadlines["P6"] == D("2021-10-14")
    # 2022-01-28 → 1-29, 1-30 (weekend 调休), 2-07 … 2-11
    assert deadlines["P7"] == deadlines["P8"] == D("2022-02-11")
    # 2022-04-01 → 4-02 (Sat, 调休), 4-06, 4-07, 4-08, 4-11, 4-12, 4-13
    assert deadlines["L1"] == D("2022-04-13")


# --- staging ------------------------------------------------------------------------------------------


def test_latest_delivery_wins(warehouse):
    assert query(warehouse, "select subject_name from staging.stg_subjects where uscc = %s", (S[8],)) == [("新名称",)]
    assert query(
        warehouse,
        "select credit_rating, tax_paid from staging.stg_tax where uscc = %s and period = '2022-05-01'",
        (S[2],),
    ) == [("A", Decimal("1000"))]
    assert query(warehouse, "select reported_on from staging.stg_penalties where decision_no = 'P1'") == [
        (D("2021-07-12"),)
    ]


def test_blank_defaults_and_no_identity_numbers_outside_raw(warehouse):
    # L2 had no report date: the file's arrival day (2022-06-02 in Asia/Shanghai)
    assert query(warehouse, "select reported_on from staging.stg_licenses where decision_no = 'L2'") == [
        (D("2022-06-02"),)
    ]
    assert query(warehouse, "select severity from staging.stg_penalties where decision_no = 'P1'") == [("一般",)]
    leaked = query(
        warehouse,
        """
        select table_schema || '.' || table_name from information_schema.columns
        where table_schema not in ('raw', 'audit', 'pg_catalog', 'information_schema')
          and column_name in ('id_no', 'owner_id', 'subject_id')""",
    )
    assert leaked == []
    assert query(
        warehouse, "select subject_key, subject_id_masked from staging.stg_penalties where decision_no = 'P15'"
    ) == [(PERSON, "640102********1234")]


# --- publicity (docs/spec/DOMAIN.md §3) ------------------------------------------------------------------------------


def test_penalty_publicity_rules(warehouse):
    rows = by_key(
        warehouse,
        """select decision_no, regime_id, is_public, never_public, publicity_end,
                                       premature_repair_flagged from intermediate.int_penalty_publicity""",
    )
    assert rows["P1"][1:3] == (True, False) and rows["P1"][3] == D("2022-07-01")  # just inside
    assert rows["P2"][1] is False and rows["P2"][3] == D("2022-06-30")  # just outside
    assert rows["P3"][1:4] == (False, True, None)  # 简易程序
    assert rows["P4"][1:4] == (False, True, None)  # warning only
    assert rows["P11"][0] == "ndrc_2019_527_serious" and rows["P11"][3] == D("2024-01-15") and rows["P11"][1]
    assert rows["P12"][0] == "ndrc_order_2023_58_serious" and rows["P12"][1] is False  # decided after as_of
    assert rows["P13"][0] == "ndrc_order_2025_36_ordinary" and rows["P13"][2] is True  # 通报批评 only, 2026 rules
    assert rows["P14"][0] == "ndrc_order_2023_58_ordinary" and rows["P14"][2] is False
    # premature repair (2022-03-01 < 2022-04-10): flagged, not honoured, still public until 2023-01-10
    assert rows["P9"][1:] == (True, False, D("2023-01-10"), True)
    # repair after the 3-month minimum ends publicity on its completion date
    assert rows["P10"][1:] == (False, False, D("2021-12-01"), False)


def test_credit_events_timeline(warehouse):
    events = by_key(
        warehouse,
        """select source_key, event_type, publicity_start, is_public from marts_build.credit_events
                                  where source_feed = 'penalties'""",
    )
    assert events[f"P1|{UNIT1}"] == ("行政处罚", D("2021-07-01"), True)
    assert events[f"P3|{UNIT1}"] == ("行政处罚", None, False)
    assert f"P12|{UNIT1}" not in events  # after as_of: not yet an event
    debtors = query(
        warehouse, "select uscc, is_public from marts_build.credit_events where source_feed = 'dishonest_debtors'"
    )
    assert sorted(debtors) == sorted([(S[4], True), (S[7], True), (S[9], False)])  # S5's published after as_of
    assert query(warehouse, "select uscc from marts_build.credit_events where source_key = %s", (f"P15|{UNIT1}",)) == [
        (PERSON,)
    ]
    # the premature repair is visible to a reader of the timeline
    ((detail,),) = query(
        warehouse, "select detail from marts_build.credit_events where source_key = %s", (f"P9|{UNIT1}",)
    )
    assert "信用修复早于最短公示期（2022-03-01）" in detail


# --- the credit evaluation (docs/spec/DOMAIN.md §5) ---------------------------------------------------------------


def test_scores_and_grades(warehouse):
    got = by_key(warehouse, "select uscc, credit_score, credit_grade from marts_build.subject_archive")
    expected = {
        1: (80, "B"),  # no records at all
        2: (95, "A"),  # 80 + 10 (latest rating A) + 5 (6 months, 100 % paid in full)
        3: (50, "D"),  # 80 − 10 (C) − 5 (arrears) − 10 (seized) − 5 (P1 public)
        4: (20, "D"),  # 80 − 40 (dishonest) − 20 (P11 serious)
        5: (65, "C"),  # 80 − 15 (4 unfulfilled × −5, capped at −15); debtor not yet published
        6: (80, "D"),  # major tax violation in W forces D
        7: (40, "D"),  # 机关 with an active dishonest record
        8: (80, "B"),
        9: (80, "B"),  # S9: 11 old penalties, none public
        10: (50, "D"),  # 80 − 20 (5 public ordinary, capped) − 10 (1 of 2 gas bills paid in full)
        11: (80, "B"),
        12: (80, "B"),
    }
    assert {i: got[S[i]] for i in S} == expected


def test_archive_facts_and_points(warehouse):
    row = query(
        warehouse,
        """select tax_rating, tax_paid_12m, utility_bills, utility_months, points_tax, points_utilities,
                                     penalties_total, penalties_public, properties
                              from marts_build.subject_archive where uscc = %s""",
        (S[2],),
    )[0]
    # rows 2021-12 … 2022-05 are in W (6 × 1000); 2021-06 and 2022-07 are not; 2022-07's D is after as_of
    assert row == ("A", Decimal("6000"), 7, 6, 10, 5, 1, 0, 0)
    s3 = query(
        warehouse,
        """select points_tax, points_real_estate, points_penalties, penalties_total, penalties_public
                             from marts_build.subject_archive where uscc = %s""",
        (S[3],),
    )[0]
    assert s3 == (-15, -10, -5, 4, 1)
    assert query(
        warehouse, "select grade_override_reason from marts_build.subject_archive where uscc = %s", (S[6],)
    ) == [("重大税收违法失信主体",)]


# --- the indicators (docs/spec/DOMAIN.md §6) -----------------------------------------------------------------------


def _scorecard(warehouse):
    return {
        (r[0], r[1]): r[2:]
        for r in query(
            warehouse,
            """
        select indicator_id, region_code, numerator, denominator, value, passed from marts_build.indicator_scorecard""",
        )
    }


def _ratio(n, d):
    return (n, d, round(Decimal(n) / Decimal(d), 6) if d else None)


def test_scorecard_shape(warehouse):
    card = _scorecard(warehouse)
    assert len(card) == 9 + 11 * 4  # I01–I07, I02_license/_penalty for all; 11 ids × (all + 3 regions)
    assert {k[1] for k in card} == {"all", A, B, C}
    assert all(
        k[1] == "all"
        for k in card
        if k[0] in ("I01", "I02", "I02_license", "I02_penalty", "I03", "I04", "I05", "I06", "I07")
    )


def test_indicators_i01_to_i07(warehouse):
    card = _scorecard(warehouse)
    # I01: rejected {916401…99X, ABC} + valid code with two names {S8} / delivered 12 valid + 2 rejected
    assert card[("I01", "all")] == (*_ratio(3, 14), False)
    # I02: Σ min(loaded, ledger): 2022-03 min(2,3) + 2022-01 min(3,2) + 2022-04 min(1,1); 2021-05 outside W
    assert card[("I02", "all")] == (*_ratio(5, 6), False)
    # apart: licences 2022-04 min(1,1) / 1; penalties 2022-03 min(2,3) + 2022-01 min(3,2) / 5
    assert card[("I02_license", "all")] == (*_ratio(1, 1), True)
    assert card[("I02_penalty", "all")] == (*_ratio(4, 5), False)
    # I03: rows read in W: 11 penalty rows (P1 twice) + 2 licenses + 2 rejected rows; L1 has a warning
    assert card[("I03", "all")] == (*_ratio(12, 15), False)
    # I04: 12 records decided in W (P1, P3–P10, P15, L1, L2); P6 and P8 were late
    assert card[("I04", "all")] == (*_ratio(10, 12), False)
    # I05: one valid objection raised in W (O1; O3 was raised before W) / 12
    assert card[("I05", "all")] == (*_ratio(1, 12), False)
    # I06: O1 2022-02-10→02-17 = 5 working days; O2 2021-09-30→10-11 = 3 (10-08, 10-09 调休, 10-11)
    assert card[("I06", "all")] == (8, 2, Decimal("4"), True)
    # I07: R1 within 3 working days of 02-25 (02-28, 03-01); R2 from applied 11-25: deadline 11-30 < 12-01; R3 on time
    assert card[("I07", "all")] == (*_ratio(2, 3), False)


def test_indicators_per_region(warehouse):
    card = _scorecard(warehouse)
    # active enterprises: A = S1, S2, S3, S9 (S6 closed before as_of); B = S4, S5, S10 (S11 established later)
    assert card[("I08", "all")] == (*_ratio(1, 7), False)
    assert card[("I08", A)] == (0, 4, Decimal("0"), True)
    assert card[("I08", B)] == (*_ratio(1, 3), False)
    assert card[("I08", C)] == (0, 0, None, False)  # zero denominator: NULL, not passed
    # I09/I10: commitments made in W: S5 4 (未履约), S2 2 (履约, 未到期), S7 1 (履约); K2-old before W
    assert card[("I09", "all")] == (*_ratio(7, 7), False)
    assert card[("I09", A)] == (*_ratio(3, 4), False)
    assert card[("I09", B)] == (*_ratio(4, 3), False)
    assert card[("I10", "all")] == (*_ratio(6, 7), False)
    assert card[("I10", B)] == (4, 4, Decimal("1"), True)
    assert card[("I10", C)] == (0, 0, None, False)
    # I11: tax in W S2, S3; water/electricity S2; gas S10; property held on as_of S3 only
    assert card[("I11_tax", "all")][:3] == _ratio(2, 7)
    assert card[("I11_tax", A)][:3] == _ratio(2, 4)
    assert card[("I11_water", "all")][:3] == _ratio(1, 7)
    assert card[("I11_electricity", A)][:3] == _ratio(1, 4)
    assert card[("I11_gas", B)][:3] == _ratio(1, 3)
    assert card[("I11_real_estate", "all")][:3] == _ratio(1, 7)
    assert card[("I11_tax", "all")][3] is None  # reported, no target
    # I12–I14: counts
    assert card[("I12", "all")] == (1, None, Decimal("1"), False) and card[("I12", B)] == (0, None, Decimal("0"), True)
    assert card[("I13", "all")] == (0, None, Decimal("0"), True)
    assert (
        card[("I14", "all")] == (1, None, Decimal("1"), False) and card[("I14", A)][0] == 1 and card[("I14", B)][0] == 0
    )


def test_focus_subjects_and_targets(warehouse):
    assert query(warehouse, "select subject_key, penalties_3y, dishonest_cases_3y from marts_build.focus_subjects") == [
        (S[9], 11, 1)
    ]  # S9 also has a case filed 2020-01-01
    targets = by_key(
        warehouse,
        "select indicator_id, target, comparator from marts_build.indicator_scorecard where region_code = 'all'",
    )
    assert targets["I05"] == (Decimal("0.00001"), "<") and targets["I06"] == (Decimal("5"), "<=")


# --- the financing export (docs/spec/DOMAIN.md §7) -----------------------------------------------------------------


def test_financing_profile(warehouse):
    rows = by_key(
        warehouse,
        """select uscc, penalties_public, penalties_public_any_serious, dishonest_active, credit_grade
                                from export_build.financing_profile""",
    )
    assert set(rows) == {S[i] for i in (1, 2, 3, 4, 5, 9, 10)}
    assert rows[S[4]] == (1, True, True, "D")
    assert rows[S[9]] == (0, False, False, "B")  # no longer public: not exported
    assert rows[S[10]][0] == 5
    changes = query(warehouse, "select distinct change_type from export_build.financing_profile_changes")
    assert changes == [("insert",)]  # nothing published yet
