"""The summary tables the dashboards read: always equal to a fresh count of the data.

A seeded random sequence of real workflow actions (logging, answering, referring, escalating,
withdrawing, reopening, corrections of the center and of the answer date, hand-overs to another
ward, imports by the bulk writer, the ward issues' steps, changes of their lead and related
bureaus), some of them refused and rolled back, must leave every summary row equal to a GROUP
BY over ``requests`` / ``ward_issues``, and every dashboard figure equal to the direct query
that computed it before the summaries existed (kept here as the reference).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import threading
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate.cli import db as db_command
from sqlalchemy import Integer, cast, extract, func, select

from tracker import create_app, workflow
from tracker.activity_models import Activity
from tracker.background import request_writer
from tracker.effects import counters, intake
from tracker.extensions import db
from tracker.fieldwork import operations as fieldwork
from tracker.finding import queries
from tracker.formatting import fiscal_year_of
from tracker.models import BudgetLine, Bureau, Center, ServiceRequest, User, Ward, WardIssue
from tracker.ops_models import ImportBatch
from tracker.reporting import activity_counts, dashboards, fiscal_range, personal_dashboard, reports
from tracker.reporting import counters as counters_read
from tracker.safeguards import access
from tracker.states import (
    OPEN_REQUEST_STATES,
    REGISTERED_ISSUE_STATES,
    AnswerKind,
    Decision,
    Funding,
    ImportState,
    IssueState,
    RequestState,
    Role,
    Source,
)
from tracker.summary_models import RequestStateCount
from tracker.workflow import WorkflowError

from .factories import TODAY
from .support import database_url_for_tests, drop_database, empty_schema

START = TODAY - dt.timedelta(days=500)


# --- the reference: the direct queries the dashboards ran before the summary tables ----------


def _days(session, start, end):
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(end) - func.julianday(start), Integer)
    return end - start


def direct_monthly(session, fiscal_year):
    first, last = dashboards.fiscal_year_bounds(fiscal_year)
    month = extract("month", ServiceRequest.received_on)
    rows = session.execute(
        select(ServiceRequest.ward_id, month, func.count())
        .where(ServiceRequest.received_on >= first, ServiceRequest.received_on <= last)
        .group_by(ServiceRequest.ward_id, month)
    ).all()
    counts = defaultdict(lambda: [0] * 12)
    for ward_id, number, count in rows:
        counts[ward_id][dashboards.FISCAL_MONTHS.index(int(number))] = int(count)
    return dict(counts)


def direct_open_by_state(session):
    rows = session.execute(
        select(ServiceRequest.ward_id, ServiceRequest.state, func.count())
        .where(ServiceRequest.state.in_(OPEN_REQUEST_STATES))
        .group_by(ServiceRequest.ward_id, ServiceRequest.state)
    ).all()
    result = defaultdict(dict)
    for ward_id, state, count in rows:
        result[ward_id][state] = int(count)
    return dict(result)


def direct_days_to_answer(session, fiscal_year):
    days = _days(session, ServiceRequest.received_on, ServiceRequest.answered_on)
    rows = session.execute(
        select(ServiceRequest.ward_id, days, func.count())
        .where(
            ServiceRequest.fiscal_year == fiscal_year,
            ServiceRequest.state == RequestState.ANSWERED,
            ServiceRequest.answered_on.is_not(None),
        )
        .group_by(ServiceRequest.ward_id, days)
    ).all()
    result = defaultdict(dict)
    for ward_id, day_count, count in rows:
        key = max(int(day_count), 0)
        result[ward_id][key] = result[ward_id].get(key, 0) + int(count)
    return dict(result)


def direct_overdue(session, today, *where):
    statement = select(ServiceRequest.center_id, func.count()).where(
        ServiceRequest.state.in_(OPEN_REQUEST_STATES), ServiceRequest.answer_due_on < today, *where
    )
    return {center: int(n) for center, n in session.execute(statement.group_by(ServiceRequest.center_id))}


def direct_decisions(session, fiscal_year):
    rows = session.execute(
        select(WardIssue.ward_id, WardIssue.decision, func.count())
        .where(WardIssue.fiscal_year == fiscal_year, WardIssue.state.in_(dashboards.REGISTERED_STATES))
        .group_by(WardIssue.ward_id, WardIssue.decision)
    ).all()
    result = defaultdict(dict)
    for ward_id, decision, count in rows:
        result[ward_id][decision.value if decision else None] = int(count)
    return dict(result)


def direct_states(session, model, *where):
    rows = session.execute(select(model.state, func.count()).where(*where).group_by(model.state))
    return {state: int(count) for state, count in rows}


def direct_count(session, *where, model=ServiceRequest):
    return int(session.execute(select(func.count(model.id)).where(*where)).scalar_one())


def current_lines(fiscal_year):
    return (
        BudgetLine.funding == Funding.BUREAU,
        BudgetLine.cancelled_at.is_(None),
        BudgetLine.fiscal_year == fiscal_year,
    )


def direct_report_figures(session, fiscal_year, key):
    """The fiscal-year report's figures per ``key`` as it computed them before the summary rows:
    {group: (registered, adopted, partial, rejected, budgeted, allocated yen)}."""
    has_line = sa.exists().where(
        BudgetLine.ward_issue_id == WardIssue.id,
        BudgetLine.funding == Funding.BUREAU,
        BudgetLine.cancelled_at.is_(None),
    )

    def count_where(condition):
        return func.count(sa.case((condition, 1)))

    figures = defaultdict(lambda: [0] * 6)
    for group, *values in session.execute(
        select(
            key,
            func.count(WardIssue.id),
            count_where(WardIssue.decision == Decision.ADOPT),
            count_where(WardIssue.decision == Decision.PARTIAL),
            count_where(WardIssue.decision == Decision.REJECT),
            count_where(sa.or_(WardIssue.within_existing_budget, has_line)),
        )
        .where(WardIssue.fiscal_year == fiscal_year, WardIssue.state.in_(REGISTERED_ISSUE_STATES))
        .group_by(key)
    ):
        figures[group][:5] = map(int, values)
    for group, amount in session.execute(
        select(key, func.sum(BudgetLine.allocated_yen))
        .join(WardIssue, BudgetLine.ward_issue_id == WardIssue.id)
        .where(*current_lines(fiscal_year))
        .group_by(key)
    ):
        figures[group][5] = int(amount or 0)
    return {group: tuple(values) for group, values in figures.items() if any(values)}


def direct_data_years(session):
    years = [
        year
        for row in session.execute(
            select(func.min(WardIssue.fiscal_year), func.max(WardIssue.fiscal_year)).where(
                WardIssue.state.in_(REGISTERED_ISSUE_STATES)
            )
        )
        for year in row
    ] + [
        year
        for row in session.execute(
            select(func.min(BudgetLine.fiscal_year), func.max(BudgetLine.fiscal_year)).where(
                BudgetLine.funding == Funding.BUREAU, BudgetLine.cancelled_at.is_(None)
            )
        )
        for year in row
    ]
    years = [year for year in years if year is not None]
    return (min(years), max(years)) if years else None


# --- a city at work ------------------------------------------------------------------------------


class World:
    """The people, and a seeded random source of the actions they take."""

    def __init__(self, make, session, seed: int):
        self.make, self.session, self.rng = make, session, random.Random(seed)
        self.liaisons = [make.liaison("中央区"), make.liaison("東区")]
        self.managers = {"中央区": make.manager("中央区"), "東区": make.manager("東区")}
        self.approvers = {"中央区": make.second_manager("中央区"), "東区": make.second_manager("東区")}
        self.staff = make.staff()
        self.centers = {
            "中央区": [make.center(), make.second_center()],
            "東区": [c for c in make.ward("東区").centers if c.active][:2],
        }
        self.category = make.category()
        self.done: Counter = Counter()  # the money steps taken (not refused), by name
        self.lead_staff: dict[int, User] = {self.staff.bureau_id: self.staff}

    def staff_of(self, issue: WardIssue) -> User:
        """A member of staff of the issue's lead bureau (the lead changes: ``rebureau``);
        ``self.staff`` when it has none, whose steps are then refused."""
        if issue.lead_bureau_id is None:
            return self.staff
        if issue.lead_bureau_id not in self.lead_staff:
            self.lead_staff[issue.lead_bureau_id] = self.make.staff(issue.lead_bureau.name)
        return self.lead_staff[issue.lead_bureau_id]

    def day(self, first: dt.date = START) -> dt.date:
        return first + dt.timedelta(days=self.rng.randrange(max((TODAY - first).days, 0) + 1))

    def requests(self, *states) -> list[ServiceRequest]:
        statement = select(ServiceRequest).order_by(ServiceRequest.id)
        if states:
            statement = statement.where(ServiceRequest.state.in_(states))
        return list(self.session.scalars(statement))

    def issues(self, *states) -> list[WardIssue]:
        statement = select(WardIssue).where(WardIssue.state.in_(states)).order_by(WardIssue.id)
        return list(self.session.scalars(statement))

    def manager_of(self, subject):
        return self.managers[subject.ward.name]

    def act(self, actor, subject, action: str, payload: dict) -> bool:
        """Take the action and commit; a refused one is rolled back (with whatever it staged)."""
        try:
            workflow.apply(self.session, actor, subject, action, payload, today=TODAY)
            self.session.commit()
            return True
        except WorkflowError:
            self.session.rollback()
            return False

    # the actions -------------------------------------------------------------------------------

    def log(self):
        self.log_staged()
        self.session.commit()

    def log_staged(self):
        liaison = self.rng.choice(self.liaisons)
        config = current_app.config
        intake.log_request(
            self.session,
            liaison,
            {
                "title": "道路の陥没",
                "category_id": self.category.id,
                "source": Source.NEIGHBOURHOOD_ASSOCIATION.value,
                "received_on": self.day(),
            },
            [],
            photo_dir=config["PHOTO_DIR"],
            photo_max_bytes=config["PHOTO_MAX_BYTES"],
            photo_max_count=config["PHOTO_MAX_COUNT"],
            answer_due_days=self.rng.choice((7, 14, 30)),
            today=TODAY,
        )

    def answer(self):
        request = self.rng.choice(self.requests(*OPEN_REQUEST_STATES) or [None])
        if request is not None:
            payload = {
                "answer_text": "対応しました",
                "answer_kind": "resolved",
                "answered_on": self.day(request.received_on),
            }
            self.act(self.manager_of(request), request, "answer", payload)

    def simple(self, action: str, states, payload: dict):
        request = self.rng.choice(self.requests(*states) or [None])
        if request is not None:
            self.act(self.manager_of(request), request, action, payload)

    def escalate(self):
        request = self.rng.choice(self.requests(RequestState.RECEIVED) or [None])
        if request is not None:
            payload = {
                "title": "課題",
                "situation": "状況",
                "proposal": "提案",
                "lead_bureau": self.staff.bureau_id,
            }
            self.act(self.manager_of(request), request, "escalate", payload)

    def move_center(self):
        request = self.rng.choice(self.requests(*workflow_in_ward()) or [None])
        if request is not None:
            center = self.rng.choice(self.centers[request.ward.name])
            self.act(
                self.manager_of(request), request, "correct_request", {"center": center.id, "comment": "訂正"}
            )

    def correct_answer(self):
        request = self.rng.choice(self.requests(RequestState.ANSWERED) or [None])
        if request is not None:
            payload = {
                "answer_text": "訂正した回答",
                "answer_kind": "resolved",
                "answered_on": self.day(request.received_on),
                "comment": "日付の誤り",
            }
            self.act(self.manager_of(request), request, "correct_answer", payload)

    def hand_over(self):
        request = self.rng.choice(self.requests(RequestState.RECEIVED) or [None])
        if request is not None:
            other = "東区" if request.ward.name == "中央区" else "中央区"
            payload = {"handover_ward": self.make.ward(other).id, "comment": "所管違い"}
            self.act(self.manager_of(request), request, "hand_over", payload)

    def settle_handover(self):
        request = self.rng.choice(self.requests(RequestState.HANDING_OVER) or [None])
        if request is None:
            return
        target = request.handover_ward.name
        if self.rng.random() < 0.7:
            center = self.rng.choice(self.centers[target])
            self.act(self.managers[target], request, "accept_handover", {"center": center.id})
        else:
            self.act(self.managers[target], request, "decline_handover", {"comment": "当区の所管ではない"})

    def import_rows(self):
        liaison = self.rng.choice(self.liaisons)
        batch = ImportBatch(
            center_id=liaison.center_id,
            uploaded_by_id=liaison.id,
            original_name="要望一覧.xlsx",
            stored_name=f"{secrets.token_hex(16)}.xlsx",
            sha256="0" * 64,
            state=ImportState.RUNNING,
        )
        self.session.add(batch)
        self.session.flush()
        rows = []
        for _ in range(self.rng.randint(1, 4)):
            received = self.day()
            row = {
                "title": "取込の要望",
                "category_id": self.category.id,
                "source": Source.NEIGHBOURHOOD_ASSOCIATION,
                "received_on": received,
                "answer_due_on": received + dt.timedelta(days=self.rng.choice((7, 14))),
            }
            if self.rng.random() < 0.5:
                row.update(
                    answer_kind=AnswerKind.RESOLVED, answer_text="回答済み", answered_on=self.day(received)
                )
            rows.append(row)
        request_writer.write_requests(self.session, batch, rows, None)
        self.session.commit()

    def issue_step(self):
        issue = self.rng.choice(
            self.issues(IssueState.DRAFT, IssueState.REGISTERED, IssueState.CONSULTING) or [None]
        )
        if issue is None:
            return
        ward = issue.ward.name
        if issue.state == IssueState.DRAFT:
            if self.act(self.managers[ward], issue, "submit", {}):
                self.act(self.approvers[ward], issue, "approve", {})
        elif issue.state == IssueState.REGISTERED:
            if self.rng.random() < 0.2:
                self.act(self.managers[ward], issue, "withdraw", {"comment": "重複"})
            else:
                self.act(self.managers[ward], issue, "send", {})
        else:
            decision = self.rng.choice(("adopt", "reject", "partial"))
            self.act(
                self.staff_of(issue), issue, "decide", {"decision": decision, "decision_reason": "協議の結果"}
            )

    def log_activity(self):
        liaison = self.rng.choice(self.liaisons)
        self.make.activity(liaison, held_on=self.day())

    def activities(self) -> list[Activity]:
        return list(self.session.scalars(select(Activity).order_by(Activity.id)))

    def link(self):
        """Link a request to an activity of its ward (or unlink it), as the activity page does."""
        activities, requests = self.activities(), self.requests()
        if not activities or not requests:
            return
        request = self.rng.choice(requests)
        same_ward = [a for a in activities if a.ward_id == request.ward_id]
        liaison = next((person for person in self.liaisons if person.ward_id == request.ward_id), None)
        if request.activity_id is not None and self.rng.random() < 0.3:
            activity = self.session.get(Activity, request.activity_id)
            operation = fieldwork.unlink_request
        elif same_ward and liaison is not None:
            activity, operation = self.rng.choice(same_ward), fieldwork.link_request
        else:
            return
        try:
            operation(self.session, liaison, activity, request)
            self.session.commit()
        except WorkflowError:
            self.session.rollback()

    def redate_activity(self):
        """Move an activity (and the requests gathered in it) to another day, maybe another year."""
        activities = self.activities()
        if activities:
            activity = self.rng.choice(activities)
            activity.held_on = self.day()
            activity.fiscal_year = fiscal_year_of(activity.held_on)
            self.session.commit()

    def rebureau(self):
        """Change an issue's lead and related bureaus, as objects, as an id, or unloaded first."""
        issues = self.issues(*IssueState)
        if not issues:
            return
        sent = [issue for issue in issues if issue.sent_at is not None]  # the ones the inbox counts
        issue = self.rng.choice(sent if sent and self.rng.random() < 0.8 else issues)
        bureaus = list(self.session.scalars(select(Bureau).order_by(Bureau.id)))
        lead = self.rng.choice(bureaus)
        how = self.rng.random()
        if how < 0.3:
            self.session.expire(issue)  # nothing loaded: the old values come from the database
            issue.lead_bureau_id = lead.id
        elif how < 0.6:
            issue.lead_bureau = lead
            issue.related_bureaus = self.rng.sample(bureaus, self.rng.randint(0, 3))
        else:
            issue.related_bureaus.append(self.rng.choice(bureaus))
            if issue.related_bureaus and self.rng.random() < 0.5:
                issue.related_bureaus.pop(0)
        self.session.commit()

    def money(self):
        """The bureau's money steps: budget (a line, or within the existing budget), add, correct
        (year and amount) or cancel a line; refused ones (another lead bureau) roll back."""
        issue = self.rng.choice(
            self.issues(IssueState.DECIDED, IssueState.BUDGETED, IssueState.IMPLEMENTING) or [None]
        )
        if issue is None:
            return
        roll = self.rng.random()
        new_line = {
            "fiscal_year": self.rng.choice((2022, 2023, 2024)),
            "project_name": "街灯整備事業",
            "allocated_yen": self.rng.randrange(1, 40) * 250_000,
        }
        if issue.state == IssueState.DECIDED:
            # a line first, then within the existing budget, then either
            within = self.done["budget"] > 0 and (self.done["within"] == 0 or roll < 0.4)
            payload = {"within_existing_budget": "1"} if within else new_line
            self.done["within" if within else "budget"] += self.act(
                self.staff_of(issue), issue, "budget", payload
            )
            return
        lines = [
            line for line in issue.budget_lines if line.funding == Funding.BUREAU and not line.cancelled_at
        ]
        if roll < 0.4 or not lines:
            self.done["add"] += self.act(self.staff_of(issue), issue, "add_budget_line", new_line)
        elif roll < 0.75:
            payload = {**new_line, "budget_line": self.rng.choice(lines).id, "comment": "訂正"}
            del payload["project_name"]
            self.done["correct"] += self.act(self.make.admin(), issue, "correct_budget_line", payload)
        else:
            payload = {"budget_line": self.rng.choice(lines).id, "comment": "取消"}
            self.done["cancel"] += self.act(self.make.admin(), issue, "cancel_budget_line", payload)

    def move_line(self):
        """Change a budget line directly, not through the workflow (its issue untouched): its
        amount or year, cancel it, or move it to another issue (as an object or as an id)."""
        lines = list(self.session.scalars(select(BudgetLine).order_by(BudgetLine.id)))
        if not lines:
            return
        line, roll = self.rng.choice(lines), self.rng.random()
        if roll < 0.3:
            line.allocated_yen = self.rng.randrange(1, 40) * 100_000
            line.fiscal_year = self.rng.choice((2022, 2023, 2024))
        elif roll < 0.5:
            line.cancelled_at = None if line.cancelled_at else dt.datetime.now(dt.UTC)
        elif roll < 0.8:
            line.ward_issue = self.rng.choice(self.issues(*IssueState))
        else:
            self.session.expire(line)
            line.ward_issue_id = self.rng.choice(self.issues(*IssueState)).id
        self.session.commit()
        self.done["moved directly"] += 1

    def step(self):
        actions = [
            (self.money, 4),
            (self.move_line, 2),
            (self.rebureau, 3),
            (self.log_activity, 2),
            (self.link, 3),
            (self.redate_activity, 2),
            (self.log, 5),
            (self.answer, 4),
            (lambda: self.simple("refer", (RequestState.RECEIVED,), {"referred_to": "道路保全課"}), 2),
            (self.escalate, 2),
            (lambda: self.simple("withdraw", (RequestState.RECEIVED,), {"comment": "解決済み"}), 1),
            (
                lambda: self.simple(
                    "reopen", (RequestState.ANSWERED, RequestState.WITHDRAWN), {"comment": "再度"}
                ),
                2,
            ),
            (self.move_center, 2),
            (self.correct_answer, 2),
            (self.hand_over, 2),
            (self.settle_handover, 2),
            (self.import_rows, 1),
            (self.issue_step, 4),
        ]
        action = self.rng.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
        action()


