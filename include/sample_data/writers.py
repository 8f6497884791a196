"""Writing one delivery file (CSV or .xlsx) row by row, in the style of one department's system,
with the deliberate, counted mess of `rates.ROW_DEFECT_RATES`.

Every file is streamed (csv writer / openpyxl write-only), its bytes depend only on the inputs
(xlsx zip timestamps and document properties are pinned), and its modification time is set to its
delivery time, which the pipeline takes as the arrival time.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import random
import re
import shutil
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from . import rates
from .codes import break_check, to_fullwidth
from .columns import FEEDS

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Columns naming the reporting department, not the subject: defects aim at the subject's data.
_UNIT_CODE_COLUMNS = {"authority_uscc", "source_unit_uscc", "unit_uscc"}
_NAME_COLUMNS = ("name", "subject_name", "owner_name")
_DEFECT_KINDS = list(rates.ROW_DEFECT_RATES)
_DEFECT_CUTS = []
_acc = 0.0
for _kind in _DEFECT_KINDS:
    _acc += rates.ROW_DEFECT_RATES[_kind]
    _DEFECT_CUTS.append(_acc)
_DEFECT_TOTAL = _acc


class Raw(str):
    """A cell written exactly as given, bypassing the file's formats (a deliberate defect)."""


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass(frozen=True)
class FileStyle:
    """How one department's system writes its files."""

    kind: str = "csv"  # csv | xlsx
    encoding: str = "utf-8"
    delimiter: str = ","
    english: bool = False
    date_format: str = "iso"
    month_format: str = "iso"
    flag_style: str = "是否"
    commas: bool = False
    excel_dates: bool = False
    title: str | None = None  # a merged title row above the header (xlsx), then a blank row


def pick_style(
    rng: random.Random, kind: str = "csv", title: str | None = None, english: bool | None = None
) -> FileStyle:
    return FileStyle(
        kind=kind,
        encoding=weighted(rng, rates.ENCODINGS),
        delimiter="\t" if rng.random() < rates.TAB_DELIMITED else ",",
        english=(rng.random() < rates.ENGLISH_HEADERS) if english is None else english,
        date_format=weighted(rng, rates.DATE_FORMATS),
        month_format=weighted(rng, rates.MONTH_FORMATS),
        flag_style=weighted(rng, rates.FLAG_STYLES),
        commas=rng.random() < rates.MONEY_WITH_COMMAS,
        excel_dates=kind == "xlsx" and rng.random() < rates.EXCEL_DATE_CELLS,
        title=title if kind == "xlsx" else None,
    )


_FLAGS = {"是否": ("否", "是"), "YN": ("N", "Y"), "10": ("0", "1")}


def format_date(day: dt.date, fmt: str) -> str:
    if fmt == "iso":
        return f"{day:%Y-%m-%d}"
    if fmt == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if fmt == "chinese":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%Y%m%d}"


def format_month(day: dt.date, fmt: str) -> str:
    if fmt == "iso":
        return f"{day:%Y-%m}"
    if fmt == "chinese":
        return f"{day.year}年{day.month}月"
    return f"{day:%Y%m}"


@dataclass
class Tally:
    """What was written: files and rows per feed, and every deliberate defect, counted."""

    progress: bool = False
    files: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)
    defects: dict = field(default_factory=lambda: defaultdict(Counter))
    scenarios: dict = field(default_factory=lambda: defaultdict(Counter))
    paths: list = field(default_factory=list)

    def note(self, message: str) -> None:
        if self.progress:
            log.info("[sample-data] %s", message)


def delivery_timestamp(at: dt.datetime) -> float:
    return at.replace(tzinfo=SHANGHAI).timestamp() if at.tzinfo is None else at.timestamp()


