"""What lenders and the public receive over three publications (docs/spec/DOMAIN.md §3, §7): the real
dbt build, publication gate, atomic publication and export files for AS_OF 2026-04-30, 2026-05-31
and 2026-06-30, with a repair, an objection's withdrawal and correction, an expiry, a closed
enterprise and new records in between. A lender who applies every change set in order ends with
exactly the latest full tables; every change set's keys are the hand-worked ones; the data
dictionary documents every field; and the per-subject credit report shows what the warehouse
publishes, in a real headless browser (Debian's chromium), and prints to PDF.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dbt_runner import build, query
from warehouse_rows import RawWriter, uscc

from include import export
from include.reports import credit_report
from tests.browser import chromium_page
from tests.reliability import pipeline

D = dt.date.fromisoformat
APRIL, MAY, JUNE = D("2026-04-30"), D("2026-05-31"), D("2026-06-30")
A = "640102"
UNIT = uscc(900, A, "11")
E = {n: uscc(400 + n, A) for n in range(1, 8)}
KEY = {n: f"P{n}|{UNIT}" for n in range(1, 7)}


def subject(n, established="2015-01-01", status="存续", closed_on=None):
    return {
        "uscc": E[n],
        "name": f"宁夏测试企业{n}有限公司",
        "subject_type": "企业",
        "status": status,
        "established_on": D(established),
        "closed_on": D(closed_on) if closed_on else None,
        "region_code": A,
        "legal_rep": f"法人{n}",
        "registered_capital": Decimal("100"),
    }


def penalty(n, subj, decided, severity=None, fine=None):
    return {
        "decision_no": f"P{n}",
        "subject_name": "x",
        "subject_category": "法人及非法人组织",
        "uscc": subj,
        "penalty_type": "罚款",
        "decided_on": D(decided),
        "reported_on": D(decided),
        "severity": severity,
        "fine_amount": fine,
        "source_unit_uscc": UNIT,
        "violation_type": "违法经营",
        "violation_facts": "f",
        "legal_basis": "b",
        "penalty_content": f"罚款（P{n}）",
        "authority": "市场监管局",
        "authority_uscc": UNIT,
        "source_unit": "市场监管局",
    }


def publish(url: str, as_of: dt.date, export_dir: Path) -> dict:
    build(url, as_of)
    published = pipeline.gate_and_publish(url, as_of, export_dir)
    return json.loads((export_dir / as_of.isoformat() / "manifest.json").read_text(encoding="utf-8")) | {
        "published": published
    }


@pytest.fixture(scope="module")
def deliveries(scratch_db, tmp_path_factory):
    url, export_dir = scratch_db, tmp_path_factory.mktemp("lender") / "export"
    w = RawWriter(url)
    w.rows("subjects", [subject(n) for n in range(1, 7)], file="subjects_1.csv", arrived="2026-04-01 09:00+08")
    w.rows(
        "penalties",
        [
            penalty(1, E[1], "2026-01-10"),  # withdrawn by O1 on 2026-05-20
            penalty(2, E[2], "2025-12-01"),  # repaired on 2026-05-15 (minimum 2026-03-01 passed)
            penalty(3, E[3], "2025-06-15"),  # maximum period ends 2026-06-15
            penalty(4, E[4], "2026-02-01", severity="严重"),  # its enterprise closes on 2026-06-10
            penalty(5, E[5], "2026-03-01", fine=Decimal("1.0")),  # fine corrected to 2.0 by O5
        ],
        file="penalties_1.csv",
        arrived="2026-04-20 09:00+08",
    )
    # fulfilled commitments: a timeline large enough that each publication's few new records stay
    # within the publication gate's ±50 % row-count band
    w.rows(
        "commitments",
        [
            {
                "commitment_no": f"K{k}",
                "subject_name": "x",
                "uscc": E[6],
                "commitment_type": "告知承诺",
                "reason": "r",
                "committed_on": D("2026-01-05"),
                "unit": "局",
                "unit_uscc": UNIT,
                "fulfilment": "履约",
            }
            for k in range(20)
        ],
        file="commitments_1.csv",
        arrived="2026-04-20 09:00+08",
    )
    manifests = {APRIL: publish(url, APRIL, export_dir)}

    w.rows(
        "repairs",
        [
            {
                "repair_no": "R2",
                "uscc": E[2],
                "subject_name": "x",
                "decision_no": "P2",
                "applied_on": D("2026-05-06"),
                "accepted_on": D("2026-05-07"),
                "completed_on": D("2026-05-15"),
                "result": "同意",
                "unit": "市场监管局",
            }
        ],
        file="repairs_1.csv",
        arrived="2026-05-20 09:00+08",
    )
    w.rows(
        "objections",
        [
            {
                "objection_no": "O1",
                "uscc": E[1],
                "subject_name": "x",
                "info_category": "行政处罚",
                "decision_no": "P1",
                "raised_on": D("2026-05-11"),
                "completed_on": D("2026-05-20"),
                "result": "撤销",
                "valid": True,
            },
            {
                "objection_no": "O5",
                "uscc": E[5],
                "subject_name": "x",
                "info_category": "行政处罚",
                "decision_no": "P5",
                "raised_on": D("2026-05-18"),
                "completed_on": D("2026-05-25"),
                "result": "更正",
                "valid": True,
                "corrected_fine_amount": Decimal("2.0"),
            },
        ],
        file="objections_1.csv",
        arrived="2026-05-26 09:00+08",
    )
    w.rows("subjects", [subject(7, established="2026-05-10")], file="subjects_2.csv", arrived="2026-05-26 09:00+08")
    manifests[MAY] = publish(url, MAY, export_dir)
    reports = {n: credit_report.write_report(url, E[n], tmp_path_factory.mktemp("reports")) for n in (1, 2, 4, 5)}

    w.rows(
        "subjects",
        [subject(4, status="注销", closed_on="2026-06-10")],
        file="subjects_3.csv",
        arrived="2026-06-20 09:00+08",
    )
    w.rows("penalties", [penalty(6, E[6], "2026-06-05")], file="penalties_2.csv", arrived="2026-06-20 09:00+08")
    manifests[JUNE] = publish(url, JUNE, export_dir)
    return {"url": url, "export_dir": export_dir, "manifests": manifests, "reports": reports}


def _rows(path: Path, key: str) -> dict[str, dict]:
    return {r[key]: r for r in pq.read_table(path).to_pylist()}


def _changes(deliveries, as_of: dt.date, dataset: str, key: str) -> dict[str, set]:
    rows = _rows(deliveries["export_dir"] / as_of.isoformat() / f"{dataset}_changes.parquet", key)
    out: dict[str, set] = {"insert": set(), "update": set(), "delete": set()}
    for k, r in rows.items():
        out[r["change_type"]].add(k)
    return out


# --- the change sets ---------------------------------------------------------------------------------


def test_the_change_sets_name_the_hand_worked_keys(deliveries):
    profile = {as_of: _changes(deliveries, as_of, "financing_profile", "uscc") for as_of in (APRIL, MAY, JUNE)}
    penalties = {
        as_of: _changes(deliveries, as_of, "financing_penalties", "record_key") for as_of in (APRIL, MAY, JUNE)
    }
    # the first publication: every row is new
    assert profile[APRIL] == {"insert": {E[n] for n in range(1, 7)}, "update": set(), "delete": set()}
    assert penalties[APRIL] == {"insert": {KEY[n] for n in range(1, 6)}, "update": set(), "delete": set()}
    # May: P1 withdrawn and P2 repaired leave the export (E1, E2 one penalty fewer); P5's fine
    # corrected (E5's profile carries no fine: unchanged); E7 registered
    assert profile[MAY] == {"insert": {E[7]}, "update": {E[1], E[2]}, "delete": set()}
    assert penalties[MAY] == {"insert": set(), "update": {KEY[5]}, "delete": {KEY[1], KEY[2]}}
    # June: P3's publicity ended on 2026-06-15; E4 closed on 2026-06-10 (and P4 with it); P6 is new
    assert profile[JUNE] == {"insert": set(), "update": {E[3], E[6]}, "delete": {E[4]}}
    assert penalties[JUNE] == {"insert": {KEY[6]}, "update": set(), "delete": {KEY[3], KEY[4]}}
    corrected = _rows(deliveries["export_dir"] / MAY.isoformat() / "financing_penalties_changes.parquet", "record_key")
    assert corrected[KEY[5]]["fine_amount"] == Decimal("2.0")


def test_a_lender_applying_every_change_set_ends_with_the_latest_full_tables(deliveries):
    out, manifests = deliveries["export_dir"], deliveries["manifests"]
    for dataset, key in (("financing_profile", "uscc"), ("financing_penalties", "record_key")):
        copy: dict[str, dict] = {}
        held_version = None
        for as_of in (APRIL, MAY, JUNE):
            entry = manifests[as_of]["datasets"][f"{dataset}_changes"]
            # the protocol: a change set applies to the copy at its from_version
            assert entry["from_version"] == held_version, (dataset, as_of)
            for row in pq.read_table(out / as_of.isoformat() / f"{dataset}_changes.parquet").to_pylist():
                kind = row.pop("change_type")
                for meta in ("previous_as_of", "previous_version"):
                    row.pop(meta)
                if kind == "delete":
                    del copy[row[key]]
                else:
                    assert (row[key] in copy) == (kind == "update"), (dataset, as_of, kind, row[key])
                    copy[row[key]] = row
            held_version = entry["to_version"]
        latest = _rows(out / JUNE.isoformat() / f"{dataset}.parquet", key)

        # the dataset's as_of is the publication's; a row unchanged since April carries April's
        def strip(rows):
            return {k: {c: v for c, v in r.items() if c != "as_of"} for k, r in rows.items()}

        assert strip(copy) == strip(latest), dataset
        # E1 E2 E3 E5 E6 E7 (E4 closed); P5 and P6 (P1 withdrawn, P2 repaired, P3 expired, P4 closed)
        assert len(latest) == {"financing_profile": 6, "financing_penalties": 2}[dataset]


def test_every_file_is_in_the_manifest_with_its_rows_and_digest(deliveries):
    out = deliveries["export_dir"] / MAY.isoformat()
    manifest = deliveries["manifests"][MAY]
    names = {
        f"{d}.{ext}"
        for d in (
            "financing_profile",
            "financing_penalties",
            "financing_profile_changes",
            "financing_penalties_changes",
        )
        for ext in ("parquet", "csv")
    }
    assert set(manifest["files"]) == names | {"data_dictionary.csv"}
    import hashlib

    for name, facts in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == facts["sha256"], name
    rows = {name: facts.get("rows") for name, facts in manifest["files"].items()}
    assert rows["financing_profile.parquet"] == rows["financing_profile.csv"] == 7
    assert rows["financing_penalties_changes.csv"] == 3
    changes = manifest["datasets"]["financing_penalties_changes"]
    assert changes["change_counts"] == {"insert": 0, "update": 1, "delete": 2}
    assert (changes["from_version"], changes["from_as_of"], changes["to_version"]) == (
        "2026-04-30.1",
        "2026-04-30",
        "2026-05-31.1",
    )
    with open(out / "financing_penalties_changes.csv", encoding="utf-8-sig", newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 1 + 3


def test_the_data_dictionary_describes_every_exported_field(deliveries):
    out = deliveries["export_dir"] / JUNE.isoformat()
    with open(out / "data_dictionary.csv", encoding="utf-8-sig", newline="") as f:
        entries = list(csv.DictReader(f))
    described = {(e["dataset"], e["field"]) for e in entries}
    for dataset in (
        "financing_profile",
        "financing_penalties",
        "financing_profile_changes",
        "financing_penalties_changes",
    ):
        fields = pq.read_schema(out / f"{dataset}.parquet").names
        assert {(dataset, f) for f in fields} <= described, dataset
    grade = next(e for e in entries if (e["dataset"], e["field"]) == ("financing_profile", "credit_grade"))
    assert (grade["含义"], grade["meaning"], grade["type"]) == ("信用等级", "A/B/C/D", "text")
    assert all(e["含义"] and e["meaning"] and e["source"] for e in entries)


def test_an_undocumented_field_stops_the_export():
    with pytest.raises(export.ExportError, match="financing_profile.secret_column"):
        export.data_dictionary(
            {d.table: [("uscc", "text")] for d in export.DATASETS}
            | {"financing_profile": [("uscc", "text"), ("secret_column", "text")]}
        )


# --- the credit report -------------------------------------------------------------------------------


def _page_sections(page) -> dict:
    return page.evaluate("""() => {
        const out = {};
        for (const el of document.querySelectorAll('[data-section]')) {
            const rows = [...el.querySelectorAll('tr[data-record-no]')].map(tr =>
                Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.innerText.trim()])));
            const fields = Object.fromEntries([...el.querySelectorAll('[data-field]')]
                .filter(x => !x.closest('tr[data-record-no]')).map(x => [x.dataset.field, x.innerText.trim()]));
            out[el.dataset.section] = {rows, fields, empty: el.classList.contains('none')};
        }
        return out;
    }""")


def test_the_credit_report_shows_what_may_be_published(deliveries, tmp_path):
    reports = deliveries["reports"]
    with chromium_page() as (page, problems):
        page.goto(reports[1].as_uri())
        withdrawn = _page_sections(page)
        page.goto(reports[2].as_uri())
        repaired = _page_sections(page)
        page.goto(reports[4].as_uri())
        serious = _page_sections(page)
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
    assert problems == []  # no console error, no page error
    report = serious["report"]["fields"]
    assert (report["report_no"], report["as_of"], report["publication_version"]) == (
        f"XYBG-20260531-01-{E[4]}",
        "2026-05-31",
        "2026-05-31.1",
    )
    # E1: P1 withdrawn by O1 on 2026-05-20: not shown; the objection is, without the decision number
    assert withdrawn["penalties"]["empty"]
    assert withdrawn["objections"]["rows"] == [{"record_no": "O1", "event_date": "2026-05-11", "status": "撤销"}]
    assert "P1" not in json.dumps(withdrawn, ensure_ascii=False)
    # E2: P2 repaired on 2026-05-15: not shown; the repair is
    assert repaired["penalties"]["empty"]
    assert repaired["repairs"]["rows"] == [
        {"record_no": "R2", "authority": "市场监管局", "event_date": "2026-05-15", "status": "同意"}
    ]
    # E4: P4 严重 (令2023年第58号: 12–36 months from 2026-02-01), public; 80 − 20 = 60 → C
    assert serious["penalties"]["rows"] == [
        {
            "record_no": "P4",
            "content": "罚款（P4）",
            "authority": "市场监管局",
            "event_date": "2026-02-01",
            "publicity_start": "2026-02-01",
            "publicity_end": "2029-02-01",
            "status": "公示中",
        }
    ]
    assert serious["subject"]["fields"]["subject_name"] == "宁夏测试企业4有限公司"
    assert (serious["evaluation"]["fields"]["credit_grade"], serious["evaluation"]["fields"]["credit_score"]) == (
        "C",
        "60",
    )
    assert serious["points"]["fields"]["points_penalties"] == "-20"
    # the PDF prints, with a Chinese font embedded (the characters are legible on paper)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"CJK" in data


def test_the_report_equals_the_warehouse_for_every_section(deliveries):
    """For E5 at the June publication: each section's record numbers are the published timeline's."""
    url = deliveries["url"]
    report = credit_report.subject_report(url, E[5])
    public = {
        r[0]
        for r in query(
            url,
            "select record_no from marts.credit_events where uscc = %s and is_public and event_type = '行政处罚'",
            (E[5],),
        )
    }
    assert {r["record_no"] for r in report["penalties"]} == public == {"P5"}
    assert [r["record_no"] for r in report["objections"]] == ["O5"]
    assert report["publication_version"] == "2026-06-30.1" and report["as_of"] == "2026-06-30"


def test_a_report_for_an_unknown_subject_says_so(deliveries):
    with pytest.raises(credit_report.ReportError, match="no subject 91"):
        credit_report.subject_report(deliveries["url"], uscc(499, A))
