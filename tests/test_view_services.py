"""The rules that used to live in views, called directly: who sees what, and what is offered."""

from __future__ import annotations

from tracker.background import notifications
from tracker.city import choices
from tracker.effects import intake
from tracker.finding import similar
from tracker.formatting import fiscal_years_between
from tracker.ops_models import Notification, OutboxJob
from tracker.reporting import public, reports
from tracker.safeguards import accounts, personal_data
from tracker.states import IssueState, JobState


def test_fiscal_years_run_newest_first_whichever_end_is_later():
    assert fiscal_years_between(2021, 2024) == [2024, 2023, 2022, 2021]
    assert fiscal_years_between(2026, 2024) == [2026, 2025, 2024]
    assert fiscal_years_between(2024, 2024) == [2024]


def test_a_report_job_is_seen_by_whoever_asked_and_by_the_admin(make, session):
    manager, other, admin = make.manager(), make.manager("東区"), make.admin()
    row = OutboxJob(name=reports.JOB_NAME, kwargs={"fiscal_year": 2024}, requested_by_id=manager.id)
    other_kind = OutboxJob(name="notify", kwargs={}, state=JobState.DONE)
    session.add_all([row, other_kind])
    session.commit()
    assert reports.report_job(session, row.id) is row
    assert reports.report_job(session, other_kind.id) is None
    assert reports.may_see_job(manager, row) and reports.may_see_job(admin, row)
    assert not reports.may_see_job(other, row)
    assert list(reports.recent_jobs(session, manager)) == [row]
    assert list(reports.recent_jobs(session, other)) == []
    assert not reports.is_finished(row) and reports.report_file(row) is None
    row.state, row.result = JobState.DONE, {"file": "gone.xlsx", "fiscal_year": 2024}
    assert reports.is_finished(row) and reports.report_file(row) is None  # the file is not there


def test_notifications_are_their_recipients_own(make, session):
    liaison, other = make.liaison(), make.liaison("東区")
    unread = Notification(user_id=liaison.id, kind="test", title="t", url="/", dedupe_key="test:1")
    session.add(unread)
    session.commit()
    assert notifications.belongs_to(unread, liaison) and not notifications.belongs_to(unread, other)
    assert notifications.unread_count(session, liaison) == 1
    assert notifications.unread_count(session, other) == 0
    assert notifications.mark_read(unread) is True
    assert notifications.mark_read(unread) is False  # already read: nothing changes
    session.flush()
    assert notifications.mark_all_read(session, liaison) == 0


def test_only_published_issues_are_found_for_the_public(make, session):
    manager = make.manager()
    issue = make.issue(IssueState.REGISTERED, manager=manager)
    assert public.published_issue(session, issue.id) is None
    shown = make.approved_publication(issue, manager)
    assert public.published_issue(session, issue.id) is shown and shown.ward_issue is issue
    assert public.request_counts(session, [issue.id]) == {issue.id: 1}
    assert public.request_counts(session, []) == {}


def test_a_request_is_named_by_reference_or_id(make, session):
    found = make.request()
    assert personal_data.request_id_named(session, "", None) is None
    assert personal_data.request_id_named(session, found.reference, None) == found.id
    assert personal_data.request_id_named(session, str(found.id), found.id) == found.id
    assert personal_data.request_id_named(session, "R-nothing", None) == -1


def test_a_new_request_links_only_to_one_of_its_ward(make, session):
    liaison = make.liaison()
    own, other = make.request(liaison), make.request(ward="東区")
    ward_id = intake.ward_id_of(liaison)
    assert ward_id == liaison.center.ward_id
    assert similar.linkable_request(session, ward_id, own.id) is own
    assert similar.linkable_request(session, ward_id, other.id) is None
    assert similar.linkable_request(session, ward_id, None) is None
    assert similar.linkable_request(session, None, own.id) is None


def test_a_user_keeps_a_deactivated_center_in_the_choices(make, session):
    liaison = make.liaison()
    liaison.center.active = False
    session.commit()
    assert liaison.center in accounts.assignable_places(session, liaison).centers
    assert liaison.center not in accounts.assignable_places(session).centers
    assert liaison.center not in choices.active_centers_of_ward(session, liaison.center.ward_id)
