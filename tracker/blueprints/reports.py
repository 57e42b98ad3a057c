"""Reports (報告書): ask for the fiscal-year report of ward issues, follow its job, download it.

The file is made in the background (``tracker.reporting.reports``); the request is recorded in the same
transaction as nothing else, committed, and the user is sent to the job's page, which reloads
itself until the file is ready.

``/reports/fiscal-year?year=YYYY`` shows the same figures at once as the city's own table (by
ward, by bureau, with totals, and the budgeted projects); ``&format=csv|xlsx`` downloads it,
recorded as an export (committed before the first byte is sent).

``/reports/activities`` counts the liaisons' field work (``tracker.reporting.activity_counts``)
for a range of fiscal years, per ward, center or liaison, by fiscal year or month, within the
activities' own scope: the admin the city, a ward manager the ward (with the city's totals as
numbers), a liaison the own center and own counts; never bureau staff.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from wtforms import SelectField

from ..extensions import db
from ..finding import exports
from ..formatting import fiscal_year_label, today_in_tokyo
from ..ops_models import OutboxJob
from ..reporting import activity_counts, fiscal_range, reports
from ..states import Role
from ..wording import N_, say, translate
from .common import roles_required
from .form_messages import Form
from .forms import options

bp = Blueprint("reports", __name__, url_prefix="/reports")

READERS = (Role.ADMIN, Role.WARD_MANAGER, Role.BUREAU_STAFF)


class ReportForm(Form):
    fiscal_year = SelectField(lazy_gettext("年度"), coerce=int)


def _report_form() -> ReportForm:
    form = ReportForm()
    years = reports.fiscal_years(db.session, today_in_tokyo())
    form.fiscal_year.choices = options((year, fiscal_year_label(year)) for year in years)
    return form


def _own_job(outbox_id: int) -> OutboxJob:
    """A report job the current user may see (``reports.may_see_job``)."""
    row = reports.report_job(db.session, outbox_id)
    if row is None:
        abort(404)
    if not reports.may_see_job(current_user, row):
        abort(403, description=_("この報告書は作成を依頼した人と管理者だけが見られます。"))
    return row


@bp.route("/", methods=["GET", "POST"])
@roles_required(*READERS)
def index():
    form = _report_form()
    if form.validate_on_submit():
        row = reports.request_report(db.session, current_user, form.fiscal_year.data)
        db.session.commit()
        return redirect(url_for("reports.job", outbox_id=row.id))
    if form.is_submitted():
        flash(_("年度を選んでください。"), "error")
    recent = reports.recent_jobs(db.session, current_user)
    return render_template("reports/index.html", form=form, recent=recent)


@bp.route("/jobs/<int:outbox_id>")
@roles_required(*READERS)
def job(outbox_id: int):
    row = _own_job(outbox_id)
    return render_template("reports/job.html", row=row, finished=reports.is_finished(row))


@bp.route("/jobs/<int:outbox_id>/download")
@roles_required(*READERS)
def download(outbox_id: int):
    row = _own_job(outbox_id)
    path = reports.report_file(row)
    if path is None:
        abort(404)
    return send_file(
        path,
        mimetype=reports.XLSX_MIMETYPE,
        as_attachment=True,
        download_name=reports.download_name(row.result["fiscal_year"]),
    )


# --- the fiscal-year table ----------------------------------------------------------------


def _chosen_year(choices: list[int]) -> int:
    raw = request.args.get("year", "")
    if raw.isdecimal() and len(raw) == 4 and int(raw) in choices:
        return int(raw)
    return choices[0]


# One CSV/XLSX of the table: a row per ward, then per bureau, then the budgeted projects; each row
# says which part it belongs to, so that the file is one flat table that sorts and filters.
def _table_rows(report: reports.FiscalYearReport) -> list[tuple]:
    rows: list[tuple] = []
    for part, figures in ((_("区別"), report.wards), (_("局別"), report.bureaus)):
        for row in [*figures, report.total]:
            rows.append((part, row.name, *row.counts(), None, None, None))
    for project in report.projects:
        rows.append(
            (
                _("予算化事業"),
                project.ward,
                None,
                None,
                None,
                None,
                None,
                project.allocated_yen,
                project.project_name,
                project.bureau,
                project.executed_yen,
            )
        )
    return rows


TABLE_COLUMNS = [
    exports.Column(N_("区分"), lambda row: row[0]),
    exports.Column(N_("区・局"), lambda row: row[1]),
    *(
        exports.Column(header, lambda row, i=i: row[2 + i])
        for i, header in enumerate(reports.FIGURE_HEADERS[:5])
    ),
    exports.Column(N_("予算額 (円)"), lambda row: row[7]),
    exports.Column(N_("事業名"), lambda row: row[8]),
    exports.Column(N_("主管局"), lambda row: row[9]),
    exports.Column(N_("決算額 (円)"), lambda row: row[10]),
]


PAGE_PROJECTS = 50  # the page lists the first ones; the CSV and the Excel file hold them all


@bp.route("/fiscal-year")
@roles_required(*READERS)
def fiscal_year():
    years = reports.fiscal_years(db.session, today_in_tokyo())
    year = _chosen_year(years)
    fmt = request.args.get("format")
    report = reports.fiscal_year_report(db.session, year, project_limit=None if fmt else PAGE_PROJECTS)
    if fmt:
        if fmt not in exports.FORMATS:
            abort(404)
        rows = _table_rows(report)
        exports.record_export(
            db.session, current_user, "年度別 区重要課題報告", fmt, len(rows), {"year": year}
        )
        db.session.commit()
        filename = say(N_("区重要課題報告_%(year)s"), year=fiscal_year_label(year).split(" ")[0])
        return exports.response(fmt, filename, TABLE_COLUMNS, rows, say(N_("区重要課題 %(year)s"), year=year))
    return render_template("reports/fiscal_year.html", report=report, year=year, years=years)


# --- the published figures over a range of fiscal years ------------------------------------


def published_years(session) -> tuple[int, int] | None:
    """The years of the published figures: those with issues or budget, and with activities."""
    spans = [span for span in (fiscal_range.data_years(session), activity_counts.data_years(session)) if span]
    return (min(span[0] for span in spans), max(span[1] for span in spans)) if spans else None


def range_choices(data_years=published_years) -> tuple[list[int], int, int]:
    """The years offered (newest first) and the range asked for by ``?from=&to=``.

    The default range is every year with data, ``data_years(session)`` (or the current year
    when there is none).
    """
    offered = reports.fiscal_years(db.session, today_in_tokyo())
    with_data = data_years(db.session)
    if with_data is not None:
        offered = sorted({*offered, *range(with_data[0], with_data[1] + 1)}, reverse=True)
    first, last = with_data or (offered[0], offered[0])

    def chosen(name: str, default: int) -> int:
        raw = request.args.get(name, "")
        return int(raw) if raw.isdecimal() and int(raw) in offered else default

    first, last = chosen("from", first), chosen("to", last)
    return offered, min(first, last), max(first, last)


def _range_rows(report: fiscal_range.RangeReport) -> list[fiscal_range.YearRow]:
    return [*report.years, report.total]


RANGE_COLUMNS = [
    exports.Column(N_("年度"), lambda row: row.label),
    *(
        exports.Column(header, lambda row, i=i: row.counts()[i])
        for i, header in enumerate(fiscal_range.COUNT_HEADERS)
    ),
    exports.Column(fiscal_range.BUDGET_YEN_HEADER, lambda row: row.allocated_yen),
]


@bp.route("/fiscal-years")
@roles_required(*READERS)
def fiscal_years():
    offered, first, last = range_choices()
    report = fiscal_range.range_report(db.session, first, last)
    fmt = request.args.get("format")
    if fmt:
        if fmt not in exports.FORMATS:
            abort(404)
        rows = _range_rows(report)
        filters = {"from": first, "to": last}
        exports.record_export(db.session, current_user, "複数年度 区重要課題の実績", fmt, len(rows), filters)
        db.session.commit()
        filename = say(N_("区重要課題の実績_%(period)s"), period=report.period)
        sheet = say(N_("区重要課題 %(year)s"), year=f"{first}-{last}")
        return exports.response(fmt, filename, RANGE_COLUMNS, rows, sheet)
    activities = activity_counts.published_figures(db.session, first, last)
    return render_template("reports/fiscal_years.html", report=report, years=offered, activities=activities)


# --- counts of the liaisons' field work --------------------------------------------------------

FIELD_WORK_READERS = (Role.ADMIN, Role.WARD_MANAGER, Role.LIAISON)


def _activity_columns(grouping: str) -> list[exports.Column]:
    within = {"center": N_("区"), "liaison": N_("まちづくりセンター")}.get(grouping)
    return [
        exports.Column(activity_counts.GROUPINGS[grouping], lambda row: row.name),
        *([exports.Column(within, lambda row: row.within)] if within else []),
        exports.Column(N_("期間"), lambda row: row.period_label),
        exports.Column(N_("活動件数"), lambda row: row.figures.activities),
        exports.Column(N_("収集した要望相談件数"), lambda row: row.figures.requests),
        exports.Column(N_("1活動あたりの要望相談件数"), lambda row: row.figures.per_activity),
    ]


@bp.route("/activities")
@roles_required(*FIELD_WORK_READERS)
def activities():
    """``?from=&to=&group=ward|center|liaison&period=year|month[&format=csv|xlsx]``."""
    offered, first, last = range_choices(activity_counts.data_years)
    grouping, period = activity_counts.chosen(
        current_user, request.args.get("group", ""), request.args.get("period", "")
    )
    counts = activity_counts.activity_counts(db.session, current_user, first, last, grouping, period)
    fmt = request.args.get("format")
    if fmt:
        if fmt not in exports.FORMATS:
            abort(404)
        rows = counts.table
        filters = {"from": first, "to": last, "group": grouping, "period": period}
        exports.record_export(db.session, current_user, "地域活動の件数", fmt, len(rows), filters)
        db.session.commit()
        span = f"{first}" if first == last else f"{first}-{last}"
        filename = say(
            N_("地域活動の件数_%(group)s_%(period)s_%(span)s"),
            group=translate(activity_counts.GROUPINGS[grouping]),
            period=translate(activity_counts.PERIODS[period]),
            span=span,
        )
        sheet = say(N_("地域活動 %(span)s"), span=span)
        return exports.response(fmt, filename, _activity_columns(grouping), rows, sheet)
    return render_template(
        "reports/activities.html",
        counts=counts,
        years=offered,
        groupings_offered=activity_counts.groupings_for(current_user),
        columns=_activity_columns(grouping),
    )
