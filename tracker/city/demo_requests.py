"""Demo requests of the current fiscal year, so that `make run` shows a ward office at work.

Each demo liaison logs a handful of requests received over the last months; some are answered,
some referred, some overdue, and some are escalated into ward issues, one of them already in
consultation with its bureau. The ward funds of the current year are set too, so the dashboards
have something to show. Idempotent: a request whose title is already there is not logged again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workflow
from ..effects import intake
from ..formatting import fiscal_year_of
from ..models import Bureau, Category, ServiceRequest, User, WardFund
from ..states import AnswerKind, Role, Source
from .masterdata import ward_managers

DEMO_WARD_FUND_YEN = 30_000_000  # per ward, for the current fiscal year

# (title, category, place, organisation, source, days ago, what happens next)
DEMO_REQUESTS = [
    ("公園の街灯が切れている", "防犯・街灯", "{ward}中央公園", "", Source.PHONE, 40, "answer"),
    (
        "通学路の横断歩道の白線が消えかけている",
        "道路・交通安全",
        "{ward}小学校前",
        "PTA",
        Source.COUNTER,
        30,
        "open",
    ),
    (
        "ごみステーションのカラス被害",
        "ごみ・環境衛生",
        "{ward}3丁目",
        "町内自治会",
        Source.NEIGHBOURHOOD_ASSOCIATION,
        20,
        "issue",
    ),
    (
        "防犯灯の増設",
        "防犯・街灯",
        "{ward}駅南口",
        "校区自治協議会",
        Source.SCHOOL_DISTRICT_COUNCIL,
        12,
        "send",
    ),
    ("空き家の草木が道路にはみ出している", "道路・交通安全", "{ward}2丁目", "", Source.OTHER, 6, "refer"),
    ("公民館の駐車場の段差", "福祉・健康", "{ward}公民館", "老人会", Source.COMMUNITY_ACTIVITY, 2, "open"),
]

BUREAU_BY_CATEGORY = {"ごみ・環境衛生": "環境局", "防犯・街灯": "文化市民局"}

# Where each demo center's requests are (around 熊本市, so that the maps show them), by center,
# else by ward, else the city hall; each demo request is placed a few hundred metres around it.
DEMO_PLACES = {
    "中央区まちづくりセンター": (Decimal("32.8031"), Decimal("130.7079")),
    "託麻": (Decimal("32.7936"), Decimal("130.7702")),
    "城南": (Decimal("32.7030"), Decimal("130.7560")),
    "植木": (Decimal("32.8930"), Decimal("130.6890")),
}
WARD_PLACES = {
    "中央区": (Decimal("32.8031"), Decimal("130.7079")),
    "東区": (Decimal("32.7900"), Decimal("130.7690")),
    "西区": (Decimal("32.8040"), Decimal("130.6600")),
    "南区": (Decimal("32.7400"), Decimal("130.7000")),
    "北区": (Decimal("32.8620"), Decimal("130.7250")),
}
# (north, east) steps of about 300 m, one per demo request in DEMO_REQUESTS' order
DEMO_OFFSETS = [(0, 0), (3, 2), (-2, 3), (2, -3), (-3, -2), (4, -1)]
DEMO_STEP = Decimal("0.0009")


def demo_place(center_name: str, ward_name: str, index: int) -> tuple[Decimal, Decimal]:
    """The demo coordinates of the ``index``-th demo request of a center."""
    lat, lng = DEMO_PLACES.get(center_name) or WARD_PLACES.get(ward_name) or WARD_PLACES["中央区"]
    north, east = DEMO_OFFSETS[index % len(DEMO_OFFSETS)]
    return lat + north * DEMO_STEP, lng + east * DEMO_STEP


def load_demo_requests(session: Session, photo_dir: str, today: dt.date) -> int:
    """Log the demo requests for every demo liaison; return how many were logged."""
    year = fiscal_year_of(today)
    start = dt.date(year, 4, 1)
    logged = 0
    liaisons = session.scalars(
        select(User).where(User.role == Role.LIAISON, User.login.like("%.liaison")).order_by(User.id)
    ).all()
    for liaison in liaisons:
        managers = ward_managers(session, liaison.ward_id)[:2]
        for index, (title, category, place, organisation, source, days_ago, next_step) in enumerate(
            DEMO_REQUESTS
        ):
            latitude, longitude = demo_place(liaison.center.name, liaison.ward.name, index)
            received = max(start, today - dt.timedelta(days=days_ago))
            full_title = f"{title} ({liaison.center.name})"
            where = place.format(ward=liaison.ward.name)
            if session.scalar(select(ServiceRequest.id).where(ServiceRequest.title == full_title)):
                continue
            request = intake.log_request(
                session,
                liaison,
                {
                    "title": full_title,
                    "description": f"{where}について、住民から「{title}」との声がある。",
                    "source": source.value,
                    "category_id": session.scalar(select(Category.id).where(Category.name == category)),
                    "location_text": where,
                    "latitude": latitude,
                    "longitude": longitude,
                    "organisation": organisation,
                    "received_on": received,
                },
                photo_dir=photo_dir,
                photo_max_bytes=1,
                photo_max_count=0,
                answer_due_days=14,
                today=received,
            )
            _advance(session, request, next_step, liaison, managers, category, received)
            logged += 1
    for ward_id in {liaison.ward_id for liaison in liaisons}:
        if not session.scalar(select(WardFund.id).filter_by(ward_id=ward_id, fiscal_year=year)):
            session.add(WardFund(ward_id=ward_id, fiscal_year=year, allocated_yen=DEMO_WARD_FUND_YEN))
    session.flush()
    return logged


def _advance(session, request, next_step, liaison, managers, category, received) -> None:
    """Take a freshly logged demo request one or more steps along its workflow: the ward's first
    manager triages and drafts, its second one approves."""
    manager, approver = managers
    day = received + dt.timedelta(days=3)
    if next_step == "answer":
        payload = {
            "answer_text": "道路保全課で修繕しました。",
            "answer_kind": AnswerKind.RESOLVED.value,
            "answered_on": day,
        }
        workflow.apply(session, liaison, request, "answer", payload, today=day)
    elif next_step == "refer":
        workflow.apply(session, manager, request, "refer", {"referred_to": "区 土木センター"}, today=day)
    elif next_step in ("issue", "send"):
        bureau = session.scalar(select(Bureau.id).where(Bureau.name == BUREAU_BY_CATEGORY[category]))
        payload = {"title": request.title, "proposal": "局と協議して対応を検討する", "lead_bureau": bureau}
        workflow.apply(session, manager, request, "escalate", payload, today=day)
        if next_step == "send":
            workflow.apply(session, manager, request.ward_issue, "submit", {}, today=day)
            workflow.apply(session, approver, request.ward_issue, "approve", {}, today=day)
            workflow.apply(session, manager, request.ward_issue, "send", {}, today=day)
