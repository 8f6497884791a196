"""The sample-data generator: determinism, valid and deliberately broken identifiers, consistency
between feeds, headers as in docs/spec/CONTRACT.md §3, and defect counts that match the files.

Everything here reads the files back with its own small reader and its own identifier checks
(written from docs/spec/DOMAIN.md §1, not imported from the generator), so a bug in the generator cannot
confirm itself. No database needed.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from openpyxl import load_workbook

from include.sample_data import write_sample

REPO = Path(__file__).resolve().parent.parent
CONTRACT = REPO / "docs" / "spec" / "CONTRACT.md"
AS_OF = dt.date(2026, 6, 30)
SUBJECTS = 300
SEED = 7
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEEDS = [
    "subjects",
    "tax",
    "utilities",
    "real_estate",
    "penalties",
    "licenses",
    "dishonest_debtors",
    "commitments",
    "repairs",
    "objections",
    "ledgers",
]

# ---- independent identifier checks (docs/spec/DOMAIN.md §1) ----------------------------------------------
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def normalise(value: str) -> str:
    """trim, full-width -> half-width, upper-case (docs/spec/DOMAIN.md §1)."""
    half = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in value)
    return half.strip().upper()


def uscc_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return False
    total = sum(ALPHABET.index(c) * (3**i % 31) for i, c in enumerate(code[:17]))
    return ALPHABET[(31 - total % 31) % 31] == code[17]


def looks_like_resident_id(code: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", code):
        return False
    try:
        born = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def resident_id_ok(code: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    if not looks_like_resident_id(code):
        return False
    check = (12 - sum(int(c) * w for c, w in zip(code, weights)) % 11) % 11
    return ("X" if check == 10 else str(check)) == code[17]


def code_ok(value: str, kind: str) -> bool:
    code = normalise(value)
    if kind == "id" and looks_like_resident_id(code):
        return resident_id_ok(code)
    return uscc_ok(code)


REAL_USCC = ["9144030071526726XG", "91440300708461136T", "91110108551385082Q", "91350100M000100Y43"]


def test_identifier_checks_on_known_codes():
    """Published codes of real companies (check characters X, T, Q, 3) and the GB 11643 example."""
    from include.sample_data import codes

    for real in REAL_USCC:
        assert uscc_ok(real) and codes.uscc_is_valid(real)
        for wrong in ("0", "X", "Y"):
            if wrong != real[-1]:
                assert not uscc_ok(real[:-1] + wrong) and not codes.uscc_is_valid(real[:-1] + wrong)
    assert resident_id_ok("11010519491231002X")
    assert codes.id_check_char("11010519491231002") == "X"
    assert not resident_id_ok("110105194912310021")
    assert not resident_id_ok("110105194902300021")  # 30 February is no birth date
    assert code_ok(" ９１４４０３００７１５２６７２６ｘｇ ", "uscc")


# ---- docs/spec/CONTRACT.md §3 headers -------------------------------------------------------------------
def contract_columns() -> dict[str, list[tuple[str, str, bool]]]:
    """(Chinese header, English name, required) per feed, parsed from docs/spec/CONTRACT.md."""
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## 3. The feeds", 1)[1].split("## 4.", 1)[0]
    feeds = {}
    for block in re.split(r"\n### ", section)[1:]:
        feed = re.match(r"`(\w+)`", block).group(1)
        body = " ".join(line.strip() for line in block.splitlines()[1:])
        columns = []
        for piece in body.split(" · "):
            m = re.match(r"\s*(\S+) `(\w+)` (\w+)( R)?", piece)
            assert m, piece
            columns.append((m.group(1), m.group(2), bool(m.group(4))))
        feeds[feed] = columns
    return feeds


COLUMNS = contract_columns()


def test_contract_parsed_and_matches_generator_columns():
    from include.sample_data.columns import FEEDS as GENERATOR_FEEDS

    assert list(COLUMNS) == FEEDS
    for feed in FEEDS:
        ours = [(zh, en) for zh, en, _, _ in GENERATOR_FEEDS[feed]]
        assert ours == [(zh, en) for zh, en, _ in COLUMNS[feed]], feed


# ---- reading the deliveries back -------------------------------------------------------------
def read_delivery(path: Path, feed: str) -> tuple[list[str], list[dict]]:
    """(header as in the file, rows as {english name: cell}) for one csv/xlsx file."""
    if path.suffix == ".xlsx":
        rows = [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        delimiter = "\t" if "\t" in text.splitlines()[0] else ","
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    names = {}
    for zh, en, _ in COLUMNS[feed]:
        names[zh] = names[en] = en
    header_at = next(k for k, r in enumerate(rows) if sum(str(c).strip() in names for c in r if c) >= 3)
    header = [str(c) for c in rows[header_at]]
    body = [
        dict(zip([names[h.strip()] for h in header], r))
        for r in rows[header_at + 1 :]
        if any(c not in (None, "") for c in r)
    ]
    return header, body


def parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = normalise(str(value))
    for pattern in (
        r"(\d{4})-(\d{1,2})-(\d{1,2})",
        r"(\d{4})/(\d{1,2})/(\d{1,2})",
        r"(\d{4})年(\d{1,2})月(\d{1,2})日",
        r"(\d{4})(\d{2})(\d{2})",
    ):
        m = re.fullmatch(pattern, text)
        if m:
            try:
                return dt.date(*map(int, m.groups()))
            except ValueError:
                return None
    return None


def parse_month(value) -> dt.date:
    text = normalise(str(value))
    m = re.fullmatch(r"(\d{4})(?:-|年)?(\d{1,2})月?", text)
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def blank(value) -> bool:
    return value is None or str(value).strip() == ""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    summary = write_sample(landing, SUBJECTS, AS_OF, seed=SEED)
    files, seen = defaultdict(list), {}
    duplicates = Counter()
    for feed in FEEDS:
        for path in sorted((landing / feed).iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
            digest = sha256(path)
            if digest in seen:
                duplicates[feed] += 1
                continue
            seen[digest] = path
            header, rows = read_delivery(path, feed)
            files[feed].append((path, header, rows))
    return landing, summary, files, duplicates


def rows_of(files, feed):
    for path, _, rows in files[feed]:
        for row in rows:
            yield path, row


# ---- determinism -------------------------------------------------------------------------------
def test_same_inputs_same_bytes_and_times(sample, tmp_path):
    landing, summary, _, _ = sample
    again = write_sample(tmp_path, SUBJECTS, AS_OF, seed=SEED)
    assert again["feeds"] == summary["feeds"] and again["defects"] == summary["defects"]

    def fingerprint(root: Path):
        return {
            str(p.relative_to(root)): (sha256(p), int(p.stat().st_mtime))
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert fingerprint(landing) == fingerprint(tmp_path)


def test_another_seed_gives_other_data(tmp_path):
    other = write_sample(tmp_path, 50, AS_OF, seed=SEED + 1)
    first = write_sample(tmp_path.parent / (tmp_path.name + "b"), 50, AS_OF, seed=SEED)
    assert other["feeds"] != first["feeds"] or other["defects"] != first["defects"]


def test_bytes_do_not_depend_on_python_hash_seed(tmp_path):
    """A fresh interpreter with another PYTHONHASHSEED writes the same bytes."""
    script = (
        "import datetime as dt, sys; from pathlib import Path; from include.sample_data import write_sample;"
        "write_sample(Path(sys.argv[1]), 60, dt.date(2026, 6, 30), seed=3)"
    )
    for name, hash_seed in (("a", "1"), ("b", "999")):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], cwd=REPO, env=env, check=True)
    digests = [
        {str(p.relative_to(tmp_path / n)): sha256(p) for p in (tmp_path / n).rglob("*") if p.is_file()}
        for n in ("a", "b")
    ]
    assert digests[0] == digests[1] and digests[0]


def test_xlsx_metadata_pinned(sample):
    """Zip entry times and document dates are the delivery time, not the time of generation."""
    landing = sample[0]
    books = sorted(p for p in landing.rglob("*.xlsx") if "重新报送" not in p.name)  # re-sent: same bytes, later
    assert books
    for path in books:
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI)
        with zipfile.ZipFile(path) as book:
            assert {info.date_time for info in book.infolist()} == {
                (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, 0)
            }
            core = book.read("docProps/core.xml").decode()
        assert core.count(stamp.strftime("%Y-%m-%dT%H:%M")) == 2  # created and modified


# ---- shapes of the deliveries ------------------------------------------------------------------
def test_every_feed_has_several_files_with_contract_headers(sample):
    landing, summary, files, duplicates = sample
    for feed in FEEDS:
        assert summary["feeds"][feed]["files"] == len(files[feed]) + duplicates[feed]
        assert summary["feeds"][feed]["rows"] == sum(len(rows) for _, _, rows in files[feed])
        if feed not in ("objections", "repairs", "dishonest_debtors"):  # few rows at 300 subjects
            assert len(files[feed]) >= 3, feed
        zh = [c[0] for c in COLUMNS[feed]]
        en = [c[1] for c in COLUMNS[feed]]
        for path, header, _ in files[feed]:
            assert header in (zh, en), (path, header)
    headers = [header for feed in FEEDS for _, header, _ in files[feed]]
    assert any(h[0] == COLUMNS[feed][0][1] for feed in FEEDS for _, h, _ in files[feed])  # some English
    assert sum(1 for h in headers if re.search("[\u4e00-\u9fff]", h[0])) > len(headers) / 2  # mostly Chinese


def test_files_are_as_messy_as_promised(sample):
    landing, _, files, _ = sample
    csvs = [p for p in landing.rglob("*.csv")]
    raws = [p.read_bytes() for p in csvs]
    assert any(r.startswith(b"\xef\xbb\xbf") for r in raws)  # UTF-8 with BOM
    assert any(not r.startswith(b"\xef\xbb\xbf") and _is_utf8(r) for r in raws)
    assert any(not _is_utf8(r) for r in raws)  # GB18030
    assert any(b"\t" in r.split(b"\n")[0] for r in raws) and any(b"\t" not in r.split(b"\n")[0] for r in raws)
    titled = 0
    for book in landing.rglob("*.xlsx"):
        ws = load_workbook(book).active
        if ws.merged_cells.ranges:
            titled += 1
            assert re.search("(表|台账|信息)$", str(ws["A1"].value))
            assert all(c.value is None for c in ws[2])  # the blank row under the title
    assert titled >= 2
    cells = [
        v for feed in FEEDS for _, rows in ((p, r) for p, _, r in files[feed]) for row in rows for v in row.values()
    ]
    assert any(isinstance(v, dt.datetime) for v in cells)  # Excel date cells
    texts = [str(v) for v in cells if isinstance(v, str)]
    for pattern in (
        r"\d{4}-\d{2}-\d{2}",
        r"\d{4}/\d{1,2}/\d{1,2}",
        r"\d{4}年\d{1,2}月\d{1,2}日",
        r"20\d{6}",
        r"\d{1,3}(,\d{3})+\.\d{2}",
        r"\d{4}年\d{1,2}月",
        r"20\d{2}-\d{2}",
    ):
        assert any(re.fullmatch(pattern, t) for t in texts), pattern
    flags = {
        str(row.get(col))
        for feed in FEEDS
        for _, row in rows_of(files, feed)
        for col in ("major_violation", "mortgaged", "seized", "summary_procedure", "valid")
    }
    assert {"是", "否"} <= flags and ({"Y", "N"} & flags) and ({"1", "0"} & flags)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_modification_times_are_delivery_times_up_to_as_of(sample):
    landing = sample[0]
    end_of_as_of = dt.datetime.combine(AS_OF, dt.time(23, 59), SHANGHAI).timestamp()
    times = [p.stat().st_mtime for p in landing.rglob("*") if p.is_file()]
    assert max(times) <= end_of_as_of
    assert min(times) < end_of_as_of - 86400 * 365 * 2  # history arrives over the years
    assert len(set(times)) > len(times) / 2


# ---- identifiers ---------------------------------------------------------------------------------
def code_columns(feed):
    """Code columns from the contract's types: `uscc` and `id`."""
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split(f"### `{feed}`", 1)[1].split("###", 1)[0]
    body = " ".join(section.split())
    return {en: kind for en, kind in re.findall(r"`(\w+)` (uscc|id)\b", body)}


