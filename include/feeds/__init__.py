"""The feed contracts (docs/spec/CONTRACT.md §3), one YAML file per feed in this folder.

A contract is data: adding a feed is a new `<feed>.yaml` here plus its staging model, no Python.
The loader validates every file strictly, so a typo in a contract fails loudly at import time
of the DAGs rather than silently loading wrong columns.

    from include import feeds
    feeds.load_contracts()        # {feed_id: Feed}
    feeds.get("penalties")        # Feed
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONTRACT_DIR = Path(__file__).resolve().parent

TYPES = ("text", "uscc", "id", "date", "month", "money", "int", "flag", "enum")
# How each contract type is stored in raw.<feed> (docs/internals.md).
PG_TYPES = {
    "text": "text",
    "uscc": "text",
    "id": "text",
    "enum": "text",
    "date": "date",
    "month": "date",
    "money": "numeric",
    "int": "bigint",
    "flag": "boolean",
}
RULES = ("required_unless", "required_if", "id_is_person_if", "category_matches_uscc")
SEVERITIES = ("error", "warning")
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,58}$")


class ContractError(ValueError):
    """A contract file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str  # English name: the raw column and the English header
    header: str  # Chinese header as in the departments' templates
    type: str
    required: bool = False
    values: tuple[str, ...] = ()  # enum values
    multi: bool = False  # multi-valued enum, joined by `separator` in raw
    separator: str = ";"
    pattern: str | None = None  # extra regex a text value must match
    pattern_hint: str | None = None
    aliases: tuple[str, ...] = ()  # other headers departments use for this column
    blank_means: str | None = None  # documentation for staging: what a blank value stands for

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.type]


@dataclass(frozen=True)
class Rule:
    """A cross-field rule. `when`/`unless` map another column to the values that trigger it."""

    rule: str
    column: str
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unless: dict[str, tuple[str, ...]] = field(default_factory=dict)
    category_column: str | None = None
    severity: str = "error"


@dataclass(frozen=True)
class Freshness:
    """How long after its latest delivery (by AS_OF) a feed is overdue: a warning after
    `warn_after_days`, an error after `error_after_days` (include/freshness.py)."""

    warn_after_days: int = 35
    error_after_days: int = 45


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    description: str
    columns: tuple[Column, ...]
    business_key: tuple[str, ...]
    reference_date: tuple[str, ...] = ()  # date columns tried in order; then the arrival date
    rules: tuple[Rule, ...] = ()
    path: Path | None = None
    # The department that delivers the feed (name, uscc): its rejected files go back to it, and
    # its rows' problems too unless `unit_columns` name the row's own 数据来源单位.
    reporting_unit: tuple[str, str] = ("", "")
    unit_columns: tuple[str, ...] = ()  # (name column, uscc column) of the row's data-source unit
    correction_key: tuple[str, ...] = ()  # matches a resubmitted row to a quarantined one

    @property
    def correction_columns(self) -> tuple[str, ...]:
        return self.correction_key or self.business_key

    freshness: Freshness = Freshness()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"feed {self.id!r} has no column {name!r}")

    @property
    def id_columns(self) -> list[Column]:
        return [c for c in self.columns if c.type == "id"]

    @property
    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required]


def _fail(path: Path, message: str) -> ContractError:
    return ContractError(f"{path.name}: {message}")


def _as_values(path: Path, where: str, raw) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise _fail(path, f"{where}: expected a list of strings, got {raw!r}")
    return tuple(raw)


def _column(path: Path, raw: dict) -> Column:
    known = {
        "name",
        "header",
        "type",
        "required",
        "values",
        "multi",
        "separator",
        "pattern",
        "pattern_hint",
        "aliases",
        "blank_means",
    }
    if not isinstance(raw, dict):
        raise _fail(path, f"a column must be a mapping, got {raw!r}")
    unknown = set(raw) - known
    if unknown:
        raise _fail(path, f"column {raw.get('name')!r}: unknown keys {sorted(unknown)}")
    name, header, typ = raw.get("name"), raw.get("header"), raw.get("type")
    if not isinstance(name, str) or not _IDENT.match(name):
        raise _fail(path, f"column name {name!r} must be lower_snake_case")
    if not isinstance(header, str) or not header.strip():
        raise _fail(path, f"column {name!r}: header missing")
    if typ not in TYPES:
        raise _fail(path, f"column {name!r}: type {typ!r} is not one of {TYPES}")
    values = _as_values(path, f"column {name!r} values", raw.get("values", []))
    if typ == "enum" and not values:
        raise _fail(path, f"column {name!r}: enum without values")
    if raw.get("multi") and typ != "enum":
        raise _fail(path, f"column {name!r}: only an enum can be multi-valued")
    pattern = raw.get("pattern")
    if pattern is not None:
        re.compile(pattern)
    return Column(
        name=name,
        header=header.strip(),
        type=typ,
        required=bool(raw.get("required", False)),
        values=values,
        multi=bool(raw.get("multi", False)),
        separator=str(raw.get("separator", ";")),
        pattern=pattern,
        pattern_hint=raw.get("pattern_hint"),
        aliases=_as_values(path, f"column {name!r} aliases", raw.get("aliases", [])),
        blank_means=raw.get("blank_means"),
    )


