"""The world the route tests act in: objects on two sides, eight actors, and their sessions.

Both ``test_authorization_matrix`` and ``test_fuzz_forms`` send requests to every route as
these actors. Side A is 中央区 with lead bureau 環境局, side B is 東区 with 消防局; every object a
route looks up by id exists on both sides (see ``build_world``). The world is built once per
module inside one transaction that is rolled back at the end (``open_world``); each request a
test sends runs in a savepoint of that transaction, so that nothing it does reaches the next.
``snapshot`` and ``changed_tables`` tell whether a request changed any row.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import scoped_session, sessionmaker

from tracker import workflow
from tracker.activity_models import ActivityKind
from tracker.background import export_job, jobs
from tracker.city import answer_templates
from tracker.effects.teamwork import AttachmentStore, Upload
from tracker.extensions import db
from tracker.models import Category, WardFund, utcnow
from tracker.monitoring_models import Indicator
from tracker.open311_models import Open311Submission
from tracker.ops_models import ImportBatch, Notification, OutboxJob
from tracker.reporting import reports
from tracker.states import ImportState, IssueState, JobState, Role
from tracker.teamwork_models import Attachment

from .factories import TODAY, Factory, png_bytes

SIDES = {"A": ("中央区", "環境局"), "B": ("東区", "消防局")}


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role | None  # None: anonymous
    side: str | None = None  # their ward (liaison, manager) or bureau (staff)


ACTORS = (
    Actor("anonymous", None),
    Actor("liaison", Role.LIAISON, "A"),
    Actor("other_liaison", Role.LIAISON, "B"),
    Actor("manager", Role.WARD_MANAGER, "A"),
    Actor("other_manager", Role.WARD_MANAGER, "B"),
    Actor("staff", Role.BUREAU_STAFF, "A"),
    Actor("other_staff", Role.BUREAU_STAFF, "B"),
    Actor("admin", Role.ADMIN),
)


@dataclass(frozen=True)
class Target:
    """One object to try a route on: its URL values and the facts the scope rules look at."""

    label: str
    values: dict
    side: str | None = None  # the ward and the lead bureau of the object
    sent: bool = False  # an issue (or a request bundled in one) that was sent to its bureau
    owner: str | None = None  # the actor owning a notification or a report job


@dataclass
class World:
    """The objects of both sides, the actors' users and their logged-in session cookies."""

    app: object
    connection: object
    users: dict = field(default_factory=dict)  # actor name -> user id
    cookies: dict = field(default_factory=dict)  # actor name -> session cookie value
    objects: dict = field(default_factory=dict)  # (target name, side or owner) -> Target

    def targets(self, name: str, actor: Actor) -> list[Target]:
        if name in ("notification", "report", "export"):
            return [
                self.objects[(name, actor.name if actor.role else "manager")],
                self.objects[(name, "other")],
            ]
        return [target for (kind, _key), target in self.objects.items() if kind == name]

    def client(self, actor: Actor) -> FlaskClient:
        """A test client logged in as ``actor`` (none for the anonymous one)."""
        client = self.app.test_client()
        if actor.role:
            client.set_cookie(self.app.config.get("SESSION_COOKIE_NAME", "session"), self.cookies[actor.name])
        return client


def _issue_in_state(make: Factory, state: IssueState, side: str, people: dict):
    """Drafted by the side's other manager, so that the actor ``manager`` may approve it."""
    ward, lead = SIDES[side]
    return make.issue(
        state,
        ward=ward,
        lead=lead,
        manager=people["drafter"],
        approver=people["manager"],
        staff=people["staff"],
    )


