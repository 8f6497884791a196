"""A NUL character in a cell quarantines its row (rule `control_character`); the other rows load.
Only files that really are binary are rejected whole (include/ingest/readers.py `_kind_and_encoding`)."""

from __future__ import annotations

import io
import zipfile

import psycopg
import pytest

from include.ingest import checks, ensure_schemas, load_file, vectorized

from .helpers import (
    ALIBABA,
    TENCENT,
    assert_accounted,
    assert_message_names_everything,
    deliver,
    ledger,
    quarantine,
    raw_rows,
)

HEADER = "统一社会信用代码,户名,户号,类别,账期,应缴金额（元）,实缴金额（元）,缴费日期,供应单位"


def _bill(
    account: str, name: str = "阿里巴巴", paid_on: str = "2022-03-05", provider: str = "水司", uscc: str = ALIBABA
) -> str:
    return f"{uscc},{name},{account},水,2022-03,10,10,{paid_on},{provider}"


def _csv(title: str, rows: list[str], header: str = HEADER) -> str:
    return "\r\n".join([title, header, *rows]) + "\r\n"


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    return scratch_db


def _load(db, landing, monkeypatch, path_name: str, name: str, data: bytes) -> dict:
    """Load by the fast path (asserting it was taken) or by the general one."""
    deliver(landing, "utilities", name, data)
    encoded = []
    with monkeypatch.context() as m:
        if path_name == "general":
            m.setattr(vectorized, "applies", lambda *a: False)
        else:
            real = vectorized.ColumnarChecker.encode
            m.setattr(vectorized.ColumnarChecker, "encode", lambda self, *a: (encoded.append(1), real(self, *a))[1])
        result = load_file(db, "utilities", name, landing)
    if result["status"] == "loaded":
        assert bool(encoded) == (path_name == "fast"), "the path under test was not taken"
    return result


def _problems(db, sha: str) -> list[tuple]:
    return [(p["row_number"], p["column_name"], p["rule"], p["value"], p["severity"]) for p in quarantine(db, sha)]


