"""The password policy (issue 11, "Passwords"): common, breached-looking and personal passwords
are refused, offline (zxcvbn), with the reason in plain Japanese, by every way a password is set.

On main, any ten characters passed: ``password12``, ``1234567890``, the login with digits.
"""

from __future__ import annotations

import pytest

from tracker.city.masterdata import DEMO_PASSWORD
from tracker.models import User
from tracker.safeguards import accounts
from tracker.workflow import WorkflowError

from .factories import Factory

COMMON = "よく使われるパスワード"
PERSONAL = "ログインIDや氏名が含まれています"
CITY_OR_NAME = "市の名前など推測されやすい語"
SHORT = "短すぎます"
GOOD = "riverstone-lantern-47"
NAMES = {"login": "yamada.hanako", "display_name": "山田 花子", "email": "h.yamada@example.city.kumamoto.jp"}


@pytest.mark.parametrize(
    "password, reason",
    [
        ("password", COMMON),
        ("12345678", COMMON),
        ("password12", COMMON),
        ("1234567890", COMMON),
        ("Password123!", COMMON),
        ("qwertyuiop", COMMON),
        ("yamada.hanako123", PERSONAL),  # the login itself + 123
        ("hanako-2024-04", PERSONAL),  # a part of the login
        ("山田花子のパスワード", PERSONAL),  # the display name, its spaces dropped
        ("花子のひみつのパス", PERSONAL),  # one part of the display name
        ("熊本市役所2024", CITY_OR_NAME),  # the city's name and a year
        ("kumamoto2024!", CITY_OR_NAME),
        ("Tk9#mQ2v", SHORT),  # random, but below the minimum length
        ("aaaaaaaaaaaa", "繰り返し"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, reason):
    problem = accounts.password_problem(password, **NAMES)
    assert problem is not None and reason in problem, problem


def test_a_long_unusual_password_is_accepted():
    assert accounts.password_problem(GOOD, **NAMES) is None


def test_every_way_of_setting_a_password_applies_the_policy(make, session):
    user = make.liaison()
    fields = {"login": "sato.ichiro", "display_name": "佐藤 一郎", "role": "admin"}
    with pytest.raises(WorkflowError, match=PERSONAL):
        accounts.create_user(session, {**fields, "password": "sato.ichiro123"})
    with pytest.raises(WorkflowError, match=COMMON):
        accounts.change_password(user, Factory.PASSWORD, "password123")
    with pytest.raises(WorkflowError, match=PERSONAL):
        accounts.reset_password(user, f"{user.login}-2024")
    assert accounts.check_password(user, Factory.PASSWORD)  # nothing was changed
    accounts.change_password(user, Factory.PASSWORD, GOOD)
    assert accounts.check_password(user, GOOD)
    created = accounts.create_user(session, {**fields, "password": GOOD})
    assert created.must_change_password


def test_the_change_form_shows_the_reason_and_changes_nothing(make, session, login_as):
    user = make.liaison()
    session.commit()
    client = login_as(user)
    response = client.post(
        "/password", data={"current": Factory.PASSWORD, "new": "password12", "confirm": "password12"}
    )
    assert response.status_code == 200 and COMMON in response.get_data(as_text=True)
    session.refresh(user)
    assert accounts.check_password(user, Factory.PASSWORD)


def test_the_demo_seed_keeps_its_published_password(session):
    assert accounts.password_problem(DEMO_PASSWORD, login="admin", display_name="管理者") is not None
    user = accounts.create_user(
        session,
        {"login": "demo.seed", "display_name": "デモ", "role": "admin", "password": DEMO_PASSWORD},
        check_strength=False,
    )
    assert isinstance(user, User) and accounts.check_password(user, DEMO_PASSWORD)
