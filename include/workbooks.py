"""Correction workbooks (问题数据退回表): one .xlsx per data-source unit with problems, written after
each publication under `EXPORT_DIR/<AS_OF>/quality/corrections/` (docs/departments.md).

    write_workbooks(conninfo, as_of, folder, schema="marts") -> {"folder", "units": {file: counts}}

Read from the published marts.unit_rejected_files and marts.unit_corrections, so a workbook says
exactly what the warehouse table says. Two sheets with Chinese headers: 退回文件 (files rejected
whole: file, reason, what to do) and 问题数据 (file, row as a person counts it, column, value,
rule, what to do, and when / by which file it was corrected).

Idempotent: the same published tables give the same bytes (rows in a fixed order, zip entry times
and document dates pinned to AS_OF); a unit without problems gets no workbook, and a workbook of
an earlier run for a unit that has none now is removed. Each file is written beside its final name
and renamed into place, so a reader never sees half a workbook.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from pathlib import Path

import psycopg
from openpyxl import Workbook
from openpyxl.styles import Font
from psycopg import sql

from include import settings
from include.sample_data.writers import _pin_zip

log = logging.getLogger(__name__)

FILE_SHEET = "退回文件"
ROW_SHEET = "问题数据"
FILE_HEADERS = ("数据类别", "文件名", "送达时间", "退回原因", "处理意见")
ROW_HEADERS = ("数据类别", "文件名", "行号", "列", "值", "规则", "处理意见", "纠正时间", "纠正文件")
_UNSAFE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff（）()_-]+")


def workbook_name(unit_uscc: str, unit: str | None) -> str:
    """`<uscc>_<unit>.xlsx`; both come from delivered data, so only safe characters are kept."""
    uscc = _UNSAFE.sub("", unit_uscc or "")[:40] or "unknown"
    name = _UNSAFE.sub("", unit or "")[:60]
    return f"{uscc}_{name}.xlsx" if name else f"{uscc}.xlsx"


def _shown(ts: dt.datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(settings.SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _fetch(conninfo: str, schema: str) -> tuple[list, list]:
    with psycopg.connect(conninfo) as conn:
        files = conn.execute(
            sql.SQL(
                "select unit_uscc, max(unit) over (partition by unit_uscc), feed, file_name, received_at, reason,"
                " instruction from {} order by unit_uscc, received_at, file_name, feed"
            ).format(sql.Identifier(schema, "unit_rejected_files"))
        ).fetchall()
        rows = conn.execute(
            sql.SQL(
                "select unit_uscc, max(unit) over (partition by unit_uscc), feed, file_name, row_number,"
                " column_header, value, rule, instruction, corrected_at, corrected_by_file"
                " from {} order by unit_uscc, received_at, file_name, row_number, column_name, rule"
            ).format(sql.Identifier(schema, "unit_corrections"))
        ).fetchall()
    return files, rows


def _sheet(wb: Workbook, title: str, headers: tuple, rows: list, first: bool) -> None:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append(row)
    for column, width in zip("ABCDEFGHI", (12, 40, 10, 24, 24, 18, 60, 18, 40)):
        ws.column_dimensions[column].width = width


def write_workbooks(conninfo: str, as_of: dt.date, folder: Path, schema: str = "marts") -> dict:
    """Write every unit's workbook into `folder` (see the module docstring); returns what was written."""
    files, rows = _fetch(conninfo, schema)
    units: dict[str, dict] = {}
    for uscc, unit, feed, name, received_at, reason, instruction in files:
        units.setdefault(uscc, {"unit": unit, "files": [], "rows": []})["files"].append(
            (feed, name, _shown(received_at), reason, instruction)
        )
    for uscc, unit, feed, name, number, header, value, rule, instruction, corrected_at, by_file in rows:
        units.setdefault(uscc, {"unit": unit, "files": [], "rows": []})["rows"].append(
            (feed, name, number, header, value, rule, instruction, _shown(corrected_at), by_file)
        )
    folder.mkdir(parents=True, exist_ok=True)
    pinned_at = dt.datetime.combine(as_of, dt.time(0, 0))
    written: dict[str, dict] = {}
    for uscc in sorted(units):
        unit = units[uscc]
        wb = Workbook()
        _sheet(wb, FILE_SHEET, FILE_HEADERS, unit["files"], first=True)
        _sheet(wb, ROW_SHEET, ROW_HEADERS, unit["rows"], first=False)
        wb.properties.creator = "credit-warehouse"
        target = folder / workbook_name(uscc, unit["unit"])
        with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as scratch:
            unpinned, pinned = Path(scratch) / "unpinned.xlsx", Path(scratch) / "pinned.xlsx"
            wb.save(unpinned)
            _pin_zip(unpinned, pinned, pinned_at)
            os.replace(pinned, target)
        written[target.name] = {
            "unit": unit["unit"],
            "unit_uscc": uscc,
            "files": len(unit["files"]),
            "rows": len(unit["rows"]),
        }
    for stale in folder.glob("*.xlsx"):
        if stale.name not in written:
            stale.unlink()
            log.info("removed %s: its unit has no problems as of %s", stale.name, as_of)
    log.info("%d correction workbooks in %s", len(written), folder)
    return {"folder": str(folder), "units": written}


def workbooks_folder(as_of: dt.date, export_dir: Path | None = None) -> Path:
    return Path(export_dir or settings.export_dir()) / as_of.isoformat() / "quality" / "corrections"
