"""PostgreSQL's binary COPY format: the fields of raw.<feed> rows, encoded once per distinct value.

Binary COPY spares the server the text parsing of every timestamp, date and numeric of every
row (its share of the work is the ingest's limit), and a field is just `int32 length + bytes`,
so a row is a concatenation of cached pieces. Encoders take the *normalised text* the checks
produce (dates ISO, money plain decimal, flags t/f) and return the whole field, length included.
"""

from __future__ import annotations

import datetime as dt
import struct

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)  # header: flags 0, no extension
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"  # length -1
_EPOCH_DATE = dt.date(2000, 1, 1)
_EPOCH_TS = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_i16 = struct.Struct("!h").pack
_i32 = struct.Struct("!i").pack
_i64 = struct.Struct("!q").pack
_NUMERIC_NEG = 0x4000


def row_header(fields: int) -> bytes:
    return _i16(fields)


def field(data: bytes) -> bytes:
    return _i32(len(data)) + data


def text(value: str) -> bytes:
    return field(value.encode())


def integer(value: int) -> bytes:
    return b"\x00\x00\x00\x04" + _i32(value)


def date(value: str) -> bytes:
    """'YYYY-MM-DD' → days since 2000-01-01."""
    return b"\x00\x00\x00\x04" + _i32((dt.date.fromisoformat(value) - _EPOCH_DATE).days)


def timestamptz(value: dt.datetime) -> bytes:
    """An aware datetime → microseconds since 2000-01-01 UTC."""
    delta = value - _EPOCH_TS
    return b"\x00\x00\x00\x08" + _i64((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)


def bigint(value: str) -> bytes:
    return b"\x00\x00\x00\x08" + _i64(int(value))


def boolean(value: str) -> bytes:
    return b"\x00\x00\x00\x01" + (b"\x01" if value == "t" else b"\x00")


def numeric(value: str) -> bytes:
    """A plain decimal ('-1234.50', '+.5', '7.') → PostgreSQL's base-10000 numeric."""
    sign = 0
    if value[0] in "+-":
        sign = _NUMERIC_NEG if value[0] == "-" else 0
        value = value[1:]
    whole, _, fraction = value.partition(".")
    dscale = len(fraction)
    whole = whole.lstrip("0")
    # Pad both parts to whole base-10000 digits around the decimal point.
    whole = "0" * (-len(whole) % 4) + whole
    fraction = fraction + "0" * (-len(fraction) % 4)
    digits = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    weight = len(digits) - 1
    digits += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while digits and digits[0] == 0:  # leading zero groups only move the weight
        digits.pop(0)
        weight -= 1
    while digits and digits[-1] == 0:  # trailing zero groups are implied by dscale
        digits.pop()
    if not digits:
        sign, weight = 0, 0
    body = struct.pack(f"!hhhh{len(digits)}h", len(digits), weight, sign, dscale, *digits)
    return _i32(len(body)) + body


ENCODERS = {"text": text, "date": date, "numeric": numeric, "bigint": bigint, "boolean": boolean, "json": text}


def encoder(pg_type: str):
    """The encoder of a raw column's type (`text not null` → text)."""
    return ENCODERS[pg_type.split()[0]]
