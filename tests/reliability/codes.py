"""Identifier check characters written here from docs/spec/DOMAIN.md §1, independent of include.ingest.codes,
so that the reliability tests do not share a bug with the code they test."""

from __future__ import annotations

import datetime as dt
import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# 17 digits + check, not inside a longer run of digits (hashes and amounts are not identities).
RIC_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")


def uscc(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


def ric_check(first17: str) -> str:
    check = (12 - sum(int(d) * w for d, w in zip(first17, RIC_WEIGHTS)) % 11) % 11
    return "X" if check == 10 else str(check)


def ric(first17: str) -> str:
    return first17 + ric_check(first17)


def is_clear_ric(text: str) -> bool:
    """An 18-character resident identity number with a valid check digit and a real birth date."""
    if len(text) != 18 or not text[:17].isdigit() or ric_check(text[:17]) != text[17].upper():
        return False
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return True


def clear_rics_in(text: str) -> list[str]:
    return [m for m in RIC_CANDIDATE.findall(text) if is_clear_ric(m)]
