"""Daily reminders of overdue work: one digest per person and day, in the app and by e-mail.

Overdue are the requests still open (受付, 回付, 区重要課題化) past their answer due date, and the
ward issues in consultation (局協議中) past their next review date. Who hears of what:
- a liaison: the overdue requests of their center;
- a ward manager: the overdue requests and consultations of their ward;
- bureau staff: the overdue consultations their bureau leads.
With them come the ward issues that miss next year's budget unless they move by the budget
calendar's next date (``tracker.effects.budget_calendar``): a ward manager hears of the ward's,
bureau staff of those their bureau leads, each with the step due, its date and the days left.
Nobody with nothing overdue or at risk hears anything, nor a deactivated user.

Each digest is a ``ReminderDigest`` row, unique per person and day, committed in the same
transaction as the person's in-app notification and the mark that the e-mail went out; so the
second run of a day sends nothing, and a run that died half-way sends the rest when run again.
The e-mail is the notification's, built and sent by ``tracker.background.notifications``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import click
from flask import Flask, current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ..effects import budget_calendar
from ..extensions import db
from ..formatting import date_label, fiscal_year_label, today_in_tokyo
from ..models import ServiceRequest, User, WardIssue, utcnow
from ..ops_models import Notification, ReminderDigest
from ..states import OPEN_REQUEST_STATES, IssueState, Role
from ..wording import N_, say, translate
from . import jobs, worker
from .jobs import in_language
from .notifications import build_email, deliver, wants_email

MAX_LISTED = 30  # items listed per section of a digest; the rest are counted
# A line of a digest: a marked Japanese template and its values, written out in the language of
# the person it goes to (``Digest.title`` and ``body`` read inside ``jobs.in_language``).
Line = tuple[str, dict]


@dataclass(frozen=True)
class Digest:
    """One person's digest, as text lines: nothing in it is read from the database again."""

    user: User
    requests: list[Line]  # one line per overdue request
    consultations: list[Line]  # one line per overdue consultation
    budget: list[Line] = field(default_factory=list)  # one line per issue at risk of missing the budget
    budget_heading: Line = ("", {})  # which budget, and the calendar's dates

    @property
    def title(self) -> str:
        counts = []
        if self.requests:
            counts.append(say("回答期限を過ぎた要望 %(n)s件", n=len(self.requests)))
        if self.consultations:
            counts.append(say("次回協議予定日を過ぎた区重要課題 %(n)s件", n=len(self.consultations)))
        if self.budget:
            counts.append(say("予算編成の期限が迫る区重要課題 %(n)s件", n=len(self.budget)))
        overdue = self.requests or self.consultations
        kind = N_("期限超過のお知らせ") if overdue else N_("予算編成スケジュールのお知らせ")
        return f"{translate(kind)}: {translate(N_('、')).join(counts)}"[:200]

    def body(self, today: dt.date) -> str:
        opening = translate(N_("期限を過ぎたものがあります。")) if self.requests or self.consultations else ""
        if self.budget:
            opening += translate(N_("期限までに動かさないと来年度予算に間に合わない区重要課題があります。"))
        return "\n".join(
            [
                say("%(day)s 時点で、%(opening)s", day=date_label(today), opening=opening),
                *_section(N_("回答期限を過ぎた要望"), self.requests),
                *_section(N_("次回協議予定日を過ぎた区重要課題"), self.consultations),
                *_section(self.budget_heading[0], self.budget, self.budget_heading[1]),
            ]
        )


def _section(heading: str, lines: list[Line], values: dict | None = None) -> list[str]:
    if not lines:
        return []
    more = [say("・ほか %(n)s件", n=len(lines) - MAX_LISTED)] if len(lines) > MAX_LISTED else []
    title = say("■ %(heading)s %(n)s件", heading=say(heading, **(values or {})), n=len(lines))
    return ["", title, *(say(template, **params) for template, params in lines[:MAX_LISTED]), *more]


def overdue_requests(session: Session, today: dt.date) -> list[ServiceRequest]:
    return session.scalars(
        select(ServiceRequest)
        .options(joinedload(ServiceRequest.center))
        .where(ServiceRequest.state.in_(OPEN_REQUEST_STATES), ServiceRequest.answer_due_on < today)
        .order_by(ServiceRequest.answer_due_on, ServiceRequest.id)
    ).all()


def overdue_consultations(session: Session, today: dt.date) -> list[WardIssue]:
    return session.scalars(
        select(WardIssue)
        .options(joinedload(WardIssue.ward), joinedload(WardIssue.lead_bureau))
        .where(WardIssue.state == IssueState.CONSULTING, WardIssue.next_review_on < today)
        .order_by(WardIssue.next_review_on, WardIssue.id)
    ).all()


def budget_lines(
    session: Session, today: dt.date
) -> tuple[Line, dict[int, list[Line]], dict[int, list[Line]]]:
    """The budget section's heading and its lines per ward and per lead bureau (bureaus hear
    only of the issues sent to them)."""
    outlook = budget_calendar.at_risk(session, today)
    by_ward, by_bureau = defaultdict(list), defaultdict(list)
    if outlook is None:
        return ("", {}), by_ward, by_bureau
    c = outlook.calendar
    heading = (
        N_(
            "%(year)s予算に間に合わせるための期限が来る区重要課題"
            " (局への送付期限 %(send_by)s、協議結果の期限 %(results_by)s)"
        ),
        {
            "year": fiscal_year_label(c.budget_year),
            "send_by": date_label(c.send_by),
            "results_by": date_label(c.results_by),
        },
    )
    for item in outlook.items:
        i = item.issue
        line = (
            N_("・%(ref)s %(title)s (%(place)s、%(step)sの期限 %(due)s、あと%(days)s日)"),
            {
                "ref": i.reference,
                "title": i.title,
                "place": f"{i.ward.name}・{i.lead_bureau.name}" if i.lead_bureau else i.ward.name,
                "step": item.step,
                "due": date_label(item.due_on),
                "days": item.days_left,
            },
        )
        by_ward[i.ward_id].append(line)
        if item.step == budget_calendar.RESULT_STEP:
            by_bureau[i.lead_bureau_id].append(line)
    return heading, by_ward, by_bureau


