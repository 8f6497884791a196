"""The fast path for regular CSV deliveries: pyarrow parses blocks of the file and builds the binary
COPY rows column by column in C++; Python only touches each column's *distinct* values (through the
same caches and converters as `checks.RowChecker`) and the rows that have a problem (handed to
`RowChecker.check_chunk`, which writes the messages). So both paths load the same rows and
quarantine the same problems; tests/ingest/test_vectorized*.py hold them to that.

Cross-field rules (penalties, licenses) are evaluated column-wise too, on the distinct values'
normalised forms: a row that breaks one (error or warning) is a problem row like any other.

When it applies: a CSV in UTF-8 or GB18030. Whenever a block is not "one record per line, every
record as wide as the header" (a quoted line break, a short or long row, a lone CR), the rest of
the file goes through Python's csv module instead, from that block's first record on: row
numbers stay as a person counts them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from include.feeds import Feed
from include.ingest import codes, pgbinary, values
from include.ingest.checks import ELIDED, RowChecker, received_array_head
from include.ingest.readers import Delivery, FileRejected, Fingerprint, _blank_row
from include.ingest.values import Bad

BLOCK_BYTES = 4 << 20  # bytes parsed at a time: bounded memory whatever the file size
FIRST_BLOCK_BYTES = 256 << 10  # a small first block: the server starts its share of the work sooner
MIN_BLOCKS = 16  # a smaller file in smaller blocks: the server's share overlaps to the end
HEAD_BYTES = 1 << 20  # the title rows and the header must lie within this
FAST_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")

# What Python's str.isspace() calls whitespace, as an RE2 class (\s in RE2 is ASCII only).
_WS = r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_BLANK = rf"^[{_WS}]*$"
# A text cell that clean_text() would return unchanged: no edge whitespace, no full-width forms.
_CLEAN_TEXT = rf"^[^{_WS}]([^\n]*[^{_WS}])?$"
_FULLWIDTH = r"[\x{ff01}-\x{ff5e}\x{3000}]"
_ASCII_WS = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
# Lead bytes of the UTF-8 forms of full-width characters (U+FF00–U+FF7F) and of the non-ASCII
# spaces Python strips (U+0085, U+00A0, U+1680, U+2000–U+205F, U+3000).
_SPECIAL_LEADS = np.zeros(256, dtype=bool)
_SPECIAL_LEADS[[0xC2, 0xE1, 0xE2, 0xE3, 0xEF]] = True
_SPECIAL_LEAD_BYTES = (b"\xc2", b"\xe1", b"\xe2", b"\xe3", b"\xef")


def applies(feed: Feed, delivery: Delivery, fp: Fingerprint) -> bool:
    return fp.kind == "csv" and fp.encoding in FAST_ENCODINGS and delivery.detail.get("format") == "csv"


# --- reading ----------------------------------------------------------------------------------
def data_offset(path, encoding: str, delimiter: str, header_row: int) -> int | None:
    """Byte offset of the record after the header, when the first `header_row` records are one
    line each (else None: the Python reader takes the whole file)."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    lines = head.split(b"\n")
    if len(lines) <= header_row:
        return None
    text = b"\n".join(lines[:header_row]) + b"\n"
    try:
        records = list(csv.reader(io.StringIO(text.decode(encoding), newline=""), delimiter=delimiter))
    except (UnicodeDecodeError, csv.Error):
        return None
    return len(text) if len(records) == header_row else None


