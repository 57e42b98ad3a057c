"""Two pairs of eyes on a ward issue's approval, and the persons in charge on both sides,
through the pages: the city setting and its admin page, 差し戻し, the 自分の担当 filter, the
owner choices, the notification of a new person in charge and the lists' query counts.

(The state machine's own rows are in tests/test_workflow_issues.py.)
"""

from __future__ import annotations

from sqlalchemy import select

from tracker import workflow
from tracker.effects import city_settings
from tracker.effects.approval import OWN_DRAFT
from tracker.models import HistoryEvent, WardIssue
from tracker.ops_models import CitySetting, Notification
from tracker.safeguards import admin_log
from tracker.states import IssueState

from .factories import TODAY


def post(client, issue: WardIssue, path: str, action: str, **fields):
    data = {f"{action}-version": str(issue.version), **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(f"/issues/{issue.id}/{path}", data=data)


def reload(session, issue: WardIssue) -> WardIssue:
    session.expire_all()
    return session.get(WardIssue, issue.id)


def last_event(session, issue: WardIssue) -> HistoryEvent:
    return session.scalars(
        select(HistoryEvent).where(HistoryEvent.ward_issue_id == issue.id).order_by(HistoryEvent.id.desc())
    ).first()


# --- two pairs of eyes ------------------------------------------------------------------------


def test_the_drafter_may_not_approve_while_the_setting_is_on(make, session, login_as):
    drafter = make.manager()
    issue = make.issue(IssueState.AWAITING_APPROVAL, manager=drafter)
    assert city_settings.is_on(session, city_settings.TWO_EYES_APPROVAL)  # the default: no row
    hint = "「区重要課題に決定」は別の管理職が行います。"
    assert hint in login_as(drafter).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert hint not in login_as(make.manager()).get(f"/issues/{issue.id}").get_data(as_text=True)
    response = post(login_as(drafter), issue, "approve", "approve")
    assert response.status_code == 422
    assert OWN_DRAFT in response.get_data(as_text=True)
    issue = reload(session, issue)
    assert issue.state == IssueState.AWAITING_APPROVAL and last_event(session, issue).action == "submit"

    response = post(login_as(make.second_manager()), issue, "approve", "approve")
    assert response.status_code == 302
    assert reload(session, issue).state == IssueState.REGISTERED


def test_the_admin_turns_the_setting_off_with_a_logged_change_and_the_drafter_may_approve(
    make, session, login_as
):
    drafter, admin = make.manager(), make.admin()
    issue = make.issue(IssueState.DRAFT, manager=drafter)
    client = login_as(admin)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert city_settings.TWO_EYES_APPROVAL.label in page and "オフにする" in page

    response = client.post("/admin/settings", data={"key": "two_eyes_approval", "on": "0"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(CitySetting, "two_eyes_approval").value == "off"
    logged = session.scalars(admin_log.action_events(admin_log.ACTION)).first()
    assert logged.actor_id == admin.id
    assert logged.comment == f"「{city_settings.TWO_EYES_APPROVAL.label}」をオンからオフにしました。"
    assert logged.data["changes"][0]["table"] == "city_settings"
    assert logged.data["changes"][0]["fields"]["value"] == [None, "off"]
    assert "オンにする" in client.get("/admin/settings").get_data(as_text=True)
    changes = client.get("/admin/audit/changes").get_data(as_text=True)
    assert "市の設定 #two_eyes_approval" in changes and logged.comment in changes

    assert post(login_as(drafter), issue, "approve", "approve").status_code == 302
    assert reload(session, issue).state == IssueState.REGISTERED

    client = login_as(admin)
    client.post("/admin/settings", data={"key": "two_eyes_approval", "on": "1"})
    logged = session.scalars(admin_log.action_events(admin_log.ACTION)).first()
    assert logged.data["changes"][0]["fields"]["value"] == ["off", "on"]
    assert city_settings.is_on(session, city_settings.TWO_EYES_APPROVAL)


def test_an_unknown_setting_changes_nothing(make, session, login_as):
    client = login_as(make.admin())
    response = client.post("/admin/settings", data={"key": "no_such_rule", "on": "1"}, follow_redirects=True)
    assert "変更する設定を選んでください。" in response.get_data(as_text=True)
    assert session.scalars(select(CitySetting)).all() == []


def test_return_for_rework_and_back_again(make, session, login_as):
    drafter, approver = make.manager(), make.second_manager()
    issue = make.issue(IssueState.AWAITING_APPROVAL, manager=drafter)
    client = login_as(approver)
    assert post(client, issue, "return", "return_draft").status_code == 422  # the reason is required
    assert reload(session, issue).state == IssueState.AWAITING_APPROVAL

    response = post(client, issue, "return", "return_draft", comment="対応案に概算額を書いてください")
    assert response.status_code == 302
    issue = reload(session, issue)
    event = last_event(session, issue)
    assert issue.state == IssueState.DRAFT
    assert (event.action, event.from_state, event.to_state) == ("return_draft", "awaiting_approval", "draft")
    assert (event.actor_id, event.comment) == (approver.id, "対応案に概算額を書いてください")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "差し戻し" in page and "対応案に概算額を書いてください" in page
    drafter_notice = session.scalars(select(Notification).filter_by(user_id=drafter.id)).one()
    assert drafter_notice.kind == "issue.return_draft"

    client = login_as(drafter)
    assert post(client, issue, "submit", "submit").status_code == 302
    issue = reload(session, issue)
    assert post(login_as(approver), issue, "approve", "approve").status_code == 302
    actions = [e.action for e in reload(session, issue).events]
    assert actions[-4:] == ["submit", "return_draft", "submit", "approve"]


# --- persons in charge ------------------------------------------------------------------------


def test_persons_in_charge_are_shown_recorded_and_told(make, session, login_as):
    manager, liaison, staff, colleague = make.manager(), make.liaison(), make.staff(), make.staff()
    issue = make.issue(IssueState.CONSULTING, manager=manager, staff=staff)
    client = login_as(manager)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'<option value="{liaison.id}">{liaison.display_name} (地域担当職員)</option>' in page
    assert post(client, issue, "ward-owner", "assign_ward_owner", owner=liaison.id).status_code == 302

    issue = reload(session, issue)
    client = login_as(staff)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'<option value="{colleague.id}">' in page and f'<option value="{liaison.id}">' not in page
    assert post(client, issue, "bureau-owner", "assign_bureau_owner", owner=colleague.id).status_code == 302
    issue = reload(session, issue)
    assert (issue.ward_owner_id, issue.bureau_owner_id) == (liaison.id, colleague.id)
    event = last_event(session, issue)
    assert event.data == {
        "owner": "bureau_owner",
        "old_owner": None,
        "new_owner": colleague.display_name,
        "new_owner_id": colleague.id,
    }
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f"<dt>区の担当者</dt><dd>{liaison.display_name}</dd>" in page
    assert f"局の担当者: 未設定 → {colleague.display_name}" in page  # the timeline

    for user, kind in ((liaison, "issue.assign_ward_owner"), (colleague, "issue.assign_bureau_owner")):
        notice = session.scalars(select(Notification).filter_by(user_id=user.id, kind=kind)).one()
        assert issue.reference in notice.title and "担当者" in notice.title
        assert "熊本 太郎" not in notice.body and "096-000-0000" not in notice.body  # the requester's data

    # a second assignment keeps the old name in its history
    client = login_as(manager)
    assert post(client, issue, "ward-owner", "assign_ward_owner", owner=manager.id).status_code == 302
    assert last_event(session, issue).data["old_owner"] == liaison.display_name


def test_someone_of_another_ward_or_bureau_cannot_be_put_in_charge(make, session, login_as):
    manager, staff = make.manager(), make.staff("環境局")
    issue = make.issue(IssueState.CONSULTING, manager=manager, staff=staff)
    east_liaison, other_staff = make.liaison("東区"), make.staff("消防局")
    page = login_as(manager).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'<option value="{east_liaison.id}">' not in page
    response = post(login_as(manager), issue, "ward-owner", "assign_ward_owner", owner=east_liaison.id)
    assert response.status_code == 422
    response = post(login_as(staff), issue, "bureau-owner", "assign_bureau_owner", owner=other_staff.id)
    assert response.status_code == 422
    issue = reload(session, issue)
    assert (issue.ward_owner_id, issue.bureau_owner_id) == (None, None)


def _owned(make, session, owner, manager, staff, side: str) -> WardIssue:
    issue = make.issue(IssueState.CONSULTING, manager=manager, staff=staff)
    actor = manager if side == "ward" else staff
    workflow.apply(session, actor, issue, f"assign_{side}_owner", {"owner": owner.id}, today=TODAY)
    session.commit()
    return issue


def test_the_mine_filter_shows_only_my_issues(make, session, login_as):
    manager, liaison, staff, colleague = make.manager(), make.liaison(), make.staff(), make.staff()
    mine = _owned(make, session, liaison, manager, staff, "ward")
    theirs = _owned(make, session, manager, manager, staff, "ward")
    unowned = make.issue(IssueState.CONSULTING, manager=manager, staff=staff)
    bureau_mine = _owned(make, session, colleague, manager, staff, "bureau")

    text = login_as(liaison).get("/issues/?mine=1").get_data(as_text=True)
    assert mine.reference in text
    assert all(i.reference not in text for i in (theirs, unowned, bureau_mine))
    assert "自分の担当: あり" in text  # the chip that removes it
    text = login_as(liaison).get("/issues/").get_data(as_text=True)
    assert all(i.reference in text for i in (mine, theirs, unowned))

    text = login_as(colleague).get("/bureau/?tab=all&mine=1").get_data(as_text=True)
    assert bureau_mine.reference in text
    assert all(i.reference not in text for i in (mine, theirs, unowned))
    assert f"局: {colleague.display_name}" in text


def test_lists_with_persons_in_charge_run_a_constant_number_of_queries(
    make, session, login_as, count_queries
):
    manager, staff = make.manager(), make.staff()
    client = login_as(manager)

    def add(count):
        for _ in range(count):
            _owned(make, session, make.liaison(), manager, staff, "ward")
            _owned(make, session, manager, manager, staff, "ward")  # shown with ?mine=1
            _owned(make, session, make.staff(), manager, staff, "bureau")

    def queries(path):
        count_queries.clear()
        assert client.get(path).status_code == 200
        return len([s for s in count_queries if s.lstrip().upper().startswith("SELECT")])

    add(1)
    for path in ("/issues/", "/issues/?mine=1"):
        queries(path)
        few = queries(path)
        add(4)
        assert queries(path) == few, path
