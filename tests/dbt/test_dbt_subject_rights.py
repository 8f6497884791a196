"""What a subject's rights do to what is shared (docs/spec/DOMAIN.md §3, §7): objections (撤销
withdraws a record, 更正 replaces its values, an open one marks it), repairs that stop sharing,
the publicity tiers of the 2026 repair order, natural persons in commitments, repairs and
objections, and I05/I06 counting objections on 双公示 records only. One hand-made scenario as of
2026-06-30 (W = 2025-07-01 … 2026-06-30), one `dbt build`; every expected value is worked out by
hand from DOMAIN.md, the arithmetic in the comments.

The tiers are those of 信用修复管理办法 (国家发展改革委令2025年第36号, in force 2026-04-01): 轻微失信信息
原则上不予公示 (简易程序, 警告, 通报批评); 一般 最短3个月、最长1年; 严重 最短1年、最长3年; 最短公示期届满后方可
申请修复; 修复后终止公示并停止共享 (第三条).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dbt_runner import build, by_key, query
from warehouse_rows import RawWriter, person_key, uscc

D = dt.date.fromisoformat
AS_OF = D("2026-06-30")
A = "640102"
ARRIVED = "2026-06-30 09:00:00+08"
UNIT = uscc(900, A, "11")
E = {n: uscc(300 + n, A) for n in range(1, 9)}
PERSON_ID = "640102198001011234"
PERSON = person_key(PERSON_ID)


def penalty(no, subj, decided, severity=None, types="罚款", fine=None, **extra):
    row = {
        "decision_no": no,
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": subj,
        "penalty_type": types,
        "decided_on": D(decided),
        "reported_on": D(decided),
        "severity": severity,
        "fine_amount": fine,
        "source_unit_uscc": UNIT,
        "violation_type": "v",
        "violation_facts": "f",
        "legal_basis": "b",
        "penalty_content": "c",
        "authority": "局",
        "authority_uscc": UNIT,
        "source_unit": "局",
    }
    row.update(extra)
    return row


def licence(no, subj, decided, valid_until):
    return {
        "decision_no": no,
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": subj,
        "license_type": "普通",
        "decided_on": D(decided),
        "valid_from": D(decided),
        "valid_until": D(valid_until),
        "reported_on": D(decided),
        "source_unit_uscc": UNIT,
        "decision_title": "t",
        "content": "c",
        "authority": "局",
        "authority_uscc": UNIT,
        "source_unit": "局",
    }


def objection(no, subj, category, decision_no, raised, completed=None, result=None, valid=True, **corrected):
    return {
        "objection_no": no,
        "uscc": subj,
        "subject_name": "x",
        "info_category": category,
        "decision_no": decision_no,
        "raised_on": D(raised),
        "completed_on": D(completed) if completed else None,
        "result": result,
        "valid": valid,
        **corrected,
    }


@pytest.fixture(scope="module")
def warehouse(scratch_db):
    w = RawWriter(scratch_db)
    w.rows(
        "subjects",
        [
            {
                "uscc": code,
                "name": f"企业{n}",
                "subject_type": "企业",
                "status": "存续",
                "established_on": D("2015-01-01"),
                "region_code": A,
            }
            for n, code in E.items()
        ],
        file="subjects.csv",
        arrived=ARRIVED,
    )
    w.rows(
        "penalties",
        [
            penalty("PW", E[1], "2026-01-10"),  # withdrawn by OW on 2026-03-05
            penalty("PC", E[2], "2026-02-01", fine=Decimal("1.0")),  # corrected to 严重, fine 5.0 by OC
            penalty("PO", E[3], "2026-05-01"),  # objection OO still open
            penalty("PR", E[4], "2025-09-01"),  # repaired on 2026-04-15
            penalty("PM", E[6], "2026-03-01"),  # objection upheld as is (维持)
            penalty("PF", E[6], "2026-04-10"),  # 撤销 completed only after as_of
            penalty("PS", E[7], "2026-04-10", severity="严重"),  # 2026 order, serious: 12–36 months
            penalty("PL", E[7], "2026-04-10", types="警告;通报批评"),  # 2026 order: 轻微, never public
            penalty(
                "PP",
                None,
                "2026-02-01",
                subject_category="自然人",
                id_no=PERSON_ID,
                id_no_key=PERSON,
                id_no_masked="640102********1234",
            ),  # a person's, withdrawn by OP
        ],
        file="penalties.csv",
        arrived=ARRIVED,
    )
    w.rows(
        "licenses",
        [
            licence("LW", E[5], "2025-05-01", "2027-12-31"),  # withdrawn on 2026-05-10
            licence("LC", E[5], "2025-06-01", "2027-12-31"),  # expiry corrected to 2026-06-01
            licence("LK", E[5], "2025-07-01", "2027-12-31"),
        ],  # untouched: public
        file="licenses.csv",
        arrived=ARRIVED,
    )
    w.rows(
        "repairs",
        [
            {
                "repair_no": "R1",
                "uscc": E[4],
                "subject_name": "x",
                "decision_no": "PR",
                "applied_on": D("2026-04-01"),
                "accepted_on": D("2026-04-10"),
                "completed_on": D("2026-04-15"),
                "result": "同意",
                "unit": "局",
            },
            # a person applies for repair: the subject by resident ID (pseudonymised), no enterprise code
            {
                "repair_no": "R2",
                "uscc": PERSON_ID,
                "uscc_key": PERSON,
                "uscc_masked": "640102********1234",
                "subject_name": "张三",
                "decision_no": "PX",
                "applied_on": D("2026-05-01"),
                "accepted_on": D("2026-05-02"),
                "completed_on": D("2026-05-06"),
                "result": "不同意",
                "unit": "局",
            },
        ],
        file="repairs.csv",
        arrived=ARRIVED,
    )
    w.rows(
        "objections",
        [
            objection("OW", E[1], "行政处罚", "PW", "2026-03-01", "2026-03-05", "撤销"),
            objection(
                "OC",
                E[2],
                "行政处罚",
                "PC",
                "2026-02-10",
                "2026-02-20",
                "更正",
                corrected_severity="严重",
                corrected_fine_amount=Decimal("5.0"),
            ),
            objection("OO", E[3], "行政处罚", "PO", "2026-06-01"),
            objection("OM", E[6], "行政处罚", "PM", "2026-03-10", "2026-03-16", "维持", valid=False),
            objection("OF", E[6], "行政处罚", "PF", "2026-06-20", "2026-07-15", "撤销"),
            objection("OLW", E[5], "行政许可", "LW", "2026-05-04", "2026-05-10", "撤销"),
            objection(
                "OLC", E[5], "行政许可", "LC", "2026-05-20", "2026-05-25", "更正", corrected_valid_until=D("2026-06-01")
            ),
            # names PW but another subject: not a match (decision numbers are not unique across subjects)
            objection("OX", E[8], "行政处罚", "PW", "2026-03-01", "2026-03-02", "撤销"),
            # 其他: not a 双公示 record, left out of I05 and I06
            objection("OT", E[8], "其他", None, "2026-01-05", "2026-01-30", "更正"),
            # a person's objection on their own penalty, by resident ID
            objection(
                "OP",
                PERSON_ID,
                "行政处罚",
                "PP",
                "2026-02-10",
                "2026-02-12",
                "撤销",
                uscc_key=PERSON,
                uscc_masked="640102********1234",
            ),
        ],
        file="objections.csv",
        arrived=ARRIVED,
    )
    w.rows(
        "commitments",
        [
            {
                "commitment_no": "K1",
                "subject_name": "张三",
                "uscc": PERSON_ID,
                "uscc_key": PERSON,
                "uscc_masked": "640102********1234",
                "commitment_type": "信用修复",
                "reason": "r",
                "committed_on": D("2026-05-01"),
                "unit": "局",
                "unit_uscc": UNIT,
                "fulfilment": "履约",
            },
            {
                "commitment_no": "K2",
                "subject_name": "企业8",
                "uscc": E[8],
                "commitment_type": "告知承诺",
                "reason": "r",
                "committed_on": D("2026-05-01"),
                "unit": "局",
                "unit_uscc": UNIT,
                "fulfilment": "未履约",
            },
        ],
        file="commitments.csv",
        arrived=ARRIVED,
    )
    build(scratch_db, AS_OF)
    return scratch_db


def _publicity(url):
    return by_key(
        url,
        """select decision_no, severity, fine_amount, regime_id, min_publicity_end, max_publicity_end,
                                 publicity_end, publicity_end_reason, is_public, withdrawn_on, open_objections
                          from intermediate.int_penalty_publicity""",
    )


# --- objections (DOMAIN §3) -------------------------------------------------------------------------


def test_a_withdrawn_penalty_ends_publicity_on_the_objections_completion(warehouse):
    pw = _publicity(warehouse)["PW"]
    # 一般 under 令2023年第58号: 2026-01-10 + 12 months = 2027-01-10, but withdrawn on 2026-03-05
    assert pw[2:9] == (
        "ndrc_order_2023_58_ordinary",
        D("2026-04-10"),
        D("2027-01-10"),
        D("2026-03-05"),
        "异议撤销",
        False,
        D("2026-03-05"),
    )
    # the same decision number of another subject (OX) withdraws nothing of E1's
    assert query(warehouse, "select withdrawn_by from intermediate.int_penalty_publicity where decision_no = 'PW'") == [
        ("OW",)
    ]


def test_a_withdrawn_penalty_leaves_the_evaluation_the_counts_and_the_export(warehouse):
    archive = by_key(
        warehouse,
        """select uscc, penalties_total, penalties_public, points_penalties, credit_score,
                                          credit_grade from marts_build.subject_archive""",
    )
    assert archive[E[1]] == (0, 0, 0, 80, "B")  # void: not even in the total (75 without OW)
    assert query(warehouse, "select count(*) from export_build.financing_penalties where decision_no = 'PW'") == [(0,)]
    event = query(
        warehouse,
        """select status, is_public, publicity_end, detail from marts_build.credit_events
                                where record_no = 'PW'""",
    )
    assert event == [("已撤销", False, D("2026-03-05"), "一般；异议撤销（OW，2026-03-05）")]


def test_a_corrected_penalty_is_shared_with_the_corrected_values(warehouse):
    pc = _publicity(warehouse)["PC"]
    # 更正 to 严重 (decided 2026-02-01, before the 2026 order): 令2023年第58号 serious, 12–36 months
    assert pc[:8] == (
        "严重",
        Decimal("5.0"),
        "ndrc_order_2023_58_serious",
        D("2027-02-01"),
        D("2029-02-01"),
        D("2029-02-01"),
        "最长公示期届满",
        True,
    )
    # 80 − 20 (one serious public penalty) = 60 → C
    assert query(
        warehouse,
        """select points_penalties, credit_score, credit_grade, penalties_public_serious
                               from marts_build.subject_archive where uscc = %s""",
        (E[2],),
    ) == [(-20, 60, "C", 1)]
    assert query(
        warehouse,
        """select severity, fine_amount, under_objection from export_build.financing_penalties
                               where decision_no = 'PC'""",
    ) == [("严重", Decimal("5.0"), False)]
    assert query(
        warehouse, "select penalties_public_any_serious from export_build.financing_profile where uscc = %s", (E[2],)
    ) == [(True,)]


def test_open_and_upheld_objections_leave_the_record_as_it_is_marked(warehouse):
    rows = _publicity(warehouse)
    assert rows["PO"][7:10] == (True, None, "OO")  # open: still public, marked
    assert rows["PM"][7:10] == (True, None, None)  # 维持: as it was
    # OF's 撤销 is completed on 2026-07-15, after as_of: not in force yet, so the objection is open
    assert rows["PF"][7:10] == (True, None, "OF")
    marked = by_key(
        warehouse,
        """select decision_no, under_objection from export_build.financing_penalties
                                  where decision_no in ('PO', 'PM', 'PF')""",
    )
    assert marked == {"PO": True, "PM": False, "PF": True}
    assert query(warehouse, "select status, under_objection from marts_build.credit_events where record_no = 'PO'") == [
        ("公示中", True)
    ]
    # 80 − 5 (PO public) = 75 → B; E6: 80 − 2 × 5 = 70 → C
    scores = by_key(warehouse, "select uscc, credit_score from marts_build.subject_archive")
    assert (scores[E[3]], scores[E[6]]) == (75, 70)


def test_objections_on_licences(warehouse):
    rows = by_key(
        warehouse,
        """select decision_no, valid_until, publicity_end, is_public, withdrawn_on
                                from intermediate.int_license_publicity""",
    )
    assert rows["LW"] == (D("2027-12-31"), D("2026-05-10"), False, D("2026-05-10"))
    assert rows["LC"] == (D("2026-06-01"), D("2026-06-01"), False, None)  # corrected expiry passed
    assert rows["LK"] == (D("2027-12-31"), D("2027-12-31"), True, None)
    status = by_key(warehouse, "select record_no, status from marts_build.credit_events where source_feed = 'licenses'")
    assert status == {"LW": "已撤销", "LC": "已到期", "LK": "有效"}


# --- repair stops sharing (信用修复管理办法 第三条) --------------------------------------------------


def test_a_repaired_penalty_leaves_the_export_and_stays_in_the_archive(warehouse):
    pr = _publicity(warehouse)["PR"]
    # 2025-09-01 一般 (令2023年第58号): minimum 2025-12-01 passed before the 2026-04-15 repair
    assert pr[2:8] == (
        "ndrc_order_2023_58_ordinary",
        D("2025-12-01"),
        D("2026-09-01"),
        D("2026-04-15"),
        "信用修复",
        False,
    )
    assert query(warehouse, "select count(*) from export_build.financing_penalties where decision_no = 'PR'") == [(0,)]
    assert query(
        warehouse,
        """select penalties_total, penalties_public, credit_score from marts_build.subject_archive
                               where uscc = %s""",
        (E[4],),
    ) == [(1, 0, 80)]
    assert query(warehouse, "select status from marts_build.credit_events where record_no = 'PR'") == [("已修复",)]


# --- the tiers of the 2026 order --------------------------------------------------------------------


def test_the_2026_orders_tiers_as_data(warehouse):
    tiers = by_key(
        warehouse,
        """select regime_id, effective_from, severity, min_months, max_months,
                                        hidden_penalty_types, hide_summary_procedure
                                 from rules.publicity_regimes where document = '国家发展改革委令2025年第36号'""",
    )
    # 一般 最短3个月、最长1年; 严重 最短1年、最长3年; 轻微 (简易程序, 警告, 通报批评) 不予公示
    assert tiers == {
        "ndrc_order_2025_36_ordinary": (D("2026-04-01"), "一般", 3, 12, "警告;通报批评", True),
        "ndrc_order_2025_36_serious": (D("2026-04-01"), "严重", 12, 36, "警告;通报批评", True),
    }


def test_the_2026_orders_tiers_applied(warehouse):
    rows = _publicity(warehouse)
    # 严重 decided 2026-04-10: minimum 2027-04-10, maximum 2029-04-10
    assert rows["PS"][2:8] == (
        "ndrc_order_2025_36_serious",
        D("2027-04-10"),
        D("2029-04-10"),
        D("2029-04-10"),
        "最长公示期届满",
        True,
    )
    # 一般 decided 2026-04-10 (PF): minimum 2026-07-10, maximum 2027-04-10
    assert rows["PF"][2:5] == ("ndrc_order_2025_36_ordinary", D("2026-07-10"), D("2027-04-10"))
    # 轻微 (警告;通报批评 only): never public, never shared
    assert rows["PL"][5:8] == (None, None, False)
    assert query(warehouse, "select count(*) from export_build.financing_penalties where decision_no = 'PL'") == [(0,)]


# --- natural persons (DOMAIN §4, §8) -----------------------------------------------------------------


def test_natural_persons_in_commitments_repairs_and_objections(warehouse):
    assert query(warehouse, "select uscc, subject_masked from staging.stg_commitments where commitment_no = 'K1'") == [
        (PERSON, "640102********1234")
    ]
    assert query(warehouse, "select uscc from staging.stg_repairs where repair_no = 'R2'") == [(PERSON,)]
    # the person's objection withdrew the person's penalty
    assert _publicity(warehouse)["PP"][7:9] == (False, D("2026-02-12"))
    events = sorted(
        query(
            warehouse, "select event_type, record_no, status from marts_build.credit_events where uscc = %s", (PERSON,)
        )
    )
    assert events == [
        ("信用修复", "R2", "不同意"),
        ("信用承诺", "K1", "履约"),
        ("异议申诉", "OP", "撤销"),
        ("行政处罚", "PP", "已撤销"),
    ]
    leaked = query(
        warehouse,
        """select count(*) from marts_build.credit_events
                                 where uscc = %s or record_no = %s or detail like %s""",
        (PERSON_ID, PERSON_ID, f"%{PERSON_ID}%"),
    )
    assert leaked == [(0,)]


# --- I05 / I06 count objections on 双公示 records only (DOMAIN §6) ------------------------------------


def test_i05_and_i06_count_objections_on_double_publicity_records_only(warehouse):
    card = by_key(
        warehouse,
        """select indicator_id, numerator, denominator, value from marts_build.indicator_scorecard
                                where region_code = 'all' and indicator_id in ('I05', 'I06')""",
    )
    # I05: valid objections raised in W on 行政许可/行政处罚: OW OC OO OF OLW OLC OX OP = 8 (OM is not
    # valid, OT is 其他) / 双公示 records decided in W (2025-07-01 … 2026-06-30): the 9 penalties and LK = 10
    assert card["I05"] == (8, 10, Decimal("0.800000"))
    # I06: objections on 双公示 records completed in W, working days d with raised < d ≤ completed
    # (2026: Spring Festival 02-15 … 02-23 off, Saturday 02-14 a make-up day; Labour Day 05-01 … 05-05
    # off, Saturday 05-09 a make-up day):
    #   OW  03-01 → 03-05: 03-02 03-03 03-04 03-05 = 4     OC  02-10 → 02-20: 02-11 02-12 02-13 02-14 = 4
    #   OM  03-10 → 03-16: 03-11 03-12 03-13 03-16 = 4     OLW 05-04 → 05-10: 05-06 05-07 05-08 05-09 = 4
    #   OLC 05-20 → 05-25: 05-21 05-22 05-25 = 3           OX  03-01 → 03-02: 03-02 = 1
    #   OP  02-10 → 02-12: 02-11 02-12 = 2
    # 22 working days / 7 objections (OF completes after W, OO is open, OT is 其他)
    assert card["I06"] == (22, 7, Decimal("3.142857"))
