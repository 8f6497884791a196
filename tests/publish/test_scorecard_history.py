"""history.indicator_scorecard_history keeps every publication's scorecard, one set per AS_OF."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from include import publish
from tests.publish import builders

MAY, JUNE = dt.date(2026, 5, 31), dt.date(2026, 6, 30)
UNIT = builders.uscc("11640100MB1234567")


def passed_gate(as_of: dt.date) -> dict:
    return {
        "checkpoint": "publication",
        "as_of": as_of.isoformat(),
        "run_id": "test",
        "success": True,
        "blocking_failures": [],
        "warnings": [],
        "results": [],
    }


def build(url: str, as_of: dt.date, enterprises: int, with_units: bool = False) -> None:
    builders.build(url, as_of, enterprises=enterprises)
    with psycopg.connect(url) as conn:
        conn.execute("drop table if exists marts_build.unit_indicator_scorecard")
        if with_units:  # the per-unit mart as the dbt project builds it (marts.unit_indicator_scorecard)
            conn.execute("""create table marts_build.unit_indicator_scorecard (as_of date, unit text, unit_uscc text,
                              month date, indicator_id text, indicator_name text, numerator numeric,
                              denominator numeric, value numeric, target numeric, comparator text,
                              meets_target boolean)""")
            conn.execute(
                """insert into marts_build.unit_indicator_scorecard values
                              (%s, '市场监管局', %s, '2026-06-01', 'I02', '双公示上报率', 3, 4, 0.75, 1, '>=', false),
                              (%s, '市场监管局', %s, '2026-05-01', 'I02', '双公示上报率', 4, 4, 1, 1, '>=', true)""",
                (as_of, UNIT, as_of, UNIT),
            )


def history(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("""select as_of, version, level, count(*) from history.indicator_scorecard_history
                               group by 1, 2, 3 order by 1, 3""").fetchall()


@pytest.fixture(scope="module")
def two_publications(scratch_db):
    build(scratch_db, MAY, enterprises=4)
    publish.publish(scratch_db, MAY, [passed_gate(MAY)])
    build(scratch_db, JUNE, enterprises=5, with_units=True)
    publish.publish(scratch_db, JUNE, [passed_gate(JUNE)])
    return scratch_db


def test_history_keeps_both_publications(two_publications):
    # 18 indicators × 2 regions ('all', 640100) each; June also has 2 unit rows
    assert history(two_publications) == [
        (MAY, "2026-05-31.1", "jurisdiction", 36),
        (JUNE, "2026-06-30.1", "jurisdiction", 36),
        (JUNE, "2026-06-30.1", "unit", 2),
    ]
    with psycopg.connect(two_publications) as conn:
        i08 = conn.execute("""select as_of, numerator, denominator, value, target, comparator, passed
                              from history.indicator_scorecard_history
                              where level = 'jurisdiction' and region_code = 'all' and indicator_id = 'I08'
                              order by as_of""").fetchall()
        units = conn.execute("""select unit_uscc, unit, month, indicator_id, numerator, denominator, value, passed
                                from history.indicator_scorecard_history where level = 'unit'
                                order by month""").fetchall()
    # I08's denominator is the build's enterprises: 4 in May, 5 in June
    assert [(a, float(n), float(d), float(v), float(t), c, p) for a, n, d, v, t, c, p in i08] == [
        (MAY, 1.0, 4.0, 0.25, 1.0, ">=", True),
        (JUNE, 1.0, 5.0, 0.2, 1.0, ">=", True),
    ]
    assert [(u, name, m, i, float(n), float(d), float(v), p) for u, name, m, i, n, d, v, p in units] == [
        (UNIT, "市场监管局", dt.date(2026, 5, 1), "I02", 4.0, 4.0, 1.0, True),
        (UNIT, "市场监管局", dt.date(2026, 6, 1), "I02", 3.0, 4.0, 0.75, False),
    ]


def test_republishing_an_as_of_replaces_its_rows(two_publications):
    build(two_publications, MAY, enterprises=6)
    publish.publish(two_publications, MAY, [passed_gate(MAY)])
    assert history(two_publications) == [
        (MAY, "2026-05-31.2", "jurisdiction", 36),
        (JUNE, "2026-06-30.1", "jurisdiction", 36),
        (JUNE, "2026-06-30.1", "unit", 2),
    ]
    with psycopg.connect(two_publications) as conn:
        den = conn.execute(
            """select denominator from history.indicator_scorecard_history
                              where as_of = %s and region_code = 'all' and indicator_id = 'I08'""",
            (MAY,),
        ).fetchall()
    assert [float(d) for (d,) in den] == [6.0]
