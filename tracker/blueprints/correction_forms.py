"""The forms of the corrections (訂正) and 取消, and how they are filled in for a subject.

Each asks for the reason (required). A form whose fields the subject knows (a request's center,
an answer, an issue's texts, a decision) comes filled in with the current values; the budget
line and fund draw forms choose the line first, so their other fields start blank, and blank
leaves a value as it is (the form says so).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..city import choices
from ..extensions import db
from ..formatting import fiscal_year_label, thousand_yen
from ..states import AnswerKind, Funding
from .fields import AmountField, FiscalYearField, JapaneseDateField
from .forms import REQUIRED, VersionedForm, enum_options, options, row_id

BLANK_KEEPS = _("空欄のままにした項目は変更しません。")
UNCHANGED_YEAR = 0  # the fiscal year choice that keeps the year as it is


def _reason(label: str = _("訂正の理由")) -> TextAreaField:
    return TextAreaField(label, validators=[DataRequired(REQUIRED), Length(max=2000)])


class CorrectRequestForm(VersionedForm):
    center_id = SelectField(_("まちづくりセンター"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    category_id = SelectField(_("分野"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    location_text = StringField(_("場所 (住所・目印)"), validators=[Length(max=200)])
    comment = _reason()


class CorrectAnswerForm(VersionedForm):
    answer_kind = RadioField(
        _("回答区分"), choices=enum_options(AnswerKind), validators=[DataRequired(REQUIRED)]
    )
    answer_text = TextAreaField(_("回答内容"), validators=[DataRequired(REQUIRED), Length(max=5000)])
    answered_on = JapaneseDateField(_("回答日"), validators=[DataRequired(REQUIRED)])
    comment = _reason()


class CorrectTextsForm(VersionedForm):
    title = StringField(_("件名"), validators=[DataRequired(REQUIRED), Length(max=200)])
    situation = TextAreaField(_("現状と課題"), validators=[Length(max=10000)])
    proposal = TextAreaField(_("対応案"), validators=[Length(max=10000)])
    comment = _reason()


class CorrectDecisionForm(VersionedForm):
    decision_reason = TextAreaField(_("理由・協議内容"), validators=[Length(max=5000)])
    next_review_on = JapaneseDateField(_("次回協議予定日 (継続協議のとき)"), validators=[Optional()])
    comment = _reason()


class LineForm(VersionedForm):
    """A form that acts on one budget line (or fund draw) of the subject, chosen first."""

    funding = Funding.BUREAU
    budget_line_id = SelectField(_("対象の予算"), coerce=row_id, validators=[InputRequired(REQUIRED)])


class CorrectBudgetLineForm(LineForm):
    fiscal_year = FiscalYearField(_("年度"), validators=[Optional()], description=BLANK_KEEPS)
    project_name = StringField(_("事業名"), validators=[Length(max=200)], description=BLANK_KEEPS)
    allocated_yen = AmountField(_("予算額"), validators=[Optional()], description=BLANK_KEEPS)
    executed_yen = AmountField(
        _("決算額 (完了後のみ)"), validators=[Optional()], allow_zero=True, description=BLANK_KEEPS
    )
    comment = _reason()


class CancelBudgetLineForm(LineForm):
    comment = _reason(_("取消の理由"))


class CorrectFundDrawForm(LineForm):
    funding = Funding.WARD_FUND
    budget_line_id = SelectField(_("対象の充当"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    fiscal_year = FiscalYearField(_("年度"), validators=[Optional()], description=BLANK_KEEPS)
    project_name = StringField(_("事業名"), validators=[Length(max=200)], description=BLANK_KEEPS)
    allocated_yen = AmountField(_("充当額"), validators=[Optional()], description=BLANK_KEEPS)
    comment = _reason()


class CancelFundDrawForm(LineForm):
    funding = Funding.WARD_FUND
    budget_line_id = SelectField(_("対象の充当"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    comment = _reason(_("取消の理由"))


def lines_to_choose(form: LineForm, subject) -> list:
    """The subject's current lines this form may act on."""
    return [line for line in subject.current_budget_lines if line.funding == form.funding]


def shown_for(form_class, subject) -> bool:
    """Whether the form has something to act on: a line to choose, a decision to correct."""
    if isinstance(form_class, type) and issubclass(form_class, LineForm):
        return bool(lines_to_choose(form_class, subject))
    if form_class is CorrectDecisionForm:
        return subject.decision is not None
    return True


def line_label(line) -> str:
    return f"{fiscal_year_label(line.fiscal_year)} {line.project_name} {thousand_yen(line.allocated_yen)}"


def prepare(form, subject, years) -> None:
    """Fill in ``form``'s choices, and the current values where the subject knows them."""
    fresh = not form.is_submitted()
    if isinstance(form, LineForm):
        form.budget_line_id.choices = options(
            (line.id, line_label(line)) for line in lines_to_choose(form, subject)
        )
        if hasattr(form, "fiscal_year"):
            form.fiscal_year.offer(years)
            form.fiscal_year.choices.insert(0, SelectChoice(UNCHANGED_YEAR, _("(変更しない)")))
            if not form.fiscal_year.raw_data:
                form.fiscal_year.data = UNCHANGED_YEAR
    if isinstance(form, CorrectRequestForm):
        centers = choices.active_centers_of_ward(db.session, subject.ward_id)
        form.center_id.choices = options((c.id, c.name) for c in centers)
        form.category_id.choices = options((c.id, c.name) for c in choices.active_categories(db.session))
        if fresh:
            form.center_id.data, form.category_id.data = subject.center_id, subject.category_id
            form.location_text.data = subject.location_text
    if fresh and isinstance(form, CorrectAnswerForm):
        form.answer_kind.data = subject.answer_kind.value if subject.answer_kind else None
        form.answer_text.data, form.answered_on.data = subject.answer_text, subject.answered_on
    if fresh and isinstance(form, CorrectTextsForm):
        form.title.data, form.situation.data = subject.title, subject.situation
        form.proposal.data = subject.proposal
    if fresh and isinstance(form, CorrectDecisionForm):
        form.decision_reason.data, form.next_review_on.data = subject.decision_reason, subject.next_review_on


def payload_of(form) -> dict:
    """The payload a correction form gives the workflow (the chosen line by its id; a year left
    at 「変更しない」 and blank fields as not given)."""
    payload = {key: value for key, value in form.data.items() if key not in ("csrf_token", "version")}
    if isinstance(form, LineForm):
        payload["budget_line"] = payload.pop("budget_line_id")
        if payload.get("fiscal_year") == UNCHANGED_YEAR:
            payload["fiscal_year"] = None
    if isinstance(form, CorrectRequestForm):
        payload["center"], payload["category"] = payload.pop("center_id"), payload.pop("category_id")
    return payload
