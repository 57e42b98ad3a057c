"""指標: the city page comparing the five wards, a page per ward and per indicator, their CSV/XLSX,
and the admin's pages to define indicators, set targets and enter values.

Who reads what. Indicators are aggregates, never personal data, and the policy asks for them to
be shared within a ward, between wards and with the bureaus, so:
- the city page (``/indicators/``) and each indicator's page with its history: every member of
  staff (the history names the staff who set a target or entered a value, as other histories do);
- a ward's page: the admin, ward managers and bureau staff for every ward; a liaison for their
  own ward only (their work is the ward's; other wards are compared on the city page).
Who writes. The admin defines and edits indicators and sets targets (any ward, or the city); the
admin enters the values of entered indicators for any ward and the city, a ward manager for their
own ward (``tracker.effects.indicators``, which checks it again). A refused form comes back (422)
with the reason next to its field and what was typed; a denied one is a 403.

The fiscal years shown are ``?from=&to=`` (default: the last three, the current one included).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..effects import indicators as writes
from ..extensions import db
from ..finding import exports
from ..formatting import today_in_tokyo
from ..models import Ward
from ..monitoring_models import Indicator
from ..reporting import indicator_tables as tables
from ..reporting.indicator_charts import table_chart
from ..reporting.indicators import METRICS
from ..states import IndicatorKind, Role
from ..wording import N_, say, translate
from .common import roles_required
from .fields import FiscalYearField, JapaneseDateField
from .form_messages import Form
from .forms import REQUIRED, options

bp = Blueprint("indicators", __name__, url_prefix="/indicators")

EXPORT_COLUMNS = [
    exports.Column(header, lambda row, i=i: row[i]) for i, header in enumerate(tables.EXPORT_HEADERS)
]
CITY_WIDE = ""  # the ward choice that means the whole city


@bp.context_processor
def _helpers() -> dict:
    return {"number_label": tables.number_label}


class IndicatorForm(Form):
    code = StringField(lazy_gettext("コード"), validators=[InputRequired(REQUIRED), Length(max=40)])
    name = StringField(lazy_gettext("指標名"), validators=[InputRequired(REQUIRED), Length(max=120)])
    description = TextAreaField(lazy_gettext("説明"), validators=[Length(max=2000)])
    kind = SelectField(
        lazy_gettext("種類"),
        choices=options((kind.value, lazy_gettext(kind.source_label)) for kind in IndicatorKind),
        validators=[InputRequired(REQUIRED)],
    )
    metric = SelectField(
        lazy_gettext("算出方法"),
        choices=options(
            [
                ("", lazy_gettext("― (調査等の入力値)")),
                *((m.key, lazy_gettext(m.name)) for m in METRICS.values()),
            ]
        ),
    )
    unit = StringField(lazy_gettext("単位"), validators=[InputRequired(REQUIRED), Length(max=20)])
    higher_is_better = SelectField(
        lazy_gettext("方向"),
        choices=options([("1", lazy_gettext("高いほど良い")), ("0", lazy_gettext("低いほど良い"))]),
    )
    active = BooleanField(lazy_gettext("有効 (指標のページに表示する)"), default=True)


class TargetForm(Form):
    ward_id = SelectField(lazy_gettext("区"), choices=[])
    fiscal_year = FiscalYearField(lazy_gettext("年度"), validators=[InputRequired(REQUIRED)])
    target = StringField(lazy_gettext("目標値"), validators=[InputRequired(REQUIRED), Length(max=30)])


class ValueForm(Form):
    ward_id = SelectField(lazy_gettext("区"), choices=[])
    fiscal_year = FiscalYearField(lazy_gettext("年度"), validators=[InputRequired(REQUIRED)])
    value = StringField(lazy_gettext("実績値"), validators=[InputRequired(REQUIRED), Length(max=30)])
    source = StringField(lazy_gettext("出典"), validators=[InputRequired(REQUIRED), Length(max=200)])
    measured_on = JapaneseDateField(lazy_gettext("調査日"), validators=[InputRequired(REQUIRED)])


def _page_range():
    today = today_in_tokyo()
    first, last = tables.parse_range(request.args, today)
    return first, last, tables.offered_years(today, first, last)


def _export(page: tables.Page, what: str, filename: str, **params: str):
    """The page's table as CSV/XLSX; ``what`` (recorded in Japanese, the sheet's title in the
    user's language) and ``filename`` are marked templates filled with ``params``."""
    fmt = request.args.get("format")
    if fmt not in exports.FORMATS:
        abort(404)
    rows = tables.export_rows(page)
    filters = {"from": page.first, "to": page.last}
    exports.record_export(db.session, current_user, what % params, fmt, len(rows), filters)
    db.session.commit()
    name = f"{say(filename, **params)}_{page.period}"
    return exports.response(fmt, name, EXPORT_COLUMNS, rows, say(what, **params))


