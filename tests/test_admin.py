"""Admin (地域政策課): user accounts and master data, and nobody else may touch them.

A view that hits a broken rule rolls the session back, and the test client shares the test's
session, so rows a test makes are committed (to the test's savepoint) before such a request.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tracker.city import masterdata_admin
from tracker.models import BudgetLine, Bureau, Category, Center, User, WardFund
from tracker.safeguards.accounts import check_password
from tracker.states import Funding, Role
from tracker.workflow import WorkflowError

from .factories import Factory

NEW_PASSWORD = "new-initial-pass"
CSRF_TOKEN = re.compile(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def admin(make, session, login_as):
    """An admin, logged in on ``client``."""
    user = make.admin()
    session.commit()
    login_as(user)
    return user


def count(session, model) -> int:
    return session.execute(select(func.count(model.id))).scalar_one()


def text_of(response) -> str:
    return response.get_data(as_text=True)


def user_data(role: str, **overrides) -> dict:
    data = {
        "login": "new.user",
        "display_name": "熊本 花子",
        "email": "hanako@example.city.kumamoto.jp",
        "role": role,
        "ward_id": "0",
        "center_id": "0",
        "bureau_id": "0",
        "password": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


# --- pages and permissions ----------------------------------------------------------------


def test_admin_pages_render_with_japanese_headings(make, admin, client):
    other = make.liaison()
    pages = {
        "/admin/users": "<h1>ユーザー</h1>",
        "/admin/users/new": "<h1>ユーザーを登録</h1>",
        f"/admin/users/{other.id}/edit": f"<h1>{other.display_name} を編集</h1>",
        "/admin/master": "<h1>マスタデータ</h1>",
        f"/admin/master/wards/{make.ward().id}/edit": "中央区 (区コード CHUO) を編集</h1>",
        "/admin/master/centers/new": "<h1>まちづくりセンターを追加</h1>",
        f"/admin/master/centers/{make.center('託麻').id}/edit": "<h1>東区 託麻 を編集</h1>",
        "/admin/master/bureaus/new": "<h1>局を追加</h1>",
        f"/admin/master/bureaus/{make.bureau().id}/edit": "<h1>局「環境局」を編集</h1>",
        f"/admin/master/categories/{make.category().id}/edit": f"<h1>分野「{make.category().name}」を編集",
        "/admin/master/funds": "<h1>まちづくり推進経費を設定</h1>",
    }
    for path, heading in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert heading in text_of(response), path


def test_master_page_lists_the_city(make, admin, client):
    page = text_of(client.get("/admin/master"))
    for expected in ("東区", "190,584", "88,233", "50.19", "託麻", "交流室: 五福, 大江", "消防局", "その他"):
        assert expected in page
    assert "令和2年度 (2020)" in page and "30,000千円" in page and "150,000千円" in page


@pytest.mark.parametrize("role", ["liaison", "manager", "staff"])
def test_every_admin_route_is_forbidden_to_other_roles_and_changes_nothing(
    app, make, session, login_as, role
):
    target, bureau, category, center = make.liaison(), make.bureau(), make.category(), make.center("託麻")
    ward = make.ward("東区")
    client = login_as(getattr(make, role)())
    before = (count(session, User), count(session, Center), count(session, WardFund))
    values = {
        "user_id": target.id,
        "ward_id": ward.id,
        "center_id": center.id,
        "entry_id": category.id,
        "kind": "categories",
        "outbox_id": 1,
        "key_id": 1,
        "town_id": 1,
        "category_id": category.id,
        "attribute_id": 1,
    }
    payload = {
        "active": "0",
        "password": NEW_PASSWORD,
        "categories-name": "改名",
        "center-name": "改名",
        "name": "改名",
        "fund-ward_id": str(ward.id),
        "fund-fiscal_year": "2020",
        "fund-allocated_yen": "1",
        **user_data("admin", login="intruder"),
    }
    urls = app.url_map.bind("localhost")
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]
    assert len(rules) >= 14
    for rule in rules:
        path = urls.build(rule.endpoint, {name: values[name] for name in rule.arguments})
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(path, method=method, data=payload if method == "POST" else None)
            assert response.status_code == 403, (method, path)
            assert "この画面はあなたの役割では使えません。" in text_of(response)
    session.expire_all()
    assert (count(session, User), count(session, Center), count(session, WardFund)) == before
    assert target.active and target.role == Role.LIAISON and not target.must_change_password
    assert check_password(target, Factory.PASSWORD)
    assert category.name != "改名" and category.active and center.name == "託麻" and center.active
    assert bureau.active and ward.name == "東区"
    fund = session.execute(select(WardFund).filter_by(ward_id=ward.id, fiscal_year=2020)).scalar_one()
    assert fund.allocated_yen == 30_000_000


def test_admin_post_forms_carry_the_csrf_token(make, session, client):
    """With CSRF on (no ``login_as``): every POST form has its token; a POST without one is refused."""
    admin, target = make.admin(), make.staff()
    session.commit()
    token = CSRF_TOKEN.search(text_of(client.get("/login"))).group(1)
    login = {"login": admin.login, "password": Factory.PASSWORD, "csrf_token": token}
    assert client.post("/login", data=login).status_code == 302
    for path in (
        "/admin/users/new",
        f"/admin/users/{target.id}/edit",
        "/admin/master",
        "/admin/master/funds",
    ):
        forms = re.findall(r'<form method="post".*?</form>', text_of(client.get(path)), re.S)
        assert len(forms) >= 2, path
        assert all(CSRF_TOKEN.search(form) for form in forms), path
    assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 400
    session.refresh(target)
    assert target.active


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- users ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, affiliation",
    [("liaison", "center"), ("ward_manager", "ward"), ("bureau_staff", "bureau"), ("admin", None)],
)
def test_create_a_user_of_each_role(make, admin, client, session, role, affiliation):
    chosen = {"center": make.center("託麻"), "ward": make.ward("南区"), "bureau": make.bureau("消防局")}
    fields = {f"{affiliation}_id": str(chosen[affiliation].id)} if affiliation else {}
    response = client.post("/admin/users/new", data=user_data(role, **fields), follow_redirects=True)
    assert "ユーザー「熊本 花子」を登録しました。" in text_of(response)
    user = session.execute(select(User).filter_by(login="new.user")).scalar_one()
    assert user.role == Role(role) and user.display_name == "熊本 花子" and user.must_change_password
    assert check_password(user, NEW_PASSWORD)
    assert user.center == (chosen["center"] if affiliation == "center" else None)
    assert user.bureau == (chosen["bureau"] if affiliation == "bureau" else None)
    expected_ward = {"center": chosen["center"].ward_id, "ward": chosen["ward"].id}.get(affiliation)
    assert user.ward_id == expected_ward


@pytest.mark.parametrize(
    "role, overrides, message",
    [
        ("liaison", {}, "地域担当職員にはまちづくりセンターを選んでください。"),
        ("ward_manager", {}, "区役所 管理職には区を選んでください。"),
        ("bureau_staff", {}, "局 担当者には局を選んでください。"),
        ("admin", {"login": "TAKEN"}, "ログインID「taken」は既に使われています。"),
        ("admin", {"password": "short-pw"}, "パスワードが短すぎます。10文字以上にしてください。"),
        ("admin", {"login": "名前"}, "ログインIDは英小文字・数字"),
    ],
)
def test_invalid_new_user_is_refused_with_the_reason(make, admin, client, session, role, overrides, message):
    taken = make.manager()
    taken.login = "taken"
    session.commit()
    before = count(session, User)
    response = client.post("/admin/users/new", data=user_data(role, **overrides))
    assert response.status_code == 200
    assert message in text_of(response)
    assert 'value="熊本 花子"' in text_of(response)
    assert count(session, User) == before


def test_edit_user_changes_name_email_role_and_affiliation(make, admin, client, session):
    user = make.liaison()
    session.commit()
    bureau = make.bureau("都市建設局")
    data = user_data("bureau_staff", display_name="都市 太郎", email="t@example.jp", bureau_id=bureau.id)
    response = client.post(f"/admin/users/{user.id}/edit", data=data, follow_redirects=True)
    assert "ユーザー「都市 太郎」を更新しました。" in text_of(response)
    session.refresh(user)
    assert (user.role, user.display_name, user.email) == (Role.BUREAU_STAFF, "都市 太郎", "t@example.jp")
    assert (user.bureau, user.center, user.ward_id) == (bureau, None, None)
    assert user.login.startswith("liaison")


def test_edit_user_without_affiliation_is_refused(make, admin, client, session):
    user = make.staff()
    session.commit()
    response = client.post(f"/admin/users/{user.id}/edit", data=user_data("ward_manager"))
    assert "区役所 管理職には区を選んでください。" in text_of(response)
    session.refresh(user)
    assert user.role == Role.BUREAU_STAFF and user.bureau.name == "環境局"


def test_admin_cannot_demote_or_deactivate_themselves(admin, make, client, session):
    ward_id = make.ward().id
    response = client.post(f"/admin/users/{admin.id}/edit", data=user_data("ward_manager", ward_id=ward_id))
    assert "自分自身の役割は変更できません。" in text_of(response)
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "自分自身のアカウントは無効にできません。" in text_of(response)
    session.refresh(admin)
    assert admin.role == Role.ADMIN and admin.active


def test_deactivated_user_cannot_log_in_until_reactivated(make, admin, client, session):
    user = make.manager()
    session.commit()
    response = client.post(f"/admin/users/{user.id}/deactivate", follow_redirects=True)
    assert "無効にしました" in text_of(response) and "有効に戻す" in text_of(response)
    session.refresh(user)
    assert not user.active
    client.post("/logout")
    response = client.post("/login", data={"login": user.login, "password": Factory.PASSWORD})
    assert response.status_code == 200
    assert "ログインIDまたはパスワードが正しくありません。" in text_of(response)

    client.post("/login", data={"login": admin.login, "password": Factory.PASSWORD})
    response = client.post(f"/admin/users/{user.id}/reactivate", follow_redirects=True)
    assert "有効にしました" in text_of(response)
    client.post("/logout")
    response = client.post("/login", data={"login": user.login, "password": Factory.PASSWORD})
    assert response.status_code == 302


def test_reset_password_requires_a_change_at_next_login(make, admin, client, session):
    user = make.staff()
    session.commit()
    response = client.post(
        f"/admin/users/{user.id}/password", data={"password": "short"}, follow_redirects=True
    )
    assert "パスワードが短すぎます。10文字以上にしてください。" in text_of(response)
    session.refresh(user)
    assert check_password(user, Factory.PASSWORD) and not user.must_change_password

    response = client.post(
        f"/admin/users/{user.id}/password", data={"password": NEW_PASSWORD}, follow_redirects=True
    )
    assert "パスワードを再設定しました" in text_of(response)
    session.refresh(user)
    assert check_password(user, NEW_PASSWORD) and user.must_change_password
    client.post("/logout")
    response = client.post("/login", data={"login": user.login, "password": NEW_PASSWORD})
    assert response.headers["Location"].endswith("/password")


def test_users_list_filters_by_role_and_active(make, admin, client):
    liaison, staff, gone = make.liaison(), make.staff(), make.staff()
    gone.active = False
    page = text_of(client.get("/admin/users?role=bureau_staff"))
    assert staff.login in page and gone.login in page and liaison.login not in page
    assert "環境局" in page
    page = text_of(client.get("/admin/users?role=bureau_staff&active=1"))
    assert staff.login in page and gone.login not in page
    page = text_of(client.get("/admin/users?active=0"))
    assert gone.login in page and staff.login not in page and admin.login not in page


def test_users_list_runs_the_same_queries_for_3_or_30_users(make, admin, client, session, count_queries):
    def list_page() -> tuple[int, str]:
        """The page and its SQL statements, not counting the test's own savepoints."""
        count_queries.clear()
        response = client.get("/admin/users")
        assert response.status_code == 200
        statements = [sql for sql in count_queries if not sql.startswith(("SAVEPOINT", "RELEASE"))]
        return len(statements), text_of(response)

    makers = [make.liaison, make.manager, make.staff]
    for number in range(3):
        makers[number % 3]()
    session.commit()
    few, page = list_page()
    assert page.count("<tr>") == 1 + 4
    for number in range(27):
        makers[number % 3]()
    session.commit()
    many, page = list_page()
    assert page.count("<tr>") == 1 + 31
    assert many == few


