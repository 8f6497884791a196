"""The suites as files: loadable, every expectation with a severity, in step with the contracts."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from include import feeds
from include.quality import CHECKPOINTS, load_suites
from include.quality.raw_suites import render
from include.quality.suites import EXPECTATIONS_DIR, SuiteError
from include.quality.suites import load_suites as load
from include.settings import REPO_ROOT

PUBLISHED = {
    "marts_build.subject_archive",
    "marts_build.subject_archive_history",
    "marts_build.credit_events",
    "marts_build.indicator_scorecard",
    "marts_build.focus_subjects",
    "marts_build.unit_corrections",
    "export_build.financing_profile",
    "export_build.financing_profile_changes",
    "export_build.financing_penalties",
    "export_build.financing_penalties_changes",
}


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_every_suite_loads_with_a_severity_on_each_expectation(checkpoint):
    suites = load_suites(checkpoint)
    assert suites
    for suite in suites:
        assert suite.document["name"] == f"{checkpoint}.{suite.qualified_table}"
        assert {e["meta"]["severity"] for e in suite.expectations} <= {"blocking", "warning"}


def test_publication_covers_every_published_table_with_blocking_checks():
    suites = load_suites("publication")
    assert {s.qualified_table for s in suites} == PUBLISHED
    for suite in suites:
        assert any(e["meta"]["severity"] == "blocking" for e in suite.expectations), suite.path
        queries = [e["kwargs"].get("unexpected_rows_query", "") for e in suite.expectations]
        assert any("regexp_matches" in q for q in queries), f"{suite.path}: no clear-ID check"


def test_a_suite_without_severity_is_refused(tmp_path):
    (tmp_path / "publication").mkdir()
    (tmp_path / "publication" / "x.json").write_text(
        json.dumps(
            {
                "name": "publication.s.t",
                "meta": {"schema": "s", "table": "t"},
                "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "c"}}],
            }
        )
    )
    with pytest.raises(SuiteError, match="severity"):
        load("publication", tmp_path)


def test_raw_suites_are_generated_from_the_current_feed_contracts():
    contracts = feeds.load_contracts()
    files = {p.name for p in (EXPECTATIONS_DIR / "raw").glob("*.json")}
    assert files == {f"raw.{feed_id}.json" for feed_id in contracts}
    for feed_id, feed in contracts.items():
        written = (EXPECTATIONS_DIR / "raw" / f"raw.{feed_id}.json").read_text(encoding="utf-8")
        assert written == render(feed), f"regenerate: python -m include.quality.raw_suites ({feed_id})"


def _model_columns() -> dict[str, set[str]]:
    """Columns of the dbt marts/export models, from their YAML (empty until those exist)."""
    columns = {}
    for folder, schema in (("marts", "marts_build"), ("export", "export_build")):
        for path in (REPO_ROOT / "dbt_project" / "models" / folder).glob("*.yml"):
            for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
                columns[f"{schema}.{model['name']}"] = {c["name"] for c in model.get("columns", [])}
    return columns


def _referenced_columns(expectation: dict) -> set[str]:
    kwargs = expectation["kwargs"]
    names = {kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", [])}
    query = kwargs.get("unexpected_rows_query", "")
    # `a.col` / `f.col` in the cross-table checks, and the bare columns of single-table checks.
    names |= set(re.findall(r"\b[af]\.([a-z_]+)\b", query))
    return {n for n in names if n}


def test_publication_suites_name_only_columns_the_dbt_models_have():
    models = _model_columns()
    if not models:
        pytest.skip("the dbt marts/export models are not there yet")
    for suite in load_suites("publication"):
        if suite.qualified_table not in models:
            continue
        known = models[suite.qualified_table] | {"uscc"}  # joined on the other side's key
        for expectation in suite.expectations:
            unknown = _referenced_columns(expectation) - known - models.get("marts_build.subject_archive", set())
            assert not unknown, f"{suite.path.name}: {expectation['description']} uses {unknown}"


def test_great_expectations_accepts_every_suite():
    from great_expectations.core.expectation_suite import ExpectationSuite

    import include.quality.gate  # noqa: F401  (turns GX analytics off before GX is imported)

    for checkpoint in CHECKPOINTS:
        for suite in load_suites(checkpoint):
            gx_suite = ExpectationSuite(**json.loads(json.dumps(suite.document)))
            assert len(gx_suite.expectations) == len(suite.expectations), suite.path
