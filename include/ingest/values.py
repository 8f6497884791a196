"""Normalising one cell into the value raw.<feed> stores (docs/spec/CONTRACT.md §3 types).

Every converter takes the cell as read (a `str` from CSV; `str`, number, bool or datetime from
XLSX) already known to be non-blank, and returns the normalised value as text ready for COPY
(dates ISO, money plain decimal, flags `t`/`f`), or raises `Bad(rule, problem)`. This is the hot
path of the ingest: per-row Python work is the cost, so the common shapes take a fast path.
"""

from __future__ import annotations

import datetime as dt
import re

from include.feeds import Column
from include.ingest import codes

# Full-width forms U+FF01..U+FF5E → ASCII, ideographic space → space; also the CJK punctuation
# departments type for separators (、；，：) where we split or strip values.
FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
FULLWIDTH[0x3000] = 0x20


class Bad(Exception):
    """A cell breaks a rule. `rule` is the machine name; `problem` says what is wrong in words."""

    def __init__(self, rule: str, problem: str):
        super().__init__(problem)
        self.rule = rule
        self.problem = problem


def clean_text(value) -> str:
    """Trim and fold full-width characters to half-width. Any cell → str."""
    if type(value) is str:
        return value.strip() if value.isascii() else value.translate(FULLWIDTH).strip()
    return cell_text(value).strip()


