"""Notifications: who hears of which workflow event, in the app and by e-mail.

``RULES`` is the rule table: for a workflow action, which groups of people hear of it. The
actor never does, nor a deactivated user, and each person hears once per event.

``workflow.apply`` calls ``after_event``, which records the ``notify`` job in the caller's
transaction. After the commit that job writes one ``Notification`` per person (unique per user
and event, so a re-run adds nothing) and asks for one ``send_email`` job per notification of a
user who wants e-mail. ``send_email`` sends over SMTP, or without ``MAIL_SERVER`` writes an
``.eml`` file to ``MAIL_DIR``; it marks the notification e-mailed in the transaction that sent
it, and a re-run after a crash between sending and marking re-sends the same Message-ID.

A user reads and marks only their own notifications (``belongs_to``); the bell counts the
unread ones.

No Flask request here: the jobs run the same inline, in an RQ worker or from a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..effects import history
from ..models import HistoryEvent, ServiceRequest, User, Ward, WardIssue, issue_related_bureaus, utcnow
from ..ops_models import Notification
from ..states import DECIDED_ISSUE_STATES, Role
from ..wording import N_, say, translate
from . import jobs
from .jobs import in_language
from .mail import build_email, deliver, url_path

# --- who hears of what: the rule table ------------------------------------------------------

LOGGED_BY = "logged_by"  # whoever logged the request (a liaison, or a manager who logged it)
ISSUE_BUREAUS = "issue_bureaus"  # bureau staff of the issue's lead and related bureaus
WARD_MANAGERS = "ward_managers"  # ward managers of the issue's ward
BUNDLED_LOGGERS = "bundled_loggers"  # whoever logged a request bundled in the issue
ISSUE_OWNERS = "issue_owners"  # the issue's persons in charge (ward, bureau); if none, its drafter
LEAD_BUREAU = "lead_bureau"  # the issue's bureau owner (担当) if it has one, else its lead bureau's staff
HANDOVER_MANAGERS = "handover_managers"  # ward managers of the ward a request is handed over to
DRAFTER = "drafter"  # the ward manager who drafted the issue
NEW_OWNER = "new_owner"  # whoever was just made a person in charge of the issue

ANSWER_RESIDENTS = N_("住民への回答をお願いします。")


@dataclass(frozen=True)
class Rule:
    recipients: tuple[str, ...]
    headline: str  # the start of the notification's title
    ask_to_answer: bool = False  # add ANSWER_RESIDENTS once the bureau has decided
    quotes_comment: bool = True  # False: the event's comment stays out (a comment's own text)


_RESULT_PARTIES = (WARD_MANAGERS, BUNDLED_LOGGERS)

RULES: dict[tuple[str, str], Rule] = {
    ("request", "escalate"): Rule((LOGGED_BY,), N_("要望が区重要課題にまとめられました")),
    ("request", "refer"): Rule((LOGGED_BY,), N_("要望が担当課へ回付されました")),
    ("request", "reopen"): Rule((LOGGED_BY,), N_("要望が再開されました")),
    # A comment's text stays in the app: the notification names the subject only.
    ("request", "comment"): Rule((LOGGED_BY,), N_("要望にコメントがありました"), quotes_comment=False),
    ("issue", "comment"): Rule((ISSUE_OWNERS,), N_("区重要課題にコメントがありました"), quotes_comment=False),
    ("request", "hand_over"): Rule((HANDOVER_MANAGERS,), N_("他区から要望の引継ぎ依頼が届きました")),
    ("request", "accept_handover"): Rule((LOGGED_BY,), N_("要望が他区へ引き継がれました")),
    ("request", "decline_handover"): Rule((LOGGED_BY,), N_("要望の引継ぎが断られました")),
    ("issue", "submit"): Rule((WARD_MANAGERS,), N_("区重要課題の決裁依頼が届きました")),
    ("issue", "return_draft"): Rule((DRAFTER,), N_("区重要課題の起案が差し戻されました")),
    ("issue", "assign_ward_owner"): Rule((NEW_OWNER,), N_("区重要課題の区の担当者になりました")),
    ("issue", "assign_bureau_owner"): Rule((NEW_OWNER,), N_("区重要課題の局の担当者になりました")),
    ("issue", "send"): Rule((ISSUE_BUREAUS,), N_("区重要課題の協議依頼が届きました")),
    ("issue", "inquire"): Rule((WARD_MANAGERS,), N_("局から区重要課題の照会が届きました")),
    ("issue", "answer_inquiry"): Rule((LEAD_BUREAU,), N_("区から照会の回答が届きました")),
    ("issue", "opine"): Rule((LEAD_BUREAU,), N_("関係局の意見が登録されました")),
    ("issue", "decide"): Rule(_RESULT_PARTIES, N_("区重要課題の協議結果が登録されました"), True),
    ("issue", "budget"): Rule(_RESULT_PARTIES, N_("区重要課題が予算化されました"), True),
    ("issue", "add_budget_line"): Rule(_RESULT_PARTIES, N_("区重要課題の予算が追加されました"), True),
    ("issue", "start"): Rule(_RESULT_PARTIES, N_("区重要課題の事業に着手しました"), True),
    ("issue", "complete"): Rule(_RESULT_PARTIES, N_("区重要課題が完了しました"), True),
}


def _logged_by(event: HistoryEvent) -> Select:
    return (
        select(User)
        .join(ServiceRequest, ServiceRequest.logged_by_id == User.id)
        .where(ServiceRequest.id == event.service_request_id)
    )


def _issue_bureaus(event: HistoryEvent) -> Select:
    lead = select(WardIssue.lead_bureau_id).where(WardIssue.id == event.ward_issue_id)
    related = select(issue_related_bureaus.c.bureau_id).where(
        issue_related_bureaus.c.ward_issue_id == event.ward_issue_id
    )
    return select(User).where(
        User.role == Role.BUREAU_STAFF, or_(User.bureau_id.in_(lead), User.bureau_id.in_(related))
    )


def _ward_managers(event: HistoryEvent) -> Select:
    ward = select(WardIssue.ward_id).where(WardIssue.id == event.ward_issue_id)
    return select(User).where(User.role == Role.WARD_MANAGER, User.ward_id.in_(ward))


def _bundled_loggers(event: HistoryEvent) -> Select:
    return (
        select(User)
        .join(ServiceRequest, ServiceRequest.logged_by_id == User.id)
        .where(ServiceRequest.ward_issue_id == event.ward_issue_id)
    )


def _issue_owners(event: HistoryEvent) -> Select:
    unowned = and_(WardIssue.ward_owner_id.is_(None), WardIssue.bureau_owner_id.is_(None))
    in_charge = or_(
        User.id == WardIssue.ward_owner_id,
        User.id == WardIssue.bureau_owner_id,
        and_(unowned, User.id == WardIssue.created_by_id),
    )
    return select(User).join(WardIssue, in_charge).where(WardIssue.id == event.ward_issue_id)


def _lead_bureau(event: HistoryEvent) -> Select:
    issue = select(WardIssue).where(WardIssue.id == event.ward_issue_id)
    owner = issue.with_only_columns(WardIssue.bureau_owner_id).scalar_subquery()
    lead = issue.with_only_columns(WardIssue.lead_bureau_id).scalar_subquery()
    return select(User).where(
        or_(User.id == owner, and_(owner.is_(None), User.role == Role.BUREAU_STAFF, User.bureau_id == lead))
    )


def _handover_managers(event: HistoryEvent) -> Select:
    """By the ward's name in the event: the offer may already be answered when the job runs."""
    ward = select(Ward.id).where(Ward.name == (event.data or {}).get("to_ward"))
    return select(User).where(User.role == Role.WARD_MANAGER, User.ward_id.in_(ward))


