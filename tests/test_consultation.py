"""照会 and 意見 on a ward issue in consultation, through the pages, and who hears of them.

The state machine's allowed and refused rows are in tests/test_workflow_issues.py; here: the
round trip as the users see it (forms, the issue page, the bureau inbox, the ward manager's
dashboard, the history), the lead bureau reading the related bureaus' opinions before it
decides, and the notifications.
"""

from __future__ import annotations

from sqlalchemy import select

from tracker import workflow
from tracker.effects import consultation
from tracker.models import HistoryEvent
from tracker.ops_models import Notification
from tracker.states import IssueState
from tracker.teamwork_models import IssueOpinion

from .factories import TODAY

# The (subject, action) notification rules this module checks (see tests/test_notifications.py).
NOTIFIED = {("issue", "inquire"), ("issue", "answer_inquiry"), ("issue", "opine")}

QUESTION = "対象となる街灯の本数と設置年を教えてください。"
ANSWER = "20基、いずれも平成10年の設置です。"


def consulting(make, *, related: bool = True):
    """An issue of 中央区 in consultation with 環境局 (lead) and 文化市民局 (related)."""
    manager, lead = make.manager(), make.staff("環境局")
    issue = make.issue(IssueState.REGISTERED, manager=manager, staff=lead)
    payload = {"related_bureaus": [make.bureau("文化市民局").id]} if related else {}
    workflow.apply(make.session, manager, issue, "send", payload, today=TODAY)
    make.session.commit()
    return issue, manager, lead


def post(client, url: str, prefix: str, issue, **fields):
    data = {f"{prefix}-{key}": value for key, value in fields.items()}
    data[f"{prefix}-version"] = str(issue.version)
    return client.post(url, data=data)


def test_inquiry_round_trip(make, session, login_as):
    issue, manager, lead = consulting(make)
    client = login_as(lead)
    response = post(client, f"/issues/{issue.id}/inquire", "inquire", issue, question=QUESTION)
    assert response.status_code == 302
    session.refresh(issue)
    assert issue.state == IssueState.INQUIRING

    # the bureau still counts it as in consultation, and says it waits for the ward
    inbox = client.get("/bureau/?tab=consulting").get_data(as_text=True)
    assert issue.reference in inbox and "区へ照会中" in inbox

    client = login_as(manager)
    dashboard = client.get("/dashboard/").get_data(as_text=True)
    assert "局からの照会" in dashboard and issue.reference in dashboard
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert QUESTION in page and "区の回答待ち" in page and lead.display_name in page
    assert 'id="form-answer_inquiry"' in page

    response = post(client, f"/issues/{issue.id}/answer-inquiry", "answer_inquiry", issue, answer=ANSWER)
    assert response.status_code == 302
    session.refresh(issue)
    assert issue.state == IssueState.CONSULTING
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert ANSWER in page and "区の回答待ち" not in page and manager.display_name in page

    rows = [(e.action, e.from_state, e.to_state, e.actor_id, e.comment) for e in issue.events[-2:]]
    assert rows == [
        ("inquire", "consulting", "inquiring", lead.id, QUESTION),
        ("answer_inquiry", "inquiring", "consulting", manager.id, ANSWER),
    ]
    assert issue.events[-1].data == {"question": QUESTION}


def test_the_lead_may_ask_again_and_each_answer_goes_to_its_own_question(make, session):
    issue, manager, lead = consulting(make)
    for number in (1, 2):
        workflow.apply(session, lead, issue, "inquire", {"question": f"質問{number}"}, today=TODAY)
        workflow.apply(session, manager, issue, "answer_inquiry", {"answer": f"回答{number}"}, today=TODAY)
    pairs = [(q.question, q.answer) for q in consultation.inquiries_of(session, issue)]
    assert pairs == [("質問1", "回答1"), ("質問2", "回答2")]


def test_inquiry_refused_to_the_wrong_people(make, session, login_as):
    issue, manager, lead = consulting(make)
    related = make.staff("文化市民局")
    response = post(login_as(related), f"/issues/{issue.id}/inquire", "inquire", issue, question=QUESTION)
    assert response.status_code == 403
    assert "主管局の担当者だけ" in response.get_data(as_text=True)
    response = post(login_as(manager), f"/issues/{issue.id}/inquire", "inquire", issue, question=QUESTION)
    assert response.status_code == 403

    workflow.apply(session, lead, issue, "inquire", {"question": QUESTION}, today=TODAY)
    session.commit()
    east = make.manager("東区")
    response = post(login_as(east), f"/issues/{issue.id}/answer-inquiry", "answer_inquiry", issue, answer="x")
    assert response.status_code == 403
    response = post(login_as(lead), f"/issues/{issue.id}/answer-inquiry", "answer_inquiry", issue, answer="x")
    assert response.status_code == 403
    session.refresh(issue)
    assert issue.state == IssueState.INQUIRING and issue.events[-1].action == "inquire"


