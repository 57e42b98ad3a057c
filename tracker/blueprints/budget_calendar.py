"""予算編成スケジュール (admin): the city's dates for compiling each year's budget.

One page lists the calendars and holds the form that adds one or changes one (choosing a year
that has a calendar changes its dates). The rules are ``tracker.effects.budget_calendar``'s;
a refused form comes back with the reason next to the field and what was typed; a saved one
is recorded, old and new, in the admin change log (``tracker.safeguards.admin_log``).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from wtforms.validators import InputRequired

from ..effects import budget_calendar
from ..extensions import db
from ..formatting import fiscal_year_label, fiscal_year_of, today_in_tokyo
from ..monitoring_models import BudgetCalendar
from ..safeguards import admin_log
from ..states import Role
from ..wording import N_
from .common import int_arg, roles_required
from .fields import FiscalYearField, JapaneseDateField
from .form_messages import Form
from .forms import REQUIRED

bp = Blueprint("budget_calendar", __name__, url_prefix="/admin/budget-calendar")
YEARS_OFFERED = 3  # this fiscal year's budget and the next two


def _date_field(name: str) -> JapaneseDateField:
    """One of the calendar's dates, labelled (in the user's language) as ``DATE_FIELDS`` names it."""
    label = budget_calendar.DATE_FIELDS[name]
    return JapaneseDateField(lazy_gettext(label), validators=[InputRequired(REQUIRED)])


class BudgetCalendarForm(Form):
    budget_year = FiscalYearField(lazy_gettext("予算の年度"), validators=[InputRequired(REQUIRED)])
    send_by = _date_field("send_by")
    results_by = _date_field("results_by")
    decided_on = _date_field("decided_on")


def _form(calendars: list[BudgetCalendar]) -> BudgetCalendarForm:
    """The form, filled in from the calendar of ``?year=`` when one is asked for."""
    current = fiscal_year_of(today_in_tokyo())
    chosen = int_arg("year", 1989, 2099)
    editing = next((c for c in calendars if c.budget_year == chosen), None)
    form = BudgetCalendarForm(obj=editing if request.method == "GET" else None)
    years = sorted({*range(current, current + YEARS_OFFERED), *(c.budget_year for c in calendars)})
    form.budget_year.offer(years, default=editing.budget_year if editing else current + 1)
    return form


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def index():
    calendars = budget_calendar.calendars(db.session)
    form = _form(calendars)
    if form.validate_on_submit():
        year = form.budget_year.data
        dates = {name: form[name].data for name in budget_calendar.DATE_FIELDS}
        found = budget_calendar.problems(year, dates)
        for name, message in found.items():
            form[name].errors.append(message)
        if not found:
            changed = any(c.budget_year == year for c in calendars)
            summary = (
                N_("%(year)sの予算編成スケジュールを変更しました。")
                if changed
                else N_("%(year)sの予算編成スケジュールを追加しました。")
            )
            label = fiscal_year_label(year)
            with admin_log.recording(db.session, current_user, summary % {"year": label}):
                budget_calendar.save_calendar(db.session, current_user, year, dates)
            db.session.commit()
            flash(_(summary, year=label), "success")
            return redirect(url_for("budget_calendar.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/budget_calendar.html", calendars=calendars, form=form), status
