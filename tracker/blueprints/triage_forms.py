"""The forms of a request's triage: its priority (緊急度), its person in charge (担当者), and the
bulk actions of the triage and the request list. Choices are filled in by the view."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..city import choices
from ..states import AnswerKind, Priority
from .form_messages import Form
from .forms import REQUIRED, VersionedForm, options, row_id


def priority_options():
    return options([(p.value, p.label) for p in Priority])


class PriorityForm(VersionedForm):
    priority = SelectField(_("緊急度"), validators=[DataRequired(REQUIRED)])
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class AssignForm(VersionedForm):
    """The person in charge of a request: the view offers the people of its ward."""

    assignee = SelectField(_("担当者"), coerce=row_id, validators=[InputRequired(REQUIRED)])


BULK_ACTIONS = {
    "refer": _("担当課へ回付"),
    "escalate": _("区重要課題にまとめる"),
    "assign": _("担当者を設定"),
    "set_priority": _("緊急度を変更"),
    "answer": _("住民へ回答"),
}


class BulkForm(Form):
    """One action for every selected request (``ids``, read by the view from the checkboxes)."""

    action = SelectField(_("選んだ要望への操作"), validators=[DataRequired(REQUIRED)])
    referred_to = StringField(_("回付先 (担当課)"), validators=[Length(max=120)])
    ward_issue_id = SelectField(_("まとめる区重要課題"), coerce=row_id, validators=[Optional()])
    title = StringField(_("新しい区重要課題の件名"), validators=[Length(max=200)])
    assignee = SelectField(_("担当者"), coerce=row_id, validators=[Optional()])
    priority = SelectField(_("緊急度"), validators=[Optional()])
    answer_kind = SelectField(_("回答区分"), validators=[Optional()])
    answer_text = TextAreaField(_("回答内容"), validators=[Length(max=5000)])

    def offer(self, issues, people) -> None:
        self.action.choices = options([("", _("操作を選んでください")), *BULK_ACTIONS.items()])
        self.ward_issue_id.choices = options(
            [(0, _("新しい区重要課題を起案する"))]
            + [(i.id, f"{i.reference} {i.title} ({i.state.label})") for i in issues]
        )
        self.assignee.choices = options([(0, _("選んでください"))] + [(u.id, u.display_name) for u in people])
        self.priority.choices = options([("", _("選んでください"))] + [(p.value, p.label) for p in Priority])
        self.answer_kind.choices = options(
            [("", _("選んでください"))] + [(k.value, k.label) for k in AnswerKind]
        )


def bulk_form(session, user) -> BulkForm:
    """The bulk form with what the user's ward offers: its open issues and its people."""
    form = BulkForm(prefix="bulk")
    form.offer(choices.open_issues_of_ward(session, user.ward_id), choices.ward_people(session, user.ward_id))
    return form


def bulk_fields(form: BulkForm) -> dict:
    return {
        "referred_to": form.referred_to.data,
        "ward_issue": form.ward_issue_id.data or None,
        "title": form.title.data,
        "assignee": form.assignee.data or None,
        "priority": form.priority.data or None,
        "answer_kind": form.answer_kind.data or None,
        "answer_text": form.answer_text.data,
    }


def selected_versions(formdata, ids: list[int]) -> dict[int, int]:
    """The version of each selected request the page showed (``version-<id>``), where sent."""
    out = {}
    for request_id in ids:
        raw = str(formdata.get(f"version-{request_id}", "")).strip()
        if raw.isascii() and raw.isdecimal() and len(raw) <= 9:
            out[request_id] = int(raw)
    return out


BACK_ENDPOINTS = ("ward.triage", "field.ward_requests")


def bulk_back(formdata) -> str:
    """Where the bulk form came from (the triage or the request list, with its query string)."""
    raw = str(formdata.get("back", ""))
    for endpoint in BACK_ENDPOINTS:
        base = url_for(endpoint)
        if raw == base or (raw.startswith(base + "?") and len(raw) <= 2000 and "\\" not in raw):
            return raw
    return url_for("ward.triage")
