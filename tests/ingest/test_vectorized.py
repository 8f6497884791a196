"""The fast path (pyarrow, include/ingest/vectorized.py) against the general path (Python rows):
the same messy file must give the very same raw rows and quarantine rows either way."""

from __future__ import annotations

import datetime as dt
import decimal

import psycopg
import pytest

from include.ingest import ensure_schemas, load, load_file, pgbinary, vectorized

from .helpers import ALIBABA, TENCENT, VILLAGE, assert_accounted, deliver, quarantine, raw_rows

HEADER = "统一社会信用代码,户名,户号,类别,账期,应缴金额（元）,实缴金额（元）,缴费日期,供应单位"
ARRIVED = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)

# Every kind of cell the checks treat specially, in rows that one-record-per-line blocks can hold.
MESSY_ROWS = [
    f"{ALIBABA},阿里巴巴,A-001,水,2022-03,\"1,234.50\",1234.5,2022/3/5,银川市自来水公司",
    "９１３３０１００７１６１０５８５２Ｆ, 阿里巴巴 ,A-002,电,2022年4月,１００,100,2022年4月5日,国网银川供电公司",
    ",,,,,,,,",  # blank row: counted, not read
    f"{VILLAGE},某村集体\u3000,V-9,气,202205,80,80,20220603,燃气公司",
    f"{ALIBABA[:17]}X,阿里巴巴,A-003,气,2022-05,100,90,2022-02-30,燃气公司",
    f"{TENCENT},,T-1,热,2022-13,abc,10,,热力公司",
    f"{TENCENT},\"腾讯 \"\"深圳\"\"\",T-2,电,2022-06,\"-0.50\",+7.,2022.06.30,供电\\局",
    f"{TENCENT},\"Tab\there\",T-3,电,2022-06,0,0.00,2022-06-30,\u00a0供电公司",
    f"{TENCENT},腾讯,\t,电,2022-06,1,1,,供电公司",
    f"{TENCENT},腾讯,T-5,Ｙ,2022-06,1,1,,供电公司",
    "",  # an empty line
    f"{TENCENT},腾讯,T-6,电,2022-06,1,1,45000,供电公司",
]


def _file(rows: list[str], title: str) -> str:
    return "\ufeff" + "\r\n".join([title, HEADER, *rows]) + "\r\n"


def _comparable_raw(db: str, sha: str) -> list[dict]:
    rows = raw_rows(db, "utilities", sha)
    for r in rows:
        r.pop("_file_sha256")
    return rows


def _comparable_quarantine(db: str, sha: str) -> list[tuple]:
    return [
        (p["row_number"], p["column_name"], p["rule"], p["value"], p["message"], p["severity"])
        for p in quarantine(db, sha)
    ]


def _load_both(db, tmp_path, monkeypatch, rows: list[str], tag: str, spy: list | None = None):
    """Load the rows once by each path (titles differ so the bytes do); both results."""
    results = {}
    for path_name in ("fast", "general"):
        landing = tmp_path / path_name
        deliver(landing, "utilities", "bills.csv", _file(rows, f"水电气缴费 {tag} {path_name}"), mtime=ARRIVED)
        with monkeypatch.context() as m:
            if path_name == "general":
                m.setattr(vectorized, "applies", lambda *a: False)
            elif spy is not None:
                real = vectorized.ColumnarChecker.encode
                m.setattr(
                    vectorized.ColumnarChecker,
                    "encode",
                    lambda self, *a, real=real: (spy.append(len(a[1])), real(self, *a))[1],
                )
            results[path_name] = load_file(db, "utilities", "bills.csv", landing)
        assert results[path_name]["status"] == "loaded", results[path_name]
        assert_accounted(db, results[path_name])
    return results["fast"], results["general"]


@pytest.fixture(scope="module")
def db(scratch_db):
    ensure_schemas(scratch_db)
    return scratch_db


def _assert_same(db, fast, general):
    assert {k: fast[k] for k in ("rows_read", "rows_loaded", "rows_quarantined")} == {
        k: general[k] for k in ("rows_read", "rows_loaded", "rows_quarantined")
    }
    assert _comparable_raw(db, fast["sha256"]) == _comparable_raw(db, general["sha256"])
    assert _comparable_quarantine(db, fast["sha256"]) == _comparable_quarantine(db, general["sha256"])


def test_fast_and_general_paths_load_the_same_rows_and_problems(db, tmp_path, monkeypatch):
    encoded = []
    fast, general = _load_both(db, tmp_path, monkeypatch, MESSY_ROWS, "messy", spy=encoded)
    assert encoded, "the fast path was not taken"
    _assert_same(db, fast, general)
    assert (fast["rows_read"], fast["rows_loaded"]) == (10, 5)
    loaded = {r["account_no"]: r for r in _comparable_raw(db, fast["sha256"])}
    assert loaded["T-2"]["name"] == '腾讯 "深圳"' and loaded["T-2"]["received"]["户名"] == '腾讯 "深圳"'
    assert loaded["T-2"]["provider"] == "供电\\局" and str(loaded["T-2"]["amount_due"]) == "-0.50"
    assert loaded["T-3"]["name"] == "Tab\there" and loaded["T-3"]["provider"] == "供电公司"
    assert loaded["A-002"]["uscc"] == ALIBABA and loaded["A-002"]["name"] == "阿里巴巴"
    assert [r["_row_number"] for r in raw_rows(db, "utilities", fast["sha256"])] == [3, 4, 6, 9, 10]
    rules = {(p[0], p[2]) for p in _comparable_quarantine(db, fast["sha256"])}
    assert {
        (7, "uscc_check"),
        (7, "date"),
        (8, "required"),
        (8, "enum"),
        (11, "required"),
        (12, "enum"),
        (14, "date"),
    } <= rules


