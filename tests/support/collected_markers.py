"""A pytest plugin for tests/test_markers.py: after collection (and tests/conftest.py's markers),
writes every collected test's suite markers to the JSON file named by COLLECTED_MARKERS_FILE, so
that one collection answers what each `-m` expression of the Makefile selects."""

from __future__ import annotations

import json
import os
from pathlib import Path

SUITE_MARKERS = ("unit", "db", "e2e")


def pytest_collection_finish(session) -> None:
    report = os.environ.get("COLLECTED_MARKERS_FILE")
    if not report:
        return
    markers = {
        item.nodeid: sorted({mark.name for mark in item.iter_markers()} & set(SUITE_MARKERS)) for item in session.items
    }
    Path(report).write_text(json.dumps(markers))
