"""Identifier checks of docs/spec/DOMAIN.md §1, written from the standards themselves.

python-stdnum 2.2's `cn.uscc` requires positions 1–8 to be digits, so it rejects valid codes
whose registration authority or category is a letter (N2… 村级集体经济组织, Y1… 其他), and its
`cn.ric` rejects numbers whose birth place is missing from its county list (codes renamed since
issue). We therefore implement GB 32100 / GB 11643 exactly as docs/spec/DOMAIN.md §1 states and test them
against real codes (tests/ingest/test_codes.py). Inputs are already normalised (trimmed, half-width, upper-case).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"  # index = Σ mod 11; equals (12 − Σ mod 11) mod 11 with X = 10
# Province-level codes of GB/T 2260 (plus 71 Taiwan, 81/82 Hong Kong/Macau, 83 residence permits).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid USCC (GB 32100-2015), or None when it is."""
    if len(code) != 18:
        return f"must be 18 characters, has {len(code)}"
    bad = [ch for ch in code if ch not in _USCC_VALUE]
    if bad:
        return f"character {bad[0]!r} is not in the code alphabet (no I, O, Z, S, V)"
    if not code[2:8].isdigit():
        return "positions 3–8 (administrative region) must be digits"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, expected {expected!r}"
    return None


def ric_problem(number: str) -> str | None:
    """Why `number` is not a valid resident identity number (GB 11643), or None when it is."""
    if len(number) != 18:
        return f"must be 18 characters, has {len(number)}"
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "must be 17 digits and a check digit or X"
    if number[:2] not in _PROVINCES:
        return f"positions 1–2 {number[:2]!r} are not a province code"
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return f"positions 7–14 {number[6:14]!r} are not a date"
    if born.year < 1880:
        return f"positions 7–14 {number[6:14]!r} are not a plausible birth date"
    expected = _RIC_CHECK[sum(int(d) * w for d, w in zip(number, _RIC_WEIGHTS)) % 11]
    if number[17] != expected:
        return f"check digit is {number[17]!r}, expected {expected!r}"
    return None


def is_individual_business(uscc: str) -> bool:
    """Positions 1–2 `92`: registered by 工商 as 个体工商户 (docs/spec/DOMAIN.md §1)."""
    return uscc.startswith("92")


def pseudonym(number: str, key: bytes) -> str:
    """`p:` + hex HMAC-SHA256 of a normalised personal identity number (docs/spec/DOMAIN.md §8)."""
    return "p:" + hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def masked(number: str) -> str:
    """Display form of a personal number: first 6 and last 4 kept (`640102********1234`)."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