@pytest.mark.parametrize("path_name", ["fast", "general"])
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_nul_in_one_cell_quarantines_that_row_and_the_others_load(db, tmp_path, monkeypatch, path_name, encoding):
    rows = [_bill("A-1"), _bill("A-2"), _bill("A-3", name="阿里\x00巴巴"), _bill("A-4"), _bill("A-5")]
    data = _csv(f"五月水费 {path_name} {encoding}", rows).encode(encoding)
    result = _load(db, tmp_path / "landing", monkeypatch, path_name, "五月.csv", data)
    # Before: the whole file was rejected ("binary content (NUL bytes)"), the four good rows lost.
    assert (result["status"], result["reason"]) == ("loaded", None), result
    assert (result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (5, 4, 1)
    assert_accounted(db, result)
    assert [(r["_row_number"], r["account_no"]) for r in raw_rows(db, "utilities", result["sha256"])] == [
        (3, "A-1"),
        (4, "A-2"),
        (6, "A-4"),
        (7, "A-5"),
    ]
    [problem] = quarantine(db, result["sha256"])
    assert (problem["row_number"], problem["column_name"], problem["rule"], problem["value"], problem["severity"]) == (
        5,
        "name",
        "control_character",
        "阿里\u2400巴巴",
        "error",
    )
    assert problem["message"] == (
        "五月.csv, row 5, column '户名' (name): rule control_character: the cell holds a NUL character (U+0000, "
        "shown here as ␀) at character 3, which is not text and cannot be stored; delete it from the cell "
        "(exports from other systems leave it) and deliver the row again; value '阿里␀巴巴'"
    )
    assert_message_names_everything(problem, "五月.csv")
    assert ledger(db, "utilities", "五月.csv")["detail"]["encoding"] == encoding


def test_nuls_anywhere_in_a_row_give_the_same_quarantine_by_both_paths(db, tmp_path, monkeypatch):
    header = HEADER + ",备注"
    rows = [
        _bill("B-1") + ",",
        _bill("B-2") + ",手工\x00录入",  # a column of no contract
        _bill("B-3", uscc=ALIBABA[:9] + "\x00" + ALIBABA[9:], paid_on="2022-02-30") + ",",  # and a date
        _bill("B-4", provider="\x00水司\x00") + ",",  # two in one cell
        _bill("B-5", paid_on="\x00") + ",",  # an optional cell, only a NUL
        _bill("B-6", uscc=TENCENT) + ",",
    ]
    outcomes = {}
    for path_name in ("fast", "general"):
        data = _csv(f"六月水费 {path_name}", rows, header).encode()
        result = _load(db, tmp_path / path_name, monkeypatch, path_name, "六月.csv", data)
        assert (result["status"], result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (
            "loaded",
            6,
            2,
            4,
        ), result
        assert_accounted(db, result)
        for p in quarantine(db, result["sha256"]):
            assert_message_names_everything(p, "六月.csv")
        outcomes[path_name] = (
            [p["message"] for p in quarantine(db, result["sha256"])],
            _problems(db, result["sha256"]),
            [r["account_no"] for r in raw_rows(db, "utilities", result["sha256"])],
        )
    assert outcomes["fast"] == outcomes["general"]
    messages, problems, loaded = outcomes["fast"]
    assert loaded == ["B-1", "B-6"]
    assert problems == [
        (4, "备注", "control_character", "手工␀录入", "error"),
        (5, "uscc", "control_character", "913301007␀16105852F", "error"),  # not also uscc_check
        (5, "paid_on", "date", "2022-02-30", "error"),
        (6, "provider", "control_character", "␀水司␀", "error"),
        (7, "paid_on", "control_character", "␀", "error"),
    ]
    assert messages[0] == (
        "六月.csv, row 4, column '备注' (column J, not in the contract): rule control_character: the cell holds "
        "a NUL character (U+0000, shown here as ␀) at character 3, which is not text and cannot be stored; "
        "delete it from the cell (exports from other systems leave it) and deliver the row again; value '手工␀录入'"
    )
    assert "the cell holds 2 NUL characters (U+0000, shown here as ␀) at character 1," in messages[3]


def test_a_utf16_file_with_a_nul_character_quarantines_the_row(db, tmp_path):
    # Once a crash: U+0000 reached COPY and PostgreSQL refused the whole load.
    text = _csv("七月水费", [_bill("C-1"), _bill("C-2", name="阿里\x00")])
    landing = tmp_path / "landing"
    deliver(landing, "utilities", "unicode.txt", b"\xff\xfe" + text.encode("utf-16-le"))
    result = load_file(db, "utilities", "unicode.txt", landing)
    assert (result["status"], result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (
        "loaded",
        2,
        1,
        1,
    ), result
    assert_accounted(db, result)
    assert _problems(db, result["sha256"]) == [(4, "name", "control_character", "阿里␀", "error")]


def test_a_nul_in_the_header_is_shown_and_matches_no_column(db, tmp_path):
    landing = tmp_path / "landing"
    optional = HEADER.replace("缴费日期", "缴费\x00日期")  # as any unknown header of an optional column
    deliver(landing, "utilities", "header.csv", _csv("八月水费", [_bill("D-1")], optional))
    result = load_file(db, "utilities", "header.csv", landing)
    assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", 1, 0), result
    detail = ledger(db, "utilities", "header.csv")["detail"]
    assert detail["columns_ignored"] == ["缴费␀日期"]
    assert detail["received_headers"][7] == "缴费␀日期"
    [row] = raw_rows(db, "utilities", result["sha256"])
    assert (row["paid_on"], row["received"]["缴费␀日期"]) == (None, "2022-03-05")

    required = HEADER.replace("户名", "户\x00名")
    deliver(landing, "utilities", "header2.csv", _csv("九月水费", [_bill("D-2")], required))
    result = load_file(db, "utilities", "header2.csv", landing)
    assert result["status"] == "rejected"
    assert result["reason"] == (
        "header2.csv, row 2: required column(s) missing from the header: 户名 (name); rule: required_column; "
        "header found: 统一社会信用代码 | 户␀名 | 户号 | 类别 | 账期 | 应缴金额（元） | 实缴金额（元） | 缴费日期 | 供应单位"
    )


def _threshold_file(nuls: int) -> bytes:
    """Text padded with NULs in one cell (as fixed-width exports pad a field)."""
    return _csv("十月水费", [_bill("E-1"), _bill("E-2", provider="水司" + "\x00" * nuls), _bill("E-3")]).encode()


def test_nul_bytes_become_binary_at_one_byte_in_ten(db, tmp_path):
    size_without = len(_threshold_file(0))
    most = -(-size_without // 9) - 1  # 9·k < size_without: k NULs are less than 1 in 10 bytes
    landing = tmp_path / "landing"
    deliver(landing, "utilities", "padded.csv", _threshold_file(most))
    result = load_file(db, "utilities", "padded.csv", landing)
    assert (result["status"], result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (
        "loaded",
        3,
        2,
        1,
    ), result
    [problem] = _problems(db, result["sha256"])
    assert problem == (4, "provider", "control_character", "水司" + "␀" * most, "error")
    assert (size_without, most) == (357, 39)

    deliver(landing, "utilities", "padded_more.csv", _threshold_file(most + 1))
    result = load_file(db, "utilities", "padded_more.csv", landing)
    assert (result["status"], result["rows_read"]) == ("rejected", 0)
    assert result["reason"] == (
        "padded_more.csv: binary content (40 NUL bytes, 10% of the file), neither CSV nor .xlsx; rule: format; "
        "export the data again as CSV (UTF-8, GB18030, or UTF-16 with its byte-order mark) or .xlsx"
    )


def _noise(n: int) -> bytes:
    """Deterministic bytes that look random (compressed data)."""
    import hashlib

    out, block = b"", b"seed"
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00" + _noise(4000)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 4000 /Filter /FlateDecode >>\nstream\n" + _noise(4000)
UTF16_NO_BOM = _csv("水费", [_bill(f"F-{i}") for i in range(5)]).encode("utf-16-le")
ZEROS = bytes(512) + _noise(512) + bytes(512)

BINARY = {
    # NUL bytes, and no text encoding reads the bytes
    "image.csv": (
        PNG,
        "binary content (26 NUL bytes, and from line 3 on bytes such as b'\\xff\\xc8\\xb5\\x9b' that "
        "are not text in UTF-8 nor GB18030), neither CSV nor .xlsx",
    ),
    "scan.pdf.csv": (
        PDF,
        "binary content (14 NUL bytes, and from line 6 on bytes such as b'\\xff\\xc8\\xb5\\x9b' "
        "that are not text in UTF-8 nor GB18030), neither CSV nor .xlsx",
    ),
    # NUL bytes one in ten or more
    "unicode_without_bom.csv": (UTF16_NO_BOM, "binary content (273 NUL bytes, 39% of the file), neither CSV nor .xlsx"),
    "zeros.csv": (ZEROS, "binary content (1,025 NUL bytes, 67% of the file), neither CSV nor .xlsx"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_a_file_that_really_is_binary_is_still_rejected_whole(db, tmp_path, name):
    data, words = BINARY[name]
    landing = tmp_path / "landing"
    deliver(landing, "utilities", name, data)
    result = load_file(db, "utilities", name, landing)
    assert (result["status"], result["rows_read"], result["rows_loaded"], result["rows_quarantined"]) == (
        "rejected",
        0,
        0,
        0,
    ), result
    assert result["reason"] == (
        f"{name}: {words}; rule: format; export the data again as CSV (UTF-8, GB18030, or "
        "UTF-16 with its byte-order mark) or .xlsx"
    )
    row = ledger(db, "utilities", name)
    assert (row["status"], row["reason"]) == ("rejected", result["reason"])
    assert quarantine(db, result["sha256"]) == [] and raw_rows(db, "utilities", result["sha256"]) == []


def _xlsx_with(sheet_replace: tuple[bytes, bytes]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    for i in range(40):
        ws.append(_bill(f"X-{i}", name="阿里巴巴" if i != 30 else "MARK").split(","))
    buffer = io.BytesIO()
    wb.save(buffer)
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            part = source.read(item)
            target.writestr(item, part.replace(*sheet_replace) if item.endswith("sheet1.xml") else part)
    return out.getvalue()


def test_xlsx_cells_with_control_characters(db, tmp_path):
    landing = tmp_path / "landing"
    # Excel writes a control character as `_x0000_`; openpyxl gives it back as written: text.
    deliver(landing, "utilities", "escaped.xlsx", _xlsx_with((b"MARK", b"A_x0000_B")))
    result = load_file(db, "utilities", "escaped.xlsx", landing)
    assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", 40, 0), result
    names = {r["account_no"]: r["name"] for r in raw_rows(db, "utilities", result["sha256"])}
    assert names["X-30"] == "A_x0000_B"
    # A raw one is not XML: the sheet cannot be read past it. Once a crash (the parser's
    # SyntaxError was not caught), now a rejection that leaves no row behind.
    deliver(landing, "utilities", "raw.xlsx", _xlsx_with((b"MARK", b"A\x00B")))
    result = load_file(db, "utilities", "raw.xlsx", landing)
    assert (result["status"], result["rows_read"]) == ("rejected", 0), result
    assert result["reason"].startswith(
        "raw.xlsx, sheet 'Sheet': the workbook is damaged or truncated (ParseError: "
        "not well-formed (invalid token): line 1, column "
    )
    assert result["reason"].endswith("); rule: xlsx_readable; export it again")
    assert raw_rows(db, "utilities", result["sha256"]) == []


def test_a_file_without_nul_bytes_is_never_screened(db, tmp_path, monkeypatch):
    """The hot path pays nothing: no cell or column is looked at for a NUL in a clean file."""

    def never(*args):
        raise AssertionError("a clean file was screened for NUL characters")

    monkeypatch.setattr(checks, "_nul_positions", never)
    monkeypatch.setattr(vectorized, "_rows_holding_nul", never)
    landing = tmp_path / "landing"
    for path_name in ("fast", "general"):
        data = _csv(f"十一月水费 {path_name}", [_bill("G-1"), _bill("G-2", paid_on="2022-02-30")]).encode()
        result = _load(db, landing / path_name, monkeypatch, path_name, "clean.csv", data)
        assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", 1, 1)
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "select count(*) from audit.quarantine where rule = 'control_character' and file_name = 'clean.csv'"
        ).fetchone() == (0,)