def test_identifiers_valid_unless_broken_on_purpose(sample):
    _, summary, files, _ = sample
    total_broken = 0
    for feed in FEEDS:
        kinds = code_columns(feed)
        assert kinds, feed
        failing = 0
        for _, row in rows_of(files, feed):
            for col, kind in kinds.items():
                if not blank(row.get(col)) and not code_ok(str(row[col]), kind):
                    failing += 1
        assert failing == summary["defects"][feed].get("broken_check", 0), feed
        total_broken += failing
    assert total_broken > 0
    ids = [normalise(str(row["id_no"])) for _, row in rows_of(files, "penalties") if not blank(row.get("id_no"))]
    assert ids and all(looks_like_resident_id(i) for i in ids)


def test_code_prefix_matches_subject_type(sample):
    prefixes = {
        "企业": {"91"},
        "个体工商户": {"92"},
        "农民专业合作社": {"93"},
        "社会组织": {"51", "52"},
        "事业单位": {"12"},
        "机关": {"11"},
        "其他": {"N2"},
    }
    _, _, files, _ = sample
    types = Counter()
    for _, row in rows_of(files, "subjects"):
        if not blank(row["subject_type"]) and not blank(row["uscc"]):
            assert normalise(row["uscc"])[:2] in prefixes[row["subject_type"].strip()]
            assert blank(row["region_code"]) or normalise(str(row["region_code"]))[:4] in ("6401", "6403")
            types[row["subject_type"]] += 1
    assert len(types) >= 5