class Delivery:
    """One file being written. Use as a context manager; `write(row)` takes English column names."""

    def __init__(
        self, tally: Tally, feed: str, path: Path, style: FileStyle, arrived_at: dt.datetime, rng: random.Random
    ):
        self.tally, self.feed, self.path, self.style, self.rng = tally, feed, path, style, rng
        self.arrived_at = arrived_at
        self.columns = FEEDS[feed]
        self.kinds = {en: kind for _, en, kind, _ in self.columns}
        self.required = [en for _, en, _, req in self.columns if req]
        self.codes = [en for _, en, kind, _ in self.columns if kind in ("uscc", "id") and en not in _UNIT_CODE_COLUMNS]
        self.dates = [en for _, en, kind, _ in self.columns if kind == "date"]
        self.name_col = next((c for c in _NAME_COLUMNS if c in self.kinds), None)
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed into place when complete: a loader watching the landing
        # zone never sees half a file. The scratch folder is not a feed folder.
        scratch = path.parent.parent / ".partial"
        scratch.mkdir(exist_ok=True)
        self._partial = scratch / f"{feed}.{path.name}"
        header = [en if style.english else zh for zh, en, _, _ in self.columns]
        if style.kind == "xlsx":
            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet("Sheet1")
            if style.title:
                self._ws.merged_cells.add(f"A1:{get_column_letter(len(header))}1")
                self._ws.append([style.title])
                self._ws.append([])
            self._ws.append(header)
        else:
            self._fh = open(self._partial, "w", encoding=style.encoding, newline="")
            self._csv = csv.writer(self._fh, delimiter=style.delimiter)
            self._csv.writerow(header)

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    # -- cells ---------------------------------------------------------------------------------
    def _cell(self, value, kind: str):
        style = self.style
        if value is None:
            return None if style.kind == "xlsx" else ""
        if isinstance(value, Raw):
            return str(value)
        if kind == "date":
            if style.excel_dates and self.rng.random() >= rates.MIXED_DATE_FORMAT:
                return value
            fmt = style.date_format
            if self.rng.random() < rates.MIXED_DATE_FORMAT:
                fmt = self.rng.choice(list(rates.DATE_FORMATS))
            return format_date(value, fmt)
        if kind == "month":
            return format_month(value, style.month_format)
        if kind == "money":
            if style.commas:
                return f"{value:,.2f}"
            return round(float(value), 2) if style.kind == "xlsx" else f"{value:.2f}"
        if kind == "flag":
            return _FLAGS[style.flag_style][bool(value)]
        if kind == "int":
            return int(value) if style.kind == "xlsx" else str(int(value))
        return value

    # -- deliberate mess -----------------------------------------------------------------------
    def _spoil(self, row: dict) -> dict[str, str]:
        """At most one defect per row, at the documented rates; returns {kind: column}."""
        u = self.rng.random()
        if u >= _DEFECT_TOTAL:
            return {}
        kind = next(k for k, cut in zip(_DEFECT_KINDS, _DEFECT_CUTS) if u < cut)
        targets = self._targets(kind, row)
        if not targets:
            return {}
        col = self.rng.choice(targets)
        value = row[col]
        if kind == "missing_required":
            row[col] = Raw("")
        elif kind == "broken_check":
            row[col] = Raw(break_check(value, self.rng.randrange(30)))
        elif kind == "fullwidth_code":
            row[col] = Raw(to_fullwidth(value))
        elif kind == "lowercase_code":
            row[col] = Raw(value.lower())
        elif kind == "stray_space":
            row[col] = Raw(self.rng.choice([" ", "  ", "\u3000"]) + value + self.rng.choice(["", " "]))
        elif kind == "invalid_date":
            fmt = "iso" if self.style.excel_dates else self.style.date_format
            row[col] = Raw(_impossible_date(value.year, fmt))
        self.tally.defects[self.feed][kind] += 1
        return {kind: col}

    def _targets(self, kind: str, row: dict) -> list[str]:
        def present(col):
            value = row.get(col)
            return value is not None and not isinstance(value, Raw) and value != ""

        if kind == "missing_required":
            return [c for c in self.required if present(c)]
        if kind == "broken_check" or kind == "fullwidth_code":
            return [c for c in self.codes if present(c)]
        if kind == "lowercase_code":
            return [c for c in self.codes if present(c) and re.search("[A-Z]", row[c])]
        if kind == "stray_space":
            return [self.name_col] if self.name_col and present(self.name_col) else []
        if kind == "invalid_date":
            return [c for c in self.dates if present(c)]
        return []

    def write(self, row: dict, clean: bool = False) -> dict[str, str]:
        """Write one row; `clean` rows (the ones other feeds refer to on purpose) get no defects."""
        spoiled = {} if clean else self._spoil(row)
        cells = [self._cell(row.get(en), kind) for _, en, kind, _ in self.columns]
        if self.style.kind == "xlsx":
            self._ws.append(cells)
        else:
            self._csv.writerow(cells)
        self.rows += 1
        return spoiled

    def close(self) -> None:
        if self.style.kind == "xlsx":
            unpinned = self._partial.with_name(self._partial.name + ".unpinned")
            self._wb.save(unpinned)
            _pin_zip(unpinned, self._partial, self.arrived_at)
            unpinned.unlink()
        else:
            self._fh.close()
        stamp = delivery_timestamp(self.arrived_at)
        os.utime(self._partial, (stamp, stamp))
        os.replace(self._partial, self.path)
        self.tally.files[self.feed] += 1
        self.tally.rows[self.feed] += self.rows
        self.tally.paths.append(self.path)
        self.tally.note(f"{self.feed}/{self.path.name}: {self.rows} rows")


def _impossible_date(year: int, fmt: str) -> str:
    return {"iso": f"{year}-02-30", "slash": f"{year}/2/30", "chinese": f"{year}年2月30日"}.get(fmt, f"{year}0230")


_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _pin_zip(source: Path, target: Path, at: dt.datetime) -> None:
    """Rewrite an .xlsx so its bytes are reproducible: fixed entry times and document dates."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    date_time = (at.year, at.month, at.day, at.hour, at.minute, 0)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in sorted(zin.namelist()):
            data = zin.read(name)
            if name == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)


def redeliver(tally: Tally, feed: str, original: Path, new_name: str, arrived_at: dt.datetime) -> Path:
    """The same bytes delivered again under another name (an exact duplicate delivery)."""
    target = original.with_name(new_name)
    partial = original.parent.parent / ".partial" / f"{feed}.{new_name}"
    partial.parent.mkdir(exist_ok=True)
    shutil.copyfile(original, partial)
    stamp = delivery_timestamp(arrived_at)
    os.utime(partial, (stamp, stamp))
    os.replace(partial, target)
    tally.files[feed] += 1
    tally.defects[feed]["duplicate_delivery"] += 1
    tally.paths.append(target)
    tally.note(f"{feed}/{new_name}: duplicate of {original.name}")
    return target
