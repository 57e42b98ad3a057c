"""Factories: make users, requests and ward issues (in any state) through the real services."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import secrets

from flask import current_app
from PIL import Image
from sqlalchemy import select

from tracker import workflow
from tracker.activity_models import Activity, ActivityKind, CommunityOrganisation
from tracker.effects import intake, publication
from tracker.fieldwork import operations as fieldwork
from tracker.models import Bureau, Category, Center, ServiceRequest, User, Ward, WardIssue
from tracker.monitoring_models import Indicator, IssuePublication
from tracker.open311 import keys
from tracker.open311_models import ApiKey
from tracker.safeguards.accounts import hash_password
from tracker.states import IssueState, OrganisationKind, Role, Source

_counter = itertools.count(1)
_PASSWORD_HASH = hash_password("correct-horse-battery")

TODAY = dt.date(2024, 6, 3)

# The actions that take a new issue to each state, with the payload each needs.
PATH_TO_STATE = {
    IssueState.DRAFT: [],
    IssueState.AWAITING_APPROVAL: [("manager", "submit", {})],
}
# Two pairs of eyes (the city's default): the drafter submits, a second manager approves.
PATH_TO_STATE[IssueState.REGISTERED] = PATH_TO_STATE[IssueState.AWAITING_APPROVAL] + [
    ("approver", "approve", {})
]
PATH_TO_STATE[IssueState.CONSULTING] = PATH_TO_STATE[IssueState.REGISTERED] + [("manager", "send", {})]
PATH_TO_STATE[IssueState.INQUIRING] = PATH_TO_STATE[IssueState.CONSULTING] + [
    ("staff", "inquire", {"question": "対象となる街灯の本数を教えてください。"})
]
PATH_TO_STATE[IssueState.DECIDED] = PATH_TO_STATE[IssueState.CONSULTING] + [
    ("staff", "decide", {"decision": "adopt", "decision_reason": "対応する"})
]
PATH_TO_STATE[IssueState.NOT_ADOPTED] = PATH_TO_STATE[IssueState.CONSULTING] + [
    ("staff", "decide", {"decision": "reject", "decision_reason": "財源がない"})
]
PATH_TO_STATE[IssueState.BUDGETED] = PATH_TO_STATE[IssueState.DECIDED] + [
    ("staff", "budget", {"fiscal_year": 2025, "project_name": "街灯整備事業", "allocated_yen": 2_000_000})
]
PATH_TO_STATE[IssueState.IMPLEMENTING] = PATH_TO_STATE[IssueState.BUDGETED] + [("staff", "start", {})]
PATH_TO_STATE[IssueState.COMPLETED] = PATH_TO_STATE[IssueState.IMPLEMENTING] + [
    ("staff", "complete", {"outcome": "設置した", "executed": "all"})
]
PATH_TO_STATE[IssueState.WITHDRAWN] = [("manager", "withdraw", {"comment": "重複のため"})]


def png_bytes(size=(8, 8), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def committed_liaisons(session, count: int, display_name: str) -> list[User]:
    """``count`` liaisons of 中央区まちづくりセンター, committed, for threads that log in parallel.

    No password: they never log in, and argon2 would only slow the set-up.
    """
    center = session.scalars(select(Center).filter_by(name="中央区まちづくりセンター")).one()
    users = [
        User(
            login=f"{display_name}-{number}",
            display_name=display_name,
            password_hash="!",
            role=Role.LIAISON,
            center=center,
            ward_id=center.ward_id,
        )
        for number in range(count)
    ]
    session.add_all(users)
    session.commit()
    return users


class Factory:
    """Creates rows the way the app would, and commits them (a savepoint inside the test's
    transaction), so that a view's rollback of its own work cannot take them away."""

    PASSWORD = "correct-horse-battery"

    def __init__(self, session):
        self.session = session

    def ward(self, name: str = "中央区") -> Ward:
        return self.session.execute(select(Ward).filter_by(name=name)).scalar_one()

    def center(self, name: str = "中央区まちづくりセンター") -> Center:
        return self.session.execute(select(Center).filter_by(name=name)).scalar_one()

    def second_center(self, ward: str = "中央区", name: str = "大江まちづくりセンター") -> Center:
        """Another center of ``ward`` (the city has one per ward): made once, then found."""
        found = self.session.execute(select(Center).filter_by(name=name)).scalar_one_or_none()
        if found is None:
            found = Center(ward_id=self.ward(ward).id, name=name, sort_order=9)
            self.session.add(found)
            self.session.commit()
        return found

    def bureau(self, name: str = "環境局") -> Bureau:
        return self.session.execute(select(Bureau).filter_by(name=name)).scalar_one()

    def category(self) -> Category:
        return self.session.execute(select(Category).order_by(Category.id)).scalars().first()

    def user(
        self,
        role: Role,
        *,
        ward: str = "中央区",
        center: str | None = None,
        bureau: str = "環境局",
        active: bool = True,
    ) -> User:
        number = next(_counter)
        user = User(
            login=f"{role.value}{number}",
            display_name=f"{role.label} {number}",
            password_hash=_PASSWORD_HASH,
            role=role,
            active=active,
        )
        if role == Role.LIAISON:
            user.center = self.center(
                center
                or ("中央区まちづくりセンター" if ward == "中央区" else self.ward(ward).centers[0].name)
            )
            user.ward_id = user.center.ward_id
        elif role == Role.WARD_MANAGER:
            user.ward_id = self.ward(ward).id
        elif role == Role.BUREAU_STAFF:
            user.bureau = self.bureau(bureau)
        self.session.add(user)
        self.session.commit()
        return user

    def liaison(self, ward: str = "中央区", **kwargs) -> User:
        return self.user(Role.LIAISON, ward=ward, **kwargs)

    def manager(self, ward: str = "中央区") -> User:
        """A new ward manager of ``ward`` (each call another person)."""
        return self.user(Role.WARD_MANAGER, ward=ward)

    def second_manager(self, ward: str = "中央区") -> User:
        """Another manager of ``ward``: the one who approves what the first one drafted."""
        return self.manager(ward)

    def staff(self, bureau: str = "環境局") -> User:
        return self.user(Role.BUREAU_STAFF, bureau=bureau)

    def admin(self) -> User:
        return self.user(Role.ADMIN)

    def request(
        self, liaison: User | None = None, *, ward: str = "中央区", photos=(), **fields
    ) -> ServiceRequest:
        liaison = liaison or self.liaison(ward)
        values = {
            "title": "街灯が切れている",
            "description": "公園前の街灯が1週間ほど消えたまま",
            "category_id": self.category().id,
            "source": Source.NEIGHBOURHOOD_ASSOCIATION.value,
            "organisation": "大江町内自治会",
            "requester_name": "熊本 太郎",
            "requester_contact": "096-000-0000",
            "received_on": TODAY,
        }
        values.update(fields)
        request = intake.log_request(
            self.session,
            liaison,
            values,
            list(photos),
            photo_dir=current_app.config["PHOTO_DIR"],
            photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"],
            photo_max_count=current_app.config["PHOTO_MAX_COUNT"],
            answer_due_days=14,
            today=TODAY,
        )
        self.session.commit()
        return request

    def api_key(
        self, name: str | None = None, *, center: Center | None = None, rate_limit_per_minute: int = 60
    ) -> tuple[ApiKey, str]:
        """An Open311 key (stored hashed, as the app keeps them) and the key itself, committed."""
        plain = secrets.token_urlsafe(32)
        key = ApiKey(
            name=name or f"アプリ {next(_counter)}",
            key_hash=keys.hash_key(plain),
            key_prefix=plain[:8],
            center_id=center.id if center else None,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        self.session.add(key)
        self.session.commit()
        return key, plain

    def activity_kind(self, name: str = "会議出席（町内自治会）") -> ActivityKind:
        return self.session.execute(select(ActivityKind).filter_by(name=name)).scalar_one()

    def organisation(
        self,
        center: str = "中央区まちづくりセンター",
        *,
        name: str | None = None,
        kind: OrganisationKind = OrganisationKind.NEIGHBOURHOOD_ASSOCIATION,
    ) -> CommunityOrganisation:
        organisation = CommunityOrganisation(
            center=self.center(center), name=name or f"町内自治会 {next(_counter)}", kind=kind
        )
        self.session.add(organisation)
        self.session.commit()
        return organisation

    def activity(self, liaison: User | None = None, *, ward: str = "中央区", **fields) -> Activity:
        """An activity logged by ``liaison`` (a new liaison of ``ward`` if none) through the service."""
        liaison = liaison or self.liaison(ward)
        values = {
            "held_on": TODAY,
            "kind_id": self.activity_kind().id,
            "organisation_text": "大江町内自治会",
            "place": "大江公民館",
            "attendees": 25,
            "summary": "町内自治会の定例会に出席し、防犯灯の要望を聞いた。",
            "center_id": liaison.center_id,
            "liaison_ids": [liaison.id],
        }
        values.update(fields)
        activity = fieldwork.log_activity(self.session, liaison, values, today=TODAY)
        self.session.commit()
        return activity

    def issue(
        self,
        state: IssueState = IssueState.DRAFT,
        *,
        ward: str = "中央区",
        lead: str = "環境局",
        manager: User | None = None,
        staff: User | None = None,
        approver: User | None = None,
        with_request: bool = True,
        title: str = "公園の街灯の老朽化",
        situation: str = "校区内の街灯の多くが老朽化している",
        request_fields: dict | None = None,
        fiscal_year: int | None = None,
    ) -> WardIssue:
        """A ward issue walked through the real workflow to ``state``, bundling one request
        (made with ``request_fields``): drafted by ``manager``, approved by ``approver`` (a
        second manager of the ward). ``fiscal_year`` files it under another year than today's
        (the figures over several years)."""
        manager = manager or self.manager(ward)
        staff = staff or self.staff(lead)
        if approver is None and any(who == "approver" for who, _, _ in PATH_TO_STATE[state]):
            approver = self.second_manager(ward)
        if with_request:
            request = self.request(ward=ward, **(request_fields or {}))
            workflow.apply(
                self.session,
                manager,
                request,
                "escalate",
                {
                    "title": title,
                    "situation": situation,
                    "proposal": "LED街灯に更新する",
                    "lead_bureau": self.bureau(lead).id,
                },
                today=TODAY,
            )
            issue = request.ward_issue
        else:
            issue = workflow.create_issue(
                self.session,
                manager,
                {
                    "title": title,
                    "situation": "老朽化",
                    "proposal": "更新する",
                    "lead_bureau": self.bureau(lead).id,
                },
                today=TODAY,
            )
        actors = {"manager": manager, "approver": approver, "staff": staff}
        for who, action, payload in PATH_TO_STATE[state]:
            payload = dict(payload)
            if payload.get("executed") == "all":
                payload["executed"] = {line.id: line.allocated_yen for line in issue.budget_lines}
            workflow.apply(self.session, actors[who], issue, action, payload, today=TODAY)
        assert issue.state == state
        if fiscal_year is not None:
            issue.fiscal_year = fiscal_year
        self.session.commit()
        return issue

    def act(self, actor: User, subject: ServiceRequest | WardIssue, action: str, payload: dict) -> None:
        """``actor`` takes ``action`` on ``subject`` through the workflow, committed."""
        workflow.apply(self.session, actor, subject, action, payload, today=TODAY)
        self.session.commit()

    def indicator(self, code: str = "resident_satisfaction") -> Indicator:
        """One of the city's default indicators (``tracker.city.indicator_defaults``) by its code."""
        return self.session.execute(select(Indicator).filter_by(code=code)).scalar_one()

    def approved_publication(
        self,
        issue: WardIssue,
        writer: User | None = None,
        approver: User | None = None,
        *,
        texts: dict | None = None,
        public: bool = True,
    ) -> IssuePublication:
        """The issue's public text (the first draft, ``texts`` over it) written by ``writer`` and
        approved by ``approver`` (by default new managers of the issue's ward), the issue made
        public unless ``public`` is False; committed."""
        ward = issue.ward.name
        writer, approver = writer or self.manager(ward), approver or self.second_manager(ward)
        payload = publication.draft_texts(issue) | (texts or {})
        workflow.apply(self.session, writer, issue, "write_public_text", payload, today=TODAY)
        workflow.apply(self.session, approver, issue, "approve_public_text", {}, today=TODAY)
        if public:
            workflow.apply(self.session, writer, issue, "set_public", {"is_public": True}, today=TODAY)
        self.session.commit()
        return publication.publication_of(self.session, issue)
