"""The bad-input corpus: malformed deliveries generated here (nothing binary is committed).

`build(landing)` writes every case into LANDING/<feed>/ and returns them. Each `Case` says what the
loader must do with its file: reject it (with the rule named in the reason), quarantine some rows
(rule and column named), load it, or record it as a duplicate delivery.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.codes import ric, uscc

SUBJECT_HEADER = [
    "统一社会信用代码",
    "主体名称",
    "主体类型",
    "法定代表人",
    "成立日期",
    "登记状态",
    "注销日期",
    "行政区划代码",
    "行业代码",
    "注册资本（万元）",
]
TAX_HEADER = [
    "统一社会信用代码",
    "纳税人名称",
    "税款所属期",
    "应纳税额（元）",
    "实缴税额（元）",
    "欠税余额（元）",
    "纳税信用等级",
    "评价年度",
    "重大税收违法失信主体",
    "主管税务机关",
]
PERSON = ric("64010219900307123")
INJECTION = "x'); drop table raw.subjects; -- \"; delete from audit.file_ledger; --"


@dataclass
class Case:
    feed: str
    name: str | bytes  # bytes: a file name that is not UTF-8
    data: bytes
    expect: str  # rejected | quarantined | loaded | duplicate | tolerated
    rule: str | None = None  # the rule the reason or the quarantine must name
    column: str | None = None  # for quarantined: the column named
    rows_read: int | None = None
    rows_bad: int | None = None
    notes: str = ""
    good: bool = False  # a well-formed file delivered beside the corpus
    value: str | None = None  # for quarantined: the value the quarantine row must hold

    @property
    def fs_name(self) -> str:
        """The name as os.listdir returns it (surrogate escapes for undecodable bytes)."""
        return os.fsdecode(self.name) if isinstance(self.name, bytes) else self.name


def code(n: int, prefix: str = "91640100MA") -> str:
    return uscc(f"{prefix}{n:07d}")


def subject_row(n: int, **overrides) -> list[str]:
    row = {
        "uscc": code(n),
        "name": f"银川测试{n}有限公司",
        "type": "企业",
        "rep": "张三",
        "est": "2020-03-05",
        "status": "存续",
        "closed": "",
        "region": "640104",
        "industry": "C13",
        "capital": "100",
    }
    row.update(overrides)
    return list(row.values())


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", title: str | None = None
) -> bytes:
    out = io.StringIO(newline="")
    if title:
        out.write(title + "\r\n")
    for row in rows:
        cells = []
        for c in row:
            if any(ch in c for ch in (delimiter, '"', "\n", "\r")):
                c = '"' + c.replace('"', '""') + '"'
            cells.append(c)
        out.write(delimiter.join(cells) + "\r\n")
    return out.getvalue().encode(encoding)


def subjects_csv(rows: list[list[str]], **kwargs) -> bytes:
    return csv_bytes([SUBJECT_HEADER, *rows], **kwargs)


def xlsx_bytes(rows: list[list]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def good_files() -> list[Case]:
    """Well-formed deliveries of three feeds that must load fully whatever the corpus beside them does."""
    subjects = subjects_csv([subject_row(n) for n in range(1, 21)], title="银川市市场主体登记信息报送表")
    tax = csv_bytes(
        [TAX_HEADER]
        + [
            [code(n), f"银川测试{n}有限公司", "2026-03", "1,000.00", "1000", "0", "A", "2025", "否", "银川市税务局"]
            for n in range(1, 16)
        ]
    )
    bills = xlsx_bytes(
        [
            [
                "统一社会信用代码",
                "户名",
                "户号",
                "类别",
                "账期",
                "应缴金额（元）",
                "实缴金额（元）",
                "缴费日期",
                "供应单位",
            ]
        ]
        + [
            [code(n), f"银川测试{n}有限公司", f"W{n:05d}", "水", "2026-04", 10.5, 10.5, "2026-04-20", "银川水务"]
            for n in range(1, 11)
        ]
    )
    return [
        Case("subjects", "good_subjects.csv", subjects, "loaded", rows_read=20, good=True),
        Case("tax", "good_tax.csv", tax, "loaded", rows_read=15, good=True),
        Case("utilities", "good_bills.xlsx", bills, "loaded", rows_read=10, good=True),
    ]


def _truncated_xlsx() -> bytes:
    whole = xlsx_bytes([SUBJECT_HEADER, subject_row(900)])
    return whole[: len(whole) // 2]


def _zip_not_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


def bad_cases() -> list[Case]:
    S = "subjects"
    one = [subject_row(100)]
    long_name = "长" * 80 + "x" * 7 + ".csv"  # 80 × 3 bytes + 11 = 251 … padded to 255 below
    long_name = long_name[:-4] + "y" * (255 - len(long_name.encode())) + ".csv"
    assert len(long_name.encode()) == 255
    cases = [
        # --- files that cannot be read at all: rejected, with the rule in the reason
        Case(S, "empty.csv", b"", "rejected", "not_empty"),
        Case(S, "binary.csv", bytes(range(256)) * 64, "rejected", "format", notes="NUL bytes"),
        Case(S, "truncated.xlsx", _truncated_xlsx(), "rejected", "xlsx_readable"),
        Case(S, "a_zip_not_a_workbook.xlsx", _zip_not_xlsx(), "rejected", "xlsx_readable"),
        Case(S, "legacy.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "rejected", "format"),
        Case(S, "bad_bom_utf8.csv", b"\xef\xbb\xbf" + subjects_csv(one) + b"\xff\xfe\xfa", "rejected", "encoding"),
        Case(S, "undecodable.csv", subjects_csv(one) + b"\x80\xff\xff,\xff\r\n", "rejected", "encoding"),
        Case(S, "caret_delimited.csv", subjects_csv(one, delimiter="^"), "rejected", "header_row"),
        Case(
            S,
            "required_column_missing.csv",
            csv_bytes(
                [[h for h in SUBJECT_HEADER if h != "主体名称"], [c for i, c in enumerate(subject_row(101)) if i != 1]]
            ),
            "rejected",
            "required_column",
        ),
        Case(
            S,
            "header_twice.csv",
            csv_bytes([SUBJECT_HEADER + ["主体名称"], subject_row(102) + ["又一个名称"]]),
            "rejected",
            "header_unique",
        ),
        Case(S, "whitespace_only.csv", b"   \r\n\t\r\n  \r\n", "rejected", "header_row"),
        Case(S, "bom_only.csv", b"\xef\xbb\xbf", "rejected", "header_row"),
        Case(
            S,
            "title_rows_only.csv",
            "某某局行政处罚信息报送表\r\n填报单位：某某局\r\n".encode(),
            "rejected",
            "header_row",
        ),
        Case(S, "xlsx_without_header.xlsx", xlsx_bytes([["甲", "乙"], [1, 2]]), "rejected", "header_row"),
        Case(
            S,
            "utf16_without_bom.csv",
            subjects_csv([subject_row(137)]).decode().encode("utf-16-le"),
            "rejected",
            "format",
            notes="every other byte a NUL: binary, as text it would be unreadable",
        ),
        # --- readable files: the header only, rows quarantined with rule and column named
        Case(
            S,
            "nul_in_a_value.csv",
            subjects_csv([subject_row(103, name="银川\x00公司"), subject_row(138)]),
            "quarantined",
            "control_character",
            "name",
            rows_read=2,
            rows_bad=1,
            value="银川\u2400公司",
            notes="a NUL in a cell: that row only, the file is text",
        ),
        Case(
            S,
            "nul_in_gbk.csv",
            subjects_csv([subject_row(139), subject_row(140, rep="张\x00三")], encoding="gb18030"),
            "quarantined",
            "control_character",
            "legal_rep",
            rows_read=2,
            rows_bad=1,
            value="张\u2400三",
        ),
        Case(S, "header_only.csv", subjects_csv([]), "loaded", rows_read=0),
        Case(
            S,
            "impossible_date.csv",
            subjects_csv([subject_row(104, est="2022-02-30"), subject_row(105)]),
            "quarantined",
            "date",
            "established_on",
            rows_read=2,
            rows_bad=1,
            value="2022-02-30",
        ),
        Case(
            S,
            "abc_amount.csv",
            subjects_csv([subject_row(106, capital="abc"), subject_row(107)]),
            "quarantined",
            "money",
            "registered_capital",
            rows_read=2,
            rows_bad=1,
            value="abc",
        ),
        Case(
            S,
            "bad_check_char.csv",
            subjects_csv([subject_row(108, uscc=code(108)[:17] + "Z")]),
            "quarantined",
            "uscc_check",
            "uscc",
            rows_read=1,
            rows_bad=1,
        ),
        Case(
            S,
            "unknown_enum.csv",
            subjects_csv([subject_row(109, type="公司")]),
            "quarantined",
            "enum",
            "subject_type",
            rows_read=1,
            rows_bad=1,
            value="公司",
        ),
        Case(
            S,
            "blank_required.csv",
            subjects_csv([subject_row(110, name="   ")]),
            "quarantined",
            "required",
            "name",
            rows_read=1,
            rows_bad=1,
        ),
        Case(
            S,
            "year_9999.csv",
            subjects_csv([subject_row(111, est="9999-01-01")]),
            "quarantined",
            "date",
            "established_on",
            rows_read=1,
            rows_bad=1,
        ),
        Case(
            "tax",
            "bad_month.csv",
            csv_bytes([TAX_HEADER, [code(112), "甲", "2022-13", "1", "1", "", "A", "2022", "否", "局"]]),
            "quarantined",
            "month",
            "period",
            rows_read=1,
            rows_bad=1,
            value="2022-13",
        ),
        Case(
            "tax",
            "bad_flag.csv",
            csv_bytes([TAX_HEADER, [code(113), "甲", "2022-03", "1", "1", "", "A", "2022", "也许", "局"]]),
            "quarantined",
            "flag",
            "major_violation",
            rows_read=1,
            rows_bad=1,
            value="也许",
        ),
        Case(
            S,
            "ragged_rows.csv",
            csv_bytes([SUBJECT_HEADER, subject_row(114)[:3], subject_row(115) + ["多余", "更多"], subject_row(116)]),
            "quarantined",
            "required",
            "status",
            rows_read=3,
            rows_bad=1,
            notes="short row lacks required cells",
        ),
        Case(
            S,
            "wrong_region.csv",
            subjects_csv([subject_row(117, region="64010")]),
            "quarantined",
            "pattern",
            "region_code",
            rows_read=1,
            rows_bad=1,
        ),
        Case(
            S,
            "formula_error.xlsx",
            xlsx_bytes([SUBJECT_HEADER, subject_row(118, capital="#DIV/0!")]),
            "quarantined",
            "money",
            "registered_capital",
            rows_read=1,
            rows_bad=1,
        ),
        # --- odd but readable: every row loaded, values kept verbatim
        Case(
            S,
            "quoted_newlines.csv",
            subjects_csv([subject_row(119, rep="张\n三"), subject_row(120)]),
            "loaded",
            rows_read=2,
        ),
        Case(
            S,
            "one_megabyte_field.csv",
            subjects_csv([subject_row(121, name="大" * ((1 << 20) // 3 + 1)), subject_row(122)]),
            "tolerated",
            rows_read=2,
        ),
        Case(
            S,
            "sql_injection.csv",
            subjects_csv([subject_row(123, name=INJECTION, rep="'; select pg_sleep(30); --")]),
            "loaded",
            rows_read=1,
        ),
        Case(
            S,
            "control_characters.csv",
            subjects_csv([subject_row(124, name="银川\x01\x1b[31m红\x7f公司\u202e", rep="\x08\x0b\x0c")]),
            "loaded",
            rows_read=1,
        ),
        Case(S, "semicolon_delimited.csv", subjects_csv([subject_row(125)], delimiter=";"), "loaded", rows_read=1),
        Case(
            S,
            "utf16.csv",
            b"\xff\xfe" + subjects_csv([subject_row(126)]).decode().encode("utf-16-le"),
            "loaded",
            rows_read=1,
        ),
        Case(S, "gbk.csv", subjects_csv([subject_row(127)], encoding="gb18030"), "loaded", rows_read=1),
        Case(
            S,
            "hostile_header.csv",
            csv_bytes(
                [SUBJECT_HEADER + ['"; drop table raw.subjects; --', "_file_sha256"], subject_row(128) + ["x", "y"]]
            ),
            "loaded",
            rows_read=1,
        ),
        Case(
            S,
            "unterminated_quote.csv",
            subjects_csv([subject_row(129)]) + f'{code(130)},"never closed,企业\r\n'.encode(),
            "tolerated",
            notes="csv module reads to the end of the file",
        ),
        # --- hostile file names: the name is data, the content is fine
        Case(S, "it's \"quoted\".csv", subjects_csv([subject_row(131)]), "loaded", rows_read=1),
        Case(
            S, "with space; and semicolon $(touch pwned).csv", subjects_csv([subject_row(132)]), "loaded", rows_read=1
        ),
        Case(S, "x'); drop table audit.file_ledger; --.csv", subjects_csv([subject_row(133)]), "loaded", rows_read=1),
        Case(S, long_name, subjects_csv([subject_row(134)]), "loaded", rows_read=1, notes="255 bytes"),
        Case(S, "new\nline\tand tab.csv", subjects_csv([subject_row(135)]), "loaded", rows_read=1),
        Case(
            S,
            b"gbk-\xd6\xd0\xce\xc4-\xff.csv",
            subjects_csv([subject_row(136)]),
            "tolerated",
            rows_read=1,
            notes="non-UTF-8 bytes in the name",
        ),
        # --- the same bytes again under another name
        Case(
            S,
            "resent good_subjects.csv",
            good_files()[0].data,
            "duplicate",
            "taken_once",
            notes="listed after good_subjects.csv (sorted), so it is the second delivery",
        ),
    ]
    return cases


def build(landing: Path) -> list[Case]:
    """Write the good files and the corpus into `landing`; returns every case (good ones first)."""
    cases = good_files() + bad_cases()
    for case in cases:
        folder = landing / case.feed
        folder.mkdir(parents=True, exist_ok=True)
        name = case.name if isinstance(case.name, bytes) else os.fsencode(case.name)
        with open(os.path.join(os.fsencode(folder), name), "wb") as f:
            f.write(case.data)
    # A folder that is no feed (a department's typo): reported, never read.
    stray = landing / "penalty"
    stray.mkdir(parents=True, exist_ok=True)
    (stray / "处罚.csv").write_bytes(subjects_csv([subject_row(999)]))
    return cases
