"""The landing zone (docs/spec/CONTRACT.md §2): LANDING/<feed>/<any file name>. Names are data, never paths."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import psycopg

from include import feeds as feed_contracts
from include import settings
from include.ingest.load import UnsafeFileName, _feed_folder_problem, check_file_name, display_name


def _landing(landing_dir: Path | None) -> Path:
    return Path(landing_dir or settings.landing_dir())


def pending_files(feed: str, landing_dir: Path | None = None, conninfo: str | None = None) -> list[str]:
    """Plain regular files in LANDING/<feed>/, sorted: no links, folders or hidden files.

    With `conninfo`, deliveries the ledger already holds (same name, size and modification time)
    are left out, so an hourly scan neither re-hashes old files nor maps a task per old file. The
    ledger still decides on bytes: a renamed copy is listed and `load_file` records it a duplicate.
    """
    feed_contracts.get(feed)  # an unknown feed is a programming error
    folder = _landing(landing_dir) / feed
    if _feed_folder_problem(folder):
        return []  # load_file says why, should anyone ask for a file of it
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    names = []
    for entry in entries:
        try:
            check_file_name(entry.name)
        except UnsafeFileName:
            continue
        # follow_symlinks=False: a link is not a delivery, wherever it points
        if entry.is_file(follow_symlinks=False) and stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
            names.append(entry.name)
    # Names travel through XCom, logs and the ledger: always as a person sees them.
    names = [display_name(n) for n in names]
    if conninfo and names:
        seen = _recorded_deliveries(conninfo, feed)
        names = [n for n in names if _delivery_key(folder / _on_disk(folder, n)) not in seen.get(n, ())]
    return sorted(names)


def _on_disk(folder: Path, name: str) -> str:
    from include.ingest.load import _folder_entry

    return _folder_entry(folder, name) or name


def _delivery_key(path: Path) -> tuple[int, dt.datetime]:
    info = os.lstat(path)
    return info.st_size, dt.datetime.fromtimestamp(info.st_mtime, tz=dt.UTC)


def _recorded_deliveries(conninfo: str, feed: str) -> dict[str, set]:
    with psycopg.connect(conninfo) as conn:
        if conn.execute("select to_regclass('audit.file_ledger') is null").fetchone()[0]:
            return {}
        rows = conn.execute(
            "select file_name, size_bytes, received_at from audit.file_ledger where feed = %s", (feed,)
        ).fetchall()
    seen: dict[str, set] = {}
    for name, size, received_at in rows:
        seen.setdefault(name, set()).add((size, received_at))
    return seen


def unknown_folders(landing_dir: Path | None = None) -> list[str]:
    """Folders of the landing zone that are not a feed (a typo in a department's upload path)."""
    root = _landing(landing_dir)
    known = set(feed_contracts.feed_ids())
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    return sorted(
        e.name
        for e in entries
        if e.is_dir(follow_symlinks=False) and e.name not in known and not e.name.startswith(".")
    )
