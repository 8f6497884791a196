"""The indicator page of a hand-built publication, opened in Debian's chromium (tests/browser.py):
it renders with no console error, its charts are drawn, and its table shows the warehouse's numbers."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from include import publish
from include.reports import indicator_page
from tests.browser import chromium_page
from tests.publish import builders

MAY, JUNE = dt.date(2026, 5, 31), dt.date(2026, 6, 30)
UNIT_A, UNIT_B = builders.uscc("11640100MB1234567"), builders.uscc("11640100MB7654321")
# (indicator_id, name, numerator, denominator, value, target, comparator, passed) per AS_OF, 'all'
SCORECARD = {
    MAY: [
        ("I02", "双公示上报率", 380, 400, 0.95, 1, ">=", False),
        ("I04", "双公示及时率", 400, 400, 1, 1, ">=", True),
        ("I11_tax", "涉企信息共享覆盖率（纳税）", 700, 1000, 0.7, None, None, None),
    ],
    JUNE: [
        ("I02", "双公示上报率", 406, 428, 0.9486, 1, ">=", False),
        ("I04", "双公示及时率", 369, 406, 0.9089, 1, ">=", False),
        ("I11_tax", "涉企信息共享覆盖率（纳税）", 795, 1042, 0.763, None, None, None),
    ],
}


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


def build(url: str, as_of: dt.date, with_units: bool) -> None:
    builders.build(url, as_of, enterprises=3)
    with psycopg.connect(url) as conn:
        conn.execute("delete from marts_build.indicator_scorecard")
        for ind, name, num, den, value, target, comparator, passed in SCORECARD[as_of]:
            conn.execute(
                "insert into marts_build.indicator_scorecard values (%s, 'all', %s, %s, %s, %s, %s, %s, %s, %s, null)",
                (as_of, ind, name, num, den, value, target, comparator, passed),
            )
        conn.execute("drop table if exists marts_build.unit_indicator_scorecard")
        if with_units:
            conn.execute("""create table marts_build.unit_indicator_scorecard (as_of date, unit text, unit_uscc text,
                              month date, indicator_id text, indicator_name text, numerator numeric,
                              denominator numeric, value numeric, target numeric, comparator text,
                              meets_target boolean)""")
            conn.execute(
                """insert into marts_build.unit_indicator_scorecard values
                 (%(a)s, '市场监管局', %(ua)s, '2026-05-01', 'I02', '双公示上报率', 9, 9, 1, 1, '>=', true),
                 (%(a)s, '市场监管局', %(ua)s, '2026-06-01', 'I02', '双公示上报率', 3, 4, 0.75, 1, '>=', false),
                 (%(a)s, '交通运输局', %(ub)s, '2026-06-01', 'I02', '双公示上报率', 5, 5, 1, 1, '>=', true),
                 (%(a)s, '市场监管局', %(ua)s, '2026-06-01', 'I04', '双公示及时率', 2, 3, 0.6667, 1, '>=', false)""",
                {"a": as_of, "ua": UNIT_A, "ub": UNIT_B},
            )


@pytest.fixture(scope="module")
def pages(scratch_db, tmp_path_factory):
    """Two publications, each followed by its page as the publish DAG writes it: May without the
    per-unit mart, June with it."""
    export_dir = tmp_path_factory.mktemp("export")
    out = {}
    for as_of, with_units in ((MAY, False), (JUNE, True)):
        build(scratch_db, as_of, with_units)
        publish.publish(scratch_db, as_of, [passed_gate(as_of)])
        out[as_of] = indicator_page.write_page(scratch_db, as_of, export_dir)
    return out


def open_page(path):
    """(table rows, chart info, problems) of the page as chromium shows it."""
    with chromium_page() as (page, problems):
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
        rows = page.eval_on_selector_all(
            "table[data-section=scorecard] tbody tr",
            """trs => trs.map(tr => [
            tr.dataset.indicator,
            ...['numerator', 'denominator', 'value', 'target', 'passed'].map(
                f => tr.querySelector(`[data-field=${f}]`).textContent.trim())])""",
        )
        charts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(
            d => [d.id, {traces: d.data.length, points: d.data.map(t => t.y.length),
                         drawn: d.querySelectorAll('.main-svg').length}]))""")
        units_text = page.text_content("[data-section=units]")
    return rows, charts, units_text, problems


def test_page_and_plotly_js_sit_beside_the_docs(pages):
    page = pages[JUNE]
    assert page.parent.name == "indicators" and page.parent.parent.name == "2026-06-30"
    assert (page.parent / "plotly.min.js").stat().st_size > 1_000_000  # offline: no CDN
    assert "cdn.plot.ly" not in page.read_text(encoding="utf-8")


def test_june_page_renders_the_warehouse_numbers_and_charts(pages, scratch_db):
    rows, charts, _, problems = open_page(pages[JUNE])
    assert problems == []
    assert rows == [
        ["I02", "406", "428", "0.9486", ">= 1", "未达标"],
        ["I04", "369", "406", "0.9089", ">= 1", "未达标"],
        ["I11_tax", "795", "1042", "0.763", "（仅报告）", "—"],
    ]
    # the same numbers as the published scorecard
    with psycopg.connect(scratch_db) as conn:
        published = conn.execute("""select indicator_id, numerator, denominator, value from marts.indicator_scorecard
                                    where region_code = 'all' order by 1""").fetchall()
    assert [[i, int(n), int(d), float(v)] for i, n, d, v in published] == [
        [r[0], int(r[1]), int(r[2]), float(r[3])] for r in rows
    ]
    # trend: I02 and I04 are assessed (a target), each a value series and a target series over 2 AS_OFs
    assert charts["trend"] == {"traces": 4, "points": [2, 2, 2, 2], "drawn": charts["trend"]["drawn"]}
    assert charts["trend"]["drawn"] >= 1
    # units of the latest month (June): I02 two units, I04 one
    assert charts["units"]["points"] == [2, 1] and charts["units"]["drawn"] >= 1


def test_may_page_says_there_is_no_per_unit_data(pages):
    rows, charts, units_text, problems = open_page(pages[MAY])
    assert problems == []
    assert rows[0] == ["I02", "380", "400", "0.95", ">= 1", "未达标"]
    assert rows[1] == ["I04", "400", "400", "1", ">= 1", "达标"]
    assert "no per-unit data in this publication" in units_text
    assert set(charts) == {"trend"} and charts["trend"]["points"] == [1, 1, 1, 1]