def workflow_in_ward():
    return (RequestState.RECEIVED, RequestState.REFERRED, RequestState.ESCALATED, RequestState.ANSWERED)


def assert_figures_match(session, world: World) -> None:
    """Every summary row and every dashboard figure equal a direct count of the data."""
    assert counters.differences(session) == []
    for today in (TODAY, TODAY - dt.timedelta(days=40), TODAY + dt.timedelta(days=20)):
        for year in (2022, 2023, 2024):
            figures = dashboards.city_figures(session, year, today)
            assert figures.monthly == direct_monthly(session, year)
            days = direct_days_to_answer(session, year)
            assert figures.median_days == {
                ward.id: dashboards.weighted_median(days.get(ward.id, {})) for ward in figures.wards
            }
            assert figures.answered == {
                ward.id: sum(days.get(ward.id, {}).values()) for ward in figures.wards
            }
            assert figures.decisions == direct_decisions(session, year)
            published = activity_counts.published_figures(session, year - 1, year)
            assert published.requests_received == direct_count(
                session, ServiceRequest.fiscal_year.between(year - 1, year)
            )
            in_years = Activity.fiscal_year.between(year - 1, year)
            assert published.activities == direct_count(session, in_years, model=Activity)
            gathered = select(func.count(ServiceRequest.id)).join(
                Activity, ServiceRequest.activity_id == Activity.id
            )
            assert published.requests_gathered == session.scalar(gathered.where(in_years))
            for ward_id in {activity.ward_id for activity in world.activities()}:
                figures = activity_counts.current_fiscal_year_figures(session, ward_id, dt.date(year, 6, 1))
                here = (Activity.ward_id == ward_id, Activity.fiscal_year == year)
                assert figures.activities == direct_count(session, *here, model=Activity)
                assert figures.requests == session.scalar(gathered.where(*here))
        figures = dashboards.city_figures(session, 2024, today)
        assert figures.open_by_state == direct_open_by_state(session)
        overdue = direct_overdue(session, today)
        assert {row.id: row.overdue for row in figures.overdue_by_center if row.overdue} == overdue
        for manager in world.managers.values():
            board = personal_dashboard.dashboard_for(session, manager, today)
            ward_centers = select(Center.id).where(Center.ward_id == manager.ward_id)
            in_ward = direct_overdue(session, today, ServiceRequest.center_id.in_(ward_centers))
            assert {
                row.id: row.overdue for row in board.tables["overdue_by_center"] if row.overdue
            } == in_ward
            assert board.counts["overdue"] == sum(in_ward.values())
            assert board.counts["triage"] == direct_count(
                session,
                ServiceRequest.ward_id == manager.ward_id,
                ServiceRequest.state.in_((RequestState.RECEIVED, RequestState.REFERRED)),
            )
            issues = direct_states(session, WardIssue, WardIssue.ward_id == manager.ward_id)
            assert board.tables["issues_by_state"] == [(state, issues.get(state, 0)) for state in IssueState]
        for liaison in world.liaisons:
            board = personal_dashboard.dashboard_for(session, liaison, today)
            here = (
                ServiceRequest.center_id == liaison.center_id,
                ServiceRequest.state.in_(OPEN_REQUEST_STATES),
            )
            assert board.counts["open"] == direct_count(session, *here)
            assert board.counts["overdue"] == direct_count(
                session, *here, ServiceRequest.answer_due_on < today
            )
        board = personal_dashboard.dashboard_for(session, world.make.admin(), today)
        requests = direct_states(session, ServiceRequest)
        assert board.tables["requests_by_state"] == [
            (state, requests.get(state, 0)) for state in RequestState
        ]
        assert board.counts["overdue"] == sum(overdue.values())
        first, last = dashboards.fiscal_year_bounds(board.fiscal_year)
        assert board.counts["received_this_year"] == direct_count(
            session, ServiceRequest.received_on.between(first, last)
        )
        issues = direct_states(session, WardIssue)
        assert board.tables["issues_by_state"] == [(state, issues.get(state, 0)) for state in IssueState]
    for year in (2022, 2023, 2024, 2025):
        report = reports.fiscal_year_report(session, year, project_limit=3)
        by_ward, by_bureau = (
            direct_report_figures(session, year, WardIssue.ward_id),
            direct_report_figures(session, year, WardIssue.lead_bureau_id),
        )
        names = {bureau.id: bureau.name for bureau in session.scalars(select(Bureau))}
        assert {row.name: row.counts() for row in report.wards if any(row.counts())} == {
            session.get(Ward, ward_id).name: figures for ward_id, figures in by_ward.items()
        }
        assert {row.name: row.counts() for row in report.bureaus if any(row.counts())} == {
            names.get(bureau_id, reports.translate(reports.NO_LEAD_BUREAU)): figures
            for bureau_id, figures in by_bureau.items()
        }
        assert report.projects_total == direct_count(session, *current_lines(year), model=BudgetLine)
        assert len(report.projects) == min(3, report.projects_total)
    published = fiscal_range.range_report(session, 2021, 2025)
    for row in published.years:
        issues_of_year = (
            WardIssue.fiscal_year == row.fiscal_year,
            WardIssue.state.in_(REGISTERED_ISSUE_STATES),
        )
        assert row.registered == direct_count(session, *issues_of_year, model=WardIssue)
        assert row.adopted == direct_count(
            session, *issues_of_year, WardIssue.decision == Decision.ADOPT, model=WardIssue
        )
        yen = select(func.coalesce(func.sum(BudgetLine.allocated_yen), 0)).where(
            *current_lines(row.fiscal_year)
        )
        assert row.allocated_yen == session.scalar(yen)
    assert fiscal_range.data_years(session) == direct_data_years(session)
    for bureau in session.scalars(select(Bureau)):
        seen = access.issue_filter(User(role=Role.BUREAU_STAFF, bureau_id=bureau.id))  # not saved
        assert counters_read.bureau_issue_states(session, bureau.id) == direct_states(
            session, WardIssue, seen
        )
    board = personal_dashboard.dashboard_for(session, world.staff, TODAY)
    seen = direct_states(session, WardIssue, access.issue_filter(world.staff))
    assert board.tables["inbox"] == [
        (tab, sum(seen.get(state, 0) for state in states)) for tab, states in queries.BUREAU_TABS.items()
    ]


