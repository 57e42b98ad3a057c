"""Authorisation matrix: every route × every method it accepts × eight actors, against ONE table.

``RULES`` below says, for every endpoint of ``app.url_map`` (``static`` aside), which roles may
use it and within which scope (own ward, lead bureau, own notification...). The test reads the
routes from the app itself, so a new route without an entry in ``RULES`` fails
``test_every_route_has_exactly_one_entry``, and a route whose answer differs from its entry fails
``test_route_answers_as_the_table_says`` for that endpoint.

The eight actors are: anonymous, a liaison of 中央区, a liaison of 東区, a ward manager of 中央区,
a ward manager of 東区, a 環境局 staff member, a 消防局 staff member and the admin. Every object a
route looks up by id exists twice: on side A (中央区, lead bureau 環境局) and on side B (東区, lead
bureau 消防局), so each scoped route is tried on the actor's own object and on another ward's or
bureau's. Notifications and report jobs are tried as the actor's own and as somebody else's.
``tests/route_world.py`` builds them (``test_fuzz_forms`` acts in the same world).

The product's answers:
- allow: anything but 401/403/404, a 5xx, or a redirect to the login page (a POST with an empty
  form that is refused with a Japanese message, 200/302/400/422, is an allow);
- deny: 403 with a Japanese message, and no row of any table changed (an object of another ward
  or bureau exists, so it is a 403 and never a 404: the product does not hide ids);
- login: an anonymous user is redirected to the login page, and nothing changed.

Every request runs inside a savepoint that is rolled back afterwards, so an allowed POST (an
admin deactivating a bureau, a manager approving a draft) cannot leak into the next cell. POSTs
are sent without a CSRF token (CSRF is off here) and with an empty form: this is about who may
act, not about what the action needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tracker.extensions import db
from tracker.states import Role

from .route_world import ACTORS, Actor, Target, World, changed_tables, open_world, snapshot

LIAISON, MANAGER, STAFF, ADMIN = Role.LIAISON, Role.WARD_MANAGER, Role.BUREAU_STAFF, Role.ADMIN
ANY_ROLE = frozenset(Role)
PUBLIC = "public"  # anonymous users too

# --- the table -------------------------------------------------------------------------------

# Scopes: what, besides the role, an actor needs to use a route on an object.
NONE = "none"  # no object, or the role alone decides (admin pages)
SAME_WARD = "same_ward"  # the object's ward is the actor's ward
SEES_REQUEST = "sees_request"  # admin; own ward; bureau staff: bundled in an issue sent to their bureau
SEES_ISSUE = "sees_issue"  # admin; own ward; bureau staff: sent to their bureau (lead or related)
LEAD_BUREAU = "lead_bureau"  # the actor belongs to the issue's lead bureau
ISSUE_PARTY = "issue_party"  # the issue's ward manager, or staff of its lead or related bureaus
RELATED_BUREAU = "related_bureau"  # the actor belongs to a related bureau (the other side's, here)
HANDOVER_WARD = "handover_ward"  # a manager of the ward the request is handed to (the other side's)
OWN = "own"  # the actor's own notification
OWN_OR_ADMIN = "own_or_admin"  # the actor's own report job; the admin sees everyone's
SAME_CENTER = "same_center"  # import batch: a liaison's own center, a ward manager's own ward
SAME_WARD_OR_ADMIN = "same_ward_or_admin"  # corrections: the object's ward's staff, or the admin
LEAD_BUREAU_OR_ADMIN = "lead_bureau_or_admin"  # corrections: the issue's lead bureau, or the admin
# activity: a liaison's own center, a ward manager's own ward, or the admin (never bureau staff)
SAME_CENTER_OR_ADMIN = "same_center_or_admin"
OWN_WARD_IF_LIAISON = "own_ward_if_liaison"  # a ward's indicators: every role, a liaison their own ward


@dataclass(frozen=True)
class Rule:
    """Who may use a route: ``roles`` (or PUBLIC), within ``scope``, tried on ``targets``."""

    roles: frozenset | str
    scope: str = NONE
    targets: tuple[str, ...] = ()
    ends_session: bool = False  # logout: a redirect to the login page is its allowed answer

    def __post_init__(self):
        assert (self.scope == NONE) or self.targets, "a scoped rule needs objects to try"


def only(*roles: Role, scope: str = NONE, on: tuple[str, ...] | str = ()) -> Rule:
    return Rule(frozenset(roles), scope, (on,) if isinstance(on, str) else on)


FIELD_STAFF = (LIAISON, MANAGER)
READERS = (ADMIN, MANAGER, STAFF)

RULES: dict[str, Rule] = {
    # auth
    "auth.home": Rule(ANY_ROLE),
    "auth.login": Rule(PUBLIC),
    "auth.logout": Rule(ANY_ROLE, ends_session=True),
    "auth.password": Rule(ANY_ROLE),
    # the second factor: anonymous users (no password step) are sent to the login page
    "account.login_code": Rule(ANY_ROLE),
    "account.mfa": Rule(ANY_ROLE),
    "account.start_mfa": Rule(ANY_ROLE),
    "account.confirm_mfa": Rule(ANY_ROLE),
    "account.regenerate_recovery_codes": Rule(ANY_ROLE),
    "account.disable_mfa": Rule(ANY_ROLE),
    # field work
    "field.queue": only(LIAISON),
    "field.ward_requests": only(LIAISON, MANAGER, ADMIN),
    "field.new_request": only(*FIELD_STAFF),
    "field.similar_requests": only(*FIELD_STAFF),  # suggestions of the user's own ward only
    "field.request_detail": only(*Role, scope=SEES_REQUEST, on=("received", "escalated")),
    "field.answer": only(*FIELD_STAFF, scope=SAME_WARD, on="received"),
    "field.withdraw": only(*FIELD_STAFF, scope=SAME_WARD, on="received"),
    "field.photo": only(*Role, scope=SEES_REQUEST, on="photo"),
    # offline capture: a fresh CSRF token for the device's queue; the service worker and its offline page
    "field.csrf_token": Rule(ANY_ROLE),
    "field.service_worker": Rule(PUBLIC),
    "field.offline_page": Rule(PUBLIC),
    # personal data: shown (and recorded) to field staff of the ward and the admin, never bureau staff
    "field.reveal_personal_data": only(
        LIAISON, MANAGER, ADMIN, scope=SEES_REQUEST, on=("received", "escalated")
    ),
    # ward office
    "ward.triage": only(MANAGER),
    "ward.refer": only(MANAGER, scope=SAME_WARD, on="received"),
    "ward.escalate": only(MANAGER, scope=SAME_WARD, on="received"),
    "ward.set_priority": only(*FIELD_STAFF, scope=SAME_WARD, on="received"),
    "ward.assign": only(MANAGER, scope=SAME_WARD, on="received"),
    "ward.bulk": only(MANAGER),  # the requests come in the form: each one's scope is checked there
    "ward.hand_over": only(MANAGER, scope=SAME_WARD, on="received"),
    "ward.accept_handover": only(MANAGER, scope=HANDOVER_WARD, on="handing_over"),
    "ward.decline_handover": only(MANAGER, scope=HANDOVER_WARD, on="handing_over"),
    "ward.cancel_handover": only(MANAGER, scope=SAME_WARD, on="handing_over"),
    "ward.fund_from_ward": only(MANAGER, scope=SAME_WARD, on="received"),
    "ward.ward_funds": only(MANAGER),
    "ward.reopen": only(MANAGER, scope=SAME_WARD, on="withdrawn"),
    "ward.issues": only(LIAISON, MANAGER, ADMIN),
    "ward.new_issue": only(MANAGER),
    "ward.issue_detail": only(*Role, scope=SEES_ISSUE, on=("draft", "consulting")),
    "ward.edit_issue": only(MANAGER, scope=SAME_WARD, on="draft"),
    "ward.approve": only(MANAGER, scope=SAME_WARD, on="draft"),
    "ward.submit": only(MANAGER, scope=SAME_WARD, on="draft"),
    "ward.return_draft": only(MANAGER, scope=SAME_WARD, on="awaiting_approval"),
    "ward.assign_ward_owner": only(MANAGER, scope=SAME_WARD, on=("draft", "consulting")),
    "ward.send": only(MANAGER, scope=SAME_WARD, on="registered"),
    "ward.withdraw_issue": only(MANAGER, scope=SAME_WARD, on="draft"),
    "ward.answer_inquiry": only(MANAGER, scope=SAME_WARD, on="inquiring"),
    "ward.write_public_text": only(MANAGER, scope=SAME_WARD, on="consulting"),
    "ward.approve_public_text": only(MANAGER, scope=SAME_WARD, on="consulting"),
    "ward.set_public": only(MANAGER, scope=SAME_WARD, on="consulting"),
    "ward.mark_good_practice": only(MANAGER, scope=SAME_WARD, on="completed"),
    "ward.edit_good_practice": only(MANAGER, scope=SAME_WARD, on="practice"),
    "ward.unmark_good_practice": only(MANAGER, scope=SAME_WARD, on="practice"),
    # the city-wide 事例集: every staff member
    "practices.index": Rule(ANY_ROLE),
    # bureau
    "bureau.inbox": only(STAFF),
    "bureau.decide": only(STAFF, scope=LEAD_BUREAU, on="consulting"),
    "bureau.inquire": only(STAFF, scope=LEAD_BUREAU, on="consulting"),
    "bureau.opine": only(STAFF, scope=RELATED_BUREAU, on="related"),
    "bureau.budget": only(STAFF, scope=LEAD_BUREAU, on="decided"),
    "bureau.add_budget_line": only(STAFF, scope=LEAD_BUREAU, on="budgeted"),
    "bureau.start": only(STAFF, scope=LEAD_BUREAU, on="budgeted"),
    "bureau.note": only(STAFF, MANAGER, scope=ISSUE_PARTY, on="consulting"),
    "bureau.complete": only(STAFF, scope=LEAD_BUREAU, on="implementing"),
    # comments and attachments: anyone who may see the request or the issue
    "teamwork.comment_request": only(*Role, scope=SEES_REQUEST, on=("received", "escalated")),
    "teamwork.attach_request": only(*Role, scope=SEES_REQUEST, on=("received", "escalated")),
    "teamwork.comment_issue": only(*Role, scope=SEES_ISSUE, on=("draft", "consulting")),
    "teamwork.attach_issue": only(*Role, scope=SEES_ISSUE, on=("draft", "consulting")),
    "teamwork.attachment": only(*Role, scope=SEES_REQUEST, on="attachment"),
    # corrections (訂正) and 取消: those who entered it, and the admin
    "corrections.correct_request": only(*FIELD_STAFF, ADMIN, scope=SAME_WARD_OR_ADMIN, on="received"),
    "corrections.correct_answer": only(*FIELD_STAFF, ADMIN, scope=SAME_WARD_OR_ADMIN, on="answered"),
    "corrections.correct_fund_draw": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="answered"),
    "corrections.cancel_fund_draw": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="answered"),
    "corrections.correct_texts": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="consulting"),
    "corrections.correct_decision": only(STAFF, ADMIN, scope=LEAD_BUREAU_OR_ADMIN, on="decided"),
    "corrections.correct_budget_line": only(STAFF, ADMIN, scope=LEAD_BUREAU_OR_ADMIN, on="budgeted"),
    "corrections.cancel_budget_line": only(STAFF, ADMIN, scope=LEAD_BUREAU_OR_ADMIN, on="budgeted"),
    "bureau.assign_bureau_owner": only(STAFF, scope=LEAD_BUREAU, on="consulting"),
    # administration: the admin only, whatever the object
    "admin.users": only(ADMIN),
    "admin.new_user": only(ADMIN),
    "admin.edit_user": only(ADMIN, on="user"),
    "admin.deactivate_user": only(ADMIN, on="user"),
    "admin.reactivate_user": only(ADMIN, on="user"),
    "admin.reset_password": only(ADMIN, on="user"),
    "admin.reset_mfa": only(ADMIN, on="user"),
    "admin.master": only(ADMIN),
    "admin.edit_ward": only(ADMIN, on="ward"),
    "admin.new_center": only(ADMIN),
    "admin.edit_center": only(ADMIN, on="center"),
    "admin.new_entry": only(ADMIN, on="entry_kind"),
    "admin.edit_entry": only(ADMIN, on="entry"),
    "admin.set_entry_active": only(ADMIN, on="switchable"),
    "admin.ward_fund": only(ADMIN),
    "admin.settings": only(ADMIN),
    "admin.set_setting": only(ADMIN),
    "budget_calendar.index": only(ADMIN),
    "admin.jobs": only(ADMIN),
    # Open311: API keys, the town table, the services' profiles and questions
    "admin.api_keys": only(ADMIN),
    "admin.create_api_key": only(ADMIN),
    "admin.revoke_api_key": only(ADMIN, on="api_key"),
    "admin.set_api_key_limit": only(ADMIN, on="api_key"),
    "admin.towns": only(ADMIN),
    "admin.add_town": only(ADMIN),
    "admin.delete_town": only(ADMIN, on="town"),
    "admin.services": only(ADMIN),
    "admin.edit_service": only(ADMIN, on="service"),
    "admin.new_attribute": only(ADMIN, on="service"),
    "admin.edit_attribute": only(ADMIN, on="attribute"),
    "admin.delete_attribute": only(ADMIN, on="attribute"),
    "admin.retry_job": only(ADMIN, on="job"),
    "admin.relay_jobs": only(ADMIN),
    "audit.accesses": only(ADMIN),
    "audit.exported": only(ADMIN),
    "audit.admin_changes": only(ADMIN),
    "audit.security_events": only(ADMIN),
    # notifications: everyone, their own only
    "notifications.index": Rule(ANY_ROLE),
    "notifications.open_notification": Rule(ANY_ROLE, OWN, ("notification",)),
    "notifications.mark_read": Rule(ANY_ROLE, OWN, ("notification",)),
    "notifications.mark_all_read": Rule(ANY_ROLE),
    "notifications.settings": Rule(ANY_ROLE),
    # reports
    "reports.index": only(*READERS),
    "reports.job": only(*READERS, scope=OWN_OR_ADMIN, on="report"),
    "reports.download": only(*READERS, scope=OWN_OR_ADMIN, on="report"),
    # exports made in the background: whoever asked, and the admin
    "exports.job": Rule(ANY_ROLE, OWN_OR_ADMIN, ("export",)),
    "exports.status": Rule(ANY_ROLE, OWN_OR_ADMIN, ("export",)),
    "exports.download": Rule(ANY_ROLE, OWN_OR_ADMIN, ("export",)),
    # counts of field work: the activities' own scope (a liaison's center, a manager's ward), no bureau
    "reports.activities": only(LIAISON, MANAGER, ADMIN),
    # imports
    "imports.index": only(*FIELD_STAFF),
    "imports.batch": only(*FIELD_STAFF, scope=SAME_CENTER, on="batch"),
    "imports.status": only(*FIELD_STAFF, scope=SAME_CENTER, on="batch"),
    "imports.mapping": only(*FIELD_STAFF, scope=SAME_CENTER, on="batch"),
    "imports.template_xlsx": only(*FIELD_STAFF),
    "imports.template_csv": only(*FIELD_STAFF),
    # activities (活動記録): liaisons of the center, managers of the ward, the admin; never bureau staff
    "activities.index": only(LIAISON, MANAGER, ADMIN),
    "activities.new": only(LIAISON, MANAGER, ADMIN),
    "activities.detail": only(LIAISON, MANAGER, ADMIN, scope=SAME_CENTER_OR_ADMIN, on="activity"),
    "activities.edit": only(LIAISON, MANAGER, ADMIN, scope=SAME_CENTER_OR_ADMIN, on="activity"),
    "activities.link": only(LIAISON, MANAGER, ADMIN, scope=SAME_CENTER_OR_ADMIN, on="activity"),
    "activities.unlink": only(LIAISON, MANAGER, ADMIN, scope=SAME_CENTER_OR_ADMIN, on="activity"),
    # the centers' community organisations: the ward's managers, and the admin
    "organisations.index": only(MANAGER, ADMIN),
    "organisations.new": only(MANAGER, ADMIN),
    "organisations.edit": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="organisation"),
    "organisations.set_active": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="organisation"),
    # the wards' answer templates (定型文): the ward's managers, and the admin
    "answer_templates.index": only(MANAGER, ADMIN),
    "answer_templates.new": only(MANAGER, ADMIN),
    "answer_templates.edit": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="answer_template"),
    "answer_templates.move": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="answer_template"),
    "answer_templates.set_active": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="answer_template"),
    # search: everyone logged in; the results are scoped by access (see tests/test_search.py)
    "search.index": Rule(ANY_ROLE),
    # dashboards: everyone logged in (the city dashboard shows aggregates only)
    "dashboard.personal": Rule(ANY_ROLE),
    "dashboard.city": Rule(ANY_ROLE),
    "reports.fiscal_year": only(*READERS),
    "reports.fiscal_years": only(*READERS),
    # indicators (指標): aggregates every member of staff reads; a liaison sees their own ward's page
    "indicators.city": Rule(ANY_ROLE),
    "indicators.ward": only(*Role, scope=OWN_WARD_IF_LIAISON, on="ward"),
    "indicators.detail": Rule(ANY_ROLE, targets=("indicator",)),
    "indicators.set_target": only(ADMIN, on="indicator"),
    "indicators.enter_value": only(
        ADMIN, MANAGER, on="indicator"
    ),  # a manager: own ward (see the pages' tests)
    "indicators.manage": only(ADMIN),
    "indicators.new": only(ADMIN),
    "indicators.edit": only(ADMIN, on="indicator"),
    # public pages: anyone, logged in or not; an unpublished issue is a 404 (see test_public.py)
    "public.index": Rule(PUBLIC),
    "public.issue": Rule(PUBLIC, targets=("published",)),
    "public.feed": Rule(PUBLIC),
    "public.map_page": Rule(PUBLIC),
    "public.map_geojson": Rule(PUBLIC),
    # the request lists on a map: the list's own roles (its scope is the list's, tests/test_maps.py)
    "maps.requests_map": only(LIAISON, MANAGER, ADMIN),
    "maps.requests_geojson": only(LIAISON, MANAGER, ADMIN),
    "maps.queue_map": only(LIAISON),
    "maps.queue_geojson": only(LIAISON),
    "maps.triage_map": only(MANAGER),
    "maps.triage_geojson": only(MANAGER),
    # what a typed amount will be stored as: any member of staff filling in a form
    "api.amount": Rule(ANY_ROLE),
    # Open311 reads: anyone, no login (a given api_key must be live; see test_open311_read.py)
    "api.discovery": Rule(PUBLIC),
    "api.service_list": Rule(PUBLIC),
    "api.service_definition": Rule(PUBLIC, targets=("open311_service",)),
    "api.request_list": Rule(PUBLIC),
    "api.request_record": Rule(PUBLIC, targets=("open311_request",)),
    "api.request_updates": Rule(PUBLIC),
    "api.openapi_document": Rule(PUBLIC),
    "api.openapi_page": Rule(PUBLIC),
    # Open311: apps, with an API key (tried with the world's key; refusals by key are in test_open311_write)
    "api.open311_post_request": Rule(PUBLIC, targets=("open311_key",)),
    "api.open311_token": Rule(PUBLIC, targets=("open311_token",)),
    # the intake queue (未振り分け): ward managers (their ward's, or of no ward) and the admin
    "intake.index": only(MANAGER, ADMIN),
    "intake.assign": only(MANAGER, ADMIN, scope=SAME_WARD_OR_ADMIN, on="queued"),
}

SKIPPED_ENDPOINTS = {"static"}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def expected(rule: Rule, actor: Actor, target: Target | None) -> str:
    """What the table says ``actor`` gets from a route on ``target``: allow, deny or login."""
    if rule.roles == PUBLIC:
        return "allow"
    if actor.role is None:
        return "login"
    if actor.role not in rule.roles:
        return "deny"
    return "allow" if in_scope(rule.scope, actor, target) else "deny"


def in_scope(scope: str, actor: Actor, target: Target | None) -> bool:
    role, same_side = actor.role, target is not None and actor.side == target.side
    if scope == NONE:
        return True
    if scope == SAME_WARD:
        return role in FIELD_STAFF and same_side
    if scope == SAME_WARD_OR_ADMIN:
        return role == ADMIN or (role in FIELD_STAFF and same_side)
    if scope == LEAD_BUREAU_OR_ADMIN:
        return role == ADMIN or (role == STAFF and same_side)
    if scope in (SEES_REQUEST, SEES_ISSUE):
        if role == ADMIN:
            return True
        if role in FIELD_STAFF:
            return same_side
        return role == STAFF and target.sent and same_side
    if scope == LEAD_BUREAU:
        return role == STAFF and same_side
    if scope == RELATED_BUREAU:
        return role == STAFF and target.sent and not same_side
    if scope == HANDOVER_WARD:
        return role == MANAGER and not same_side
    if scope == ISSUE_PARTY:
        return (role == MANAGER and same_side) or (role == STAFF and target.sent and same_side)
    if scope == OWN:
        return target.owner == actor.name
    if scope == OWN_OR_ADMIN:
        return role == ADMIN or target.owner == actor.name
    if scope == SAME_CENTER:
        return role in FIELD_STAFF and same_side
    if scope == SAME_CENTER_OR_ADMIN:
        return role == ADMIN or (role in FIELD_STAFF and same_side)
    if scope == OWN_WARD_IF_LIAISON:
        return role != LIAISON or same_side
    raise AssertionError(f"unknown scope {scope}")


# --- the world (built by tests/route_world.py) ----------------------------------------------


@pytest.fixture(scope="module")
def world(app) -> Iterator[World]:
    """The objects and logged-in actors, built once for the module in one rolled-back transaction."""
    with open_world(app) as built:
        _publish(built)
        yield built


def _publish(world: World) -> None:
    """The public pages need published issues: the budgeted issue of each side is made public,
    with an approved public text."""
    from tracker.models import WardIssue, utcnow
    from tracker.monitoring_models import IssuePublication

    for side in ("A", "B"):
        values = dict(world.objects[("budgeted", side)].values)
        issue = db.session.get(WardIssue, values["issue_id"])
        issue.is_public = True
        db.session.add(
            IssuePublication(
                ward_issue_id=issue.id,
                title=issue.title,
                written_by_id=issue.created_by_id,
                approved_by_id=issue.created_by_id,
                approved_at=utcnow(),
            )
        )
        world.objects[("published", side)] = Target(f"published[{side}]", values, side=side, sent=True)
    db.session.commit()


# --- running one cell --------------------------------------------------------------------------


@dataclass
class Answer:
    outcome: str  # allow, deny, login, or what went wrong
    status: int
    detail: str = ""
    changed: list[str] = field(default_factory=list)


def classify(response, rule: Rule, actor: Actor) -> str:
    status = response.status_code
    if status >= 500:
        return "error"
    if status == 403:
        return "deny"
    if status in (401, 404):
        return str(status)
    if 300 <= status < 400:
        location = urlsplit(response.headers.get("Location", ""))
        if location.path.rstrip("/").endswith("/login"):
            return "allow" if rule.ends_session and actor.role else "login"
    return "allow"


def run_cell(world: World, endpoint: str, method: str, rule: Rule, actor: Actor, target) -> Answer:
    app = world.app
    values = target.values if target else {}
    url = app.url_map.bind("localhost").build(endpoint, values, method=method)
    savepoint = world.connection.begin_nested()
    try:
        before = snapshot()
        db.session.remove()
        response = world.client(actor).open(url, method=method, data={})
        after = snapshot()
        outcome = classify(response, rule, actor)
        answer = Answer(outcome, response.status_code, changed=changed_tables(before, after))
        if outcome == "deny" and "権限" not in response.get_data(as_text=True):
            answer.detail = "403 without the Japanese message"
        return answer
    finally:
        db.session.remove()
        savepoint.rollback()


def _methods(app, endpoint: str) -> list[str]:
    methods: set[str] = set()
    for url_rule in app.url_map.iter_rules(endpoint):
        methods |= set(url_rule.methods or ()) - SKIPPED_METHODS
    return sorted(methods)


# --- the tests -------------------------------------------------------------------------------


def test_every_route_has_exactly_one_entry(app):
    """A new route fails here until its authorisation is written into ``RULES``."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - SKIPPED_ENDPOINTS
    missing, stale = sorted(endpoints - set(RULES)), sorted(set(RULES) - endpoints)
    assert not missing, f"routes without an entry in RULES: {missing}"
    assert not stale, f"entries in RULES for routes that no longer exist: {stale}"


