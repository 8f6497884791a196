"""Reading a delivered file as rows of cells, streaming (bounded memory), whatever its shape.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (a
superset of GBK); comma or tab. XLSX: openpyxl read-only, the sheet whose header matches the
contract best. Either way title rows and blank rows above the header are skipped: the header is
the row among the first `HEADER_SCAN_ROWS` that names the most contract columns.

Row numbers are as a person counts rows in the file: the record's position in a CSV (as Excel
shows it), the sheet row in an XLSX.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from include.feeds import Column, Feed

HEADER_SCAN_ROWS = 30
# A delivery holding NUL bytes is binary when at least one byte in BINARY_NUL_SHARE is a NUL
# (see `_kind_and_encoding`): text with a few bad cells stays far below that.
BINARY_NUL_SHARE = 10
NUL_SHOWN = "\u2400"  # ␀ (SYMBOL FOR NULL): a NUL character shown in text PostgreSQL can store
_CHUNK = 1 << 20
_HASH_CHUNK = 4 << 20
csv.field_size_limit(1 << 24)


class FileRejected(Exception):
    """The file as a whole cannot be loaded; the message says why in words a person can act on."""


@dataclass
class Fingerprint:
    sha256: str
    size_bytes: int
    encoding: str | None  # for text files: the encoding every byte decodes in
    kind: str  # csv | xlsx | empty | xls | binary
    nul_bytes: int = 0  # NUL bytes in the file (counted only in the blocks that hold one)


@dataclass
class Delivery:
    """An opened file: its header and a stream of (row_number, cells) below it."""

    headers: list[str]  # as in the file
    header_row: int
    rows: Iterator[tuple[int, list]]
    positions: dict[str, int]  # contract column → cell index
    detail: dict = field(default_factory=dict)
    close: Callable[[], None] = lambda: None
    nul_cells: bool = False  # a cell may hold a NUL character: the checks look for them


# --- fingerprint: one pass over the bytes for the hash, the kind and the encoding ---------------
def fingerprint(path: Path) -> Fingerprint:
    # The hash runs in a thread of its own (hashlib releases the GIL) while this one checks the
    # bytes: the two passes cost one, and nothing else can start before the sha256 is known.
    digest = hashlib.sha256()
    hashing = threading.Thread(target=_hash_into, args=(digest, path), name="ingest-sha256", daemon=True)
    hashing.start()
    size = 0
    utf8 = _Utf8Check()
    nul_bytes = 0
    head = b""
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                if not head:
                    head = chunk[:8192]
                size += len(chunk)
                if b"\x00" in chunk:  # memchr: a clean file pays nothing more
                    nul_bytes += chunk.count(b"\x00")
                utf8.feed(chunk)
    finally:
        hashing.join()
    kind, encoding = _kind_and_encoding(path, head, size, utf8.finish(), nul_bytes)
    return Fingerprint(digest.hexdigest(), size, encoding, kind, nul_bytes)


def _hash_into(digest, path: Path) -> None:
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)


class _Utf8Check:
    """Whether a stream of bytes is valid UTF-8, by Arrow's validator (a third of the time of
    Python's decoder, and no decoded copy); a sequence cut by a chunk's end is carried over."""

    def __init__(self):
        import pyarrow as pa  # here, not at import: the DAG files import this module

        self._pa = pa
        self.ok = True
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        if not self.ok:
            return
        data = self._carry + chunk if self._carry else chunk
        cut = len(data)
        for i in range(len(data) - 1, max(len(data) - 4, 0) - 1, -1):
            if data[i] < 0x80 or data[i] >= 0xC0:  # ASCII or a lead byte: a sequence starts here
                cut = i
                break
        self._carry = data[cut:]
        self.ok = self._valid(data[:cut])

    def finish(self) -> bool:
        return self.ok and self._valid(self._carry)

    def _valid(self, data: bytes) -> bool:
        pa = self._pa
        offsets = pa.py_buffer((len(data) << 32).to_bytes(8, "little"))  # int32 offsets 0, len(data)
        try:
            pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
        except pa.ArrowInvalid:
            return False
        return True


def _kind_and_encoding(path: Path, head: bytes, size: int, utf8_ok: bool, nul_bytes: int) -> tuple[str, str | None]:
    """What the file is, from its first bytes and the one pass's counts.

    NUL bytes alone do not make a file binary: a CSV exported from a database may hold a NUL in
    a cell or two, and its other rows are good (the row is quarantined, rule
    `control_character`). A file is binary (rejected whole, rule `format`) when
      - NUL bytes are at least 1 in BINARY_NUL_SHARE of its bytes: images, executables and
        database files are full of them, and so is text in UTF-16/UTF-32 without a byte-order
        mark (every ASCII character carries a NUL), while text with bad cells has a few; or
      - it holds NUL bytes and is not text in UTF-8 nor GB18030 (`open_csv` finds that on the
        pass that checks GB18030 anyway): PNG, PDF, compressed or random bytes. Without NUL bytes
        such a file is text with bad bytes, and the encoding rejection names the line.
    """
    if size == 0:
        return "empty", None
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls", None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv", "utf-16"
    if nul_bytes and nul_bytes * BINARY_NUL_SHARE >= size:
        return "binary", None
    if head.startswith(codecs.BOM_UTF8):
        return ("csv", "utf-8-sig") if utf8_ok else ("csv", None)
    return "csv", ("utf-8" if utf8_ok else "gb18030")


# --- header matching ------------------------------------------------------------------------
_UNIT = re.compile(r"\([^)]*\)$")
_SPACE = re.compile(r"\s+")


def header_key(text: str) -> str:
    """Headers compare after NFKC (（）→ ()), without spaces, case-blind, without a trailing `*`."""
    folded = unicodedata.normalize("NFKC", str(text or ""))
    return _SPACE.sub("", folded).lower().strip("*").replace("＊", "")


def header_index(feed: Feed) -> dict[str, Column]:
    """Every accepted spelling of every column's header (Chinese, without the unit, English, aliases)."""
    index: dict[str, Column] = {}
    for col in feed.columns:
        for spelling in (col.header, col.name, *col.aliases):
            key = header_key(spelling)
            index.setdefault(key, col)
            index.setdefault(_UNIT.sub("", key), col)
    return index