# ---- defect counts ---------------------------------------------------------------------------------
def test_defect_counts_match_the_files(sample):
    _, summary, files, duplicates = sample
    totals = Counter()
    for feed in FEEDS:
        required = [en for _, en, req in COLUMNS[feed] if req]
        codes = code_columns(feed)
        dates = _typed(feed, "date")
        found = Counter()
        for _, row in rows_of(files, feed):
            found["missing_required"] += sum(blank(row.get(c)) for c in required)
            for col in codes:
                value = str(row.get(col) or "")
                found["fullwidth_code"] += bool(re.search("[\uff01-\uff5e]", value))
                found["lowercase_code"] += bool(re.search("[a-z]", value))
            for value in row.values():
                if isinstance(value, str) and value and value != value.strip():
                    found["stray_space"] += 1
            for col in dates:
                value = row.get(col)
                if not blank(value) and parse_date(value) is None:
                    found["invalid_date"] += 1
        found["duplicate_delivery"] = duplicates[feed]
        expected = summary["defects"][feed]
        for kind in (
            "missing_required",
            "fullwidth_code",
            "lowercase_code",
            "stray_space",
            "invalid_date",
            "duplicate_delivery",
        ):
            assert found[kind] == expected.get(kind, 0), (feed, kind)
        totals.update(found)
    for kind in ("missing_required", "fullwidth_code", "lowercase_code", "stray_space", "duplicate_delivery"):
        assert totals[kind] > 0, kind