SIDED_SCOPES = (
    SAME_WARD,
    SEES_REQUEST,
    SEES_ISSUE,
    LEAD_BUREAU,
    ISSUE_PARTY,
    SAME_CENTER,
    SAME_WARD_OR_ADMIN,
    LEAD_BUREAU_OR_ADMIN,
    SAME_CENTER_OR_ADMIN,
    OWN_WARD_IF_LIAISON,
)


def test_every_scoped_object_exists_on_both_sides(world):
    """Each object a scoped route is tried on is there for 中央区/環境局 and for 東区/消防局."""
    for endpoint, rule in RULES.items():
        for name in rule.targets:
            tried = world.targets(name, ACTORS[1])
            assert len(tried) >= 2, f"{endpoint}: only {len(tried)} {name} to try"
            if rule.scope in SIDED_SCOPES:
                assert {t.side for t in tried} == {"A", "B"}, endpoint


@pytest.mark.parametrize("endpoint", sorted(RULES))
def test_route_answers_as_the_table_says(world, endpoint):
    """Every method × actor × object: the answer the table expects, and nothing changed on a no."""
    rule = RULES[endpoint]
    methods = _methods(world.app, endpoint)
    assert methods, f"{endpoint} is not in the url_map"
    wrong = []
    cells = 0
    for method in methods:
        for actor in ACTORS:
            targets = [t for name in rule.targets for t in world.targets(name, actor)] or [None]
            for target in targets:
                cells += 1
                want = expected(rule, actor, target)
                got = run_cell(world, endpoint, method, rule, actor, target)
                where = f"{method} {endpoint} as {actor.name}" + (f" on {target.label}" if target else "")
                if got.outcome != want:
                    wrong.append(f"{where}: expected {want}, got {got.outcome} ({got.status})")
                elif want != "allow" and got.changed:
                    wrong.append(f"{where}: refused ({got.status}) but changed {got.changed}")
                elif want == "allow" and got.status in (400, 422) and got.changed:
                    wrong.append(f"{where}: refused the form ({got.status}) but changed {got.changed}")
                elif got.detail:
                    wrong.append(f"{where}: {got.detail}")
    assert cells >= len(methods) * len(ACTORS)
    assert not wrong, "\n".join(wrong)


