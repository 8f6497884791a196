"""Row checks: delivered rows → binary COPY rows for raw.<feed>, and their problems for the quarantine.

Built once per file (`RowChecker`), then called per chunk of rows. A chunk is processed column by
column: each column's *distinct* values are converted once (deliveries repeat codes, months,
dates, names endlessly) into a bounded per-column cache, then the whole column is mapped at C
speed. Rows with a problem, and feeds with cross-field rules, take the per-row path that writes
the messages. This is the general path (XLSX, irregular CSV); `include.ingest.vectorized` is the
fast path for regular CSV and hands its problem rows to `check_chunk` here, so both give the
same rows and the same messages.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from include.feeds import Feed
from include.ingest import codes, pgbinary, values
from include.ingest.readers import NUL_SHOWN, Delivery, _column_letter, shown_text
from include.ingest.values import Bad

_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"
CACHE_LIMIT = 20_000  # distinct values kept per column: bounds memory on unique columns
TEXT_OID = 25  # pg_type oid of `text`: binary COPY names an array's element type
ELIDED = pgbinary.NULL  # a `_received` element equal to its raw column: stored as NULL


_CANONICAL_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def _same_text(received: str, normalised: str) -> bool:
    return received == normalised


def _same_month(received: str, normalised: str) -> bool:
    return received == normalised[:7]  # 'YYYY-MM' of the stored 'YYYY-MM-01'


def _same_decimal(received: str, normalised: str) -> bool:
    # Only what numeric's own output would print again: no '+', '.5', '7.', leading zeros, '-0'.
    return (
        received == normalised
        and _CANONICAL_DECIMAL.fullmatch(received) is not None
        and not (received[0] == "-" and not received.strip("-0."))
    )


def elision(column) -> tuple[str, object] | None:
    """(how audit.received_rows names the raw column a cell stands for, test(received text,
    normalised text) → whether the cell is exactly that column's canonical text), or None when
    the column's cells are always stored (flags: 是/Y/1 all mean true). SQL's canonical text:
    text as is, date 'YYYY-MM-DD', month (`<col>/month`) 'YYYY-MM', numeric and bigint as printed."""
    if column.pg_type == "text" or column.type in ("date", "int"):
        return column.name, _same_text
    if column.type == "month":
        return f"{column.name}/month", _same_month
    if column.type == "money":
        return column.name, _same_decimal
    return None


def received_array_head(width: int) -> bytes:
    """The fixed part of a binary `text[]` of `width` cells: one dimension, may hold NULLs,
    element type text, `width` elements from index 1."""
    return struct.pack("!iiiii", 1, 1, TEXT_OID, width, 1)


def copy_text(value: str | None) -> str:
    """A value in COPY's text format."""
    if value is None:
        return NULL
    return value.translate(_COPY_ESCAPE) if _NEEDS_ESCAPE(value) else value


@dataclass
class Problem:
    column_name: str | None
    rule: str
    value: str
    message: str
    severity: str = "error"


class _Blank(Bad):
    """The cached outcome of a blank required cell."""


def _nul_positions(cells: list) -> list[int]:
    """File columns whose cell holds a NUL character."""
    return [pos for pos, cell in enumerate(cells) if type(cell) is str and "\x00" in cell]


def _nul_problem(value: str) -> str:
    count = value.count("\x00")
    what = "a NUL character" if count == 1 else f"{count} NUL characters"
    return (
        f"the cell holds {what} (U+0000, shown here as {NUL_SHOWN}) at character {value.index(chr(0)) + 1}, "
        f"which is not text and cannot be stored; delete it from the cell (exports from other systems "
        f"leave it) and deliver the row again"
    )


def _received_keys(headers: list[str]) -> list[str]:
    """Names of the received cells (the ledger's `received_headers`, the keys of
    audit.received_rows): the header as in the file; blank or repeated ones get their column."""
    keys, seen = [], set()
    for i, h in enumerate(headers):
        key = h.strip() or f"({_column_letter(i)})"
        if key in seen:
            key = f"{key} ({_column_letter(i)})"
        seen.add(key)
        keys.append(key)
    return keys


class _ColumnCache:
    """value as read → normalised text (None for NULL, or a `Bad`) in `map`, and → its binary
    COPY field in `enc` (errors have none), one per contract column."""

    def __init__(self, convert, required: bool, encode):
        self.convert = convert
        self.required = required
        self.encode = encode
        self.map: dict = {}
        self.enc: dict = {}
        self.bad: set = set()  # keys whose outcome is an error

    def fill(self, column) -> None:
        if len(self.map) > CACHE_LIMIT:
            self.map.clear()
            self.enc.clear()
            self.bad.clear()
        new = set(column).difference(self.map)
        for value in new:
            self.map[value] = outcome = self.outcome(value)
            if isinstance(outcome, Bad):
                self.bad.add(value)
                self.enc[value] = b""
            else:
                self.enc[value] = pgbinary.NULL if outcome is None else self.encode(outcome)

    def outcome(self, value):
        if value is None or (type(value) is str and (not value or value.isspace())):
            return _Blank("required", "a value is required") if self.required else None
        try:
            return self.convert(value)
        except Bad as bad:
            return bad


class RowChecker:
    def __init__(
        self, feed: Feed, delivery: Delivery, *, file_name: str, sha256: str, arrival_date: str, pseudonym_key: bytes
    ):
        self.feed = feed
        self.file_name = file_name
        self.key = pseudonym_key
        self.arrival_date = arrival_date
        self.index = {n: i for i, n in enumerate(feed.column_names)}
        headers = delivery.headers
        self.width = len(headers)
        self.plan = []  # (name, position in the row or None, shown header)
        self.caches = []
        for col in feed.columns:
            pos = delivery.positions.get(col.name)
            shown = headers[pos].strip() if pos is not None else col.header
            self.plan.append((col.name, pos, shown))
            self.caches.append(_ColumnCache(values.make_converter(col), col.required, pgbinary.encoder(col.pg_type)))
        self.id_columns = [self.index[c.name] for c in feed.id_columns]
        self.contract_positions = {pos for _, pos, _ in self.plan if pos is not None}
        self.id_cache: dict[str, bytes] = {}
        self.reference = [self.index[n] for n in feed.reference_date]
        self.rules = feed.rules
        self.keys = _received_keys(headers)
        self.header_width = len(headers)
        # File column → (index in `plan` of the contract column it feeds, name in received_from,
        # test): a cell that is exactly its raw column's canonical text is not stored twice.
        self.elidable: dict[int, tuple] = {}
        for i, ((_, pos, _), col) in enumerate(zip(self.plan, feed.columns)):
            how = elision(col)
            if pos is not None and how is not None:
                self.elidable[pos] = (i, *how)
        self.received_caches: list[dict] = [{} for _ in self.keys]  # cell → its `_received` element
        self.xlsx = delivery.detail.get("format") == "xlsx"
        # Cells may hold a NUL (U+0000), which PostgreSQL text cannot store: such a row is
        # quarantined, rule `control_character`. Looked for only in files whose bytes hold a NUL.
        # Other control characters are text PostgreSQL stores: kept as received, like any value.
        self.screen_nul = delivery.nul_cells
        # Binary COPY: every row starts with its field count, the file's fields are the same in every row.
        fields = 2 + len(feed.columns) + 2 * len(self.id_columns) + 1
        self.row_start = pgbinary.row_header(fields) + pgbinary.text(sha256)

    def received_detail(self) -> dict:
        """What the ledger keeps once per file to show `_received` (audit.received_rows): the
        header per file column, and the raw column a NULL cell stands for (or None)."""
        return {
            "received_headers": list(self.keys),
            "header_width": self.header_width,
            "received_from": [self.elidable[pos][1] if pos in self.elidable else None for pos in range(self.width)],
        }

    # -- messages ---------------------------------------------------------------------------
    def problem(
        self,
        number: int,
        column: str | None,
        shown: str,
        rule: str,
        value,
        text: str,
        severity: str = "error",
        where: str | None = None,
    ) -> Problem:
        received = shown_text(values.cell_text(value))
        where = where or (f"column {shown!r} ({column})" if column else "the row")
        message = f"{self.file_name}, row {number}, {where}: rule {rule}: {text}; value {received!r}"
        return Problem(column, rule, received, message, severity)

    # -- a chunk --------------------------------------------------------------------------------
    def check_chunk(
        self, rows: list[tuple[int, list]]
    ) -> tuple[list[bytes], list[tuple[int, list, list[Problem], bool]]]:
        """(binary COPY rows to load, [(row number, cells, problems, rejected)] of rows with problems)."""
        cells_of = self._fit([c for _, c in rows])
        by_column = list(zip(*cells_of)) if cells_of else [()] * self.width
        outs, encs = [], []
        suspect: set[int] = set()
        for (_name, pos, _), cache in zip(self.plan, self.caches):
            column = by_column[pos] if pos is not None else (None,) * len(rows)
            cache.fill(column)
            outs.append(list(map(cache.map.__getitem__, column)))
            encs.append(map(cache.enc.__getitem__, column))
            if cache.bad and not cache.bad.isdisjoint(column):
                suspect.update(i for i, v in enumerate(column) if v in cache.bad)
        if self.screen_nul:
            suspect.update(i for i, (_, cells) in enumerate(rows) if _nul_positions(cells))
        per_row = list(zip(*outs))
        fields = list(map(b"".join, zip(*encs))) if rows else []
        if self.id_columns:
            ids = [self._id_fields(r) for r in per_row]
        received = self._received(by_column, len(rows))
        lines, flagged = [], []
        start, integer = self.row_start, pgbinary.integer
        check_rules = bool(self.rules)
        for i, (number, cells) in enumerate(rows):
            if i in suspect or check_rules:
                problems = self._row_problems(number, cells, per_row[i])
                if problems:
                    rejected = any(p.severity == "error" for p in problems)
                    flagged.append((number, cells, problems, rejected))
                    if rejected:
                        continue
            lines.append(b"".join((start, integer(number), fields[i], ids[i] if self.id_columns else b"", received[i])))
        return lines, flagged

    def _fit(self, rows: list[list]) -> list[list]:
        """Every row to the header's width: pad short rows; a wider row with non-blank cells beyond
        the header widens the file (those cells belong in `_received` too)."""
        width = self.width
        lengths = set(map(len, rows))
        if lengths <= {width}:
            return rows
        widest = max(lengths)
        if widest > width and any(not values.is_blank(c) for r in rows if len(r) > width for c in r[width:]):
            self._widen(widest)
            width = widest
        return [
            r if len(r) == width else (list(r) + [None] * (width - len(r)) if len(r) < width else r[:width])
            for r in rows
        ]

    def _widen(self, width: int) -> None:
        # A cell beyond the header still belongs in `_received`: named by its column letter.
        for i in range(self.width, width):
            self.keys.append(f"({_column_letter(i)})")
            self.received_caches.append({})
        self.width = width

    def received_element(self, pos: int, value) -> bytes:
        """A cell's element of the binary `_received` array: `ELIDED` when it is exactly its raw
        column's canonical text (audit.received_rows shows that column's value), else the text.
        Called after the column's cache was filled with `value`."""
        received = self.received_text(value)
        how = self.elidable.get(pos)
        if how is not None:
            normalised = self.caches[how[0]].map.get(value)
            if type(normalised) is str and how[2](received, normalised):
                return ELIDED
        return pgbinary.text(received)

    def received_elements(self, pos: int, values) -> list[bytes]:
        """`received_element` of each value, through the file column's bounded cache."""
        cache = self.received_caches[pos]
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        for value in set(values).difference(cache):
            cache[value] = self.received_element(pos, value)
        return list(map(cache.__getitem__, values))

    def _received(self, by_column: list[tuple], n: int) -> list[bytes]:
        """The `_received` field (`text[]`, binary) of each row, from per-column cached elements.
        Called after the contract columns' caches were filled for the same rows."""
        columns = []
        for pos, (column, cache) in enumerate(zip(by_column, self.received_caches)):
            if len(cache) > CACHE_LIMIT:
                cache.clear()
            for value in set(column).difference(cache):
                cache[value] = self.received_element(pos, value)
            columns.append(map(cache.__getitem__, column))
        head, field = received_array_head(self.width), pgbinary.field
        if not columns:
            return [field(head)] * n
        # A row whose every cell is elided stores NULL: nothing to add to its columns.
        elided, null = ELIDED * self.width, pgbinary.NULL
        return [null if elements == elided else field(head + elements) for elements in map(b"".join, zip(*columns))]

    def received_text(self, value) -> str:
        """A cell as received: CSV text as read, XLSX cells as a person sees them."""
        return values.cell_text(value) if self.xlsx or type(value) is not str else value

    def id_fields(self, code) -> bytes:
        """The `<col>_key` and `<col>_masked` fields of one normalised id (None/Bad → NULLs)."""
        if code is None or isinstance(code, Bad):
            return pgbinary.NULL + pgbinary.NULL
        fields = self.id_cache.get(code)
        if fields is None:
            if len(self.id_cache) > CACHE_LIMIT:
                self.id_cache.clear()
            if values.id_kind(code) == "person":
                fields = pgbinary.text(codes.pseudonym(code, self.key)) + pgbinary.text(codes.masked(code))
            else:
                fields = pgbinary.text(code) * 2
            self.id_cache[code] = fields
        return fields

    def _id_fields(self, out: tuple) -> bytes:
        return b"".join(self.id_fields(out[i]) for i in self.id_columns)

    # -- the per-row path: messages and cross-field rules ---------------------------------------
    def _row_problems(self, number: int, cells: list, out: Sequence) -> list[Problem]:
        problems = []
        nul = _nul_positions(cells) if self.screen_nul else None
        if nul:  # the NUL is the cell's one problem: what else the cell breaks follows from it
            out = [
                Bad("control_character", _nul_problem(cells[pos])) if pos in nul else outcome
                for (_, pos, _), outcome in zip(self.plan, out)
            ]
        for (name, pos, shown), outcome in zip(self.plan, out):
            if isinstance(outcome, Bad):
                value = cells[pos] if pos is not None and pos < len(cells) else None
                problems.append(self.problem(number, name, shown, outcome.rule, value, outcome.problem))
        if nul:  # cells of no contract column (kept in `_received`) too
            for pos in nul:
                if pos not in self.contract_positions:
                    key = self.keys[pos] if pos < len(self.keys) else f"({_column_letter(pos)})"
                    problems.append(
                        self.problem(
                            number,
                            key,
                            key,
                            "control_character",
                            cells[pos],
                            _nul_problem(cells[pos]),
                            where=f"column {key!r} ({_column_letter(pos)}, not in the contract)",
                        )
                    )
        if self.rules:
            norm = [None if isinstance(v, Bad) else v for v in out]
            self._cross_field(number, cells, norm, problems)
        return problems

    def _cross_field(self, number: int, cells: list, out: list, problems: list[Problem]) -> None:
        failed = {p.column_name for p in problems}
        for rule in self.rules:
            i = self.index[rule.column]
            name, pos, shown = self.plan[i]
            value = cells[pos] if pos is not None and pos < len(cells) else None
            if name in failed:
                continue
            if rule.rule == "required_unless" and out[i] is None:
                if rule.unless and self._known(out, rule.unless) and not self._holds(out, rule.unless):
                    problems.append(
                        self.problem(
                            number,
                            name,
                            shown,
                            rule.rule,
                            value,
                            f"a value is required unless {self._describe(rule.unless)}",
                            rule.severity,
                        )
                    )
            elif rule.rule == "required_if" and out[i] is None:
                if self._holds(out, rule.when):
                    problems.append(
                        self.problem(
                            number,
                            name,
                            shown,
                            rule.rule,
                            value,
                            f"a value is required when {self._describe(rule.when)}",
                            rule.severity,
                        )
                    )
            elif rule.rule == "id_is_person_if" and out[i] is not None:
                if self._holds(out, rule.when) and values.id_kind(out[i]) != "person":
                    problems.append(
                        self.problem(
                            number,
                            name,
                            shown,
                            rule.rule,
                            value,
                            f"must be a resident ID when {self._describe(rule.when)}",
                            rule.severity,
                        )
                    )
            elif rule.rule == "category_matches_uscc" and out[i] is not None:
                category = out[self.index[rule.category_column]]
                if category is None:
                    continue
                expected = "个体工商户" if codes.is_individual_business(out[i]) else "法人及非法人组织"
                if category != expected:
                    problems.append(
                        self.problem(
                            number,
                            name,
                            shown,
                            rule.rule,
                            value,
                            f"the code's category (positions 1–2 {out[i][:2]!r}) means {expected}, "
                            f"but {rule.category_column} is {category}",
                            rule.severity,
                        )
                    )

    def _known(self, out: list, cond: dict) -> bool:
        return all(out[self.index[c]] is not None for c in cond)

    def _holds(self, out: list, cond: dict) -> bool:
        return all(out[self.index[c]] in vals for c, vals in cond.items())

    @staticmethod
    def _describe(cond: dict) -> str:
        return " and ".join(f"{c} is {'/'.join(v)}" for c, v in cond.items())

    # -- giving a row back (docs/departments.md) ------------------------------------------------
    def header_of(self, column: str | None) -> str | None:
        """The header a person sees for a problem's column (a contract column's, as in the file)."""
        if column in self.index:
            return self.plan[self.index[column]][2]
        return column

    def _normalised(self, name: str, cells: list) -> str | None:
        """A contract column's value as raw stores it (text), else as cleaned: what keys compare."""
        i = self.index[name]
        pos = self.plan[i][1]
        value = cells[pos] if pos is not None and pos < len(cells) else None
        if values.is_blank(value):
            return None
        out = self.caches[i].outcome(value)
        if isinstance(out, Bad) or out is None:
            col = self.feed.columns[i]
            return values.normalise_code(value) if col.type in ("uscc", "id") else values.clean_text(value)
        return str(out)

    def returned(self, cells: list) -> tuple[str | None, str | None, str, str]:
        """(unit, unit_uscc, correction key as JSON, cells as JSON {header: cell}) of a row with a
        problem: what audit.quarantine keeps to give the row back and to see it corrected."""
        unit, unit_uscc = self.feed.reporting_unit
        if self.feed.unit_columns:
            name, uscc = (self._normalised(c, cells) for c in self.feed.unit_columns)
            if uscc:  # a row without its unit's code goes back to the feed's reporting unit
                unit, unit_uscc = name, uscc  # a blank name: the unit's other rows name it
        key = [
            (v.replace("\x00", "") if v else v)
            for v in (self._normalised(c, cells) for c in self.feed.correction_columns)
        ]
        # jsonb cannot hold a NUL (U+0000): a cell's NUL is dropped here (the quarantine's
        # `value` and message show where it was).
        shown = {
            k: (None if values.is_blank(c) else self.received_text(c).replace("\x00", ""))
            for k, c in zip(self.keys, cells)
        }
        return (unit, unit_uscc, json.dumps(key, ensure_ascii=False), json.dumps(shown, ensure_ascii=False))

    def reference_date_of(self, cells: list) -> str | None:
        """The row's date for the indicators' window: the first readable reference date column,
        else the file's arrival date; None for feeds without one (docs/internals.md)."""
        if not self.reference:
            return None
        for i in self.reference:
            pos = self.plan[i][1]
            value = cells[pos] if pos is not None and pos < len(cells) else None
            if not values.is_blank(value):
                try:
                    return values.to_date(value)
                except Bad:
                    pass
        return self.arrival_date
