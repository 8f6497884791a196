"""Which rows of a table a gate validates: all of them, or only what is new (docs/quality.md, "Scope").

A scope is given per table, structured (never as SQL text), and rendered here with quoted
identifiers and checked literals:

    {"raw.tax": {"_file_sha256": ["<sha256>", ...]}}    # the files this ingest run loaded
    {"staging.stg_tax": {"_load_xid": {"min": 7342}}}  # rows loaded at/after a snapshot xmin

An empty file list means nothing was loaded: the gate does not scan the table at all.

Not every expectation can be judged on a subset of rows; `split` decides, per expectation type:
- row-level (`expect_column_values_*` but uniqueness, `expect_column_pair_values_*`,
  `expect_multicolumn_*`, `unexpected_rows_expectation`): a row passes or fails on its own
  (and on other tables), so the scoped rows are exactly the rows to judge. Old rows were judged by
  the run that brought them, and their failures are in that run's `audit.gate_results`.
- uniqueness (`expect_column_values_to_be_unique`, `expect_compound_columns_to_be_unique`): a new
  row can collide with an old one. Scoped only when every scope column is part of the key
  (raw's `(_file_sha256, _row_number)` scoped by file: all rows of a key's file are in scope);
  otherwise over the whole table.
- everything else (row counts, column sets, distinct values, aggregates): a statement about the
  table, so over the whole table, as before.
- a suite author can force the whole table for one expectation with `meta.scope = "table"`
  (e.g. an `unexpected_rows_expectation` that compares rows with each other), or the scoped rows
  with `meta.scope = "rows"` — for uniqueness the table's unique index already enforces (dbt
  staging keys, `indexes: unique`): no new row can collide with an old one, the database refuses it.
"""

from __future__ import annotations

import re

from psycopg import sql

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The columns a scope may name, and how their condition is written.
SCOPE_COLUMNS = ("_file_sha256", "_load_xid")

ROW_LEVEL_PREFIXES = (
    "expect_column_values_",
    "expect_column_pair_values_",
    "expect_multicolumn_",
    "expect_select_column_values_",
)
ROW_LEVEL_TYPES = {"unexpected_rows_expectation"}
UNIQUENESS_TYPES = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}


class ScopeError(ValueError):
    """A scope that cannot be turned into a safe condition."""


def check(table: str, spec: dict) -> dict:
    """Validate one table's scope; return it normalised (sorted unique sha256s, int xmin)."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ScopeError(f"scope of {table}: expected one column, e.g. {{'_file_sha256': [...]}}; got {spec!r}")
    ((column, value),) = spec.items()
    if column == "_file_sha256":
        values = sorted(set(value)) if isinstance(value, (list, tuple, set, frozenset)) else None
        bad = [v for v in values or [] if not isinstance(v, str) or not SHA256.match(v)]
        if values is None or bad:
            raise ScopeError(
                f"scope of {table}: _file_sha256 must be a list of sha256 hex digests; bad: {bad or value!r}"
            )
        return {column: values}
    if column == "_load_xid":
        low = value.get("min") if isinstance(value, dict) else None
        if isinstance(low, bool) or not re.fullmatch(r"[0-9]+", str(low)):
            raise ScopeError(f"scope of {table}: _load_xid needs {{'min': <xid8 as integer>}}; got {value!r}")
        return {column: {"min": int(low)}}
    raise ScopeError(f"scope of {table}: unknown scope column {column!r}; known: {SCOPE_COLUMNS}")


def is_empty(spec: dict) -> bool:
    return spec.get("_file_sha256") == []


def query(schema: str, table: str, spec: dict) -> sql.Composed:
    """`select * from <table> where <scope>`, identifiers quoted, literals checked and quoted."""
    ((column, value),) = spec.items()
    if column == "_file_sha256":
        # array['…', …] rather than a '{…}' literal: GX formats query text, where braces are syntax.
        values = sql.SQL(", ").join(sql.Literal(v) for v in value)
        condition = sql.SQL("{} = any(array[{}]::text[])").format(sql.Identifier(column), values)
    else:
        condition = sql.SQL("{} >= {}::xid8").format(sql.Identifier(column), sql.Literal(str(value["min"])))
    return sql.SQL("select * from {} where {}").format(sql.Identifier(schema, table), condition)


def is_scoped(expectation: dict, spec: dict) -> bool:
    """True when the expectation means the same on the scoped rows as on the whole table."""
    forced = (expectation.get("meta") or {}).get("scope")
    if forced in ("table", "rows"):
        return forced == "rows"
    kind = expectation["type"]
    if kind in UNIQUENESS_TYPES:
        kwargs = expectation.get("kwargs") or {}
        key = set(kwargs.get("column_list") or [kwargs.get("column")])
        return set(spec) <= key
    return kind in ROW_LEVEL_TYPES or kind.startswith(ROW_LEVEL_PREFIXES)


def split(expectations: list[dict], spec: dict) -> tuple[list[dict], list[dict]]:
    """(expectations run on the scoped rows, expectations run on the whole table)."""
    scoped = [e for e in expectations if is_scoped(e, spec)]
    whole = [e for e in expectations if not is_scoped(e, spec)]
    return scoped, whole