def _typed(feed: str, kind: str) -> list[str]:
    text = CONTRACT.read_text(encoding="utf-8")
    section = " ".join(text.split(f"### `{feed}`", 1)[1].split("###", 1)[0].split())
    return re.findall(rf"`(\w+)` {kind}\b", section)


def test_registry_name_conflicts(sample):
    _, summary, files, _ = sample
    names = defaultdict(set)
    for _, row in rows_of(files, "subjects"):
        code = normalise(str(row["uscc"] or ""))
        if uscc_ok(code) and not blank(row["name"]):
            names[code].add(row["name"].strip())
    conflicts = sum(1 for n in names.values() if len(n) > 1)
    assert conflicts == summary["scenarios"]["subjects"]["name_conflicts"] >= 1


# ---- referential consistency -----------------------------------------------------------------------
def registry(files) -> set[str]:
    return {
        normalise(str(row["uscc"]))
        for _, row in rows_of(files, "subjects")
        if not blank(row["uscc"]) and uscc_ok(normalise(str(row["uscc"])))
    }


def test_subjects_of_other_feeds_are_in_the_registry(sample):
    _, _, files, _ = sample
    known = registry(files)
    checked = Counter()
    for feed, col in (
        ("tax", "uscc"),
        ("utilities", "uscc"),
        ("penalties", "uscc"),
        ("licenses", "uscc"),
        ("commitments", "uscc"),
        ("repairs", "uscc"),
        ("objections", "uscc"),
        ("dishonest_debtors", "subject_id"),
        ("real_estate", "owner_id"),
    ):
        for path, row in rows_of(files, feed):
            code = normalise(str(row.get(col) or ""))
            if code and uscc_ok(code) and not looks_like_resident_id(code):
                assert code in known, (feed, path.name, code)
                checked[feed] += 1
    assert all(checked[f] > 0 for f in ("tax", "utilities", "penalties", "licenses", "commitments"))


