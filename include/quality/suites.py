"""The expectation suites, as reviewable JSON files under `expectations/<checkpoint>/`.

Each file is a Great Expectations 1.x suite (`name`, `meta`, `expectations`), one per table:
`expectations/<checkpoint>/<schema>.<table>.json`. The suite's `meta` names the table it checks;
every expectation's `meta.severity` says whether a failure blocks publication (`blocking`) or is
only reported (`warning`). Loading refuses a file that lacks either, so a suite cannot silently
lose its severity in review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from include.settings import REPO_ROOT

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEVERITIES = ("blocking", "warning")


class SuiteError(ValueError):
    """A suite file that cannot be used as written."""


@dataclass(frozen=True)
class Suite:
    checkpoint: str
    schema: str
    table: str
    path: Path
    document: dict  # the JSON as written: what GX's ExpectationSuite(**document) takes

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def missing_table_severity(self) -> str:
        return self.document.get("meta", {}).get("missing_table_severity", "blocking")

    @property
    def expectations(self) -> list[dict]:
        return self.document["expectations"]


def _check(path: Path, document: dict, checkpoint: str) -> Suite:
    meta = document.get("meta") or {}
    for key in ("schema", "table"):
        if not meta.get(key):
            raise SuiteError(f"{path}: suite meta has no {key!r}")
    if meta.get("missing_table_severity", "blocking") not in SEVERITIES:
        raise SuiteError(f"{path}: meta.missing_table_severity must be one of {SEVERITIES}")
    if not document.get("expectations"):
        raise SuiteError(f"{path}: the suite has no expectations")
    for n, expectation in enumerate(document["expectations"], start=1):
        severity = (expectation.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(
                f"{path}: expectation #{n} ({expectation.get('type')}) has meta.severity "
                f"{severity!r}; it must be one of {SEVERITIES}"
            )
    return Suite(checkpoint=checkpoint, schema=meta["schema"], table=meta["table"], path=path, document=document)


def load_suites(checkpoint: str, expectations_dir: Path | None = None) -> list[Suite]:
    """Every suite of one checkpoint, in file-name order (so runs and docs are stable)."""
    folder = (expectations_dir or EXPECTATIONS_DIR) / checkpoint
    if not folder.is_dir():
        raise SuiteError(f"no suites for checkpoint {checkpoint!r}: {folder} does not exist")
    suites = []
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: not valid JSON: {exc}") from exc
        suites.append(_check(path, document, checkpoint))
    if not suites:
        raise SuiteError(f"no suites for checkpoint {checkpoint!r} in {folder}")
    return suites
