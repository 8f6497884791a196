"""Identifiers: unified social credit codes (GB 32100) and resident ID numbers (GB 11643).

The generator needs valid codes by construction and deliberately broken ones on purpose, so both
the check characters and the "break it" helpers live here. The tests re-implement the checks
independently from docs/spec/DOMAIN.md §1, so a mistake here cannot hide itself.
"""

from __future__ import annotations

import datetime as dt

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714 organisation code (positions 9-17 of a USCC)
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"  # index = sum mod 11, i.e. (12 - sum mod 11) mod 11 written as char

# Registration authority + organisation category -> the subject type of docs/spec/CONTRACT.md §3.
USCC_PREFIX_BY_TYPE = {
    "企业": "91",
    "个体工商户": "92",
    "农民专业合作社": "93",
    "社会组织": "51",  # 52 for 民办非企业单位, chosen in generate
    "事业单位": "12",
    "机关": "11",
    "其他": "N2",  # 村级集体经济组织
}


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in _USCC_VALUE for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def _org_code_check(body8: str) -> str:
    # Letters count as 10..35 in GB 11714; 10 is written X and 11 is written 0.
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_WEIGHTS))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def _base31(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 31)
        out.append(USCC_ALPHABET[r])
    return "".join(reversed(out))


def make_uscc(prefix: str, region: str, serial: int, modern: bool) -> str:
    """A valid USCC; `serial` must be unique per (prefix, region, modern) to keep codes unique.

    Modern codes carry `MA` + six base-31 characters (as issued since 2015); older ones carry the
    former 8-digit organisation code. Both bodies are bijections of `serial`, so never collide.
    """
    if modern:
        body8 = "MA" + _base31((serial * 48271 + 12345) % 31**6, 6)
    else:
        body8 = f"{10**7 + (serial * 7919) % (9 * 10**7):08d}"
    first17 = prefix + region + body8 + _org_code_check(body8)
    return first17 + uscc_check_char(first17)


def make_authority_uscc(region: str, serial: int) -> str:
    """USCC of a government department (机关, prefix 11); bodies start with 0, subjects' never do."""
    body8 = f"{serial:08d}"
    first17 = "11" + region + body8 + _org_code_check(body8)
    return first17 + uscc_check_char(first17)


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def make_resident_id(region: str, birth: dt.date, sequence: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_char(first17)


def break_check(code: str, pick: int) -> str:
    """The same code with a different, wrong check character (a typo the check must catch)."""
    if len(code) == 18 and code[:17].isdigit() and (code[17].isdigit() or code[17] == "X"):
        alphabet = "0123456789X"  # looks like a resident ID: stay plausible
    else:
        alphabet = USCC_ALPHABET
    choices = [c for c in alphabet if c != code[17]]
    return code[:17] + choices[pick % len(choices)]


def to_fullwidth(text: str) -> str:
    """ASCII letters/digits as their full-width forms, as some Chinese input methods type them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
