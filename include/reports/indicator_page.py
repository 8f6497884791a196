"""指标报告: the page of a publication's indicators, for the office's analysts and the departments'
engineers — EXPORT_DIR/<AS_OF>/indicators/index.html, beside the Data Docs (quality/) and the dbt
docs (dbt-docs/), written by the publish DAG after each publication:

- the scorecard of the whole jurisdiction (indicator, numerator/denominator, value, target, met?),
- the trend of each assessed indicator over every kept publication
  (history.indicator_scorecard_history, one point per AS_OF),
- per-unit bars of the latest month from marts.unit_indicator_scorecard (数据来源单位), when the
  publication has that mart; otherwise the section says there is no per-unit data.

Charts are plotly figures (offline: plotly.js is written beside the page as plotly.min.js, so the
page opens from a file share with no network, and is interactive — hover for the numbers, zoom,
download a PNG). Everything is read from the PUBLISHED schemas in one snapshot.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import jinja2
import psycopg

from include import settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
FOLDER = "indicators"
PLOTLY_JS = "plotly.min.js"
FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
COLUMNS = 3  # small multiples per row


class PageError(RuntimeError):
    """No publication for the AS_OF asked for."""


def _rows(conn: psycopg.Connection, query: str, params: tuple = ()) -> list[dict]:
    cur = conn.execute(query, params)
    names = [d.name for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def _number(value) -> float | None:
    return None if value is None else float(value)


def read(conninfo: str, as_of: dt.date) -> dict:
    """Everything the page shows, read in one snapshot of the published schemas."""
    with psycopg.connect(conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            publication = (
                _rows(
                    conn,
                    """select version, as_of, published_at from audit.publication_log
                                         where as_of = %s order by published_at desc, version desc limit 1""",
                    (as_of,),
                )
                if _exists(conn, "audit.publication_log")
                else []
            )
            if not publication or not _exists(conn, "marts.indicator_scorecard"):
                raise PageError(f"nothing is published for AS_OF {as_of}: run the pipeline (make run) first")
            scorecard = _rows(
                conn,
                """select indicator_id, indicator_name, numerator, denominator, value, target,
                                              comparator, passed, note
                                       from marts.indicator_scorecard where as_of = %s and region_code = 'all'
                                       order by indicator_id""",
                (as_of,),
            )
            trend = (
                _rows(
                    conn,
                    """select as_of, indicator_id, indicator_name, value, target, comparator, passed
                                   from history.indicator_scorecard_history
                                   where level = 'jurisdiction' and region_code = 'all' and as_of <= %s
                                   order by indicator_id, as_of""",
                    (as_of,),
                )
                if _exists(conn, "history.indicator_scorecard_history")
                else []
            )
            units = unit_rows(conn, as_of)
    return {"publication": publication[0], "scorecard": scorecard, "trend": trend, "units": units}


def unit_rows(conn: psycopg.Connection, as_of: dt.date) -> list[dict] | None:
    """The per-unit scorecard of the latest month in marts.unit_indicator_scorecard (one row per
    数据来源单位 and indicator); None when the publication has no such mart."""
    if not _exists(conn, "marts.unit_indicator_scorecard"):
        return None
    return _rows(
        conn,
        """select unit, unit_uscc, month, indicator_id, indicator_name, numerator, denominator,
                                 value, target, comparator, meets_target
                          from marts.unit_indicator_scorecard
                          where as_of = %s and month = (select max(month) from marts.unit_indicator_scorecard
                                                        where as_of = %s)
                          order by indicator_id, unit_uscc""",
        (as_of, as_of),
    )


# ---------------------------------------------------------------------------------------------
# Figures


def _grid(n: int) -> tuple[int, int]:
    cols = min(COLUMNS, max(n, 1))
    return math.ceil(max(n, 1) / cols), cols


def _small_multiples(ids: list[str], names: dict[str, str], vertical_spacing: float):
    """One subplot per indicator, titled with its id and name: (figure, rows, cols)."""
    from plotly.subplots import make_subplots

    rows, cols = _grid(len(ids))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"{i} {names[i]}" for i in ids],
        vertical_spacing=vertical_spacing / rows,
        horizontal_spacing=0.06,
    )
    return fig, rows, cols


def trend_figure(trend: list[dict]):
    """Small multiples: per assessed indicator (one with a target) its value at each kept AS_OF,
    and its target as a dashed line."""
    import plotly.graph_objects as go

    ids = sorted({r["indicator_id"] for r in trend if r["target"] is not None})
    if not ids:
        return None
    fig, rows, cols = _small_multiples(ids, {r["indicator_id"]: r["indicator_name"] for r in trend}, 0.5)
    for k, indicator in enumerate(ids):
        series = [r for r in trend if r["indicator_id"] == indicator]
        row, col = divmod(k, cols)
        x = [r["as_of"].isoformat() for r in series]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[_number(r["value"]) for r in series],
                mode="lines+markers",
                name=indicator,
                legendgroup="value",
                showlegend=False,
                marker={"color": ["#2e7d32" if r["passed"] else "#c62828" for r in series], "size": 9},
                line={"color": "#455a64"},
                hovertemplate="%{x}<br>" + indicator + " = %{y}<extra></extra>",
            ),
            row=row + 1,
            col=col + 1,
        )
        # markers too: with one kept publication there is no line to draw, but the target shows
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[_number(r["target"]) for r in series],
                mode="lines+markers",
                name=f"{indicator} 目标",
                showlegend=False,
                line={"dash": "dash", "color": "#9e9e9e"},
                marker={"symbol": "line-ew-open", "size": 16, "color": "#9e9e9e"},
                hovertemplate="目标 %{y}<extra></extra>",
            ),
            row=row + 1,
            col=col + 1,
        )
        fig.update_xaxes(type="category", row=row + 1, col=col + 1)
    fig.update_layout(height=260 * rows, margin={"t": 40, "b": 30, "l": 40, "r": 20}, font={"family": FONT, "size": 11})
    fig.update_annotations(font_size=12)
    return fig


def unit_figure(units: list[dict]):
    """Per indicator, a bar per 数据来源单位 (green: meets its target, red: below), the target dashed."""
    import plotly.graph_objects as go

    ids = sorted({r["indicator_id"] for r in units})
    if not ids:
        return None
    fig, rows, cols = _small_multiples(ids, {r["indicator_id"]: r["indicator_name"] for r in units}, 0.6)
    for k, indicator in enumerate(ids):
        bars = [r for r in units if r["indicator_id"] == indicator]
        row, col = divmod(k, cols)
        labels = [r["unit"] or r["unit_uscc"] for r in bars]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[_number(r["value"]) for r in bars],
                name=indicator,
                showlegend=False,
                marker={"color": ["#2e7d32" if r["meets_target"] else "#c62828" for r in bars]},
                customdata=[[r["unit_uscc"], _number(r["numerator"]), _number(r["denominator"])] for r in bars],
                hovertemplate="%{x}<br>%{customdata[0]}<br>%{y} (%{customdata[1]}/%{customdata[2]})<extra></extra>",
            ),
            row=row + 1,
            col=col + 1,
        )
        targets = {_number(r["target"]) for r in bars if r["target"] is not None}
        if len(targets) == 1:
            fig.add_hline(y=targets.pop(), line_dash="dash", line_color="#9e9e9e", row=row + 1, col=col + 1)
    fig.update_layout(height=300 * rows, margin={"t": 40, "b": 60, "l": 40, "r": 20}, font={"family": FONT, "size": 11})
    fig.update_annotations(font_size=12)
    return fig


def _html(fig, div_id: str) -> str | None:
    if fig is None:
        return None
    return fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
    )


def number_text(value) -> str:
    """As the run summary prints them: whole numbers whole, others to 4 significant digits."""
    if value is None:
        return "—"
    if float(value) == int(value):
        return str(int(value))
    return f"{float(value):.4g}"


def render(data: dict, made_at: dt.datetime | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = number_text
    units = data["units"]
    return env.get_template("indicator_page.html.j2").render(
        publication=data["publication"],
        scorecard=data["scorecard"],
        kept=sorted({r["as_of"] for r in data["trend"]}),
        trend_chart=_html(trend_figure(data["trend"]), "trend"),
        units=units,
        unit_month=units[0]["month"] if units else None,
        unit_chart=_html(unit_figure(units), "units") if units else None,
        made_at=(made_at or dt.datetime.now(settings.SHANGHAI)).strftime("%Y-%m-%d %H:%M:%S"),
        plotly_js=PLOTLY_JS,
    )


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_page(conninfo: str, as_of: dt.date, export_dir: Path) -> Path:
    """EXPORT_DIR/<AS_OF>/indicators/index.html and plotly.min.js beside it, each written atomically."""
    import plotly.offline

    data = read(conninfo, as_of)
    out = Path(export_dir) / as_of.isoformat() / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    script = out / PLOTLY_JS
    js = plotly.offline.get_plotlyjs()
    if not script.exists() or script.read_text(encoding="utf-8") != js:
        _write(script, js)
    page = out / "index.html"
    _write(page, render(data))
    return page