def _rule(path: Path, raw: dict, names: set[str]) -> Rule:
    if not isinstance(raw, dict) or raw.get("rule") not in RULES:
        raise _fail(path, f"rule {raw!r}: `rule` must be one of {RULES}")
    column = raw.get("column")
    if column not in names:
        raise _fail(path, f"rule {raw['rule']}: unknown column {column!r}")
    conditions = {}
    for key in ("when", "unless"):
        cond = raw.get(key) or {}
        for other, _vals in cond.items():
            if other not in names:
                raise _fail(path, f"rule {raw['rule']}: unknown column {other!r} in {key}")
        conditions[key] = {k: _as_values(path, f"rule {raw['rule']} {key}", v) for k, v in cond.items()}
    category = raw.get("category_column")
    if raw["rule"] == "category_matches_uscc" and category not in names:
        raise _fail(path, f"rule category_matches_uscc needs category_column, got {category!r}")
    severity = raw.get("severity", "error")
    if severity not in SEVERITIES:
        raise _fail(path, f"rule {raw['rule']}: severity {severity!r} not in {SEVERITIES}")
    return Rule(
        rule=raw["rule"],
        column=column,
        when=conditions["when"],
        unless=conditions["unless"],
        category_column=category,
        severity=severity,
    )


def _freshness(path: Path, raw) -> Freshness:
    if raw is None:
        return Freshness()
    if not isinstance(raw, dict) or set(raw) - {"warn_after_days", "error_after_days"}:
        raise _fail(path, f"freshness: expected {{warn_after_days: N, error_after_days: M}}, got {raw!r}")
    values = {**Freshness().__dict__, **raw}
    warn, error = values["warn_after_days"], values["error_after_days"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (warn, error)) or warn > error:
        raise _fail(
            path, f"freshness: days must be positive integers with warn_after_days <= error_after_days, got {raw!r}"
        )
    return Freshness(warn_after_days=warn, error_after_days=error)


def parse_contract(path: Path) -> Feed:
    """Read and validate one contract file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(path, f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise _fail(path, "a contract must be a mapping")
    feed_id = raw.get("feed")
    if feed_id != path.stem:
        raise _fail(path, f"`feed: {feed_id}` must equal the file name {path.stem!r}")
    if not _IDENT.match(feed_id):
        raise _fail(path, f"feed id {feed_id!r} must be lower_snake_case")
    columns = tuple(_column(path, c) for c in raw.get("columns") or [])
    if not columns:
        raise _fail(path, "no columns")
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise _fail(path, "a column name appears twice")
    for col in columns:
        if col.type == "id" and (f"{col.name}_key" in names or f"{col.name}_masked" in names):
            raise _fail(path, f"column {col.name}: {col.name}_key/_masked are reserved for the pseudonym")
    business_key = _as_values(path, "business_key", raw.get("business_key") or [])
    reference = _as_values(path, "reference_date", raw.get("reference_date") or [])
    for name in business_key + reference:
        if name not in names:
            raise _fail(path, f"unknown column {name!r} in business_key/reference_date")
    for name in reference:
        if columns[names.index(name)].type != "date":
            raise _fail(path, f"reference_date column {name!r} is not a date")
    rules = tuple(_rule(path, r, set(names)) for r in raw.get("rules") or [])
    unit = raw.get("reporting_unit") or {"name": "未指定报送单位", "uscc": "-"}
    if not (
        isinstance(unit, dict)
        and set(unit) == {"name", "uscc"}
        and all(isinstance(unit[k], str) and unit[k].strip() for k in unit)
    ):
        raise _fail(path, f"reporting_unit must be {{name: <department>, uscc: <its code>}}, got {unit!r}")
    unit_columns = _as_values(path, "unit_columns", raw.get("unit_columns") or [])
    if unit_columns and len(unit_columns) != 2:
        raise _fail(path, "unit_columns must be [<name column>, <uscc column>]")
    correction_key = _as_values(path, "correction_key", raw.get("correction_key") or [])
    for name in unit_columns + correction_key:
        if name not in names:
            raise _fail(path, f"unknown column {name!r} in unit_columns/correction_key")
    return Feed(
        id=feed_id,
        title=str(raw.get("title", feed_id)),
        description=str(raw.get("description", "")),
        columns=columns,
        business_key=business_key,
        reference_date=reference,
        rules=rules,
        path=path,
        reporting_unit=(unit["name"].strip(), unit["uscc"].strip()),
        unit_columns=unit_columns,
        correction_key=correction_key,
        freshness=_freshness(path, raw.get("freshness")),
    )


@functools.cache
def _load(directory: str) -> dict[str, Feed]:
    return {p.stem: parse_contract(p) for p in sorted(Path(directory).glob("*.yaml"))}


def load_contracts(directory: Path | None = None) -> dict[str, Feed]:
    """Every feed contract, by feed id (sorted). Cached: contracts are read once per process."""
    return dict(_load(str(directory or CONTRACT_DIR)))


def get(feed_id: str) -> Feed:
    contracts = load_contracts()
    try:
        return contracts[feed_id]
    except KeyError:
        raise KeyError(f"unknown feed {feed_id!r}; known feeds: {', '.join(contracts)}") from None


def feed_ids() -> list[str]:
    return list(load_contracts())