def _charts(page: tables.Page) -> dict[int, object]:
    return {t.indicator.id: table_chart(page, t, f"indicator-{t.indicator.id}") for t in page.tables}


@bp.route("/")
@login_required
def city():
    first, last, years = _page_range()
    page = tables.city_page(db.session, first, last)
    if request.args.get("format"):
        return _export(page, N_("指標 (市全体・区別)"), N_("指標_市全体"))
    return render_template(
        "indicators/city.html",
        page=page,
        charts=_charts(page),
        years=years,
        wards=tables.all_wards(db.session),
    )


@bp.route("/ward/<int:ward_id>")
@login_required
def ward(ward_id: int):
    found = db.session.get(Ward, ward_id)
    if found is None:
        abort(404)
    if current_user.role == Role.LIAISON and current_user.ward_id != found.id:
        abort(
            403,
            description=_(
                "地域担当職員は自分の区の指標だけを見る権限があります。市全体のページで各区を比べられます。"
            ),
        )
    first, last, years = _page_range()
    page = tables.ward_page(db.session, found, first, last)
    if request.args.get("format"):
        return _export(page, N_("指標 (%(name)s)"), N_("指標_%(name)s"), name=found.name)
    return render_template("indicators/ward.html", page=page, charts=_charts(page), years=years, ward=found)


# --- one indicator: its figures, its history, and the forms of targets and values --------------


def _indicator(indicator_id: int) -> Indicator:
    found = db.session.get(Indicator, indicator_id)
    if found is None:
        abort(404)
    return found


def _ward_choices(role_ward: int | None = None) -> list:
    wards = tables.all_wards(db.session)
    if role_ward is not None:
        return options((str(w.id), w.name) for w in wards if w.id == role_ward)
    return options([(CITY_WIDE, translate(tables.CITY)), *((str(w.id), w.name) for w in wards)])


def _forms(indicator: Indicator, years: list[int]) -> dict:
    """The forms the current user may use on this indicator's page (by name)."""
    found = {}
    if current_user.role == Role.ADMIN:
        target = TargetForm(prefix="target")
        target.ward_id.choices = _ward_choices()
        target.fiscal_year.offer(sorted(years))
        found["target"] = target
    manager = current_user.role == Role.WARD_MANAGER
    if indicator.kind == IndicatorKind.ENTERED and (current_user.role == Role.ADMIN or manager):
        value = ValueForm(prefix="value")
        value.ward_id.choices = _ward_choices(current_user.ward_id if manager else None)
        value.fiscal_year.offer(sorted(years))
        found["value"] = value
    return found


def _detail(indicator: Indicator, forms: dict | None = None, status: int = 200):
    first, last, years = _page_range()
    page = tables.indicator_page(db.session, indicator, first, last)
    forms = forms if forms is not None else _forms(indicator, years)
    events = writes.history(db.session, indicator)
    ward_names = {area.ward_id: area.name for area in page.areas if area.ward_id}
    return render_template(
        "indicators/detail.html",
        indicator=indicator,
        page=page,
        charts=_charts(page),
        years=years,
        forms=forms,
        events=events,
        ward_names=ward_names,
        labels={action: translate(label) for action, label in writes.ACTION_LABELS.items()},
        field_labels={name: translate(label) for name, label in writes.FIELD_LABELS.items()},
        metric=METRICS.get(indicator.metric or ""),
    ), status


@bp.route("/<int:indicator_id>")
@login_required
def detail(indicator_id: int):
    indicator = _indicator(indicator_id)
    if request.args.get("format"):
        first, last, _years = _page_range()
        page = tables.indicator_page(db.session, indicator, first, last)
        return _export(page, N_("指標 (%(name)s)"), N_("指標_%(name)s"), name=indicator.code)
    return _detail(indicator)


def _detail_url(indicator: Indicator) -> str:
    first, last, _years = _page_range()
    return url_for("indicators.detail", indicator_id=indicator.id, **{"from": first, "to": last})