def decisions(files, feed) -> dict[str, dict]:
    return {row["decision_no"].strip(): row for _, row in rows_of(files, feed) if not blank(row["decision_no"])}


def test_repairs_and_objections_point_at_real_decisions(sample):
    _, _, files, _ = sample
    penalties, licenses = decisions(files, "penalties"), decisions(files, "licenses")
    for _, row in rows_of(files, "repairs"):
        if blank(row["decision_no"]):
            continue
        penalty = penalties[row["decision_no"].strip()]
        assert normalise(str(penalty["uscc"])) == normalise(str(row["uscc"])) or not uscc_ok(
            normalise(str(row["uscc"]))
        )
        assert parse_date(row["applied_on"]) is None or parse_date(row["applied_on"]) > parse_date(
            penalty["decided_on"]
        )
    for _, row in rows_of(files, "objections"):
        category = row["info_category"].strip() if row["info_category"] else ""
        if blank(row["decision_no"]):
            assert category in ("其他", "")
            continue
        assert row["decision_no"].strip() in (penalties if category == "行政处罚" else licenses)


def test_ledgers_count_every_decision_including_unreported(sample):
    _, summary, files, _ = sample
    ledger = Counter()
    for _, row in rows_of(files, "ledgers"):
        ledger[(row["unit_uscc"].strip(), parse_month(row["month"]))] += int(row["penalty_decisions"])
    delivered = Counter()
    for _, row in rows_of(files, "penalties"):
        day = parse_date(row["decided_on"])
        if day and not blank(row["source_unit_uscc"]):
            delivered[(normalise(row["source_unit_uscc"]), day.replace(day=1))] += 1
    for key, count in delivered.items():
        assert count <= ledger[key], key  # a department never delivers more than it decided
    scen = summary["scenarios"]["penalties"]
    rows = summary["feeds"]["penalties"]["rows"]
    undelivered = scen.get("never_delivered_by_under_reporting_units", 0) + scen.get("reported_after_as_of", 0)
    assert sum(ledger.values()) == rows + undelivered  # as-of is a month end: every month is in a ledger
    assert len(summary["under_reporting_units"]) == 2


# ---- scenarios the indicators must find -------------------------------------------------------------
def workday(day: dt.date) -> bool:
    return chinese_calendar.is_workday(day)


def seventh_working_day_after(day: dt.date) -> dt.date:
    count = 0
    while count < 7:
        day += dt.timedelta(days=1)
        count += workday(day)
    return day


def test_late_reports_counted_with_the_chinese_calendar(sample):
    _, summary, files, _ = sample
    for feed in ("penalties", "licenses"):
        late = blank_reports = 0
        for path, row in rows_of(files, feed):
            decided = parse_date(row["decided_on"]) if not blank(row["decided_on"]) else None
            if blank(row["reported_on"]):
                blank_reports += 1
                reported = dt.datetime.fromtimestamp(path.stat().st_mtime, SHANGHAI).date()
            else:
                reported = parse_date(row["reported_on"])
            if decided and reported:
                late += reported > seventh_working_day_after(decided)
        scen = summary["scenarios"][feed]
        assert late == scen.get("late_reports", 0) and blank_reports == scen.get("reported_on_blank", 0), feed
    assert summary["scenarios"]["penalties"].get("late_reports", 0) > 0


def test_frequent_offenders(sample):
    _, summary, files, _ = sample
    recent = Counter()
    for _, row in rows_of(files, "penalties"):
        code, day = normalise(str(row["uscc"] or "")), parse_date(row["decided_on"])
        if code and day and AS_OF.replace(year=AS_OF.year - 3) < day <= AS_OF:
            recent[code] += 1
    offenders = sum(1 for c in recent.values() if c >= 10)
    assert offenders == summary["scenarios"]["penalties"]["frequent_offenders"] >= 2


