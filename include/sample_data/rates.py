"""Every rate and volume of the sample data in one place (documented in docs/sample_data.md).

Change a number here and the docs table; nothing else hard-codes them. Row-level defect rates are
probabilities per row (at most one defect of each kind per row), so counts vary with the seed, but
`write_sample` returns the exact counts it injected.
"""

from __future__ import annotations

DEFAULT_SEED = 20260630
HISTORY_MONTHS = 36  # tax, utilities, penalties ... cover the 36 months up to as-of

# --- the registry -------------------------------------------------------------------------
SUBJECT_TYPE_WEIGHTS = {
    "企业": 0.60,
    "个体工商户": 0.28,
    "农民专业合作社": 0.04,
    "社会组织": 0.03,
    "事业单位": 0.02,
    "机关": 0.015,
    "其他": 0.015,
}
STATUS_WEIGHTS = {"存续": 0.88, "注销": 0.09, "吊销": 0.03}
MODERN_CODE_SHARE = 0.7  # codes with "MA" bodies (issued after 2015)
REGISTRY_NAME_CONFLICT_RATE = 0.001  # valid codes delivered again under another name (I01); >= 1

# --- volumes (per subject) ------------------------------------------------------------------
TAX_COVERAGE = 0.75  # share of active organisations the tax bureau shares data for
TAX_QUARTERLY_TYPES = ("个体工商户",)  # small taxpayers file quarterly
TAX_PARTIAL_PAYMENT = 0.04  # a month paid short -> arrears
TAX_MAJOR_VIOLATION_SUBJECTS = 0.003
UTILITY_COVERAGE = {"电": 0.45, "水": 0.30, "气": 0.12}
UTILITY_BAD_PAYERS = 0.06  # subjects who often pay late or short
REAL_ESTATE_PER_SUBJECT = 0.30  # organisation-owned registrations
REAL_ESTATE_PERSON_SHARE = 0.35  # of all registrations, owned by natural persons
REAL_ESTATE_MORTGAGED = 0.22
REAL_ESTATE_SEIZED = 0.02
REAL_ESTATE_CANCELLED = 0.04
PENALTIES_PER_SUBJECT_YEAR = 0.06
PENALTY_PERSON_SHARE = 0.15  # 自然人
PENALTY_SERIOUS = 0.12  # 严重
PENALTY_SEVERITY_BLANK = 0.5  # of 一般: left blank (blank = 一般)
PENALTY_SUMMARY_PROCEDURE = 0.10  # 简易程序
PENALTY_WARNING_ONLY = 0.07
PENALTY_CRITICISM_ONLY = 0.03  # 通报批评 only
FREQUENT_OFFENDERS_PER_1000 = 1.0  # subjects with >= 10 penalties in 3 years (I14); >= 2
LICENSES_PER_SUBJECT_YEAR = 0.15
LICENSE_PERSON_SHARE = 0.10
DEBTOR_ORGS_PER_SUBJECT = 0.012  # 失信被执行人 cases against organisations
DEBTOR_PERSONS_PER_SUBJECT = 0.004
DEBTOR_GOVERNMENT_PER_1000 = 0.5  # cases against 机关/事业单位 (I12/I13); >= 1 each kind present
DEBTOR_REMOVED = 0.30
COMMITMENTS_PER_SUBJECT_YEAR = 0.6
REPAIR_SHARE = {"一般": 0.15, "严重": 0.06}  # of publicised penalties, a repair application
REPAIR_BEFORE_MINIMUM = 0.12  # of repair applications: filed/completed before the minimum period
REPAIR_REFUSED = 0.2
REPAIR_SLOW = 0.1  # completed after more than 3 working days (I07)
OBJECTION_SHARE = 0.02  # of double-publicity records, an objection
OBJECTION_OTHER = 0.1  # objections about something else (no decision number)
OBJECTION_SLOW = 0.15  # handled in more than 5 working days (I06)

# --- reporting behaviour ----------------------------------------------------------------------
LATE_REPORT = 0.06  # reported after 7 working days
LATE_REPORT_BEFORE_HOLIDAY = 0.35  # the same, for decisions just before 春节 / 国庆 etc.
REPORTED_ON_BLANK = 0.02  # 报送日期 left blank -> the file's arrival date counts
UNDER_REPORTING_UNITS = 2  # departments that never deliver part of their decisions (I02)
UNDER_REPORTING_DROP = 0.15  # share of those units' decisions never delivered

# --- mess in the deliveries (per row, per feed where the column kind exists) ------------------
ROW_DEFECT_RATES = {
    "broken_check": 0.004,  # a USCC / ID with a wrong check character -> quarantined
    "missing_required": 0.003,  # a required cell left blank -> quarantined
    "invalid_date": 0.001,  # an impossible date such as 2023-02-30 -> quarantined
    "fullwidth_code": 0.01,  # code typed in full-width characters -> normalised, loaded
    "lowercase_code": 0.01,  # code with letters in lower case -> normalised, loaded
    "stray_space": 0.02,  # leading/trailing spaces around a name -> trimmed, loaded
}
MIXED_DATE_FORMAT = 0.03  # a date cell in another format than the rest of its file
DUPLICATE_DELIVERIES = ("penalties", "tax")  # one file each re-delivered under another name

# File styles: shares of files (chosen per file, deterministic).
ENCODINGS = {"utf-8": 0.45, "utf-8-sig": 0.30, "gb18030": 0.25}
TAB_DELIMITED = 0.2
ENGLISH_HEADERS = 0.15
DATE_FORMATS = {"iso": 0.35, "slash": 0.25, "chinese": 0.2, "compact": 0.2}
MONTH_FORMATS = {"iso": 0.5, "chinese": 0.25, "compact": 0.25}
FLAG_STYLES = {"是否": 0.5, "YN": 0.3, "10": 0.2}
MONEY_WITH_COMMAS = 0.4
EXCEL_DATE_CELLS = 0.6  # of .xlsx files: real Excel dates instead of text
CATEGORY_MISMATCH = 0.02  # of 个体工商户 penalties/licenses: filed as 法人及非法人组织 (a warning)
XLSX_UNITS = 2  # departments delivering their own .xlsx (title row) instead of the platform CSV