def _drafter(event: HistoryEvent) -> Select:
    return (
        select(User)
        .join(WardIssue, WardIssue.created_by_id == User.id)
        .where(WardIssue.id == event.ward_issue_id)
    )


def _new_owner(event: HistoryEvent) -> Select:
    return select(User).where(User.id == (event.data or {}).get("new_owner_id"))


RECIPIENT_QUERIES = {
    DRAFTER: _drafter,
    NEW_OWNER: _new_owner,
    LOGGED_BY: _logged_by,
    ISSUE_BUREAUS: _issue_bureaus,
    WARD_MANAGERS: _ward_managers,
    BUNDLED_LOGGERS: _bundled_loggers,
    ISSUE_OWNERS: _issue_owners,
    LEAD_BUREAU: _lead_bureau,
    HANDOVER_MANAGERS: _handover_managers,
}


def _kind(event: HistoryEvent) -> tuple[str, str]:
    return ("request" if event.service_request_id else "issue", event.action)


def rule_for(event: HistoryEvent) -> Rule | None:
    return RULES.get(_kind(event))


def recipients(session: Session, event: HistoryEvent) -> list[User]:
    """The active users the rule names for ``event``, without its actor, each once, by id."""
    rule = rule_for(event)
    if rule is None:
        return []
    found: dict[int, User] = {}
    for group in rule.recipients:
        for user in session.scalars(RECIPIENT_QUERIES[group](event).where(User.active)):
            if user.id != event.actor_id:
                found[user.id] = user
    return [found[user_id] for user_id in sorted(found)]


# --- the hook and the notify job ------------------------------------------------------------


def after_event(session: Session, event: HistoryEvent) -> None:
    """Subscribed to the workflow's events (``create_app``): notify after the commit, if anyone is
    to hear of it."""
    if rule_for(event) is not None:
        jobs.request_job(
            session,
            "notify",
            {"event_id": event.id},
            dedupe_key=f"notify:{event.id}",
            requested_by_id=event.actor_id,
        )