def test_penalties_cover_regimes_severities_and_mild_cases(sample):
    _, _, files, _ = sample
    rows = [row for _, row in rows_of(files, "penalties")]
    days = [d for d in (parse_date(r["decided_on"]) for r in rows) if d]
    assert min(days) < dt.date(2023, 5, 1) <= max(days) and max(days) >= dt.date(2026, 4, 1)
    assert {str(r["severity"]).strip() for r in rows} >= {"严重", "一般"}
    assert any(blank(r["severity"]) for r in rows)
    assert any(str(r["penalty_type"]).strip() == "警告" for r in rows)
    assert any(str(r["summary_procedure"]).strip() in ("是", "Y", "1") for r in rows)
    assert any(str(r["subject_category"]).strip() == "自然人" for r in rows)


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def test_repairs_completed_before_the_minimum_period(sample):
    _, summary, files, _ = sample
    penalties = decisions(files, "penalties")
    early = 0
    for _, row in rows_of(files, "repairs"):
        completed = parse_date(row["completed_on"]) if not blank(row["completed_on"]) else None
        if blank(row["decision_no"]) or not completed or str(row["result"]).strip() != "同意":
            continue
        penalty = penalties[row["decision_no"].strip()]
        decided = parse_date(penalty["decided_on"])
        serious = str(penalty["severity"]).strip() == "严重"
        months = (6 if decided < dt.date(2023, 5, 1) else 12) if serious else 3
        early += completed < add_months(decided, months)
    assert early == summary["scenarios"].get("repairs", {}).get("completed_before_minimum", 0)


def test_dishonest_debtors_include_government_bodies(sample):
    _, summary, files, _ = sample
    types = {
        normalise(str(r["uscc"])): str(r["subject_type"]).strip()
        for _, r in rows_of(files, "subjects")
        if not blank(r["uscc"])
    }
    kinds = Counter(types.get(normalise(str(r["subject_id"]))) for _, r in rows_of(files, "dishonest_debtors"))
    assert kinds["机关"] + kinds["事业单位"] >= 1
    assert kinds["机关"] + kinds["事业单位"] == (
        summary["scenarios"]["dishonest_debtors"].get("government_机关", 0)
        + summary["scenarios"]["dishonest_debtors"].get("government_事业单位", 0)
    )


def test_tax_history_covers_36_months_up_to_as_of(sample):
    _, _, files, _ = sample
    periods = {parse_month(r["period"]) for _, r in rows_of(files, "tax") if not blank(r["period"])}
    assert max(periods) < AS_OF.replace(day=1) and min(periods) >= dt.date(2023, 7, 1)
    assert len(periods) >= 34


def test_cli_writes_and_prints_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "include.sample_data",
            "--subjects",
            "40",
            "--as-of",
            "2026-06-30",
            "--seed",
            "5",
            "--landing",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"subjects": 40' in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FEEDS)


# ---- the second run: the departments' resubmission ----------------------------------------------
def test_resubmission_corrects_every_second_broken_check_row(tmp_path):
    """include/sample_data/resubmit.py: the rows whose subject code has a wrong check character
    (counted by the generator as `broken_check`), every second one with the right check
    character, in one file per feed delivered on AS_OF at 09:00; written once."""
    from include.ingest.codes import ric_problem, uscc_problem
    from include.sample_data.resubmit import resubmission_name, write_resubmissions

    # 1,000 subjects: 2 broken-check rows in each of penalties and licenses (seed 7)
    summary = write_sample(tmp_path, 1000, AS_OF, seed=SEED)
    written = write_resubmissions(tmp_path, AS_OF)
    assert write_resubmissions(tmp_path, AS_OF) == []  # a second call writes nothing
    broken = {feed: summary["defects"][feed].get("broken_check", 0) for feed in ("penalties", "licenses")}
    assert broken == {"penalties": 2, "licenses": 2}, summary["defects"]
    assert sorted(p.name for p in written) == sorted(resubmission_name(f, AS_OF) for f, n in broken.items() if n)
    for path in written:
        feed = path.parent.name
        header, rows = read_delivery(path, feed)
        assert len(rows) == (broken[feed] + 1) // 2  # every second of them: 1st, 3rd, …
        for row in rows:
            codes = [row[c] for c in ("uscc", "id_no") if row.get(c)]
            assert codes and all(uscc_problem(c) is None or ric_problem(c) is None for c in codes), row
        arrived = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone(dt.timedelta(hours=8)))
        assert arrived == dt.datetime(2026, 6, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_the_resubmission_command_says_when_there_is_nothing_to_resubmit(tmp_path, capsys):
    from include.sample_data.__main__ import main

    assert main(["--resubmit", "--landing", str(tmp_path), "--as-of", "2026-06-30"]) == 0
    assert "nothing to resubmit under" in capsys.readouterr().out