def due_digests(session: Session, today: dt.date) -> list[Digest]:
    """The digests of ``today`` not yet delivered: each active person with something overdue
    or at risk of missing next year's budget."""
    requests, consultations = overdue_requests(session, today), overdue_consultations(session, today)
    heading, budget_by_ward, budget_by_bureau = budget_lines(session, today)
    if not requests and not consultations and not budget_by_ward:
        return []
    by_center, by_ward = defaultdict(list), defaultdict(list)
    for r in requests:
        line = (
            N_("・%(ref)s %(title)s (%(center)s、回答期限 %(due)s)"),
            {
                "ref": r.reference,
                "title": r.title,
                "center": r.center.name,
                "due": date_label(r.answer_due_on),
            },
        )
        by_center[r.center_id].append(line)
        by_ward[r.ward_id].append(line)
    issues_by_ward, issues_by_bureau = defaultdict(list), defaultdict(list)
    for i in consultations:
        line = (
            N_("・%(ref)s %(title)s (%(place)s、次回協議予定日 %(due)s)"),
            {
                "ref": i.reference,
                "title": i.title,
                "place": f"{i.ward.name}・{i.lead_bureau.name}",
                "due": date_label(i.next_review_on),
            },
        )
        issues_by_ward[i.ward_id].append(line)
        issues_by_bureau[i.lead_bureau_id].append(line)
    users = session.scalars(
        select(User)
        .where(
            User.active,
            User.id.not_in(select(ReminderDigest.user_id).where(ReminderDigest.day == today)),
            or_(
                and_(User.role == Role.LIAISON, User.center_id.in_(list(by_center))),
                and_(
                    User.role == Role.WARD_MANAGER,
                    User.ward_id.in_([*by_ward, *issues_by_ward, *budget_by_ward]),
                ),
                and_(
                    User.role == Role.BUREAU_STAFF, User.bureau_id.in_([*issues_by_bureau, *budget_by_bureau])
                ),
            ),
        )
        .order_by(User.id)
    ).all()
    digests = []
    for user in users:
        if user.role == Role.LIAISON:
            digests.append(Digest(user, by_center[user.center_id], []))
        elif user.role == Role.WARD_MANAGER:
            budget = budget_by_ward[user.ward_id]
            digests.append(Digest(user, by_ward[user.ward_id], issues_by_ward[user.ward_id], budget, heading))
        else:
            budget = budget_by_bureau[user.bureau_id]
            digests.append(Digest(user, [], issues_by_bureau[user.bureau_id], budget, heading))
    return digests


def _page_for(user: User) -> str:
    """Where the person deals with what is overdue: their queue, triage or inbox."""
    endpoint = {Role.LIAISON: "field.queue", Role.WARD_MANAGER: "ward.triage"}.get(user.role, "bureau.inbox")
    return current_app.url_map.bind("localhost").build(endpoint)


def deliver_digest(session: Session, digest: Digest, today: dt.date) -> bool:
    """Record, notify and e-mail one digest, and commit; False if it was already delivered."""
    user = digest.user
    row = ReminderDigest(
        user_id=user.id,
        day=today,
        overdue_requests=len(digest.requests),
        overdue_consultations=len(digest.consultations),
    )
    try:
        with session.begin_nested():  # a run beside this one may have just delivered it
            session.add(row)
    except IntegrityError:
        return False
    with in_language(user.locale):
        title, body = digest.title, digest.body(today)
    notification = Notification(
        user=user,
        kind="reminder.digest",
        title=title,
        body=body,
        url=_page_for(user),
        dedupe_key=f"reminders:{today.isoformat()}",
        created_at=utcnow(),
    )
    session.add(notification)
    session.flush()
    if wants_email(user):
        deliver(build_email(notification), notification.id)
        row.emailed_at = notification.emailed_at = utcnow()
    session.commit()
    return True


def send_reminders(session: Session, today: dt.date) -> int:
    """Deliver every digest due ``today``, committing each; return how many were delivered."""
    return sum(deliver_digest(session, digest, today) for digest in due_digests(session, today))


@jobs.job(
    "daily_reminders", N_("期限超過のお知らせ"), timeout=900, max_attempts=3, retry_intervals=(300, 1800)
)
def daily_reminders(ctx: jobs.JobContext, day: str | None = None) -> None:
    today = dt.date.fromisoformat(day) if day else today_in_tokyo()
    with ctx.session() as session:
        sent = send_reminders(session, today)
    ctx.set_result({"day": today.isoformat(), "digests": sent})


worker.daily("daily_reminders", dt.time(8, 0))


def register_cli(app: Flask) -> None:
    group = click.Group("reminders", help="期限超過のお知らせ。")
    app.cli.add_command(group)

    @group.command("run")
    def run() -> None:
        """Send today's digests now, in this process (those already sent today are skipped)."""
        sent = send_reminders(db.session, today_in_tokyo())
        click.echo(f"期限超過のお知らせを {sent} 件送信しました。")