# --- master data ---------------------------------------------------------------------------


def center_data(ward_id: int, name: str, **overrides) -> dict:
    data = {"center-ward_id": ward_id, "center-name": name, "center-note": "", "center-sort_order": "99"}
    data["center-active"] = "y"
    data.update(overrides)
    return data


def test_add_a_center_to_a_ward(make, admin, client, session):
    ward = make.ward("西区")
    response = client.post(
        "/admin/master/centers/new",
        data=center_data(ward.id, "河内分室", **{"center-note": "仮設"}),
        follow_redirects=True,
    )
    assert "まちづくりセンター「河内分室」を追加しました。" in text_of(response)
    center = make.center("河内分室")
    assert (center.ward, center.note, center.active, center.sort_order) == (ward, "仮設", True, 99)


@pytest.mark.parametrize(
    "name, message",
    [("託麻", "まちづくりセンター「託麻」は既にあります。"), ("", "入力してください。")],
)
def test_invalid_center_is_refused(make, admin, client, session, name, message):
    before = count(session, Center)
    response = client.post("/admin/master/centers/new", data=center_data(make.ward("東区").id, name))
    assert response.status_code == 200 and message in text_of(response)
    assert count(session, Center) == before


def test_same_center_name_in_another_ward_is_allowed(make, admin, client, session):
    response = client.post("/admin/master/centers/new", data=center_data(make.ward("北区").id, "託麻"))
    assert response.status_code == 302
    assert count(session, Center) == 18


