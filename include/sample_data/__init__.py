"""Deterministic synthetic deliveries for every feed of docs/spec/CONTRACT.md §3 (`make sample-data`).

    write_sample(landing, subjects, as_of, seed=20260630, progress=False) -> dict

writes LANDING/<feed>/<file> for all eleven feeds and returns a summary: files and rows per feed,
the exact count of every deliberate defect per feed, and the scenario counts the indicators should
find (late reports, frequent offenders, ...). See docs/sample_data.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .rates import DEFAULT_SEED

__all__ = ["write_sample", "DEFAULT_SEED"]


def write_sample(
    landing: Path, subjects: int, as_of: dt.date, seed: int = DEFAULT_SEED, progress: bool = False
) -> dict:
    """Write the sample deliveries into `landing` (created if missing) and return the summary.

    The same (subjects, as_of, seed) always give the same bytes and modification times. Files of
    an earlier run with other parameters are not removed: point it at an empty landing zone.
    """
    from .generate import Generator

    if subjects < 1:
        raise ValueError("subjects must be at least 1")
    return Generator(Path(landing), int(subjects), as_of, int(seed), progress).run()