def test_objects_that_do_not_exist_are_404_for_those_who_may_look(world):
    """An id that names nothing (or is too big for the database) is a 404, never a 5xx."""
    allowed = {
        "field.request_detail": "manager",
        "field.photo": "manager",
        "teamwork.attachment": "manager",
        "teamwork.comment_request": "manager",
        "teamwork.attach_issue": "staff",
        "field.answer": "manager",
        "ward.issue_detail": "manager",
        "ward.approve": "manager",
        "bureau.decide": "staff",
        "notifications.open_notification": "manager",
        "reports.job": "manager",
        "exports.job": "manager",
        "exports.download": "manager",
        "public.issue": "anonymous",
        "imports.batch": "manager",
        "admin.edit_user": "admin",
        "admin.edit_center": "admin",
        "admin.retry_job": "admin",
        "admin.revoke_api_key": "admin",
        "admin.delete_town": "admin",
        "admin.edit_service": "admin",
        "admin.edit_attribute": "admin",
        "activities.detail": "manager",
        "organisations.edit": "manager",
        "indicators.detail": "liaison",
        "indicators.ward": "staff",
        "indicators.enter_value": "manager",
        "intake.assign": "manager",
    }
    by_name = {actor.name: actor for actor in ACTORS}
    wrong = []
    for endpoint, actor_name in allowed.items():
        rule = RULES[endpoint]
        template = world.targets(rule.targets[0], by_name[actor_name])[0]
        for missing_id in (2**31 - 1, 2**63 - 1, 2**64):
            values = {k: (missing_id if k.endswith("_id") else v) for k, v in template.values.items()}
            target = Target("missing", values)
            for method in _methods(world.app, endpoint):
                got = run_cell(world, endpoint, method, rule, by_name[actor_name], target)
                if got.status != 404:
                    wrong.append(f"{method} {endpoint} id={missing_id} as {actor_name}: {got.status}")
    assert not wrong, "\n".join(wrong)
