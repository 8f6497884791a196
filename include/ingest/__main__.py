"""`python -m include.ingest [--feed FEED] [--landing DIR]`: load pending files, one line per file.

Exit code 0 when every file was loaded or a duplicate, 1 when any file was rejected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from include import feeds as feed_contracts
from include import settings, warehouse
from include.ingest import ingest_all, unknown_folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.ingest", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--feed",
        choices=feed_contracts.feed_ids(),
        action="append",
        help="only this feed (repeatable); default every feed",
    )
    parser.add_argument("--landing", type=Path, default=None, help="landing zone (default LANDING_DIR)")
    args = parser.parse_args(argv)
    landing = args.landing or settings.landing_dir()
    for folder in unknown_folders(landing):
        print(f"warning: {landing / folder} is not a feed folder; its files are not loaded", file=sys.stderr)
    results = ingest_all(warehouse.url(), landing, args.feed)
    for r in results:
        line = (
            f"{r['feed']:<18} {r['status']:<9} read {r['rows_read']:>7} loaded {r['rows_loaded']:>7} "
            f"quarantined {r['rows_quarantined']:>6}  {r['file_name']}"
        )
        if r["status"] != "loaded" and r["reason"]:
            line += f"  — {r['reason']}"
        print(line)
    if not results:
        print(f"no files in {landing}")
    return 1 if any(r["status"] == "rejected" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