def compose(event: HistoryEvent, rule: Rule) -> tuple[str, str, str]:
    """The title, body and path of a notification of ``event``, in the current language."""
    subject = event.service_request or event.ward_issue
    title = f"{translate(rule.headline)}: {subject.reference} {subject.title}"[:200]
    actor = event.actor.display_name if event.actor else translate(N_("システム"))
    kind = N_("要望") if event.service_request else N_("区重要課題")
    lines = [
        say(
            "%(kind)s %(ref)s「%(title)s」", kind=translate(kind), ref=subject.reference, title=subject.title
        ),
        say(
            "操作: %(action)s (%(actor)s・%(role)s)",
            action=history.action_label(event),
            actor=actor,
            role=history.role_label(event.actor_role),
        ),
    ]
    if event.from_state != event.to_state:
        lines.append(
            say(
                "状態: %(old)s → %(new)s",
                old=history.state_label(event.from_state),
                new=history.state_label(event.to_state),
            )
        )
    details = history.event_details(event)
    if details:
        lines.append(details)
    if event.comment and rule.quotes_comment:
        lines.append(say("コメント: %(comment)s", comment=event.comment))
    if rule.ask_to_answer and event.to_state in {state.value for state in DECIDED_ISSUE_STATES}:
        lines.append(translate(ANSWER_RESIDENTS))
    if event.service_request:
        path = url_path("field.request_detail", request_id=subject.id)
    else:
        path = url_path("ward.issue_detail", issue_id=subject.id)
    return title, "\n".join(lines), path


def create_notifications(session: Session, event: HistoryEvent) -> list[Notification]:
    """Every notification of ``event``: the ones made by an earlier run, and the missing ones."""
    users = recipients(session, event)
    if not users:
        return []
    key = f"event:{event.id}"
    existing = session.scalars(
        select(Notification).where(
            Notification.dedupe_key == key, Notification.user_id.in_([u.id for u in users])
        )
    ).all()
    done = {n.user_id for n in existing}
    rule = rule_for(event)
    composed: dict[str, tuple[str, str, str]] = {}  # by the recipients' languages
    for locale in sorted({user.locale or "ja" for user in users if user.id not in done}):
        with in_language(locale):
            composed[locale] = compose(event, rule)
    created = [
        Notification(
            user=user,
            kind=".".join(_kind(event)),
            title=composed[user.locale or "ja"][0],
            body=composed[user.locale or "ja"][1],
            url=composed[user.locale or "ja"][2],
            service_request_id=event.service_request_id,
            ward_issue_id=event.ward_issue_id,
            history_event_id=event.id,
            dedupe_key=key,
            created_at=utcnow(),
        )
        for user in users
        if user.id not in done
    ]
    session.add_all(created)
    session.flush()
    return [*existing, *created]


def wants_email(user: User) -> bool:
    return user.active and user.email_notifications and bool(user.email)


@jobs.job("notify", N_("通知の作成と送信"), timeout=120, max_attempts=5, retry_intervals=(10, 60, 300, 900))
def notify(ctx: jobs.JobContext, event_id: int) -> None:
    with ctx.session() as session, session.begin():
        notifications = create_notifications(session, session.get_one(HistoryEvent, event_id))
        mailed = [n for n in notifications if wants_email(n.user)]
        for notification in mailed:
            jobs.request_job(
                session,
                "send_email",
                {"notification_id": notification.id},
                dedupe_key=f"email:{notification.id}",
            )
    ctx.set_result({"notifications": len(notifications), "emails": len(mailed)})


# --- a user's own notifications: the bell, the list, marking read ---------------------------


def unread_count(session: Session, user: User) -> int:
    """The bell's number: one COUNT on (user_id, read_at)."""
    return session.execute(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    ).scalar_one()


def notifications_of(user: User) -> Select:
    """The user's notifications, newest first."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def belongs_to(notification: Notification, user: User) -> bool:
    """Only its recipient sees a notification, opens it or marks it read."""
    return notification.user_id == user.id


def mark_read(notification: Notification) -> bool:
    """Mark it read now, unless it already is; whether anything changed."""
    if notification.read_at is not None:
        return False
    notification.read_at = utcnow()
    return True


def mark_all_read(session: Session, user: User) -> int:
    """Mark every unread notification of the user read in one UPDATE; how many there were."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount


# --- e-mail ---------------------------------------------------------------------------------


@jobs.job(
    "send_email", N_("通知メールの送信"), timeout=60, max_attempts=5, retry_intervals=(30, 120, 600, 1800)
)
def send_email(ctx: jobs.JobContext, notification_id: int) -> None:
    """Send once: the row is locked, checked, sent and marked in one transaction."""
    with ctx.session() as session, session.begin():
        notification = session.get(Notification, notification_id, with_for_update=True)
        if notification is None or notification.emailed_at is not None or not wants_email(notification.user):
            return
        deliver(build_email(notification), notification.id)
        notification.emailed_at = utcnow()