def test_edit_and_deactivate_a_center(make, admin, client, session):
    center = make.center("天明")
    data = {"center-name": "天明まちづくりセンター", "center-note": "川口出張所", "center-sort_order": "3"}
    assert client.post(f"/admin/master/centers/{center.id}/edit", data=data).status_code == 302
    session.refresh(center)
    assert (center.name, center.note, center.active, center.ward.name) == (
        "天明まちづくりセンター",
        "川口出張所",
        False,
        "南区",
    )
    response = client.post(
        f"/admin/master/centers/{center.id}/active", data={"active": "1"}, follow_redirects=True
    )
    assert "「天明まちづくりセンター」を有効にしました。" in text_of(response)
    session.refresh(center)
    assert center.active


def test_a_center_with_active_liaisons_stays_active(make, admin, client, session):
    liaison = make.liaison("南区", center="富合")
    session.commit()
    response = client.post(
        f"/admin/master/centers/{liaison.center_id}/active", data={"active": "0"}, follow_redirects=True
    )
    assert "富合には有効な地域担当職員が1人います。" in text_of(response)
    session.refresh(liaison.center)
    assert liaison.center.active


def test_rename_a_bureau(make, admin, client, session):
    bureau = make.bureau("環境局")
    data = {"bureaus-name": "環境局 (環境政策課)", "bureaus-sort_order": "2", "bureaus-active": "y"}
    response = client.post(f"/admin/master/bureaus/{bureau.id}/edit", data=data, follow_redirects=True)
    assert "局「環境局 (環境政策課)」を更新しました。" in text_of(response)
    session.refresh(bureau)
    assert (bureau.name, bureau.sort_order, bureau.active) == ("環境局 (環境政策課)", 2, True)