def build_world(app, connection) -> World:
    world = World(app, connection)
    session = db.session
    make = Factory(session)
    people = {}
    for side, (ward, bureau) in SIDES.items():
        people[side] = {
            "liaison": make.liaison(ward),
            "manager": make.manager(ward),
            "drafter": make.second_manager(ward),
            "staff": make.staff(bureau),
        }
    admin = make.admin()
    bystander = make.manager("西区")  # owns "somebody else's" notification and report job
    names = {
        "liaison": people["A"]["liaison"],
        "other_liaison": people["B"]["liaison"],
        "manager": people["A"]["manager"],
        "other_manager": people["B"]["manager"],
        "staff": people["A"]["staff"],
        "other_staff": people["B"]["staff"],
        "admin": admin,
    }
    world.users = {name: user.id for name, user in names.items()}

    def add(kind: str, key: str, values: dict, **facts) -> None:
        world.objects[(kind, key)] = Target(f"{kind}[{key}]", values, **facts)

    for side, (ward, lead) in SIDES.items():
        own = people[side]
        received = make.request(own["liaison"], ward=ward)
        add("received", side, {"request_id": received.id}, side=side)
        # Open311: a request by its reference number, a service by its code.
        add("open311_request", side, {"service_request_id": received.reference}, side=side)
        add("open311_service", side, {"service_code": str(received.category_id)}, side=side)
        withdrawn = make.request(own["liaison"], ward=ward)
        workflow.apply(session, own["manager"], withdrawn, "withdraw", {"comment": "重複"}, today=TODAY)
        session.commit()
        add("withdrawn", side, {"request_id": withdrawn.id}, side=side)
        # An answered request that drew on its ward's fund (corrections of answers and draws).
        answered = make.request(own["liaison"], ward=ward)
        session.add(WardFund(ward_id=answered.ward_id, fiscal_year=2024, allocated_yen=1_000_000))
        session.flush()
        draw = {"fiscal_year": 2024, "project_name": "カーブミラー修繕", "allocated_yen": 300_000}
        workflow.apply(session, own["manager"], answered, "fund_from_ward", draw, today=TODAY)
        reply = {"answer_kind": "resolved", "answer_text": "修繕しました", "answered_on": TODAY}
        workflow.apply(session, own["liaison"], answered, "answer", reply, today=TODAY)
        session.commit()
        add("answered", side, {"request_id": answered.id}, side=side)
        # A request with a photo, bundled in an issue sent to the lead bureau (局協議中).
        pictured = make.request(own["liaison"], ward=ward, photos=[(io.BytesIO(png_bytes()), "現場.png")])
        escalate = {"title": "公園の街灯の老朽化", "situation": "老朽化", "proposal": "LED化"}
        escalate["lead_bureau"] = make.bureau(lead).id
        workflow.apply(session, own["drafter"], pictured, "escalate", escalate, today=TODAY)
        consulting = pictured.ward_issue
        workflow.apply(session, own["drafter"], consulting, "submit", {}, today=TODAY)
        workflow.apply(session, own["manager"], consulting, "approve", {}, today=TODAY)
        workflow.apply(session, own["manager"], consulting, "send", {}, today=TODAY)
        session.commit()
        add("escalated", side, {"request_id": pictured.id}, side=side, sent=True)
        add("photo", side, {"photo_id": pictured.photos[0].id}, side=side, sent=True)
        add("consulting", side, {"issue_id": consulting.id}, side=side, sent=True)
        # A file on that request and one on that issue.
        store = AttachmentStore(app.config["ATTACHMENT_DIR"], 1024**2, 20)
        for subject in (pictured, consulting):
            upload = Upload(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "陳情書.pdf")
            workflow.apply(session, own["liaison"], subject, "attach", {"upload": upload, "store": store})
        session.commit()
        for kind, row_id in _attachment_ids(session, pictured.id, consulting.id):
            add("attachment", f"{kind}-{side}", {"attachment_id": row_id}, side=side, sent=True)
        for state in (IssueState.DRAFT, IssueState.AWAITING_APPROVAL, IssueState.REGISTERED):
            issue = _issue_in_state(make, state, side, own)
            add(state.value, side, {"issue_id": issue.id}, side=side)
        sent_states = (IssueState.INQUIRING, IssueState.DECIDED, IssueState.BUDGETED, IssueState.IMPLEMENTING)
        for state in (*sent_states, IssueState.COMPLETED):
            issue = _issue_in_state(make, state, side, own)
            add(state.value, side, {"issue_id": issue.id}, side=side, sent=True)
        # A completed issue in the 事例集 (its summary edited, or taken out of it).
        practice = _issue_in_state(make, IssueState.COMPLETED, side, own)
        summary = {"summary": "自治会と共同で点検した"}
        workflow.apply(session, own["manager"], practice, "mark_good_practice", summary, today=TODAY)
        session.commit()
        add("practice", side, {"issue_id": practice.id}, side=side, sent=True)
        # In consultation, with the other side's bureau as a related bureau (意見を登録).
        other_side = "B" if side == "A" else "A"
        related = _issue_in_state(make, IssueState.REGISTERED, side, own)
        related.related_bureaus = [make.bureau(SIDES[other_side][1])]
        workflow.apply(session, own["manager"], related, "send", {}, today=TODAY)
        session.commit()
        add("related", side, {"issue_id": related.id}, side=side, sent=True)
        # Being handed over to the other side's ward (他区へ引継ぎ中).
        handing = make.request(own["liaison"], ward=ward)
        offer = {"handover_ward": make.ward(SIDES[other_side][0]).id, "comment": "所管違い"}
        workflow.apply(session, own["manager"], handing, "hand_over", offer, today=TODAY)
        session.commit()
        add("handing_over", side, {"request_id": handing.id}, side=side)
        batch = ImportBatch(
            center_id=own["liaison"].center_id,
            uploaded_by_id=own["liaison"].id,
            original_name="要望一覧.xlsx",
            stored_name=f"{secrets.token_hex(16)}.xlsx",
            sha256="0" * 64,
            state=ImportState.DONE,
        )
        session.add(batch)
        session.flush()
        add("batch", side, {"batch_id": batch.id}, side=side)
        # An activity of the side's liaison's center, and an organisation of that center.
        activity = make.activity(own["liaison"], ward=ward)
        add("activity", side, {"activity_id": activity.id}, side=side)
        organisation = make.organisation(own["liaison"].center.name, name=f"{ward}の町内自治会")
        add("organisation", side, {"organisation_id": organisation.id}, side=side)
        # An answer template (定型文) of the side's ward.
        template = answer_templates.add_template(
            session, own["manager"], make.ward(ward), {"title": "受け付けました", "body": "受け付けました。"}
        )
        add("answer_template", side, {"template_id": template.id}, side=side)
        target_user = make.liaison(ward)
        add("user", side, {"user_id": target_user.id}, side=side)
        ward_row = make.ward(ward)
        add("ward", side, {"ward_id": ward_row.id}, side=side)
        add("center", side, {"center_id": own["liaison"].center_id}, side=side)
        add("entry", f"bureau-{side}", {"kind": "bureaus", "entry_id": make.bureau(lead).id})
        add("switchable", f"center-{side}", {"kind": "centers", "entry_id": ward_row.centers[-1].id})
        add("switchable", f"bureau-{side}", {"kind": "bureaus", "entry_id": make.bureau(lead).id})
    category = session.execute(select(Category).order_by(Category.id)).scalars().first()
    _add_open311(make, add, category)
    add("entry", "category", {"kind": "categories", "entry_id": category.id})
    add("switchable", "category", {"kind": "categories", "entry_id": category.id})
    activity_kind = session.execute(select(ActivityKind).order_by(ActivityKind.id)).scalars().first()
    add("entry", "activity_kind", {"kind": "activity_kinds", "entry_id": activity_kind.id})
    add("switchable", "activity_kind", {"kind": "activity_kinds", "entry_id": activity_kind.id})
    add("entry_kind", "activity_kinds", {"kind": "activity_kinds"})
    add("entry_kind", "bureaus", {"kind": "bureaus"})
    for code in ("issues_sent", "resident_satisfaction"):  # a computed and an entered indicator
        indicator = session.execute(select(Indicator).filter_by(code=code)).scalar_one()
        add("indicator", code, {"indicator_id": indicator.id})
    add("entry_kind", "categories", {"kind": "categories"})
    _open311_objects(session, add)

    # Each actor's own notification, finished report and export (with their files); and the bystander's.
    report_dir = reports.report_dir()
    report_dir.mkdir(parents=True, exist_ok=True)
    export_dir = export_job.export_dir()
    export_dir.mkdir(parents=True, exist_ok=True)
    for name, user in [*names.items(), ("other", bystander)]:
        note = Notification(
            user_id=user.id,
            kind="issue.decide",
            title="協議結果が登録されました",
            url="/issues/",
            dedupe_key=f"matrix:{user.id}",
            created_at=utcnow(),
        )
        file_name = f"matrix-{secrets.token_hex(8)}.xlsx"
        (report_dir / file_name).write_bytes(b"PK\x03\x04 not really a workbook")
        job = OutboxJob(
            name="report_xlsx",
            kwargs={"fiscal_year": 2024},
            state=JobState.DONE,
            result={"file": file_name, "fiscal_year": 2024},
            requested_by_id=user.id,
            finished_at=utcnow(),
        )
        export_name = f"export-matrix-{secrets.token_hex(8)}.csv"
        (export_dir / export_name).write_bytes("\ufeff受付番号\r\n".encode())
        export = OutboxJob(
            name=export_job.JOB_NAME,
            kwargs={"fmt": "csv", "filename": "要望一覧", "day": TODAY.isoformat()},
            state=JobState.DONE,
            result={"file": export_name, "rows": 0},
            requested_by_id=user.id,
            finished_at=utcnow(),
        )
        session.add_all([note, job, export])
        session.flush()
        add("notification", name, {"notification_id": note.id}, owner=name)
        add("report", name, {"outbox_id": job.id}, owner=name)
        add("export", name, {"outbox_id": export.id}, owner=name)
        if name in ("manager", "other"):
            add("job", name, {"outbox_id": job.id})
    session.commit()

    for name in world.users:
        client = app.test_client()
        login = names[name].login
        response = client.post("/login", data={"login": login, "password": Factory.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        with client.session_transaction() as signed_in:
            signed_in.pop("_flashes", None)  # the welcome is read once, not on every page of the world
        cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
        world.cookies[name] = cookie.value
    return world


def _open311_objects(session, add) -> None:
    """Two of each Open311 row the admin's pages act on: API keys, towns, services, questions."""
    from tracker.open311 import keys, service_admin

    categories = (
        session.execute(select(Category).where(Category.active).order_by(Category.id)).scalars().all()
    )
    for index, side in enumerate(("A", "B")):
        center = Factory(session).ward(SIDES[side][0]).centers[0]
        key, _plain = keys.create_key(session, None, name=f"matrix-key-{side}", center_id=center.id)
        add("api_key", side, {"key_id": key.id})
        town = service_admin.add_town(session, None, f"matrix町{side}", center.id)
        add("town", side, {"town_id": town.id})
        category = categories[index]
        add("service", side, {"category_id": category.id})
        fields = {"code": f"matrix_{side}", "datatype": "string", "description": "どのような状態ですか"}
        attribute = service_admin.add_attribute(session, None, category, fields)
        add("attribute", side, {"attribute_id": attribute.id})
    session.flush()


def _add_open311(make: Factory, add, category: Category) -> None:
    """A city-wide Open311 key (its URL values carry it, in JSON and XML; a limit no test reaches)
    and, on each side, a submission waiting in the intake queue of the side's ward, with its token."""
    key, plain = make.api_key("route world", rate_limit_per_minute=10**6)
    for fmt in ("json", "xml"):
        add("open311_key", fmt, {"fmt": fmt, "api_key": plain})
    for side, (ward, _lead) in SIDES.items():
        queued = Open311Submission(
            token=str(uuid.uuid4()),
            api_key=key,
            category=category,
            ward=make.ward(ward),
            title=f"{category.name}: 街灯が切れている",
            description="街灯が切れている",
            address_string=f"熊本市{ward}どこか町",
            requester_name="熊本 花子",
            received_on=TODAY,
        )
        make.session.add(queued)
        make.session.commit()
        add("queued", side, {"submission_id": queued.id}, side=side)
        add("open311_token", side, {"token": queued.token, "fmt": "json" if side == "A" else "xml"})


def _attachment_ids(session, request_id: int, issue_id: int) -> list[tuple[str, int]]:
    rows = session.execute(
        select(Attachment.id, Attachment.service_request_id).where(
            (Attachment.service_request_id == request_id) | (Attachment.ward_issue_id == issue_id)
        )
    ).all()
    return [("request" if on_request else "issue", row_id) for row_id, on_request in rows]


def _no_relay(**_) -> dict[str, int]:
    return {"handed_over": 0, "restarted": 0, "failed": 0}


@contextmanager
def open_world(app) -> Iterator[World]:
    """The objects and logged-in actors, built in one transaction rolled back when it closes.

    While it is open, CSRF is off, and the outbox relay (``admin.relay_jobs``) is stubbed: the
    relay reads the outbox on a connection of its own, which would wait for this open
    transaction on SQLite; the route tests are about the request, not about the relay.
    """
    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        )
        patch.setitem(app.config, "WTF_CSRF_ENABLED", False)
        patch.setattr(jobs, "relay_outbox", _no_relay)
        files_before = set(Path(reports.report_dir()).glob("matrix-*.xlsx"))
        exports_before = set(export_job.export_dir().glob("export-matrix-*.csv"))
        try:
            yield build_world(app, connection)
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
            for path in set(Path(reports.report_dir()).glob("matrix-*.xlsx")) - files_before:
                path.unlink()
            for path in set(export_job.export_dir().glob("export-matrix-*.csv")) - exports_before:
                path.unlink()


# The records a refused request itself writes: its security event (a 403, a CSRF or failed
# login) and the count of a failed login. Everything else must stay exactly as it was.
RECORDS_OF_REFUSALS = ("security_events", "login_throttles")


def snapshot() -> dict[str, list]:
    """Every row of every table but ``RECORDS_OF_REFUSALS``: what a refused request must leave
    exactly as it was."""
    return {
        table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
        for table in db.metadata.sorted_tables
        if table.name not in RECORDS_OF_REFUSALS
    }


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]