def test_a_line_break_inside_a_cell_hands_the_rest_of_the_file_to_python(db, tmp_path, monkeypatch):
    """Blocks before the irregular one stay on the fast path; numbering stays as a person counts."""
    monkeypatch.setattr(vectorized, "FIRST_BLOCK_BYTES", 256)
    monkeypatch.setattr(vectorized, "BLOCK_BYTES", 512)
    regular = [f"{TENCENT},腾讯,R-{i},电,2022-06,{i},{i},2022-06-{1 + i % 28:02d},供电公司" for i in range(40)]
    rows = regular + [f"{TENCENT},\"腾讯\r\n深圳\",L-1,电,2022-06,1,1,,供电公司"] + MESSY_ROWS + regular[:5]
    encoded = []
    fast, general = _load_both(db, tmp_path, monkeypatch, rows, "multiline", spy=encoded)
    assert encoded and sum(encoded) < len(rows)  # fast at first, Python after the line break
    _assert_same(db, fast, general)
    numbers = [r["_row_number"] for r in raw_rows(db, "utilities", fast["sha256"])]
    assert numbers[:3] == [3, 4, 5] and 43 in numbers and 44 in numbers  # the 2-line record is row 43


def test_rows_wider_or_narrower_than_the_header_match_too(db, tmp_path, monkeypatch):
    rows = MESSY_ROWS + [f"{TENCENT},腾讯,W-1,电,2022-06,1,1,,供电公司,extra", f"{TENCENT},腾讯,W-2,电"]
    fast, general = _load_both(db, tmp_path, monkeypatch, rows, "ragged")
    _assert_same(db, fast, general)
    wide = [r for r in raw_rows(db, "utilities", fast["sha256"]) if r["account_no"] == "W-1"][0]
    assert wide["received"]["(column J)"] == "extra"


def test_gb18030_files_take_the_fast_path(db, tmp_path, monkeypatch):
    landing = tmp_path / "gb"
    deliver(landing, "utilities", "gb.csv", _file(MESSY_ROWS, "GB 文件").lstrip("\ufeff"), encoding="gb18030")
    encoded = []
    real = vectorized.ColumnarChecker.encode
    monkeypatch.setattr(vectorized.ColumnarChecker, "encode", lambda self, *a: (encoded.append(1), real(self, *a))[1])
    result = load_file(db, "utilities", "gb.csv", landing)
    assert encoded and (result["rows_read"], result["rows_loaded"]) == (10, 5)
    assert {r["name"] for r in raw_rows(db, "utilities", result["sha256"])} >= {"阿里巴巴", '腾讯 "深圳"'}


def test_the_writer_keeps_at_most_a_few_chunks_queued(db, tmp_path, monkeypatch):
    """Memory stays bounded whatever the file size: the checks wait for the server."""
    monkeypatch.setattr(load, "CHUNK_ROWS", 5)
    sizes = []
    real_put = load.PipelinedWriter.write

    def spy(self, data):
        sizes.append(self._chunks.qsize())
        real_put(self, data)

    monkeypatch.setattr(load.PipelinedWriter, "write", spy)
    rows = [f"{TENCENT},腾讯,Q-{i},电,2022-06,{i},{i},,供电公司" for i in range(60)]
    landing = tmp_path / "queued"
    deliver(landing, "utilities", "q.csv", _file(rows, "queue"))
    assert load_file(db, "utilities", "q.csv", landing)["rows_loaded"] == 60
    assert sizes and max(sizes) <= load.QUEUED_CHUNKS


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0.00",
        "1234.50",
        "+7.",
        ".5",
        "0.0001",
        "10000",
        "-99999999.123456789",
        "100000000",
        "12345678901234567890.5",
    ],
)
def test_binary_numeric_round_trips_through_postgresql(db, text):
    assert _round_trip(db, "numeric", pgbinary.numeric(text)) == decimal.Decimal(text)


def test_binary_dates_timestamps_and_flags_round_trip(db):
    assert _round_trip(db, "date", pgbinary.date("1900-01-01")) == dt.date(1900, 1, 1)
    assert _round_trip(db, "date", pgbinary.date("2099-12-31")) == dt.date(2099, 12, 31)
    moment = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC)
    assert _round_trip(db, "timestamptz", pgbinary.timestamptz(moment)) == moment
    assert _round_trip(db, "boolean", pgbinary.boolean("t")) is True
    assert _round_trip(db, "bigint", pgbinary.bigint("-9223372036854775808")) == -(2**63)
    assert _round_trip(db, "text", pgbinary.NULL) is None


def _round_trip(db: str, pg_type: str, field: bytes):
    with psycopg.connect(db) as conn:
        conn.execute(f"create temporary table t (v {pg_type})")
        with conn.cursor() as cur, cur.copy("copy t from stdin with (format binary)") as copy:
            copy.write(pgbinary.SIGNATURE + pgbinary.row_header(1) + field + pgbinary.TRAILER)
        return conn.execute("select v from t").fetchone()[0]