def blocks(
    path, encoding: str, delimiter: str, width: int, offset: int, first_number: int, file_name: str, chunk_rows: int
) -> Iterator[tuple[str, int, object]]:
    """("arrow", number of the first record, pyarrow.Table of `width` string columns) per block;
    after the first irregular block, ("rows", 0, [(number, cells)]) batches of up to `chunk_rows`
    from Python's csv."""
    names = [f"c{i}" for i in range(width)]
    invalid: list = []

    def skip_invalid(row) -> str:
        invalid.append(row)
        return "skip"

    read_options = pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES + HEAD_BYTES, use_threads=False)
    parse_options = pacsv.ParseOptions(
        delimiter=delimiter,
        newlines_in_values=True,
        ignore_empty_lines=False,
        invalid_row_handler=skip_invalid,
    )
    # check_utf8=False: the fingerprint validated every byte of a UTF-8 file (a fifth of the parse),
    # and GB18030 blocks are transcoded by Python's codec.
    convert_options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=False,
    )
    transcode = encoding not in ("utf-8", "utf-8-sig")
    number = first_number
    with path.open("rb") as f:
        f.seek(offset)
        carry = b""
        size = FIRST_BLOCK_BYTES
        block_bytes = min(BLOCK_BYTES, max(FIRST_BLOCK_BYTES, path.stat().st_size // MIN_BLOCKS))
        while True:
            chunk = f.read(size)
            size = block_bytes
            data = carry + chunk
            if not data:
                return
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            if cut == 0:  # one line longer than a block: read on
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            lines = block.count(b"\n") + (not block.endswith(b"\n"))
            table = None
            try:
                table = pacsv.read_csv(
                    pa.py_buffer(block.decode(encoding).encode() if transcode else block),
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert_options,
                )
            except (pa.ArrowInvalid, UnicodeDecodeError):
                pass
            if table is None or invalid or table.num_rows != lines:
                # Not one record per line: Python's csv reads on from this block's first record.
                yield from _python_rows(path, encoding, delimiter, offset, number, file_name, chunk_rows)
                return
            yield "arrow", number, table
            number += lines
            offset += len(block)


def _python_rows(path, encoding: str, delimiter: str, offset: int, number: int, file_name: str, chunk_rows: int):
    decoding = "utf-8" if encoding == "utf-8-sig" else encoding  # the BOM lies before `offset`
    with path.open("rb") as raw:
        raw.seek(offset)
        text = io.TextIOWrapper(raw, encoding=decoding, newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=False)
        batch = []
        row_number = number
        try:
            for row_number, cells in enumerate(reader, start=number):
                if not _blank_row(cells):
                    batch.append((row_number, cells))
                    if len(batch) >= chunk_rows:
                        yield "rows", 0, batch
                        batch = []
        except csv.Error as exc:
            raise FileRejected(
                f"{file_name}, row {row_number + 1}: the CSV is malformed ({exc}); rule: csv_syntax"
            ) from None
        if batch:
            yield "rows", 0, batch


# --- checking and encoding --------------------------------------------------------------------
def _be32(values: np.ndarray) -> pa.Array:
    """int32 values → binary array of their 4-byte big-endian form (binary COPY's lengths and ints)."""
    data = values.astype(">i4").tobytes()
    return pa.Array.from_buffers(pa.binary(4), len(values), [None, pa.py_buffer(data)]).cast(pa.binary())


# Byte-level screens over a whole column's UTF-8 data (numpy, one pass): when they find
# nothing, no cell of the column needs the per-cell regular expressions (the common case).
def _column_bytes(column: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of the column's cells, end to end."""
    data = column.buffers()[2]
    if not len(column) or data is None:
        return np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32, count=len(column) + 1, offset=column.offset * 4)
    return np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]


def _may_hold_special(column: pa.Array) -> bool:
    """Some cell may hold a full-width character or a non-ASCII space (conservative)."""
    data = _column_bytes(column)
    blob = data.tobytes()
    # memchr per lead byte first (GB/s): Chinese text rarely holds any of them at all.
    if not any(lead in blob for lead in _SPECIAL_LEAD_BYTES):
        return False
    leads = np.flatnonzero(_SPECIAL_LEADS[data])
    if not len(leads):
        return False
    padded = np.concatenate([data, np.zeros(2, dtype=np.uint8)])
    first, second, third = padded[leads], padded[leads + 1], padded[leads + 2]
    return bool(
        (
            ((first == 0xEF) & ((second == 0xBC) | (second == 0xBD)))
            | ((first == 0xC2) & ((second == 0x85) | (second == 0xA0)))
            | ((first == 0xE1) & (second == 0x9A))
            | ((first == 0xE2) & ((second == 0x80) | (second == 0x81)))
            | ((first == 0xE3) & (second == 0x80) & (third == 0x80))
        ).any()
    )


def _rows_holding_nul(columns: list[pa.Array], n: int) -> np.ndarray:
    """Rows with a NUL character in any cell (of any file column): the per-row path quarantines
    them (rule `control_character`). A column without a zero byte is passed over at numpy speed."""
    rows = np.zeros(n, dtype=bool)
    for column in columns:
        data = _column_bytes(column)
        if len(data) and not data.all():
            rows |= pc.match_substring(column, "\x00").to_numpy(zero_copy_only=False)
    return rows


def _int4_fields(values: np.ndarray) -> pa.Array:
    """integer values → their binary COPY fields (length 4, then the value), one per row."""
    pairs = np.empty((len(values), 2), dtype=">i4")
    pairs[:, 0] = 4
    pairs[:, 1] = values
    return pa.Array.from_buffers(pa.binary(8), len(values), [None, pa.py_buffer(pairs.tobytes())]).cast(pa.binary())


def _lengths(values: pa.Array) -> pa.Array:
    """The 4-byte length prefixes of binary COPY fields holding `values`."""
    return _be32(pc.binary_length(values).to_numpy(zero_copy_only=False))


def _with_length(values: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(_lengths(values), values.cast(pa.binary()), b"")


class ColumnarChecker:
    """Binary COPY rows of a pyarrow block, problems through the RowChecker's per-row path."""

    def __init__(self, checker: RowChecker, feed: Feed):
        self.checker = checker
        self.width = checker.width
        self.types = ["pattern" if c.type == "text" and c.pattern else c.type for c in feed.columns]
        self.id_positions = checker.id_columns
        self.rules = feed.rules
        self.index = checker.index
        self.rule_columns = {
            checker.index[c] for r in feed.rules for c in (r.column, r.category_column, *r.when, *r.unless) if c
        }

    def usable(self) -> bool:
        """False once the Python path widened the file: its rows then carry more cells."""
        return self.checker.width == self.width

    @staticmethod
    def blank_rows(columns: list[pa.Array]) -> np.ndarray:
        """Rows whose every cell is blank (as `readers._blank_row`): only rows blank in the first
        column can be, so the other columns are looked at for those alone."""
        blank = pc.match_substring_regex(columns[0], _BLANK).to_numpy(zero_copy_only=False)
        for column in columns[1:]:
            candidates = np.flatnonzero(blank)
            if not len(candidates):
                break
            taken = pc.take(column, pa.array(candidates))
            blank[candidates] = pc.match_substring_regex(taken, _BLANK).to_numpy(zero_copy_only=False)
        return blank

    def encode(self, columns: list[pa.Array], numbers: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        """(binary COPY rows of the rows without problems, indices of the rows with one).

        Every row is one `binary_join_element_wise` over the pieces of all its fields, constant
        pieces merged: each argument of the join costs a pass over the rows."""
        n = len(numbers)
        pieces = _Pieces()
        pieces.add(self.checker.row_start)
        pieces.add(_int4_fields(numbers))
        bad, normalised = np.zeros(n, dtype=bool), {}
        received: list = [None] * len(columns)  # per file column: its `_received` elements, when not the cells
        elidable = self.checker.elidable
        for i, ((_name, pos, _), cache, kind) in enumerate(zip(self.checker.plan, self.checker.caches, self.types)):
            if pos is None:  # an optional column the file does not have
                pieces.add(pgbinary.NULL)
                continue
            column = columns[pos]
            if kind == "text":
                column_bad, received[pos] = self._text(column, pos, cache, pieces)
            else:
                field, column_bad, dictionary = self._by_distinct(column, cache)
                pieces.add(field)
                normalised[i] = dictionary
                if pos in elidable:
                    received[pos] = self._elements(pos, dictionary)
            if column_bad is not None:
                bad |= column_bad
        for i in self.id_positions:
            pieces.add(self._id_fields(i, columns, normalised.get(i)))
        if self.rules:
            bad |= self._rules_broken(columns, normalised, n)
        if self.checker.screen_nul:  # only files whose bytes hold a NUL
            bad |= _rows_holding_nul(columns, n)
        self._received(columns, received, pieces, n)
        rows = pieces.join()
        problem_rows = np.flatnonzero(bad)
        if len(problem_rows):
            rows = pc.filter(rows, pa.array(~bad))
        return rows, problem_rows

    def _text(self, column: pa.Array, pos: int, cache, pieces: _Pieces):
        """Text cells clean_text() leaves unchanged are stored as they are (and not again in
        `_received`); the rest go through it. (rows with a problem or None, `_received` elements)."""
        if _may_hold_special(column):
            clean = pc.and_not(
                pc.match_substring_regex(column, _CLEAN_TEXT), pc.match_substring_regex(column, _FULLWIDTH)
            )
        else:  # only ASCII whitespace can make a cell unclean: at its edges, or the whole cell
            length = pc.binary_length(column)
            clean = pc.and_(pc.equal(pc.binary_length(pc.ascii_trim(column, _ASCII_WS)), length), pc.greater(length, 0))
        if pc.all(clean).as_py() is not False:
            pieces.add(_lengths(column))
            pieces.add(column.cast(pa.binary()))
            return None, ELIDED
        others = pc.invert(clean)
        values = pc.filter(column, others).to_pylist()
        cache.fill(values)
        field = pc.replace_with_mask(
            _with_length(column), others, pa.array([cache.enc[v] for v in values], pa.binary())
        )
        pieces.add(field)
        elements = pc.replace_with_mask(
            pc.if_else(clean, pa.scalar(ELIDED, pa.binary()), pa.scalar(b"", pa.binary())),
            others,
            pa.array(self.checker.received_elements(pos, values), pa.binary()),
        )
        bad = np.zeros(len(column), dtype=bool)
        if cache.bad:
            bad[np.flatnonzero(others.to_numpy(zero_copy_only=False))] = [v in cache.bad for v in values]
        return (bad if bad.any() else None), elements

    def _by_distinct(self, column: pa.Array, cache):
        """Codes, dates, months, amounts, flags, enums: convert each distinct value once."""
        encoded = pc.dictionary_encode(column)
        distinct = encoded.dictionary.to_pylist()
        cache.fill(distinct)
        field = pa.array([cache.enc[v] for v in distinct], pa.binary()).take(encoded.indices)
        bad = None
        if cache.bad and not cache.bad.isdisjoint(distinct):
            bad = np.array([v in cache.bad for v in distinct], dtype=bool)[encoded.indices.to_numpy()]
        return field, bad, (encoded, distinct, cache)

    def _elements(self, pos: int, normalised) -> pa.Array | bytes:
        """`_received` elements of a text column converted by distinct value: one constant
        `ELIDED` when every cell is what the column holds (the usual case)."""
        encoded, distinct, _ = normalised
        per_value = self.checker.received_elements(pos, distinct)
        if per_value.count(ELIDED) == len(per_value):
            return ELIDED
        return pa.array(per_value, pa.binary()).take(encoded.indices)

    # -- cross-field rules: the same conditions as RowChecker._cross_field, one column at a time --
    def _rules_broken(self, columns: list[pa.Array], normalised: dict, n: int) -> np.ndarray:
        """Rows that break a rule (error or warning): they go to the per-row path, which writes
        the messages and loads the rows that only have warnings."""
        for i in self.rule_columns:  # a text column in a rule: its distinct values too
            pos = self.checker.plan[i][1]
            if i not in normalised and pos is not None:
                encoded = pc.dictionary_encode(columns[pos])
                distinct = encoded.dictionary.to_pylist()
                self.checker.caches[i].fill(distinct)
                normalised[i] = (encoded, distinct, self.checker.caches[i])
        broken = np.zeros(n, dtype=bool)
        for rule in self.rules:
            i = self.index[rule.column]
            value = self._per_row(normalised, i, n)
            if rule.rule == "required_unless":
                missing = value == None  # noqa: E711 (numpy: elementwise)
                broken |= missing & self._known(normalised, rule.unless, n) & ~self._holds(normalised, rule.unless, n)
            elif rule.rule == "required_if":
                broken |= (value == None) & self._holds(normalised, rule.when, n)  # noqa: E711
            elif rule.rule == "id_is_person_if":
                person = self._per_row(normalised, i, n, lambda v: v is not None and values.id_kind(v) == "person")
                broken |= (value != None) & self._holds(normalised, rule.when, n) & ~person.astype(bool)  # noqa: E711
            elif rule.rule == "category_matches_uscc":
                expected = self._per_row(
                    normalised,
                    i,
                    n,
                    lambda v: v and ("个体工商户" if codes.is_individual_business(v) else "法人及非法人组织"),
                )
                category = self._per_row(normalised, self.index[rule.category_column], n)
                broken |= (value != None) & (category != None) & (expected != category)  # noqa: E711
        return broken

    def _per_row(self, normalised: dict, i: int, n: int, of=None) -> np.ndarray:
        """An object array of each row's normalised value of column i (None when blank, missing
        or an error), or of `of(value)`: computed once per distinct value."""
        found = normalised.get(i)
        if found is None:
            out = np.empty(n, dtype=object)
            out[:] = None if of is None else of(None)
            return out
        encoded, distinct, cache = found
        per_value = np.empty(len(distinct), dtype=object)
        per_value[:] = [None if isinstance(v, Bad) else v for v in map(cache.map.__getitem__, distinct)]
        if of is not None:
            per_value[:] = [of(v) for v in per_value]
        return per_value[encoded.indices.to_numpy()]

    def _known(self, normalised: dict, cond: dict, n: int) -> np.ndarray:
        known = np.ones(n, dtype=bool)
        for column in cond:
            known &= self._per_row(normalised, self.index[column], n) != None  # noqa: E711
        return known

    def _holds(self, normalised: dict, cond: dict, n: int) -> np.ndarray:
        holds = np.ones(n, dtype=bool)
        for column, accepted in cond.items():
            holds &= self._per_row(
                normalised, self.index[column], n, lambda v, accepted=accepted: v in accepted
            ).astype(bool)
        return holds

    def _id_fields(self, i: int, columns, normalised) -> pa.Array | pa.Scalar:
        if normalised is None:
            return pa.scalar(pgbinary.NULL * 2, pa.binary())
        encoded, distinct, cache = normalised
        per_value = [self.checker.id_fields(cache.map[v]) for v in distinct]
        return pa.array(per_value, pa.binary()).take(encoded.indices)

    def _received(self, columns: list[pa.Array], received: list, pieces: _Pieces, n: int) -> None:
        """The `_received` field: a binary `text[]`, the cells in file order, `ELIDED` where the
        cell is its raw column's canonical text; NULL for a row of elided cells only (as
        `RowChecker._received`). Its length is the constant parts' plus the cells'."""
        if all(e is ELIDED for e in received):  # the usual regular delivery: nothing to store
            pieces.add(pgbinary.NULL)
            return
        parts = _Pieces()
        parts.add(received_array_head(len(columns)))
        for column, elements in zip(columns, received):
            if elements is None:  # a column stored as received: the cells themselves
                parts.add(_lengths(column))
                parts.add(column.cast(pa.binary()))
            else:
                parts.add(elements)
        if any(e is None for e in received):  # some cell is always stored: no row is all elided
            pieces.add(_be32(parts.lengths(n)))
            pieces.extend(parts)
            return
        elided = pa.array(np.ones(n, dtype=bool))
        for elements in received:
            if elements is not ELIDED:
                elided = pc.and_(elided, pc.equal(elements, pa.scalar(ELIDED, pa.binary())))
        parts.items.insert(0, _be32(parts.lengths(n)))
        pieces.add(pc.if_else(elided, pa.scalar(pgbinary.NULL, pa.binary()), parts.join()))


class _Pieces:
    """Arguments of one `binary_join_element_wise`: arrays, and bytes merged into one scalar."""

    def __init__(self):
        self.items: list = []

    def add(self, item) -> None:
        if isinstance(item, pa.Scalar):
            item = item.as_py()
        if isinstance(item, bytes):
            if self.items and isinstance(self.items[-1], bytes):
                self.items[-1] += item
                return
        self.items.append(item)

    def extend(self, other: _Pieces) -> None:
        for item in other.items:
            self.add(item)

    def lengths(self, n: int) -> np.ndarray:
        """Bytes per row of the joined pieces."""
        total = np.zeros(n, dtype=np.int64)
        for item in self.items:
            if isinstance(item, bytes):
                total += len(item)
            else:
                total += pc.binary_length(item).to_numpy(zero_copy_only=False)
        return total

    def join(self) -> pa.Array:
        args = [pa.scalar(i, pa.binary()) if isinstance(i, bytes) else i for i in self.items]
        return pc.binary_join_element_wise(*args, b"")


class Rows:
    """A chunk of binary COPY rows held by pyarrow; `load.write_chunk` writes its bytes at once."""

    def __init__(self, rows: pa.Array):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def payload(self) -> memoryview:
        offsets = np.frombuffer(
            self.rows.buffers()[1], dtype=np.int32, count=len(self.rows) + 1, offset=self.rows.offset * 4
        )
        return memoryview(self.rows.buffers()[2])[offsets[0] : offsets[-1]]


def python_cells(columns: list[pa.Array], indices: np.ndarray) -> list[list]:
    """The cells of some rows as Python lists, for the per-row path."""
    taken = [pc.take(c, pa.array(indices)).to_pylist() for c in columns]
    return [list(cells) for cells in zip(*taken)]