def cell_text(value) -> str:
    """The cell as a person sees it, for `_received` and messages."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --- dates and months -------------------------------------------------------------------------
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_COMPACT_MONTH = re.compile(r"(\d{4})(\d{2})")
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug included)
_MIN_YEAR, _MAX_YEAR = 1900, 2100


def _make_date(y: str, m: str, d: str, text: str) -> dt.date:
    try:
        value = dt.date(int(y), int(m), int(d))
    except ValueError:
        raise Bad("date", f"{text!r} is not a real date") from None
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        raise Bad("date", f"year {value.year} is out of range {_MIN_YEAR}–{_MAX_YEAR}")
    return value


def _excel_serial(value) -> dt.date:
    # A number in a date column: Excel stored the date as a serial without a date format.
    if isinstance(value, bool) or not 1 <= value < 73051:  # up to 2099-12-31
        raise Bad("date", f"{value!r} is not a date")
    return _EXCEL_EPOCH + dt.timedelta(days=int(value))


def parse_date(value) -> dt.date:
    if type(value) is str:
        text = value.strip() if value.isascii() else value.translate(FULLWIDTH).strip()
        if len(text) == 10 and _ISO_DATE.fullmatch(text):
            try:
                value = dt.date.fromisoformat(text)
            except ValueError:
                raise Bad("date", f"{text!r} is not a real date") from None
            if _MIN_YEAR <= value.year <= _MAX_YEAR:
                return value
            raise Bad("date", f"year {value.year} is out of range {_MIN_YEAR}–{_MAX_YEAR}")
        m = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
        if m:
            year, month, day = m.groups()
            return _make_date(year, month, day, text)
        raise Bad("date", f"{text!r} is not a date (write 2022-03-05, 2022/3/5, 2022年3月5日 or 20220305)")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)):
        return _excel_serial(value)
    raise Bad("date", f"{value!r} is not a date")


def to_date(value) -> str:
    return parse_date(value).isoformat()


def to_month(value) -> str:
    """A month is stored as its first day. A full date is accepted (Excel month cells are dates)."""
    if type(value) is str:
        text = value.strip() if value.isascii() else value.translate(FULLWIDTH).strip()
        m = _MONTH.fullmatch(text) or (_COMPACT_MONTH.fullmatch(text) if len(text) == 6 else None)
        if m:
            try:
                return _make_date(m.group(1), m.group(2), "1", text).isoformat()
            except Bad:
                raise Bad("month", f"{text!r} is not a month: no month {m.group(2)} in {m.group(1)}") from None
        try:
            day = parse_date(text)
        except Bad:
            raise Bad("month", f"{text!r} is not a month (write 2022-03, 2022年3月 or 202203)") from None
        return day.replace(day=1).isoformat()
    try:
        return parse_date(value).replace(day=1).isoformat()
    except Bad:
        raise Bad("month", f"{value!r} is not a month") from None


# --- numbers and flags ------------------------------------------------------------------------
_DECIMAL = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[-+]?\d+")
_MONEY_NOISE = str.maketrans("", "", ", ¥$\u00a0")


def to_money(value) -> str:
    if type(value) is str:
        text = clean_text(value)
        if not _DECIMAL.fullmatch(text):
            text = text.translate(_MONEY_NOISE)
            if not _DECIMAL.fullmatch(text):
                raise Bad("money", f"{value.strip()!r} is not an amount (digits, optional , separators and decimals)")
        return text
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Bad("money", f"{value!r} is not an amount")
    return cell_text(value) if value == value and abs(value) != float("inf") else _bad_money(value)


def _bad_money(value):
    raise Bad("money", f"{value!r} is not an amount")


_BIGINT = 2**63


def _in_range(number: int, shown) -> str:
    # Beyond bigint COPY itself would fail, which must not look like a database outage.
    if -_BIGINT <= number < _BIGINT:
        return str(number)
    raise Bad("int", f"{shown!r} is too large")


def to_int(value) -> str:
    if type(value) is str:
        text = clean_text(value).replace(",", "")
        if _INTEGER.fullmatch(text):
            return _in_range(int(text), value.strip())
        if _DECIMAL.fullmatch(text) and float(text).is_integer():
            return _in_range(int(float(text)), value.strip())
        raise Bad("int", f"{value.strip()!r} is not a whole number")
    if isinstance(value, int) and not isinstance(value, bool):
        return _in_range(value, value)
    if isinstance(value, float) and value.is_integer():
        return _in_range(int(value), value)
    raise Bad("int", f"{value!r} is not a whole number")


_FLAGS = {
    "是": "t",
    "否": "f",
    "Y": "t",
    "N": "f",
    "YES": "t",
    "NO": "f",
    "1": "t",
    "0": "f",
    "TRUE": "t",
    "FALSE": "f",
    "T": "t",
    "F": "f",
}


def to_flag(value) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    text = clean_text(value).upper()
    if text in _FLAGS:
        return _FLAGS[text]
    if isinstance(value, (int, float)) and value in (0, 1):
        return "t" if value else "f"
    raise Bad("flag", f"{clean_text(value)!r} is not a flag (是/否, Y/N, 1/0, true/false)")


# --- codes ------------------------------------------------------------------------------------
_NO_SPACE = str.maketrans("", "", " \t\u00a0-")


def normalise_code(value) -> str:
    """Trim, half-width, upper-case; spaces and dashes inside a code are typing noise."""
    return clean_text(value).translate(_NO_SPACE).upper()


def to_uscc(value) -> str:
    code = normalise_code(value)
    problem = codes.uscc_problem(code)
    if problem:
        raise Bad("uscc_check", f"{code!r} is not a valid unified social credit code: {problem}")
    return code


def to_id(value) -> str:
    """A USCC (organisation) or a resident ID (person); `id_kind` tells which."""
    code = normalise_code(value)
    if codes.ric_problem(code) is None or codes.uscc_problem(code) is None:
        return code
    raise Bad(
        "id_check",
        f"{code!r} is neither a valid resident ID (GB 11643: "
        f"{codes.ric_problem(code)}) nor a valid USCC (GB 32100: {codes.uscc_problem(code)})",
    )


def id_kind(code: str) -> str:
    """`person` or `organisation` for a valid id. A valid resident ID wins: mistaking a person for
    an organisation would publish the number in clear (docs/spec/DOMAIN.md §8)."""
    return "person" if codes.ric_problem(code) is None else "organisation"


# --- text and enums ---------------------------------------------------------------------------
def make_converter(column: Column):
    """The converter of one contract column."""
    if column.type == "text":
        if column.pattern:
            pattern = re.compile(column.pattern)
            hint = column.pattern_hint or f"the pattern {column.pattern}"

            def text_with_pattern(value) -> str:
                text = clean_text(value)
                if not pattern.search(text):
                    raise Bad("pattern", f"{text!r} does not match {hint}")
                return text

            return text_with_pattern
        return clean_text
    if column.type == "enum":
        return _enum_converter(column)
    return {
        "date": to_date,
        "month": to_month,
        "money": to_money,
        "int": to_int,
        "flag": to_flag,
        "uscc": to_uscc,
        "id": to_id,
    }[column.type]


_MULTI_SPLIT = re.compile(r"\s*[;,、]\s*")


def _enum_converter(column: Column):
    # Enum values are matched after the same cleaning as the cell, and ASCII ones case-blind.
    allowed = {clean_text(v).upper(): v for v in column.values}
    listing = "、".join(column.values)

    def one(text: str) -> str:
        found = allowed.get(text.upper())
        if found is None:
            raise Bad("enum", f"{text!r} is not one of {listing}")
        return found

    if not column.multi:
        return lambda value: one(clean_text(value))

    def many(value) -> str:
        chosen: list[str] = []
        for part in _MULTI_SPLIT.split(clean_text(value)):
            if part:
                item = one(part)
                if item not in chosen:
                    chosen.append(item)
        if not chosen:
            raise Bad("enum", f"{clean_text(value)!r} names no value of {listing}")
        return column.separator.join(chosen)

    return many


def is_blank(value) -> bool:
    if value is None:
        return True
    if type(value) is str:
        return not value or value.isspace()
    return False
