"""Building real delivery files for the tests, and checking that every row is accounted for."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path

import psycopg

_serial = itertools.count(1)

# GB 32100 and GB 11643 written out here from docs/spec/DOMAIN.md §1 for the codes tests make on the
# fly, not borrowed from include/ingest/codes.py: a fault there must not also be in the test data.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# The penalties feed's headers as a department writes them (docs/spec/CONTRACT.md §3), written
# out here, not read from the contract the loader uses.
PENALTY_HEADERS = [
    "行政相对人名称",
    "行政相对人类别",
    "统一社会信用代码",
    "证件号码",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "处罚决定日期",
    "处罚机关",
    "处罚机关统一社会信用代码",
    "数据来源单位",
    "数据来源单位统一社会信用代码",
]


def uscc(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS))
    return first17 + _USCC_ALPHABET[(31 - total % 31) % 31]


def ric(first17: str) -> str:
    check = (12 - sum(int(d) * w for d, w in zip(first17, _RIC_WEIGHTS)) % 11) % 11
    return first17 + ("X" if check == 10 else str(check))


# Valid identifiers for the deliveries, each check character worked out by hand with the weights
# above; letter values (index in the alphabet) A 10, B 11, M 21, N 22, Q 24, R 25, T 26.
ALIBABA = "91330100716105852F"
TENCENT = "9144030071526726XG"
# 9 2 6 4 0 1 0 0 M A 7 Q 8 R 9 T 1: 9 + 6 + 54 + 108 + 0 + 26 + 0 + 0 + 420 + 290 + 175 + 312 + 64
#   + 600 + 90 + 780 + 28 = 2962; 2962 mod 31 = 17 (2945 = 95·31); 31 − 17 = 14 → 'E'
SHOP = "92640100MA7Q8R9T1E"  # 个体工商户
# N 2 6 4 0 1 0 0 M A 0 0 0 0 0 0 1: 22 + 6 + 54 + 108 + 26 + 420 + 290 + 28 = 954; mod 31 = 24; 31 − 24 = 7
VILLAGE = "N2640100MA00000017"  # 村级集体经济组织
# 1 1 6 4 0 1 0 0 M B 1 2 3 4 5 6 7: 1 + 3 + 54 + 108 + 0 + 26 + 0 + 0 + 420 + 319 + 25 + 26 + 24 + 96
#   + 50 + 180 + 196 = 1528; 1528 mod 31 = 9 (1519 = 49·31); 31 − 9 = 22 → 'N'
BUREAU = "11640100MB1234567N"  # a 机关: the penalty authority
# GB 11643, weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 on 6 4 0 1 0 2 1 9 9 0 0 3 0 7 1 2 3:
#   42 + 36 + 0 + 5 + 0 + 8 + 2 + 9 + 54 + 0 + 0 + 27 + 0 + 35 + 8 + 8 + 6 = 240; 240 mod 11 = 9;
#   (12 − 9) mod 11 = 3 → '3'
PERSON = "640102199003071233"


def deliver(
    landing: Path, feed: str, name: str, data: bytes | str, *, encoding: str = "utf-8", mtime: dt.datetime | None = None
) -> Path:
    folder = landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def csv_text(rows: list[list[str]], title: str | None = "报送表", delimiter: str = ",") -> str:
    """A CSV with a unique title row (so that no two test files share bytes), header on row 2."""
    lines = [] if title is None else [f"{title} #{next(_serial)}"]
    for row in rows:
        lines.append(
            delimiter.join(f'"{c}"' if ("," in c or '"' in c or "\n" in c) and delimiter == "," else c for c in row)
        )
    return "\r\n".join(lines) + "\r\n"


def ledger(conn_url: str, feed: str, file_name: str) -> dict | None:
    with psycopg.connect(conn_url) as conn:
        cur = conn.execute(
            "select * from audit.file_ledger where feed = %s and file_name = %s order by id desc", (feed, file_name)
        )
        row = cur.fetchone()
        return None if row is None else dict(zip([d.name for d in cur.description], row))


def quarantine(conn_url: str, sha256: str) -> list[dict]:
    with psycopg.connect(conn_url) as conn:
        cur = conn.execute("select * from audit.quarantine where sha256 = %s order by row_number, id", (sha256,))
        return [dict(zip([d.name for d in cur.description], r)) for r in cur.fetchall()]


def raw_rows(conn_url: str, feed: str, sha256: str) -> list[dict]:
    """The file's rows in raw.<feed> as stored, each with `received`: the row as the file said it
    ({header: cell}), from audit.received_rows."""
    with psycopg.connect(conn_url) as conn:
        cur = conn.execute(f'select * from raw."{feed}" where _file_sha256 = %s order by _row_number', (sha256,))
        rows = [dict(zip([d.name for d in cur.description], r)) for r in cur.fetchall()]
        received = dict(
            conn.execute("select row_number, received from audit.received_rows(%s, %s)", (feed, sha256)).fetchall()
        )
    for row in rows:
        row["received"] = received[row["_row_number"]]
    return rows


def assert_accounted(conn_url: str, result: dict) -> None:
    """Rows read = loaded + quarantined, in the result and in SQL (ledger vs raw vs quarantine)."""
    assert result["rows_read"] == result["rows_loaded"] + result["rows_quarantined"], result
    if result["sha256"] is None:
        return
    with psycopg.connect(conn_url) as conn:
        led = conn.execute(
            "select rows_read, rows_loaded, rows_quarantined from audit.file_ledger "
            "where feed = %s and sha256 = %s and status <> 'duplicate'",
            (result["feed"], result["sha256"]),
        ).fetchone()
        in_raw = conn.execute(
            f'select count(*) from raw."{result["feed"]}" where _file_sha256 = %s', (result["sha256"],)
        ).fetchone()[0]
        bad_rows = conn.execute(
            "select count(distinct row_number) from audit.quarantine "
            "where sha256 = %s and feed = %s and severity = 'error'",
            (result["sha256"], result["feed"]),
        ).fetchone()[0]
    assert led is not None
    assert led[0] == led[1] + led[2]
    assert (in_raw, bad_rows) == (led[1], led[2])
    if result["status"] == "loaded":
        assert (result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == led


def assert_message_names_everything(problem: dict, file_name: str) -> None:
    message = problem["message"]
    assert file_name in message
    assert f"row {problem['row_number']}," in message
    assert problem["column_name"] in message
    assert f"rule {problem['rule']}" in message
    assert repr(problem["value"]) in message