def test_duplicate_bureau_name_is_refused(make, admin, client, session):
    bureau = make.bureau("環境局")
    data = {"bureaus-name": " 消防局 ", "bureaus-sort_order": "0", "bureaus-active": "y"}
    response = client.post(f"/admin/master/bureaus/{bureau.id}/edit", data=data)
    assert response.status_code == 200 and "局「消防局」は既にあります。" in text_of(response)
    response = client.post("/admin/master/bureaus/new", data=data)
    assert "局「消防局」は既にあります。" in text_of(response)
    session.refresh(bureau)
    assert bureau.name == "環境局" and count(session, Bureau) == 13


def test_add_a_category_and_deactivate_one(make, admin, client, session, login_as):
    data = {"categories-name": "空き家", "categories-sort_order": "20", "categories-active": "y"}
    assert client.post("/admin/master/categories/new", data=data).status_code == 302
    category = session.execute(select(Category).filter_by(name="空き家")).scalar_one()
    response = client.post(
        f"/admin/master/categories/{category.id}/active", data={"active": "0"}, follow_redirects=True
    )
    assert "「空き家」を無効にしました。" in text_of(response)
    session.refresh(category)
    assert not category.active
    form = text_of(login_as(make.liaison()).get("/requests/new"))
    assert "ごみ・環境衛生" in form and "空き家" not in form


