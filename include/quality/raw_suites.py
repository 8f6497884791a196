"""Generate the `raw` checkpoint's suites from the feed contracts (include/feeds/*.yaml).

The raw gate re-checks, after each load, what the contract promises about `raw.<feed>`: every row
traced to its file (sha256, name, row number, once each), required fields present, codes in the
GB 32100 alphabet, enums within their values, patterns held, personal identity numbers keyed and
masked. The JSON under expectations/raw/ is what reviewers read and what the gate runs; after
changing a contract, regenerate it and review the diff:

    python -m include.quality.raw_suites
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from include import feeds
from include.feeds import Column, Feed
from include.quality.suites import EXPECTATIONS_DIR

log = logging.getLogger(__name__)

USCC_RE = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
SHA256_RE = "^[0-9a-f]{64}$"


def _e(type_: str, kwargs: dict, description: str, severity: str = "blocking") -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity}, "description": description}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _lineage(feed: Feed) -> list[dict]:
    # A raw row names its file by sha256 and its row; the file's name and times are its ledger row
    # (`_received` may be NULL: every cell equals its column, docs/internals.md).
    out = [
        _e("expect_column_values_to_not_be_null", {"column": c}, f"{c} is recorded for every row")
        for c in ("_file_sha256", "_row_number")
    ]
    # GX wraps {batch} in its own aliased subquery: `_file_sha256` (no ledger column) is the row's.
    query = (
        "select * from {batch} where not exists (select 1 from audit.file_ledger as l"
        f" where l.feed = {_quote(feed.id)} and l.sha256 = _file_sha256 and l.status = 'loaded')"
    )
    out.append(
        _e(
            "unexpected_rows_expectation",
            {"unexpected_rows_query": query},
            "every row's file is a loaded file in audit.file_ledger (its name, arrival and load time)",
        )
    )
    out.append(
        _e(
            "expect_column_values_to_match_regex",
            {"column": "_file_sha256", "regex": SHA256_RE},
            "_file_sha256 is a sha256 hex digest",
        )
    )
    out.append(
        _e(
            "expect_column_values_to_be_between",
            {"column": "_row_number", "min_value": 1},
            "_row_number counts rows as a person does (from 1)",
        )
    )
    out.append(
        _e(
            "expect_compound_columns_to_be_unique",
            {"column_list": ["_file_sha256", "_row_number"]},
            "each row of each file is loaded once",
        )
    )
    return out


def _column(feed: Feed, c: Column) -> list[dict]:
    out = []
    if c.required:
        out.append(_e("expect_column_values_to_not_be_null", {"column": c.name}, f"{c.name} is required"))
    if c.type == "uscc":
        out.append(
            _e(
                "expect_column_values_to_match_regex",
                {"column": c.name, "regex": USCC_RE},
                f"{c.name} is an 18-character code in the GB 32100 alphabet",
            )
        )
    if c.type == "enum" and c.values and not c.multi:
        out.append(
            _e(
                "expect_column_values_to_be_in_set",
                {"column": c.name, "value_set": list(c.values)},
                f"{c.name} is one of the contract's values",
            )
        )
    if c.pattern:
        out.append(
            _e(
                "expect_column_values_to_match_regex",
                {"column": c.name, "regex": c.pattern},
                f"{c.name} matches {c.pattern_hint or c.pattern}",
            )
        )
    if c.type == "id":
        # The clear number may stay in raw; staging reads only the key and the masked form.
        query = (
            f"select * from {{batch}} where {c.name} is not null and ({c.name}_key is null or {c.name}_masked is null)"
        )
        out.append(
            _e(
                "unexpected_rows_expectation",
                {"unexpected_rows_query": query},
                f"every {c.name} has its pseudonym key and masked form",
            )
        )
    return out


def _rules(feed: Feed) -> list[dict]:
    out = []
    for rule in feed.rules:
        if rule.rule not in ("required_unless", "required_if") or len(rule.unless or rule.when) != 1:
            continue
        ((other, values),) = (rule.unless or rule.when).items()
        in_list = ", ".join(_quote(v) for v in values)
        negate = "not " if rule.rule == "required_unless" else ""
        query = f"select * from {{batch}} where {rule.column} is null and {negate}({other} in ({in_list}))"
        when = f"{other} not in ({', '.join(values)})" if negate else f"{other} in ({', '.join(values)})"
        out.append(
            _e(
                "unexpected_rows_expectation",
                {"unexpected_rows_query": query},
                f"{rule.column} is present when {when}",
                severity="blocking" if rule.severity == "error" else "warning",
            )
        )
    return out


def raw_suite(feed: Feed) -> dict:
    expectations = _lineage(feed)
    for column in feed.columns:
        expectations += _column(feed, column)
    expectations += _rules(feed)
    return {
        "name": f"raw.raw.{feed.id}",
        "meta": {
            "checkpoint": "raw",
            "schema": "raw",
            "table": feed.id,
            # A feed nobody has delivered yet has no table: reported, not blocking.
            "missing_table_severity": "warning",
            "purpose": f"{feed.title}: rows loaded from the landing zone",
            "generated_from": f"include/feeds/{feed.id}.yaml",
        },
        "expectations": expectations,
    }


def render(feed: Feed) -> str:
    return json.dumps(raw_suite(feed), ensure_ascii=False, indent=2) + "\n"


def write_raw_suites(directory: Path | None = None) -> list[Path]:
    folder = directory or EXPECTATIONS_DIR / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for feed in feeds.load_contracts().values():
        path = folder / f"raw.{feed.id}.json"
        path.write_text(render(feed), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for written_path in write_raw_suites():
        log.info("%s", written_path)