@pytest.mark.parametrize("seed", [14, 2024])
def test_after_random_workflow_actions_every_figure_equals_a_fresh_count(make, session, seed):
    world = World(make, session, seed)
    for _ in range(6):
        world.log()
    make.issue(IssueState.CONSULTING, ward="東区", manager=world.managers["東区"], staff=world.staff)
    for ward in ("中央区", "東区"):  # two to budget from the start
        make.issue(IssueState.DECIDED, ward=ward, manager=world.managers[ward], staff=world.staff)
    for _ in range(240):
        world.step()
    for _ in range(3):  # and some still open, however the seed went
        world.log()
    assert len(world.requests()) > 20
    assert set(world.done) == {"within", "budget", "add", "correct", "cancel", "moved directly"}
    assert len(world.activities()) > 3 and any(r.activity_id for r in world.requests())
    assert {r.state for r in world.requests()} >= {RequestState.ANSWERED, RequestState.RECEIVED}
    assert_figures_match(session, world)


def test_a_rolled_back_transaction_leaves_the_summaries_unchanged(make, session):
    world = World(make, session, seed=1)
    request = make.request(world.liaisons[0])
    before = _rows(session)
    assert counters.differences(session) == []
    world.log_staged()
    payload = {"answer_text": "対応しました", "answer_kind": "resolved", "answered_on": TODAY}
    workflow.apply(session, world.managers["中央区"], request, "answer", payload, today=TODAY)
    session.flush()
    assert _rows(session) != before
    session.rollback()
    assert _rows(session) == before
    assert counters.differences(session) == []


