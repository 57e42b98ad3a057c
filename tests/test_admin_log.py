"""The admin's changes (accounts, roles, master data, ward funds) are recorded in the history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.models import HistoryEvent, WardFund
from tracker.safeguards import audit
from tracker.safeguards.admin_log import ACTION

from .test_admin import NEW_PASSWORD, text_of, user_data


@pytest.fixture
def admin(make, session, login_as):
    """An admin, logged in on ``client``."""
    user = make.admin()
    session.commit()
    login_as(user)
    return user


def admin_events(session) -> list[HistoryEvent]:
    return list(
        session.scalars(select(HistoryEvent).where(HistoryEvent.action == ACTION).order_by(HistoryEvent.id))
    )


def test_a_role_change_records_who_changed_what_from_and_to(make, admin, client, session):
    user = make.liaison()
    session.commit()
    bureau = make.bureau("都市建設局")
    data = user_data("bureau_staff", display_name="都市 太郎", bureau_id=bureau.id)
    client.post(f"/admin/users/{user.id}/edit", data=data)
    [event] = admin_events(session)
    assert (event.actor_id, event.actor_role, event.comment) == (
        admin.id,
        "admin",
        "ユーザー「都市 太郎」を更新しました。",
    )
    [change] = event.data["changes"]
    assert (change["table"], change["id"], change["new"]) == ("users", user.id, False)
    assert change["fields"]["role"] == ["liaison", "bureau_staff"]
    assert change["fields"]["bureau_id"] == [None, bureau.id]
    assert change["fields"]["center_id"][1] is None
    assert audit.verify(session).ok


def test_a_new_user_is_recorded_without_the_password(make, admin, client, session):
    client.post("/admin/users/new", data=user_data("admin"))
    [event] = admin_events(session)
    [change] = event.data["changes"]
    assert change["new"] and change["fields"]["login"] == [None, "new.user"]
    assert change["fields"]["password_hash"] == ["(変更)", "(変更)"]
    assert NEW_PASSWORD not in str(event.data)
    assert "argon2" not in str(event.data)


def test_setting_a_ward_fund_records_the_old_and_new_allocation(make, admin, client, session):
    ward = make.ward("南区")
    data = {"fund-ward_id": ward.id, "fund-fiscal_year": "2024", "fund-allocated_yen": "30,000"}
    client.post("/admin/master/funds", data=data)
    client.post("/admin/master/funds", data={**data, "fund-allocated_yen": "32,500"})
    created, updated = admin_events(session)
    fund_id = session.scalar(select(WardFund.id).filter_by(ward_id=ward.id, fiscal_year=2024))
    assert created.data["changes"][0]["fields"]["allocated_yen"] == [None, 30_000_000]
    assert updated.data["changes"] == [
        {
            "table": "ward_funds",
            "id": fund_id,
            "new": False,
            "fields": {"allocated_yen": [30_000_000, 32_500_000]},
        }
    ]
    page = text_of(client.get("/admin/audit/changes"))
    assert "まちづくり推進経費 #" in page and "30000000 → 32500000" in page


def test_a_refused_change_records_nothing(make, admin, client, session):
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "自分自身のアカウントは無効にできません。" in text_of(response)
    assert admin_events(session) == []


def test_deactivation_records_the_switch_and_the_ended_sessions(make, admin, client, session):
    user = make.manager()
    session.commit()
    client.post(f"/admin/users/{user.id}/deactivate")
    [event] = admin_events(session)
    fields = event.data["changes"][0]["fields"]
    assert fields["active"] == [True, False]
    page = text_of(client.get("/admin/audit/changes"))
    assert "<h1>管理操作の記録</h1>" in page and "有効: True → False" in page
