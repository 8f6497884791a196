"""`python -m include.sample_data --subjects N [--as-of YYYY-MM-DD] [--seed INT] [--landing DIR]`
`python -m include.sample_data --resubmit [--as-of YYYY-MM-DD] [--landing DIR]`

Prints the summary (JSON) on stdout, progress on stderr. `--resubmit` writes instead what the
sample's departments send back after reading their correction workbooks
(include/sample_data/resubmit.py) and prints each file written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

from include import settings

from . import write_sample
from .rates import DEFAULT_SEED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.sample_data", description=__doc__)
    parser.add_argument("--subjects", type=int, default=2000, help="registry size (default 2000)")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="YYYY-MM-DD (default: AS_OF or today in Asia/Shanghai)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--landing", type=Path, default=None, help="default: LANDING_DIR or data/landing")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--resubmit", action="store_true", help="write the departments' corrected resubmission")
    args = parser.parse_args(argv)
    if args.resubmit:
        from .resubmit import write_resubmissions

        landing = args.landing or settings.landing_dir()
        written = write_resubmissions(landing, args.as_of or settings.as_of())
        for path in written:
            print(path)
        if not written:
            print(
                f"nothing to resubmit under {landing} (no sample rows with a wrong check character, or already written)"
            )
        return 0
    if args.subjects < 1:
        parser.error("--subjects must be at least 1")
    as_of = args.as_of or settings.as_of()
    landing = args.landing or settings.landing_dir()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    summary = write_sample(landing, args.subjects, as_of, args.seed, progress=not args.quiet)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    logging.getLogger(__name__).info("[sample-data] done in %.1fs", time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