def _rows(session):
    return {
        model.__tablename__: sorted(map(tuple, session.execute(select(*model.__table__.columns))))
        for model in counters.SUMMARY_TABLES
    }


def test_values_changed_without_being_loaded_first_are_counted_from_their_old_values(make, session):
    """Set on an expired object, or a foreign key the flush sets from a relationship: the old
    values are read from the database before the flush overwrites them."""
    request, other = make.request(), make.second_center()
    session.expire(request)
    request.state = RequestState.WITHDRAWN  # the old state was never loaded
    session.flush()
    assert counters.differences(session) == []
    session.expire(request, ["center_id"])
    request.center = other  # center_id is set by the flush, from the relationship
    session.flush()
    assert counters.differences(session) == []
    assert session.scalar(select(RequestStateCount.count).where(RequestStateCount.center_id == other.id)) == 1


def test_a_count_that_falls_to_zero_leaves_no_row(make, session):
    liaison, manager = make.liaison(), make.manager()
    request = make.request(liaison)
    key = (
        RequestStateCount.state == RequestState.RECEIVED.value,
        RequestStateCount.center_id == liaison.center_id,
    )
    assert session.scalar(select(RequestStateCount.count).where(*key)) == 1
    make.act(manager, request, "withdraw", {"comment": "解決済み"})
    assert session.scalar(select(func.count()).select_from(RequestStateCount).where(*key)) == 0