def _match_header(cells: list, index: dict[str, Column]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        key = header_key(cell) if cell is not None else ""
        col = index.get(key) or index.get(_UNIT.sub("", key))
        if key and col is not None:
            found.setdefault(col.name, []).append(i)
    return found


def _find_header(rows: list[tuple[int, list]], feed: Feed) -> tuple[int, int, dict[str, list[int]]] | None:
    """(position in `rows`, row number, matches) of the row naming the most contract columns."""
    index = header_index(feed)
    best = None
    for pos, (number, cells) in enumerate(rows):
        matches = _match_header(cells, index)
        if matches and (best is None or len(matches) > len(best[2])):
            best = (pos, number, matches)
    return best


def _positions(
    feed: Feed, file_name: str, header_row: int, headers: list, matches: dict[str, list[int]]
) -> dict[str, int]:
    twice = {name: idx for name, idx in matches.items() if len(idx) > 1}
    if twice:
        name, idx = next(iter(twice.items()))
        shown = " and ".join(f"{_column_letter(i)} {str(headers[i]).strip()!r}" for i in idx)
        raise FileRejected(
            f"{file_name}, row {header_row}: column {name} appears twice in the header "
            f"({shown}); rule: header_unique; remove one of them"
        )
    missing = [c for c in feed.required_columns if c.name not in matches]
    if missing:
        names = ", ".join(f"{c.header} ({c.name})" for c in missing)
        raise FileRejected(
            f"{file_name}, row {header_row}: required column(s) missing from the header: "
            f"{names}; rule: required_column; header found: "
            f"{' | '.join(str(h).strip() for h in headers if h not in (None, ''))}"
        )
    return {name: idx[0] for name, idx in matches.items()}


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return f"column {letters}"


def _blank_row(cells: list) -> bool:
    for c in cells:
        if c is not None and (type(c) is not str or (c and not c.isspace())):
            return False
    return True


def shown_text(text: str) -> str:
    """Text PostgreSQL can store (text and jsonb refuse U+0000): a NUL character shown as ␀."""
    return text.replace("\x00", NUL_SHOWN) if "\x00" in text else text


def _open_with_header(
    file_name: str,
    feed: Feed,
    rows: Iterator[tuple[int, list]],
    detail: dict,
    close=lambda: None,
    nul_cells: bool = False,
) -> Delivery:
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    found = _find_header(head, feed)
    if found is None:
        close()
        expected = ", ".join(c.header for c in feed.required_columns[:4])
        raise FileRejected(
            f"{file_name}: no header row in the first {HEADER_SCAN_ROWS} rows names a column "
            f"of feed {feed.id} (expected e.g. {expected}); rule: header_row"
        )
    pos, header_row, matches = found
    headers = ["" if h is None else str(h) for h in head[pos][1]]
    if nul_cells:  # a header cell with a NUL matches no column; it is shown (and stored) with ␀
        headers = list(map(shown_text, headers))
    positions = _positions(feed, file_name, header_row, headers, matches)
    body = itertools.chain(head[pos + 1 :], rows)
    data = ((n, cells) for n, cells in body if not _blank_row(cells))
    detail = dict(
        detail,
        header_row=header_row,
        columns_matched=len(positions),
        columns_ignored=[h for i, h in enumerate(headers) if h.strip() and i not in positions.values()],
    )
    return Delivery(headers, header_row, data, positions, detail, close, nul_cells)


# --- CSV --------------------------------------------------------------------------------------
def _sniff_delimiter(path: Path, encoding: str, feed: Feed) -> str:
    with path.open("r", encoding=encoding, errors="replace", newline="") as f:
        sample = f.read(65536)
    best, best_score = ",", -1
    for delimiter in (",", "\t", ";", "|"):
        rows = list(enumerate(csv.reader(io.StringIO(sample), delimiter=delimiter), start=1))[:HEADER_SCAN_ROWS]
        found = _find_header(rows, feed)
        score = len(found[2]) if found else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(path: Path, encoding: str, delimiter: str, file_name: str) -> Iterator[tuple[int, list]]:
    with path.open("r", encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=False)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except UnicodeDecodeError as exc:
            raise FileRejected(
                f"{file_name}, row {number + 1}: bytes that are not {encoding} "
                f"(at byte {exc.start} of a read block: {exc.object[exc.start : exc.start + 4]!r}); "
                f"rule: encoding; save the file as UTF-8 or GB18030"
            ) from None
        except csv.Error as exc:
            raise FileRejected(
                f"{file_name}, row {number + 1}: the CSV is malformed ({exc}); rule: csv_syntax"
            ) from None


def _first_undecodable(path: Path, encoding: str) -> tuple[int, bytes] | None:
    """(line number, bytes) of the first bytes that do not decode, or None. Text IO reads ahead in
    blocks, so the error must be located on the bytes to name the line a person can look at."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with path.open("rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                return lines_before + data[: exc.start].count(b"\n") + 1, data[exc.start : exc.start + 4]
            if not chunk:
                return None
            lines_before += chunk.count(b"\n")


def open_csv(path: Path, file_name: str, feed: Feed, encoding: str | None, nul_bytes: int = 0) -> Delivery:
    if encoding is None:
        raise FileRejected(
            f"{file_name}: starts with a UTF-8 byte-order mark but is not valid UTF-8; "
            f"rule: encoding; save it again as UTF-8"
        )
    if encoding not in ("utf-8", "utf-8-sig"):  # UTF-8 was verified by the fingerprint pass
        bad = _first_undecodable(path, encoding)
        if bad is not None and nul_bytes:  # NUL bytes and no text encoding: binary (_kind_and_encoding)
            raise FileRejected(
                f"{file_name}: binary content ({_nul_count(nul_bytes)}, and from line {bad[0]} on "
                f"bytes such as {bad[1]!r} that are not text in UTF-8 nor GB18030), neither CSV "
                f"nor .xlsx; rule: format; {_EXPORT_AGAIN}"
            )
        if bad is not None:
            # Name the encoding the file got furthest in: that is the one it was meant to be in.
            bad_utf8 = _first_undecodable(path, "utf-8") or (0, b"")
            meant, (line, sample) = ("UTF-8", bad_utf8) if bad_utf8[0] >= bad[0] else (encoding.upper(), bad)
            raise FileRejected(
                f"{file_name}, line {line}: bytes {sample!r} are not valid {meant} (nor any other "
                f"accepted encoding); rule: encoding; save the file as UTF-8 or GB18030"
            )
    delimiter = _sniff_delimiter(path, encoding, feed)
    detail = {"format": "csv", "encoding": encoding, "delimiter": "tab" if delimiter == "\t" else delimiter}
    # Cells may hold a NUL character when the bytes hold one (UTF-16: any file may, U+0000 is two
    # of its NUL bytes); only then do the checks look for it, at a cost per row.
    nul_cells = bool(nul_bytes) or encoding == "utf-16"
    return _open_with_header(
        file_name, feed, _csv_rows(path, encoding, delimiter, file_name), detail, nul_cells=nul_cells
    )


_EXPORT_AGAIN = "export the data again as CSV (UTF-8, GB18030, or UTF-16 with its byte-order mark) or .xlsx"


def _nul_count(nul_bytes: int) -> str:
    return "1 NUL byte" if nul_bytes == 1 else f"{nul_bytes:,} NUL bytes"


# --- XLSX -------------------------------------------------------------------------------------
def _sheet_rows(ws, file_name: str, min_row: int = 1) -> Iterator[tuple[int, list]]:
    try:
        for number, cells in enumerate(ws.iter_rows(min_row=min_row, values_only=True), start=min_row):
            yield number, list(cells)
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, SyntaxError) as exc:
        # SyntaxError: the XML parsers' errors (ElementTree's ParseError, lxml's XMLSyntaxError),
        # e.g. a raw control character in a sheet: nothing after it can be read.
        raise FileRejected(
            f"{file_name}, sheet {ws.title!r}: the workbook is damaged or truncated "
            f"({type(exc).__name__}: {exc}); rule: xlsx_readable; export it again"
        ) from None


def open_xlsx(path: Path, file_name: str, feed: Feed) -> Delivery:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged zip or XML
        raise FileRejected(
            f"{file_name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
            f"rule: xlsx_readable; save it again from Excel as .xlsx"
        ) from None
    try:
        best = None
        sheets = []
        for ws in wb.worksheets:
            ws.reset_dimensions()  # some writers record a wrong sheet size; read what is there
            head = list(itertools.islice(_sheet_rows(ws, file_name), HEADER_SCAN_ROWS))
            found = _find_header(head, feed)
            sheets.append(ws.title)
            if found and (best is None or len(found[2]) > len(best[1][2])):
                best = (ws, found)
        if best is None:
            raise FileRejected(
                f"{file_name}: no sheet ({', '.join(sheets)}) has a header row naming a column of "
                f"feed {feed.id} in its first {HEADER_SCAN_ROWS} rows; rule: header_row"
            )
        ws = best[0]
        detail = {"format": "xlsx", "sheet": ws.title, "sheets": sheets}
        return _open_with_header(file_name, feed, _sheet_rows(ws, file_name), detail, close=wb.close)
    except BaseException:
        wb.close()
        raise


def open_delivery(path: Path, file_name: str, feed: Feed, fp: Fingerprint) -> Delivery:
    if fp.kind == "empty":
        raise FileRejected(f"{file_name}: the file is empty (0 bytes); rule: not_empty; deliver it again")
    if fp.kind == "xls":
        raise FileRejected(f"{file_name}: legacy Excel 97-2003 (.xls) workbook; rule: format; save it as .xlsx or CSV")
    if fp.kind == "binary":
        share = fp.nul_bytes / fp.size_bytes
        raise FileRejected(
            f"{file_name}: binary content ({_nul_count(fp.nul_bytes)}, {share:.0%} of the file), "
            f"neither CSV nor .xlsx; rule: format; {_EXPORT_AGAIN}"
        )
    if fp.kind == "xlsx":
        # No cell read from a workbook holds a NUL: XML cannot carry one (a raw one makes the
        # sheet unreadable, rule xlsx_readable), and openpyxl leaves Excel's `_x0000_` as written.
        return open_xlsx(path, file_name, feed)
    return open_csv(path, file_name, feed, fp.encoding, fp.nul_bytes)
