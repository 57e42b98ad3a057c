"""Dashboards: each user's own start page, and the city's figures for a fiscal year as charts.

``/dashboard/`` shows what the user's role should look at first, within their own scope
(``tracker.reporting.personal_dashboard``). ``/dashboard/city`` shows the city dashboard
(``tracker.reporting.dashboards``): aggregates only, no personal data, for every logged-in user; each
chart has its table beside it, and each table can be downloaded as CSV (the download is
recorded like every export). Above the charts, the city's published figures (issues by decision,
budget; the field work: 地域担当職員, 地域での活動件数, 収集した要望相談件数) for a range of
fiscal years, ``?from=&to=`` (default: every year with data), as on ``/reports/fiscal-years``.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..extensions import db
from ..finding import exports
from ..formatting import fiscal_year_label, fiscal_year_of, today_in_tokyo
from ..reporting import activity_counts, dashboard_charts, dashboards, fiscal_range, personal_dashboard
from ..wording import N_, say
from .reports import range_choices

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

OLDEST_YEAR = 2000


def chosen_year(choices: list[int]) -> int:
    """``?year=`` when it is one of ``choices`` (or any sane year), else the current fiscal year."""
    current = fiscal_year_of(today_in_tokyo())
    raw = request.args.get("year", "")
    if raw.isdecimal() and len(raw) == 4 and OLDEST_YEAR <= int(raw) <= current + 1:
        return int(raw)
    return current


@bp.route("/")
@login_required
def personal():
    board = personal_dashboard.dashboard_for(db.session, current_user, today_in_tokyo())
    return render_template("dashboard/personal.html", board=board)


def _chart_columns(chart) -> list[exports.Column]:
    columns = [exports.Column(N_("項目"), lambda row: row[0])]
    for index, series in enumerate(chart.series):
        columns.append(exports.Column(series.name, lambda row, i=index: row[1][i]))
    return columns


@bp.route("/city")
@login_required
def city():
    years = dashboards.fiscal_years(db.session, today_in_tokyo())
    year = chosen_year(years)
    figures = dashboards.city_figures(db.session, year, today_in_tokyo())
    panels = dashboard_charts.city_panels(figures)
    fmt = request.args.get("format")
    if fmt:
        wanted = request.args.get("table", "")
        panel = next((p for p in panels if p.chart.key == wanted), None)
        if fmt != "csv" or panel is None:
            abort(404)
        rows = panel.chart.rows()
        what = f"ダッシュボード: {dashboard_charts.TITLES[panel.chart.key]}"
        exports.record_export(db.session, current_user, what, fmt, len(rows), {"year": year, "table": wanted})
        db.session.commit()
        filename = say(
            N_("%(title)s_%(year)s"), title=panel.chart.title, year=fiscal_year_label(year).split(" ")[0]
        )
        return exports.response(fmt, filename, _chart_columns(panel.chart), rows, panel.chart.title)
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    range_years, first, last = range_choices()
    published = fiscal_range.range_report(db.session, first, last)
    activities = activity_counts.published_figures(db.session, first, last)
    return render_template(
        "dashboard/city.html",
        figures=figures,
        panels=panels,
        year=year,
        years=years,
        published=published,
        activities=activities,
        range_years=range_years,
    )
