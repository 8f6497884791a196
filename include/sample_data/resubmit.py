"""Corrected resubmissions for the sample (docs/sample_data.md "The second run"): what a department
sends back after reading its correction workbook.

    write_resubmissions(landing, as_of, every=2) -> [paths written]

For penalties and licenses, the rows of the delivered files whose subject code (统一社会信用代码 or
证件号码) has a wrong check character — the `broken_check` defect — are found by reading the files
with the ingest's own reader, and every `every`-th of them is written again with the right check
character into `双公示平台_<行政处罚/行政许可>_更正补报_<as_of>.csv` (UTF-8, the contract's Chinese
headers), delivered on as_of at 09:00 (later than every file of the sample). The other rejected
rows (a blank required cell, an impossible date) are not resubmitted: their right value is unknown,
so they stay open. Deterministic; a feed whose resubmission file exists is left alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from include import feeds
from include.ingest import codes, values
from include.ingest.readers import FileRejected, fingerprint, open_delivery
from include.settings import SHANGHAI

TITLES = {"penalties": "行政处罚", "licenses": "行政许可"}
CODE_COLUMNS = ("uscc", "id_no")


def resubmission_name(feed: str, as_of: dt.date) -> str:
    return f"双公示平台_{TITLES[feed]}_更正补报_{as_of:%Y%m%d}.csv"


def _fixed_code(cell) -> str | None:
    """The code with its check character put right, when only that is wrong; else None."""
    if values.is_blank(cell):
        return None
    code = values.normalise_code(values.cell_text(cell))
    if len(code) != 18 or codes.uscc_problem(code) is None or codes.ric_problem(code) is None:
        return None  # not 18 characters, or valid as it is
    problem = codes.ric_problem(code) or ""
    if problem.startswith("check digit is"):  # "check digit is '1', expected 'X'"
        return code[:17] + problem.rsplit("'", 2)[-2]
    if (codes.uscc_problem(code) or "").startswith("check character is"):
        return code[:17] + codes.uscc_check_char(code[:17])
    return None


def _corrected_rows(feed: str, folder: Path, skip: str) -> list[list[str]]:
    contract = feeds.get(feed)
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name == skip or path.name.startswith("."):
            continue
        try:
            delivery = open_delivery(path, path.name, contract, fingerprint(path))
        except FileRejected:
            continue
        try:
            for _, cells in delivery.rows:
                row = {}
                for col in contract.columns:
                    pos = delivery.positions.get(col.name)
                    cell = cells[pos] if pos is not None and pos < len(cells) else None
                    row[col.name] = "" if values.is_blank(cell) else values.cell_text(cell)
                fixes = {c: _fixed_code(row[c]) for c in CODE_COLUMNS if c in row}
                fixes = {c: v for c, v in fixes.items() if v}
                if fixes:
                    found.append([fixes.get(c.name, row[c.name]) for c in contract.columns])
        finally:
            delivery.close()
    return found


def write_resubmissions(landing: Path, as_of: dt.date, every: int = 2) -> list[Path]:
    written = []
    for feed in TITLES:
        folder = Path(landing) / feed
        name = resubmission_name(feed, as_of)
        if not folder.is_dir() or (folder / name).exists():
            continue
        rows = _corrected_rows(feed, folder, name)[::every]
        if not rows:
            continue
        partial = folder.parent / f".{feed}.{name}.partial"
        with partial.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\r\n")
            out.writerow([c.header for c in feeds.get(feed).columns])
            out.writerows(rows)
        stamp = dt.datetime.combine(as_of, dt.time(9, 0), SHANGHAI).timestamp()
        os.utime(partial, (stamp, stamp))
        os.replace(partial, folder / name)
        written.append(folder / name)
    return written
