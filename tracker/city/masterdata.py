"""The city's master data (from the reference documents) and the demo accounts.

``load_master_data`` and ``load_demo`` are idempotent: running them again adds what is
missing and changes nothing that is there, so an admin's edits survive ``make run``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workflow
from ..activity_models import ActivityKind
from ..effects import intake
from ..effects.publication import draft_texts
from ..model_types import utcnow
from ..models import Bureau, Category, Center, User, Ward, WardFund, WardIssue
from ..ops_models import UserMfa
from ..safeguards import accounts, mfa
from ..states import AnswerKind, Role, Source
from . import indicator_defaults

# (code, name, population, households, area km², [(center, note)]) — figures as of R4.2.1.
WARDS = [
    ("CHUO", "中央区", 176692, 95741, "25.45", [("中央区まちづくりセンター", "交流室: 五福, 大江")]),
    ("HIGASHI", "東区", 190584, 88233, "50.19", [("託麻", ""), ("秋津", ""), ("東部", "")]),
    ("NISHI", "西区", 90415, 43786, "89.33", [("西部", ""), ("河内", ""), ("花園", "")]),
    (
        "MINAMI",
        "南区",
        133080,
        57499,
        "110.01",
        [("富合", ""), ("飽田", ""), ("天明", ""), ("城南", ""), ("南部", ""), ("幸田", "")],
    ),
    ("KITA", "北区", 140530, 64433, "115.34", [("北部", ""), ("植木", ""), ("清水", ""), ("龍田", "")]),
]

BUREAUS = [
    "政策局",
    "総務局",
    "財政局",
    "文化市民局",
    "健康福祉子ども局",
    "環境局",
    "経済観光局",
    "農水局",
    "都市建設局",
    "消防局",
    "交通局",
    "上下水道局",
    "教育委員会事務局",
]

CATEGORIES = [
    "道路・交通安全",
    "防犯・街灯",
    "公園・緑地",
    "ごみ・環境衛生",
    "河川・水路",
    "防災・消防",
    "福祉・健康",
    "子育て・教育",
    "地域活動・コミュニティ",
    "産業・農業",
    "その他",
]

# まちづくり推進経費 for the five wards together, per fiscal year, shared equally.
WARD_FUND_TOTALS = {2013: 50_000_000}
# 活動区分: the kinds of field activity the city counts (group: the heading in a choice list).
ACTIVITY_KINDS = [
    ("会議出席（校区自治協議会）", "会議出席"),
    ("会議出席（町内自治会）", "会議出席"),
    ("会議出席（その他の団体）", "会議出席"),
    ("地域行事の支援", ""),
    ("訪問・巡回", ""),
    ("相談対応", ""),
    ("行政情報の提供・発信", ""),
    ("担い手育成・研修", ""),
    ("その他", ""),
]
WARD_FUND_TOTALS.update({year: 100_000_000 for year in range(2014, 2019)})
WARD_FUND_TOTALS.update({2019: 150_000_000, 2020: 150_000_000})

DEMO_PASSWORD = "kumamoto-demo"
# The demo admin's and managers' second factor (TOTP, RFC 6238), published like the password so
# that the demo shows the two-step login: add it to an authenticator app, or see README.
DEMO_TOTP_SECRET = "KUMAMOTODEMOTOTPSECRETFORDEMO234"

# (login, name, role, ward, center, bureau)
DEMO_USERS = [
    ("admin", "地域政策課 管理者", Role.ADMIN, None, None, None),
    ("chuo.liaison", "中央 地域担当", Role.LIAISON, "中央区", "中央区まちづくりセンター", None),
    ("higashi.liaison", "託麻 地域担当", Role.LIAISON, "東区", "託麻", None),
    ("minami.liaison", "城南 地域担当", Role.LIAISON, "南区", "城南", None),
    ("kita.liaison", "植木 地域担当", Role.LIAISON, "北区", "植木", None),
    ("chuo.manager", "中央区 総務企画課長", Role.WARD_MANAGER, "中央区", None, None),
    ("higashi.manager", "東区 総務企画課長", Role.WARD_MANAGER, "東区", None, None),
    ("minami.manager", "南区 総務企画課長", Role.WARD_MANAGER, "南区", None, None),
    ("kita.manager", "北区 総務企画課長", Role.WARD_MANAGER, "北区", None, None),
    # the second manager of each ward approves what the first drafted (two pairs of eyes)
    ("chuo.manager2", "中央区 総務企画課 審議員", Role.WARD_MANAGER, "中央区", None, None),
    ("higashi.manager2", "東区 総務企画課 審議員", Role.WARD_MANAGER, "東区", None, None),
    ("minami.manager2", "南区 総務企画課 審議員", Role.WARD_MANAGER, "南区", None, None),
    ("kita.manager2", "北区 総務企画課 審議員", Role.WARD_MANAGER, "北区", None, None),
    ("kankyo.staff", "環境局 担当", Role.BUREAU_STAFF, None, None, "環境局"),
    ("bunka.staff", "文化市民局 担当", Role.BUREAU_STAFF, None, None, "文化市民局"),
    ("shobo.staff", "消防局 担当", Role.BUREAU_STAFF, None, None, "消防局"),
    ("toshi.staff", "都市建設局 担当", Role.BUREAU_STAFF, None, None, "都市建設局"),
]


def _get_or_add(session: Session, model, lookup: dict, **values):
    found = session.execute(select(model).filter_by(**lookup)).scalar_one_or_none()
    if found is None:
        found = model(**lookup, **values)
        session.add(found)
        session.flush()
    return found


def load_master_data(session: Session) -> None:
    for order, (code, name, population, households, area, centers) in enumerate(WARDS):
        ward = _get_or_add(
            session,
            Ward,
            {"code": code},
            name=name,
            population=population,
            households=households,
            area_km2=Decimal(area),
            sort_order=order,
        )
        for center_order, (center_name, note) in enumerate(centers):
            _get_or_add(
                session,
                Center,
                {"ward_id": ward.id, "name": center_name},
                note=note,
                sort_order=order * 10 + center_order,
            )
        for year, total in WARD_FUND_TOTALS.items():
            _get_or_add(
                session, WardFund, {"ward_id": ward.id, "fiscal_year": year}, allocated_yen=total // 5
            )
    for order, name in enumerate(BUREAUS):
        _get_or_add(session, Bureau, {"name": name}, sort_order=order)
    for order, name in enumerate(CATEGORIES):
        _get_or_add(session, Category, {"name": name}, sort_order=order)
    for order, (name, group) in enumerate(ACTIVITY_KINDS):
        _get_or_add(session, ActivityKind, {"name": name}, group=group, sort_order=order)
    indicator_defaults.load_default_indicators(session)


def _by_name(session: Session, model, name: str | None):
    if name is None:
        return None
    return session.execute(select(model).filter_by(name=name)).scalar_one()


def ward_managers(session: Session, ward_id: int) -> list[User]:
    """The ward's managers, oldest account first: the demo's drafter, then its approver."""
    statement = select(User).where(User.role == Role.WARD_MANAGER, User.ward_id == ward_id).order_by(User.id)
    return list(session.scalars(statement))


def load_demo_users(session: Session) -> None:
    """The demo accounts; the admin and the managers with the published second factor."""
    for login, display_name, role, ward, center, bureau in DEMO_USERS:
        user = session.execute(select(User).filter_by(login=login)).scalar_one_or_none()
        if user is None:
            user = _create_demo_user(session, login, display_name, role, ward, center, bureau)
        if mfa.is_required(user) and mfa.mfa_of(session, user) is None:
            session.add(UserMfa(user_id=user.id, secret=DEMO_TOTP_SECRET, confirmed_at=utcnow()))
    session.flush()


def _create_demo_user(session: Session, login, display_name, role, ward, center, bureau) -> User:
    ward_obj = _by_name(session, Ward, ward)
    center_obj = (
        session.execute(select(Center).filter_by(name=center, ward_id=ward_obj.id)).scalar_one()
        if center
        else None
    )
    return accounts.create_user(
        session,
        {
            "login": login,
            "display_name": display_name,
            "email": f"{login}@example.city.kumamoto.jp",
            "password": DEMO_PASSWORD,
            "role": role.value,
            "ward_id": ward_obj.id if ward_obj else None,
            "center_id": center_obj.id if center_obj else None,
            "bureau_id": _by_name(session, Bureau, bureau).id if bureau else None,
            "must_change_password": False,
        },
        check_strength=False,  # the demo's password is published on purpose
    )


# Past ward issues from the city's report: (ward, center, bureau, title, fiscal year, budget yen)
DEMO_ISSUES = [
    ("中央区", "中央区まちづくりセンター", "文化市民局", "中心市街地客引き対策", 2019, 20_900_000),
    ("東区", "託麻", "環境局", "ごみステーション施設整備に係る補助の新設", 2020, 2_000_000),
    ("中央区", "中央区まちづくりセンター", "消防局", "老朽危険消防倉庫の建替え", 2020, 47_537_000),
]


def load_demo_issues(session: Session, photo_dir: str) -> None:
    """Walk the city's three published examples through the whole workflow, with history."""
    for ward_name, center_name, bureau_name, title, year, amount in DEMO_ISSUES:
        if session.execute(select(WardIssue.id).filter_by(title=title)).first():
            continue
        ward = _by_name(session, Ward, ward_name)
        manager, approver = ward_managers(session, ward.id)[:2]
        liaison = (
            session.execute(
                select(User).join(Center, User.center_id == Center.id).where(Center.name == center_name)
            )
            .scalars()
            .first()
        )
        bureau = _by_name(session, Bureau, bureau_name)
        staff = session.execute(select(User).filter_by(bureau_id=bureau.id)).scalars().first()
        category = session.execute(select(Category)).scalars().first()
        received = dt.date(year - 1, 10, 1)
        request = intake.log_request(
            session,
            liaison,
            {
                "title": title,
                "description": f"{title}についての地域からの要望",
                "source": Source.SCHOOL_DISTRICT_COUNCIL.value,
                "category_id": category.id,
                "organisation": f"{center_name}校区自治協議会",
                "received_on": received,
            },
            photo_dir=photo_dir,
            photo_max_bytes=1,
            photo_max_count=0,
            answer_due_days=30,
            today=received,
        )
        workflow.apply(
            session,
            manager,
            request,
            "escalate",
            {"title": title, "proposal": f"{bureau_name}と協議し事業化する", "lead_bureau": bureau.id},
            today=received,
        )
        issue = request.ward_issue
        decided = dt.date(year, 3, 1)
        for actor, action, payload in [
            (manager, "submit", {}),
            (approver, "approve", {}),
            (manager, "assign_ward_owner", {"owner": liaison.id}),
            (manager, "send", {}),
            (staff, "assign_bureau_owner", {"owner": staff.id}),
            (staff, "decide", {"decision": "adopt", "decision_reason": "事業化して対応する"}),
            (staff, "budget", {"fiscal_year": year, "project_name": title, "allocated_yen": amount}),
            (staff, "start", {}),
        ]:
            workflow.apply(session, actor, issue, action, payload, today=decided)
        workflow.apply(
            session,
            staff,
            issue,
            "complete",
            {"outcome": "事業を実施し、地域へ報告した。", "executed": {issue.budget_lines[0].id: amount}},
            today=decided,
        )
        # the public page shows only a text the ward approved: written by one manager, checked by another
        workflow.apply(session, manager, issue, "write_public_text", draft_texts(issue), today=decided)
        workflow.apply(session, approver, issue, "approve_public_text", {}, today=decided)
        workflow.apply(session, manager, issue, "set_public", {"is_public": True}, today=decided)
        workflow.apply(
            session,
            liaison,
            request,
            "answer",
            {
                "answer_text": f"{bureau_name}で予算化され実施されました。",
                "answer_kind": AnswerKind.RESOLVED.value,
                "answered_on": decided,
            },
            today=decided,
        )