def test_rebuild_recomputes_the_tables_and_differences_name_what_is_wrong(make, session):
    request = make.request()
    session.execute(sa.delete(RequestStateCount))  # as if a bulk load had bypassed the counts
    found = counters.differences(session)
    assert [(table, kept, fresh) for table, _, kept, fresh in found] == [("request_state_counts", 0, 1)]
    assert found[0][1] == (request.ward_id, request.center_id, "received")
    counters.rebuild(session)
    assert counters.differences(session) == []


def test_the_cli_commands_check_and_rebuild(committing_app):
    runner = committing_app.test_cli_runner()
    result = runner.invoke(args=["counts", "check"])
    assert result.exit_code == 0, result.output
    assert "match" in result.output
    with committing_app.app_context():
        db.session.execute(
            sa.insert(RequestStateCount).values(ward_id=1, center_id=1, state="received", count=5)
        )
        db.session.commit()
    result = runner.invoke(args=["counts", "check"])
    assert result.exit_code == 1
    assert "request_state_counts (1, 1, 'received'): kept 5, counted 0" in result.output
    result = runner.invoke(args=["counts", "rebuild"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["counts", "check"]).exit_code == 0


# --- statements per page do not grow with the data -------------------------------------------------


def _bulk_requests(make, session, count: int) -> None:
    """``count`` requests of 中央区 through the import's bulk writer, a third of them answered."""
    liaison = make.liaison()
    batch = ImportBatch(
        center_id=liaison.center_id,
        uploaded_by_id=liaison.id,
        original_name="要望一覧.xlsx",
        stored_name=f"{secrets.token_hex(16)}.xlsx",
        sha256="0" * 64,
        state=ImportState.RUNNING,
    )
    session.add(batch)
    session.flush()
    rows = []
    for number in range(count):
        received = TODAY - dt.timedelta(days=number * 7)
        row = {
            "title": "取込の要望",
            "category_id": make.category().id,
            "source": Source.NEIGHBOURHOOD_ASSOCIATION,
            "received_on": received,
            "answer_due_on": received + dt.timedelta(days=14),
        }
        if number % 3 == 0:
            row.update(
                answer_kind=AnswerKind.RESOLVED,
                answer_text="回答",
                answered_on=received + dt.timedelta(days=number % 11),
            )
        rows.append(row)
    request_writer.write_requests(session, batch, rows, None)
    session.commit()


PAGES = ["/dashboard/", "/dashboard/city?year=2024", "/reports/fiscal-year?year=2024"]


def test_a_liaisons_own_requests_show_their_issues_in_the_same_statements_however_many(
    make, session, login_as, count_queries
):
    """The requests a liaison logged that were escalated, then answered (out of the open queue,
    which loads its issues itself), each show their issue's reference."""
    liaison = make.liaison()
    client = login_as(liaison)

    def answered_in_an_issue() -> None:
        request = make.request(liaison)
        request.ward_issue = make.issue(IssueState.REGISTERED, with_request=False)
        request.state, request.answered_on = RequestState.ANSWERED, TODAY
        session.commit()

    def statements() -> int:
        session.expire_all()
        count_queries.clear()
        assert client.get("/dashboard/").status_code == 200
        return len(count_queries)

    answered_in_an_issue()
    one = statements()
    for _ in range(4):
        answered_in_an_issue()
    assert statements() == one


@pytest.mark.parametrize("role", [Role.LIAISON, Role.WARD_MANAGER, Role.BUREAU_STAFF, Role.ADMIN])
def test_statements_per_dashboard_page_are_the_same_with_3_and_with_60_requests(
    role, make, session, login_as, count_queries
):
    user = make.user(role, ward="中央区")
    client = login_as(user)

    def statements() -> dict[str, int]:
        found = {}
        for page in PAGES:
            session.expire_all()
            count_queries.clear()
            response = client.get(page)
            assert response.status_code in (200, 403), page
            found[page] = (response.status_code, len(count_queries))
        return found

    _bulk_requests(make, session, 3)
    make.issue(IssueState.DECIDED, ward="中央区")
    make.issue(IssueState.CONSULTING, ward="中央区")  # the bureau's lists are not empty: loaders run
    few = statements()
    _bulk_requests(make, session, 57)
    make.issue(IssueState.NOT_ADOPTED, ward="中央区")
    make.issue(IssueState.CONSULTING, ward="東区")
    assert statements() == few
    assert session.scalar(select(func.count(ServiceRequest.id))) >= 60
    assert few["/dashboard/"][0] == 200


# --- the migration counts the rows already there --------------------------------------------------


@pytest.fixture
def database_at_0017(tmp_path, monkeypatch):
    """An app on a database of its own, migrated to the revision before the summary tables."""
    url = database_url_for_tests(tmp_path, suffix="_counts_migration")
    empty_schema(url)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(
        {
            "APP_ENV": "testing",
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret",
            "PHOTO_DIR": str(tmp_path / "instance" / "photos"),
        }
    )
    runner = application.test_cli_runner()
    result = runner.invoke(db_command, ["upgrade", "0017_triage"])
    assert result.exit_code == 0, result.output
    yield application, runner
    with application.app_context():
        db.engine.dispose()
    drop_database(url)


def test_the_migration_backfills_the_summaries_from_the_existing_rows(database_at_0017):
    application, runner = database_at_0017
    tables = db.metadata.tables
    with application.app_context(), db.engine.begin() as connection:
        ward = connection.execute(
            sa.insert(tables["wards"]).values(code="101", name="中央区")
        ).inserted_primary_key[0]
        center = connection.execute(
            sa.insert(tables["centers"]).values(ward_id=ward, name="中央区まちづくりセンター")
        ).inserted_primary_key[0]
        category = connection.execute(
            sa.insert(tables["categories"]).values(name="道路")
        ).inserted_primary_key[0]
        user = connection.execute(
            sa.insert(tables["users"]).values(
                login="m", display_name="管理職", password_hash="!", role="ward_manager"
            )
        ).inserted_primary_key[0]
        common = {"category_id": category, "center_id": center, "ward_id": ward, "source": "phone"}
        rows = [  # (state, received, due, answered)
            ("received", dt.date(2024, 4, 3), dt.date(2024, 4, 17), None),
            ("received", dt.date(2024, 4, 20), dt.date(2024, 5, 4), None),
            ("referred", dt.date(2024, 5, 1), dt.date(2024, 5, 15), None),
            ("answered", dt.date(2024, 5, 2), dt.date(2024, 5, 16), dt.date(2024, 5, 9)),
            ("answered", dt.date(2025, 3, 30), dt.date(2025, 4, 13), dt.date(2025, 4, 2)),
            ("withdrawn", dt.date(2023, 12, 1), dt.date(2023, 12, 15), None),
        ]
        for number, (state, received, due, answered) in enumerate(rows):
            connection.execute(
                sa.insert(tables["requests"]).values(
                    reference=f"R-{number}",
                    fiscal_year=received.year if received.month >= 4 else received.year - 1,
                    title="要望",
                    state=state,
                    received_on=received,
                    answer_due_on=due,
                    answered_on=answered,
                    **common,
                )
            )
        for number, (state, decision) in enumerate(
            (("consulting", None), ("decided", "adopt"), ("decided", "adopt"))
        ):
            connection.execute(
                sa.insert(tables["ward_issues"]).values(
                    reference=f"I-{number}",
                    fiscal_year=2024,
                    ward_id=ward,
                    title="課題",
                    state=state,
                    decision=decision,
                    created_by_id=user,
                )
            )
    result = runner.invoke(db_command, ["upgrade"])
    assert result.exit_code == 0, result.output
    with application.app_context():
        session = db.session
        assert counters.differences(session) == []
        assert dict(session.execute(select(RequestStateCount.state, RequestStateCount.count)).all()) == {
            "received": 2,
            "referred": 1,
            "answered": 2,
            "withdrawn": 1,
        }
        figures = dashboards.city_figures(session, 2024, dt.date(2024, 5, 10))
        assert figures.monthly[ward][:2] == [2, 2] and figures.monthly[ward][-1] == 1
        assert figures.median_days[ward] == 5.0  # 7 and 3 days
        assert figures.open_by_state[ward] == {RequestState.RECEIVED: 2, RequestState.REFERRED: 1}
        assert {row.name: row.overdue for row in figures.overdue_by_center} == {"中央区まちづくりセンター": 2}
        assert figures.decisions[ward] == {"adopt": 2, None: 1}
        db.session.remove()
    result = runner.invoke(db_command, ["downgrade", "0017_triage"])
    assert result.exit_code == 0, result.output


# --- concurrent writers add up ---------------------------------------------------------------------


def test_increments_from_concurrent_transactions_add_up(committing_app):
    """Two threads, each on its own connection, move the same rows at once, committing each time."""
    with committing_app.app_context():
        engine = db.engine
    key = (1, 1, "received")
    per_thread, errors = 40, []
    barrier = threading.Barrier(2, timeout=60)

    def write(answered: int) -> None:
        try:
            for _ in range(per_thread):
                barrier.wait()
                with engine.begin() as connection:
                    deltas = {RequestStateCount: Counter({key: 1, (1, 1, "answered"): answered})}
                    counters.apply(connection, deltas)
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=write, args=(answered,)) for answered in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads) and errors == []
    with engine.connect() as connection:
        counts = dict(connection.execute(select(RequestStateCount.state, RequestStateCount.count)).all())
    assert counts == {"received": 2 * per_thread, "answered": 3 * per_thread}