def test_edit_ward_figures(make, admin, client, session):
    ward = make.ward("西区")
    data = {"name": "西区", "population": "91000", "households": "", "area_km2": "89.3"}
    assert client.post(f"/admin/master/wards/{ward.id}/edit", data=data).status_code == 302
    session.refresh(ward)
    assert (ward.population, ward.households, str(ward.area_km2), ward.code) == (
        91000,
        None,
        "89.30",
        "NISHI",
    )
    response = client.post(f"/admin/master/wards/{ward.id}/edit", data={**data, "name": "東区"})
    assert "区「東区」は既にあります。" in text_of(response)
    session.refresh(ward)
    assert ward.name == "西区"


def fund_of(session, ward, year) -> WardFund | None:
    return session.execute(select(WardFund).filter_by(ward_id=ward.id, fiscal_year=year)).scalar_one_or_none()


def test_set_and_update_a_ward_fund(make, admin, client, session):
    ward = make.ward("南区")
    data = {"fund-ward_id": ward.id, "fund-fiscal_year": "2024", "fund-allocated_yen": "30,000"}  # 千円
    response = client.post("/admin/master/funds", data=data, follow_redirects=True)
    assert "南区の令和6年度 (2024)のまちづくり推進経費を30,000千円に設定しました。" in text_of(response)
    assert fund_of(session, ward, 2024).allocated_yen == 30_000_000
    form = text_of(client.get(f"/admin/master/funds?ward_id={ward.id}&fiscal_year=2024"))
    assert 'value="30,000"' in form
    assert '<option selected value="2024">令和6年度 (2024)</option>' in form

    before = count(session, WardFund)
    client.post(
        "/admin/master/funds",
        data={**data, "fund-allocated_yen": "32500000", "fund-allocated_yen_unit": "yen"},
    )
    assert count(session, WardFund) == before
    assert fund_of(session, ward, 2024).allocated_yen == 32_500_000
    assert "32,500千円" in text_of(client.get("/admin/master"))