def _refused(indicator: Indicator, forms: dict, form, error: writes.WorkflowError | None):
    """422: the page again, the typed form with the reason beside its field."""
    if isinstance(error, writes.IndicatorInputError):
        field = getattr(form, error.field, None)
        if field is not None:
            field.errors = [*field.errors, error.message]
    message = error.message if error else _("入力内容を確認してください。")
    flash(message, "error")
    return _detail(indicator, forms, 422)


@bp.route("/<int:indicator_id>/target", methods=["POST"])
@roles_required(Role.ADMIN)
def set_target(indicator_id: int):
    indicator = _indicator(indicator_id)
    _first, _last, years = _page_range()
    forms = _forms(indicator, years)
    form = forms["target"]
    if not form.validate_on_submit():
        return _refused(indicator, forms, form, None)
    return _save(
        indicator,
        forms,
        form,
        lambda: writes.set_target(
            db.session, current_user, indicator, form.ward_id.data, form.fiscal_year.data, form.target.data
        ),
        _("目標値を保存しました。"),
    )


def _save(indicator, forms, form, write, success: str):
    """Run one write of a target or a value: 403 when the actor may not, the form again (422)
    with the reason when the input is refused, else commit and back to the indicator's page."""
    try:
        write()
    except writes.IndicatorDenied as denied:
        db.session.rollback()
        abort(403, description=denied.message)
    except writes.WorkflowError as error:
        db.session.rollback()
        return _refused(indicator, forms, form, error)
    db.session.commit()
    flash(success, "success")
    return redirect(_detail_url(indicator))


@bp.route("/<int:indicator_id>/value", methods=["POST"])
@roles_required(Role.ADMIN, Role.WARD_MANAGER)
def enter_value(indicator_id: int):
    indicator = _indicator(indicator_id)
    _first, _last, years = _page_range()
    forms = _forms(indicator, years)
    form = forms.get("value")
    if form is None:
        flash(_("この指標はデータから算出するため、実績値は入力できません。"), "error")
        return _detail(indicator, forms, 422)
    if not form.validate_on_submit():
        return _refused(indicator, forms, form, None)
    return _save(
        indicator,
        forms,
        form,
        lambda: writes.enter_value(
            db.session,
            current_user,
            indicator,
            form.ward_id.data,
            form.fiscal_year.data,
            form.value.data,
            form.source.data,
            form.measured_on.data,
        ),
        _("実績値を保存しました。"),
    )


# --- the admin's definitions -------------------------------------------------------------------


@bp.route("/admin")
@roles_required(Role.ADMIN)
def manage():
    rows = tables.all_indicators(db.session)
    return render_template("indicators/manage.html", indicators=rows, metrics=METRICS)


def _definition_form(indicator: Indicator | None):
    editing = indicator if request.method == "GET" else None
    form = IndicatorForm(obj=editing)
    if editing is not None:
        form.metric.data = indicator.metric or ""
        form.higher_is_better.data = "1" if indicator.higher_is_better else "0"
    return form


def _save_definition(indicator: Indicator | None):
    form = _definition_form(indicator)
    error = None
    if form.validate_on_submit():
        fields = {name: form[name].data for name in writes.DEFINITION_FIELDS}
        fields["higher_is_better"] = form.higher_is_better.data == "1"
        try:
            if indicator is None:
                saved = writes.define_indicator(db.session, current_user, fields, metric_keys=METRICS)
            else:
                saved = writes.edit_indicator(
                    db.session, current_user, indicator, fields, metric_keys=METRICS
                )
        except writes.WorkflowError as refused:
            db.session.rollback()
            error = refused
            field = getattr(form, getattr(refused, "field", ""), None)
            if field is not None:
                field.errors = [*field.errors, refused.message]
        else:
            db.session.commit()
            flash(_("指標「%(name)s」を保存しました。", name=saved.name), "success")
            return redirect(url_for("indicators.detail", indicator_id=saved.id))
    if request.method == "POST":
        flash(error.message if error else _("入力内容を確認してください。"), "error")
    status = 422 if request.method == "POST" else 200
    return render_template("indicators/form.html", form=form, indicator=indicator), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new():
    return _save_definition(None)


@bp.route("/<int:indicator_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(indicator_id: int):
    return _save_definition(_indicator(indicator_id))