def test_an_empty_answer_is_refused_and_the_form_comes_back(make, session, login_as):
    issue, manager, lead = consulting(make)
    workflow.apply(session, lead, issue, "inquire", {"question": QUESTION}, today=TODAY)
    session.commit()
    response = post(
        login_as(manager), f"/issues/{issue.id}/answer-inquiry", "answer_inquiry", issue, answer=""
    )
    assert response.status_code == 422
    session.refresh(issue)
    assert issue.state == IssueState.INQUIRING


def test_progress_notes_while_the_ward_is_asked(make, session):
    issue, manager, lead = consulting(make)
    workflow.apply(session, lead, issue, "inquire", {"question": QUESTION}, today=TODAY)
    workflow.apply(session, manager, issue, "note", {"body": "区で現地確認中"}, today=TODAY)
    assert issue.progress_notes[-1].body == "区で現地確認中"


def test_the_lead_reads_the_related_bureaus_opinions_before_deciding(make, session, login_as):
    issue, _manager, lead = consulting(make)
    related = make.staff("文化市民局")
    client = login_as(related)
    for body in ("古い意見", "地域の防犯上、早期の対応が望ましい。"):
        response = post(client, f"/issues/{issue.id}/opinions", "opine", issue, body=body)
        assert response.status_code == 302
    opinions = session.scalars(select(IssueOpinion).where(IssueOpinion.ward_issue_id == issue.id)).all()
    assert [(o.body, o.bureau.name) for o in opinions] == [
        ("古い意見", "文化市民局"),
        ("地域の防犯上、早期の対応が望ましい。", "文化市民局"),
    ]
    assert [e.action for e in issue.events[-2:]] == ["opine", "opine"]

    page = login_as(lead).get(f"/issues/{issue.id}").get_data(as_text=True)
    panel = page.index('id="form-decide"')
    newest = page.index("地域の防犯上、早期の対応が望ましい。")
    assert newest < panel  # shown above the decision form
    assert page.count("地域の防犯上、早期の対応が望ましい。") >= 3  # facts, decide panel, history
    facts = page[: page.index("<h2>現状と課題</h2>")]
    assert "文化市民局" in facts and "古い意見" not in facts  # the facts show the current opinion


def test_opinions_only_from_related_bureaus(make, session, login_as):
    issue, _manager, lead = consulting(make)
    response = post(login_as(lead), f"/issues/{issue.id}/opinions", "opine", issue, body="主管の意見")
    assert response.status_code == 403
    assert "関係局の担当者だけ" in response.get_data(as_text=True)
    other = make.staff("消防局")
    response = post(login_as(other), f"/issues/{issue.id}/opinions", "opine", issue, body="他局の意見")
    assert response.status_code == 403
    assert session.scalars(select(IssueOpinion)).all() == []


# --- who hears of it -----------------------------------------------------------------------------


def notified(session, event) -> list[int]:
    session.expire_all()
    return sorted(session.scalars(select(Notification.user_id).filter_by(history_event_id=event.id)))


def test_an_inquiry_reaches_the_wards_managers_and_the_answer_the_lead_bureau(make, session):
    issue, manager, lead = consulting(make)
    other_manager, lead_2, related = make.manager(), make.staff("環境局"), make.staff("文化市民局")
    make.manager("東区")
    event = workflow.apply(session, lead, issue, "inquire", {"question": QUESTION}, today=TODAY)
    session.commit()
    approver = session.scalars(  # the second manager who approved the draft is a manager of the ward too
        select(HistoryEvent.actor_id).filter_by(ward_issue_id=issue.id, action="approve")
    ).one()
    assert notified(session, event) == sorted([manager.id, other_manager.id, approver])
    event = workflow.apply(session, manager, issue, "answer_inquiry", {"answer": ANSWER}, today=TODAY)
    session.commit()
    assert notified(session, event) == sorted([lead.id, lead_2.id])
    assert related.id not in notified(session, event)


def test_an_opinion_reaches_the_lead_bureau_or_its_person_in_charge(make, session):
    issue, _manager, lead = consulting(make)
    lead_2, related = make.staff("環境局"), make.staff("文化市民局")
    event = workflow.apply(session, related, issue, "opine", {"body": "賛成"}, today=TODAY)
    session.commit()
    assert notified(session, event) == sorted([lead.id, lead_2.id])
    notice = session.scalars(select(Notification).filter_by(history_event_id=event.id)).first()
    requester = issue.requests[0].requester_name
    assert notice.kind == "issue.opine" and requester and requester not in notice.title + notice.body

    issue.bureau_owner_id = lead_2.id
    session.commit()
    event = workflow.apply(session, related, issue, "opine", {"body": "賛成 (再)"}, today=TODAY)
    session.commit()
    assert notified(session, event) == [lead_2.id]


def test_the_lead_bureaus_dashboard_says_which_issue_waits_for_the_ward(make, session, login_as):
    issue, _manager, lead = consulting(make)
    workflow.apply(session, lead, issue, "inquire", {"question": QUESTION}, today=TODAY)
    session.commit()
    page = login_as(lead).get("/dashboard/").get_data(as_text=True)
    assert issue.reference in page and "区へ照会中" in page