@pytest.mark.parametrize(
    "amount, message",
    [
        ("-1", "金額は0以上で入力してください。"),
        ("2,00", "桁区切りのカンマの位置が正しくありません"),
        ("2.000", "「2.000」の「.」が小数点か桁区切りか分かりません。"),
        ("", "入力してください。"),
    ],
)
def test_invalid_ward_fund_is_refused(make, admin, client, session, amount, message):
    ward = make.ward("北区")
    data = {"fund-ward_id": ward.id, "fund-fiscal_year": "2020", "fund-allocated_yen": amount}
    response = client.post("/admin/master/funds", data=data)
    assert response.status_code == 200
    assert f'<p class="field-error">{message}' in text_of(response)
    assert fund_of(session, ward, 2020).allocated_yen == 30_000_000


def test_ward_fund_cannot_go_below_what_is_already_drawn(make, admin, client, session):
    ward = make.ward("東区")
    line = BudgetLine(
        funding=Funding.WARD_FUND,
        fiscal_year=2020,
        project_name="防犯灯の設置",
        allocated_yen=1_500_000,
        ward_id=ward.id,
        created_by_id=admin.id,
    )
    session.add(line)
    session.commit()
    data = {"fund-ward_id": ward.id, "fund-fiscal_year": "2020", "fund-allocated_yen": "1,000"}
    response = client.post("/admin/master/funds", data=data)
    assert "東区の令和2年度 (2020)は既に1,500千円を充当しています。" in text_of(response)
    assert fund_of(session, ward, 2020).allocated_yen == 30_000_000
    client.post("/admin/master/funds", data={**data, "fund-allocated_yen": "1,500"})
    assert fund_of(session, ward, 2020).allocated_yen == 1_500_000


# --- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s, m: masterdata_admin.add_entry(s, Bureau, {"name": "  "}), "局の名称を入力してください。"),
        (
            lambda s, m: masterdata_admin.add_entry(s, Category, {"name": "その他"}),
            "分野「その他」は既にあります。",
        ),
        (lambda s, m: masterdata_admin.add_entry(s, Bureau, {"name": "局" * 81}), "80文字以内"),
        (lambda s, m: masterdata_admin.add_entry(s, Bureau, {"name": "新局", "sort_order": "x"}), "表示順"),
        (lambda s, m: masterdata_admin.add_center(s, {"name": "新センター"}), "区を選んでください。"),
        (lambda s, m: masterdata_admin.set_ward_fund(s, m.ward().id, 2024, -1), "0円以上の整数"),
        (lambda s, m: masterdata_admin.set_ward_fund(s, m.ward().id, 2024, 1.5), "0円以上の整数"),
        (lambda s, m: masterdata_admin.set_ward_fund(s, m.ward().id, 2024, True), "0円以上の整数"),
        (lambda s, m: masterdata_admin.set_ward_fund(s, m.ward().id, 1900, 1), "年度を西暦で"),
        (
            lambda s, m: masterdata_admin.update_ward(s, m.ward(), {"name": "中央区", "population": -5}),
            "人口",
        ),
        (
            lambda s, m: masterdata_admin.update_ward(s, m.ward(), {"name": "中央区", "area_km2": "-1"}),
            "面積",
        ),
        (
            lambda s, m: masterdata_admin.update_ward(s, m.ward(), {"name": "中央区", "area_km2": "abc"}),
            "面積",
        ),
    ],
)
def test_master_data_rules(make, session, call, message):
    """Each broken rule raises with its reason before anything is added or changed."""
    with pytest.raises(WorkflowError) as raised:
        call(session, make)
    assert message in raised.value.message
    assert not session.new and not session.dirty


def test_ward_fund_accepts_zero_and_whole_yen_strings(make, session):
    fund = masterdata_admin.set_ward_fund(session, make.ward().id, "2030", "0")
    assert (fund.fiscal_year, fund.allocated_yen) == (2030, 0)
    assert masterdata_admin.set_ward_fund(session, make.ward().id, 2030, 12_345).id == fund.id
    assert fund.allocated_yen == 12_345
