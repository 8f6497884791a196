"""One clean run of the whole pipeline (pieces, no Airflow) on a small sample, shared by the
reliability tests as the reference every rerun and every recovery must equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from include import sample_data
from tests.reliability import pipeline
from tests.reliability.warehouse import database, export_digests, table_checksums


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    """The deterministic sample deliveries (same bytes and modification times every time)."""
    landing = tmp_path_factory.mktemp("rel-sample") / "landing"
    sample_data.write_sample(landing, pipeline.SUBJECTS, pipeline.AS_OF)
    return landing


@pytest.fixture(scope="session")
def clean_run(postgres_server, sample_landing, tmp_path_factory):
    """A database where the whole pipeline ran once from scratch, with its checksums."""
    work = tmp_path_factory.mktemp("rel-clean")
    with database(postgres_server, "rel_clean") as url:
        outcome = pipeline.run(url, sample_landing, work / "export", pipeline.AS_OF, work / "target")
        yield {
            "url": url,
            "export_dir": work / "export",
            "outcome": outcome,
            "tables": table_checksums(url),
            "files": export_digests(work / "export", pipeline.AS_OF.isoformat()),
        }
