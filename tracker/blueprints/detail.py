"""The detail pages of a request and an issue, and their action forms: one per action the user
may take now.

Each form is built with the action's name as its prefix, so several forms share one page, and
the POST view builds the same form (with the same choices) to validate it. A refused action
shows the page again with that form open, as typed, its errors beside the fields and the reason
inside the panel (``Refused``), instead of a redirect that would lose what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import workflow
from ..city import choices
from ..effects import city_settings, consultation, good_practice, publication, teamwork
from ..extensions import db
from ..finding import app_sources, similar, similar_issues
from ..formatting import fiscal_year_of, today_in_tokyo
from ..models import ServiceRequest, WardIssue
from ..safeguards import personal_data
from ..states import IssueState
from . import correction_forms as fix
from .forms import (
    AcceptHandoverForm,
    AnswerForm,
    AnswerInquiryForm,
    AttachmentForm,
    BudgetForm,
    CommentForm,
    CompleteForm,
    ConfirmForm,
    DecideForm,
    EscalateForm,
    FundForm,
    GoodPracticeForm,
    HandOverForm,
    InquireForm,
    NoteForm,
    OpinionForm,
    OwnerForm,
    PublicForm,
    PublicTextForm,
    ReasonForm,
    ReferForm,
    SendForm,
    options,
)
from .triage_forms import AssignForm, PriorityForm, priority_options

REQUEST_FORMS = {
    "answer": (AnswerForm, "field.answer"),
    "withdraw": (ReasonForm, "field.withdraw"),
    "refer": (ReferForm, "ward.refer"),
    "hand_over": (HandOverForm, "ward.hand_over"),
    "accept_handover": (AcceptHandoverForm, "ward.accept_handover"),
    "decline_handover": (ReasonForm, "ward.decline_handover"),
    "cancel_handover": (ReasonForm, "ward.cancel_handover"),
    "escalate": (EscalateForm, "ward.escalate"),
    "fund_from_ward": (FundForm, "ward.fund_from_ward"),
    "reopen": (ReasonForm, "ward.reopen"),
    "set_priority": (PriorityForm, "ward.set_priority"),
    "assign": (AssignForm, "ward.assign"),
    "comment": (CommentForm, "teamwork.comment_request"),
    "attach": (AttachmentForm, "teamwork.attach_request"),
    "correct_request": (fix.CorrectRequestForm, "corrections.correct_request"),
    "correct_answer": (fix.CorrectAnswerForm, "corrections.correct_answer"),
    "correct_fund_draw": (fix.CorrectFundDrawForm, "corrections.correct_fund_draw"),
    "cancel_fund_draw": (fix.CancelFundDrawForm, "corrections.cancel_fund_draw"),
}

ISSUE_FORMS = {
    "edit": (None, "ward.edit_issue"),
    "approve": (ConfirmForm, "ward.approve"),
    "submit": (ConfirmForm, "ward.submit"),
    "return_draft": (ReasonForm, "ward.return_draft"),
    "send": (SendForm, "ward.send"),
    "assign_ward_owner": (OwnerForm, "ward.assign_ward_owner"),
    "assign_bureau_owner": (OwnerForm, "bureau.assign_bureau_owner"),
    "withdraw": (ReasonForm, "ward.withdraw_issue"),
    "write_public_text": (PublicTextForm, "ward.write_public_text"),
    "approve_public_text": (ConfirmForm, "ward.approve_public_text"),
    "set_public": (PublicForm, "ward.set_public"),
    "mark_good_practice": (GoodPracticeForm, "ward.mark_good_practice"),
    "edit_good_practice": (GoodPracticeForm, "ward.edit_good_practice"),
    "unmark_good_practice": (ReasonForm, "ward.unmark_good_practice"),
    "decide": (DecideForm, "bureau.decide"),
    "inquire": (InquireForm, "bureau.inquire"),
    "answer_inquiry": (AnswerInquiryForm, "ward.answer_inquiry"),
    "opine": (OpinionForm, "bureau.opine"),
    "budget": (BudgetForm, "bureau.budget"),
    "add_budget_line": (BudgetForm, "bureau.add_budget_line"),
    "start": (ConfirmForm, "bureau.start"),
    "note": (NoteForm, "bureau.note"),
    "complete": (CompleteForm, "bureau.complete"),
    "comment": (CommentForm, "teamwork.comment_issue"),
    "attach": (AttachmentForm, "teamwork.attach_issue"),
    "correct_texts": (fix.CorrectTextsForm, "corrections.correct_texts"),
    "correct_decision": (fix.CorrectDecisionForm, "corrections.correct_decision"),
    "correct_budget_line": (fix.CorrectBudgetLineForm, "corrections.correct_budget_line"),
    "cancel_budget_line": (fix.CancelBudgetLineForm, "corrections.cancel_budget_line"),
}

TEAMWORK_ACTIONS = ("comment", "attach")  # shown with the thread and the files, not as panels
# 事例集: offered only when the issue is (True) or is not (False) in the library
PRACTICE_ACTIONS = {"mark_good_practice": False, "edit_good_practice": True, "unmark_good_practice": True}


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
        form_class = CompleteForm.for_lines(subject.current_budget_lines)
    form = form_class(prefix=action)
    stamp_version(form, subject)
    if isinstance(form, AnswerForm) and form.answered_on.data is None:
        form.answered_on.data = today_in_tokyo()
    if isinstance(form, EscalateForm):
        issues = choices.open_issues_of_ward(db.session, subject.ward_id)
        form.ward_issue_id.choices = options(
            [(0, _("新しい区重要課題を起案する"))]
            + [(i.id, f"{i.reference} {i.title} ({i.state.label})") for i in issues]
        )
        form.lead_bureau_id.choices = options([(0, _("未定")), *bureau_choices()])
        if not form.title.data:
            form.title.data = subject.title
    if isinstance(form, SendForm):
        form.lead_bureau_id.choices = options(bureau_choices())
        form.related_bureau_ids.choices = options(bureau_choices())
        if form.lead_bureau_id.data is None:
            form.lead_bureau_id.data = subject.lead_bureau_id
            form.related_bureau_ids.data = [b.id for b in subject.related_bureaus]
    if isinstance(form, HandOverForm):
        wards = [(w.id, w.name) for w in choices.wards(db.session) if w.id != subject.ward_id]
        form.handover_ward_id.choices = options(wards)
    if isinstance(form, AcceptHandoverForm):
        centers = choices.active_centers_of_ward(db.session, subject.handover_ward_id)
        form.center_id.choices = options([(c.id, c.name) for c in centers])
    if isinstance(form, (BudgetForm, FundForm)):
        form.fiscal_year.offer(budget_years(subject.fiscal_year), default=subject.fiscal_year)
    if isinstance(form, OwnerForm):
        ward_side = action == "assign_ward_owner"
        people = (
            choices.ward_people(db.session, subject.ward_id)
            if ward_side
            else choices.bureau_people(db.session, subject.lead_bureau_id)
        )
        form.owner.choices = options([(u.id, f"{u.display_name} ({u.role.label})") for u in people])
        if not form.is_submitted():
            form.owner.data = subject.ward_owner_id if ward_side else subject.bureau_owner_id
    if isinstance(form, PriorityForm):
        form.priority.choices = priority_options()
        if not form.is_submitted():
            form.priority.data = subject.priority.value
    if isinstance(form, AssignForm):
        people = choices.ward_people(db.session, subject.ward_id)
        form.assignee.choices = options([(u.id, f"{u.display_name} ({u.role.label})") for u in people])
        if not form.is_submitted():
            form.assignee.data = subject.assignee_id
    if isinstance(form, PublicForm) and not form.is_submitted():
        form.is_public.data = subject.is_public
    if isinstance(form, PublicTextForm) and not form.is_submitted():
        for key, text in publication.form_texts(db.session, subject).items():
            form[key].data = text
    if action == "edit_good_practice" and not form.is_submitted():
        practice = good_practice.practice_of(db.session, subject)
        form.summary.data = practice.summary if practice else ""
    fix.prepare(form, subject, budget_years(subject.fiscal_year))
    return form


@dataclass(frozen=True)
class Refused:
    """An action whose form was sent and refused: the form as submitted, and why."""

    action: str
    form: Any
    reason: str


def _action_forms(
    subject, registry, refused: Refused | None = None, *, in_library: bool = False, to_approve: bool = False
) -> list[dict]:
    """The panels of the actions the user may take now; ``in_library``: the issue's 事例集 entry
    exists; ``to_approve``: its public text is written and not yet approved."""
    forms = []
    for action in workflow.available_actions(current_user, subject):
        form_class, endpoint = registry[action.name]
        if not fix.shown_for(form_class, subject):
            continue  # nothing to correct or cancel
        if PRACTICE_ACTIONS.get(action.name, in_library) != in_library:
            continue  # marking an issue twice, or editing an entry that does not exist
        if action.name == "approve_public_text" and not to_approve:
            continue  # no public text, or approved already
        key = "request_id" if isinstance(subject, ServiceRequest) else "issue_id"
        again = refused is not None and refused.action == action.name
        forms.append(
            {
                "action": action,
                "url": url_for(endpoint, **{key: subject.id}),
                "form": refused.form if again else build_form(subject, action.name) if form_class else None,
                "open": again,
                "refusal": refused.reason if again else "",
            }
        )
    return forms


def _page_parts(subject, registry, refused: Refused | None, forms: list[dict] | None = None) -> dict:
    """The action panels (``forms``, when the caller has built them already), and apart from them
    the comment thread and the attachments with their forms (None when the user may not add)."""
    forms = _action_forms(subject, registry, refused) if forms is None else forms
    by_name = {entry["action"].name: entry for entry in forms}
    return {
        "action_forms": [entry for entry in forms if entry["action"].name not in TEAMWORK_ACTIONS],
        "comment_form": by_name.get("comment"),
        "attach_form": by_name.get("attach"),
        "comments": teamwork.comments_of(db.session, subject),
        "attachments": teamwork.attachments_of(db.session, subject),
        "attachment_max_mb": current_app.config["ATTACHMENT_MAX_BYTES"] // (1024 * 1024),
    }


def request_page(found: ServiceRequest, *, revealed: bool = False, refused: Refused | None = None) -> str:
    """The request's page; personal data shown only when ``revealed``: the view decides, after
    checking ``personal_data.may_reveal``."""
    may_reveal = personal_data.may_reveal(current_user, found)
    return render_template(
        "field/request_detail.html",
        item=found,
        app_names=app_sources.AppNames(db.session, [found]),
        **_page_parts(found, REQUEST_FORMS, refused),
        related=similar.related_requests(current_user, found),
        revealed=revealed,
        can_reveal=may_reveal and personal_data.has_personal_data(found),
    )


def issue_page(issue: WardIssue, *, refused: Refused | None = None) -> str:
    practice = good_practice.practice_of(db.session, issue) if issue.state == IssueState.COMPLETED else None
    shown = publication.publication_of(db.session, issue)
    to_approve = shown is not None and shown.approved_at is None
    forms = _action_forms(issue, ISSUE_FORMS, refused, in_library=practice is not None, to_approve=to_approve)
    # the drafter sees that another manager decides (two pairs of eyes), before trying
    others_approve = (
        any(a["action"].name == "approve" for a in forms)
        and issue.created_by_id == current_user.id
        and city_settings.is_on(db.session, city_settings.TWO_EYES_APPROVAL)
    )
    own_public_text = (
        to_approve
        and shown.written_by_id == current_user.id
        and city_settings.is_on(db.session, city_settings.TWO_EYES_APPROVAL)
    )
    return render_template(
        "ward/issue_detail.html",
        issue=issue,
        **_page_parts(issue, ISSUE_FORMS, refused, forms),
        inquiries=consultation.inquiries_of(db.session, issue),
        opinions=consultation.current_opinions(db.session, issue),
        others_approve=others_approve,
        practice=practice,
        publication=shown,
        own_public_text=own_public_text,
        similar_issues=similar_issues.for_page(db.session, current_user, issue),
    )


def page_of(subject: ServiceRequest | WardIssue, refused: Refused) -> str:
    """The subject's own page, showing ``refused`` again."""
    if isinstance(subject, ServiceRequest):
        return request_page(subject, refused=refused)
    return issue_page(subject, refused=refused)
