from tracker.states import Role


def test_each_role_home_page_renders(make, login_as):
    for user, heading in [
        (make.liaison(), "未回答の要望"),
        (make.manager(), "要望の振り分け"),
        (make.staff(), "担当の区重要課題"),
        (make.admin(), "ユーザー"),
    ]:
        client = login_as(user)
        response = client.get("/", follow_redirects=True)
        assert response.status_code == 200
        assert heading in response.get_data(as_text=True), user.role


def test_factory_walks_issue_to_completed(make):
    from tracker.states import IssueState

    issue = make.issue(IssueState.COMPLETED)
    assert issue.budget_lines[0].executed_yen == 2_000_000
    assert [e.action for e in issue.events][-1] == "complete"
    assert Role.ADMIN
