"""Demo of the liaisons' activity log (活動記録), so that `make run` shows activities to list,
filter and count.

For the center of each demo liaison: its 校区自治協議会 and three 町内自治会; about seven
activities over the current and the previous fiscal year, of every kind, logged by that liaison through
``fieldwork.operations`` (so each has its history); and the liaison's demo requests heard from
community organisations linked to the most recent activity before they were received.
Idempotent: organisations are found by name, activities by a fixed ``client_uuid``, and a request
already linked is left alone.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..activity_models import Activity, ActivityKind, CommunityOrganisation
from ..fieldwork import operations
from ..formatting import fiscal_year_of
from ..models import ServiceRequest, User
from ..states import OrganisationKind, Role, Source

NAMESPACE = uuid.UUID("7b6f1c0e-3d2a-4f5e-9a8b-0c1d2e3f4a5b")
ASSOCIATIONS = ("一丁目町内自治会", "二丁目町内自治会", "本町町内自治会")
# (kind, organisation index (0: the council, 1-3: associations, None: none), place, attendees,
#  summary, days into the fiscal year)
DEMO_ACTIVITIES = [
    (
        "会議出席（校区自治協議会）",
        0,
        "校区公民館",
        32,
        "校区自治協議会の定例会に出席し、防犯灯と通学路の要望を聞いた。",
        20,
    ),
    (
        "会議出席（町内自治会）",
        1,
        "一丁目集会所",
        18,
        "町内自治会の役員会で、ごみステーションの設置場所について相談を受けた。",
        45,
    ),
    ("地域行事の支援", 0, "校区グラウンド", 250, "校区の夏祭りの準備と当日の運営を支援した。", 110),
    ("訪問・巡回", None, "校区内", None, "高齢者世帯の多い地区を巡回し、危険箇所を確認した。", 150),
    ("相談対応", 2, "まちづくりセンター", 3, "二丁目の自治会長から空き家の管理について相談を受けた。", 190),
    ("行政情報の提供・発信", 3, "本町集会所", 25, "防災マップの改訂について説明し、意見を聞いた。", 230),
    ("担い手育成・研修", 0, "校区公民館", 15, "自治会の新任役員向けに地域活動の研修会を開いた。", 270),
    (
        "会議出席（町内自治会）",
        3,
        "本町集会所",
        20,
        "本町町内自治会の総会に出席し、街路樹の剪定の要望を聞いた。",
        320,
    ),
]


def _area(center_name: str) -> str:
    return center_name.removesuffix("まちづくりセンター") or center_name


def _organisations(session: Session, liaison: User) -> list[CommunityOrganisation]:
    """The council and the associations of the liaison's center, added if missing."""
    area = _area(liaison.center.name)
    wanted = [(f"{area}校区自治協議会", OrganisationKind.SCHOOL_DISTRICT_COUNCIL)]
    wanted += [(f"{area}{name}", OrganisationKind.NEIGHBOURHOOD_ASSOCIATION) for name in ASSOCIATIONS]
    found = []
    for order, (name, kind) in enumerate(wanted):
        organisation = session.scalar(
            select(CommunityOrganisation).filter_by(center_id=liaison.center_id, name=name)
        )
        if organisation is None:
            organisation = CommunityOrganisation(
                center_id=liaison.center_id, name=name, kind=kind, sort_order=order
            )
            session.add(organisation)
            session.flush()
        found.append(organisation)
    return found


def _log_activities(session: Session, liaison: User, today: dt.date) -> list[Activity]:
    organisations = _organisations(session, liaison)
    kinds = dict(session.execute(select(ActivityKind.name, ActivityKind.id)).all())
    current = fiscal_year_of(today)
    logged = []
    for year in (current - 1, current):
        start = dt.date(year, 4, 1)
        for number, (kind, which, place, attendees, summary, days) in enumerate(DEMO_ACTIVITIES):
            held_on = start + dt.timedelta(days=days)
            if held_on > today or number % 2 != (year == current):
                continue  # the even ones last year, the odd ones this year so far: about thirty in all
            fields = {
                "held_on": held_on,
                "kind_id": kinds[kind],
                "organisation_id": organisations[which].id if which is not None else None,
                "place": place,
                "attendees": attendees,
                "summary": summary,
                "center_id": liaison.center_id,
                "liaison_ids": [liaison.id],
            }
            key = uuid.uuid5(NAMESPACE, f"{liaison.login}:{year}:{number}")
            logged.append(
                operations.log_activity(session, liaison, fields, today=today, client_uuid=str(key))
            )
    return logged


def _link_heard_requests(session: Session, liaison: User, activities: list[Activity]) -> int:
    """Link the liaison's demo requests heard from organisations to the latest earlier activity."""
    sources = (Source.COMMUNITY_ACTIVITY, Source.NEIGHBOURHOOD_ASSOCIATION, Source.SCHOOL_DISTRICT_COUNCIL)
    requests = session.scalars(
        select(ServiceRequest)
        .where(
            ServiceRequest.logged_by_id == liaison.id,
            ServiceRequest.ward_id == liaison.ward_id,
            ServiceRequest.source.in_(sources),
            ServiceRequest.activity_id.is_(None),
        )
        .order_by(ServiceRequest.id)
    ).all()
    linked = 0
    for request in requests:
        earlier = [a for a in activities if a.held_on <= request.received_on]
        if earlier:
            operations.link_request(session, liaison, max(earlier, key=lambda a: a.held_on), request)
            linked += 1
    return linked


def load_demo_activities(session: Session, today: dt.date) -> int:
    """Organisations, activities and links for every demo liaison; how many activities exist."""
    liaisons = session.scalars(
        select(User).where(User.role == Role.LIAISON, User.login.like("%.liaison")).order_by(User.id)
    ).all()
    total = 0
    for liaison in liaisons:
        activities = _log_activities(session, liaison, today)
        _link_heard_requests(session, liaison, activities)
        total += len(activities)
    session.flush()
    return total
