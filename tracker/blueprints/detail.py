"""The action forms shown on a detail page, one per action the user may take now.

Each form is built with the action's name as its prefix, so several forms share one page, and
the POST view builds the same form (with the same choices) to validate it.
"""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from .. import workflow
from ..city import choices
from ..extensions import db
from ..formatting import fiscal_year_of, today_in_tokyo
from ..models import ServiceRequest, WardIssue
from .forms import (
    AnswerForm,
    BudgetForm,
    CompleteForm,
    ConfirmForm,
    DecideForm,
    EscalateForm,
    FundForm,
    NoteForm,
    PublicForm,
    ReasonForm,
    ReferForm,
    SendForm,
    options,
)

REQUEST_FORMS = {
    "answer": (AnswerForm, "field.answer"),
    "withdraw": (ReasonForm, "field.withdraw"),
    "refer": (ReferForm, "ward.refer"),
    "escalate": (EscalateForm, "ward.escalate"),
    "fund_from_ward": (FundForm, "ward.fund_from_ward"),
    "reopen": (ReasonForm, "ward.reopen"),
}

ISSUE_FORMS = {
    "edit": (None, "ward.edit_issue"),
    "approve": (ConfirmForm, "ward.approve"),
    "send": (SendForm, "ward.send"),
    "withdraw": (ReasonForm, "ward.withdraw_issue"),
    "set_public": (PublicForm, "ward.set_public"),
    "decide": (DecideForm, "bureau.decide"),
    "budget": (BudgetForm, "bureau.budget"),
    "add_budget_line": (BudgetForm, "bureau.add_budget_line"),
    "start": (ConfirmForm, "bureau.start"),
    "note": (NoteForm, "bureau.note"),
    "complete": (CompleteForm, "bureau.complete"),
}


def bureau_choices() -> list[tuple[int, str]]:
    return [(b.id, b.name) for b in choices.active_bureaus(db.session)]


def budget_years(subject_year: int) -> range:
    """The fiscal years a budget line of a subject of ``subject_year`` may be for: from the year
    before it (or before this one) to three years after it (or after this one)."""
    current = fiscal_year_of(today_in_tokyo())
    return range(min(subject_year, current) - 1, max(subject_year, current) + 4)


def stamp_version(form, subject) -> None:
    """Put the version of ``subject`` the user sees now into the form's hidden ``version`` field.

    A submitted form keeps the version it was shown with: that is what ``run_action`` compares.
    """
    if not form.is_submitted():
        form.version.data = str(subject.version)


def build_form(subject, action: str):
    """The form for ``action`` on ``subject``, with choices and defaults filled in."""
    registry = REQUEST_FORMS if isinstance(subject, ServiceRequest) else ISSUE_FORMS
    form_class = registry[action][0]
    if form_class is CompleteForm:
        form_class = CompleteForm.for_lines(subject.budget_lines)
    form = form_class(prefix=action)
    stamp_version(form, subject)
    if isinstance(form, AnswerForm) and form.answered_on.data is None:
        form.answered_on.data = today_in_tokyo()
    if isinstance(form, EscalateForm):
        issues = choices.open_issues_of_ward(db.session, subject.ward_id)
        form.ward_issue_id.choices = options(
            [(0, "新しい区重要課題を起案する")]
            + [(i.id, f"{i.reference} {i.title} ({i.state.label})") for i in issues]
        )
        form.lead_bureau_id.choices = options([(0, "未定"), *bureau_choices()])
        if not form.title.data:
            form.title.data = subject.title
    if isinstance(form, SendForm):
        form.lead_bureau_id.choices = options(bureau_choices())
        form.related_bureau_ids.choices = options(bureau_choices())
        if form.lead_bureau_id.data is None:
            form.lead_bureau_id.data = subject.lead_bureau_id
            form.related_bureau_ids.data = [b.id for b in subject.related_bureaus]
    if isinstance(form, (BudgetForm, FundForm)):
        form.fiscal_year.offer(budget_years(subject.fiscal_year), default=subject.fiscal_year)
    if isinstance(form, PublicForm) and not form.is_submitted():
        form.is_public.data = subject.is_public
    return form


def _action_forms(subject, registry) -> list[dict]:
    forms = []
    for action in workflow.available_actions(current_user, subject):
        form_class, endpoint = registry[action.name]
        key = "request_id" if isinstance(subject, ServiceRequest) else "issue_id"
        forms.append(
            {
                "action": action,
                "url": url_for(endpoint, **{key: subject.id}),
                "form": build_form(subject, action.name) if form_class else None,
            }
        )
    return forms


def request_action_forms(subject: ServiceRequest) -> list[dict]:
    return _action_forms(subject, REQUEST_FORMS)


def issue_action_forms(subject: WardIssue) -> list[dict]:
    return _action_forms(subject, ISSUE_FORMS)
