"""Demo of the Open311 intake for ``make run``: two API keys, a town table, service definitions,
and a few requests residents sent through the app (routed, and waiting in the intake queue).

「くまもとアプリ」 is city-wide and its key is the demo-only ``DEMO_KEY`` (README, like the demo TOTP
secret), so that a developer can try the API at once; 「コールセンター」 is scoped to the
中央区まちづくりセンター and its key, random, is never shown (revoke it and make another to try it).
Every write goes through the admin's functions, so the change log has them. Idempotent: what
exists already (a key or a town of that name, a category's profile or question) is left as it is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Category, Center
from ..open311 import keys, service_admin, submissions
from ..open311_models import Open311Submission, ServiceAttribute, ServiceProfile, TownCenter

DEMO_KEY = "kumamoto-demo-open311-key"  # demo only: never a real key (README)
CITY_APP, CALL_CENTER = "くまもとアプリ", "コールセンター"
CALL_CENTER_CENTER = "中央区まちづくりセンター"

# 町名 -> the demo center whose area it is in.
TOWNS = {
    "手取本町": "中央区まちづくりセンター",
    "上通町": "中央区まちづくりセンター",
    "下通": "中央区まちづくりセンター",
    "新町": "中央区まちづくりセンター",
    "水前寺": "中央区まちづくりセンター",
    "健軍": "東部",
    "長嶺": "託麻",
    "植木町": "植木",
    "清水": "清水",
    "城南町": "城南",
    "富合町": "富合",
    "春日": "西部",
    "島崎": "花園",
}

# category -> (description, keywords, group)
PROFILES = {
    "道路・交通安全": (
        "道路の穴・段差、カーブミラーや標識の破損など",
        "道路,穴,段差,カーブミラー,標識",
        "道路・交通",
    ),
    "防犯・街灯": ("防犯灯・街路灯の球切れや増設の要望", "街灯,防犯灯,球切れ", "道路・交通"),
    "公園・緑地": ("公園の遊具・トイレ・樹木の管理", "公園,遊具,樹木,草刈り", "公園・環境"),
    "ごみ・環境衛生": (
        "ごみステーション、不法投棄、害虫など",
        "ごみ,不法投棄,ごみステーション",
        "公園・環境",
    ),
    "河川・水路": ("水路の詰まり・あふれ、河川の草木", "水路,側溝,河川", "公園・環境"),
    "防災・消防": ("防災設備、消防倉庫、避難所に関すること", "防災,消防,避難所", "安全・安心"),
    "福祉・健康": ("高齢者・障がい者の生活に関わる地域の困りごと", "福祉,高齢者,健康", "くらし"),
    "子育て・教育": ("通学路や子どもの遊び場に関すること", "通学路,子育て,学校", "くらし"),
    "地域活動・コミュニティ": ("自治会・公民館など地域活動に関すること", "自治会,公民館,地域活動", "くらし"),
    "産業・農業": ("農道・農業用水路、商店街に関すること", "農道,商店街", "くらし"),
    "その他": ("上のどれにも当てはまらない要望", "その他", "その他"),
}

ROAD = "道路・交通安全"
ROAD_ATTRIBUTES = [
    {
        "code": "damage_kind",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "損傷の種類",
        "order": 1,
        "values": "hole=穴\ncrack=ひび割れ\nstep=段差",
    },
    {
        "code": "size_cm",
        "datatype": "number",
        "required": False,
        "description": "損傷のおおよその大きさ (cm)",
        "datatype_description": "半角数字 (cm)",
        "order": 2,
        "values": "",
    },
]


def _center(session: Session, name: str) -> Center | None:
    return session.scalars(select(Center).where(Center.name == name)).first()


def _keys(session: Session) -> None:
    if keys.key_named(session, CITY_APP) is None:
        key, _random = keys.create_key(session, None, name=CITY_APP, rate_limit_per_minute=120)
        # The demo key is a published string: its hash replaces the random key's.
        key.key_hash, key.key_prefix = keys.hash_key(DEMO_KEY), DEMO_KEY[: keys.PREFIX_LENGTH]
        session.flush()
    center = _center(session, CALL_CENTER_CENTER)
    if keys.key_named(session, CALL_CENTER) is None and center is not None:
        keys.create_key(session, None, name=CALL_CENTER, center_id=center.id)


def _towns(session: Session) -> None:
    known = set(session.scalars(select(TownCenter.town_name)))
    for town, center_name in TOWNS.items():
        center = _center(session, center_name)
        if town not in known and center is not None and center.active:
            service_admin.add_town(session, None, town, center.id)


def _services(session: Session) -> None:
    categories = {c.name: c for c in session.scalars(select(Category).where(Category.active))}
    for name, (description, keywords, group) in PROFILES.items():
        category = categories.get(name)
        if category is not None and session.get(ServiceProfile, category.id) is None:
            fields = {"description": description, "keywords": keywords, "group": group}
            service_admin.save_profile(session, None, category, fields)
    road = categories.get(ROAD)
    if road is None:
        return
    asked = set(session.scalars(select(ServiceAttribute.code).where(ServiceAttribute.category_id == road.id)))
    for fields in ROAD_ATTRIBUTES:
        if fields["code"] not in asked:
            service_admin.add_attribute(session, None, road, fields)


def load_demo_open311(session: Session) -> None:
    """The demo keys, towns and service definitions (what is there already stays)."""
    _keys(session)
    _towns(session)
    _services(session)


# What residents sent through the city-wide app: (service, address, description, road answers).
# Two name a known town (routed at once), one names only its ward and one no place the city knows:
# those two wait in the intake queue (未振り分け), for 北区's managers and for the admin.
ARRIVALS = (
    (
        ROAD,
        "熊本市中央区上通町 5番地付近",
        "歩道のタイルが割れて段差になっています。",
        {"damage_kind": "step"},
    ),
    ("防犯・街灯", "熊本市東区健軍 3丁目 公園の入口", "街灯が先週から点いていません。", {}),
    ("公園・緑地", "熊本市北区 四方寄の児童遊園", "ブランコの鎖がさびて切れそうです。", {}),
    ("ごみ・環境衛生", "国道3号線沿いの空き地", "空き地に家電が捨てられています。", {}),
)


def load_demo_arrivals(session: Session, *, photo_dir: str, answer_due_days: int, today) -> None:
    """Requests from the demo app, POSTed as an app would (``submissions.submit``); once only."""
    key = keys.key_named(session, CITY_APP)
    if key is None or session.scalar(select(Open311Submission.id).limit(1)) is not None:
        return
    categories = {c.name: c for c in session.scalars(select(Category).where(Category.active))}
    for index, (service, address, description, answers) in enumerate(ARRIVALS):
        category = categories.get(service)
        if category is None:
            continue
        fields = {
            "service_code": str(category.id),
            "address_string": address,
            "description": description,
            "first_name": "花子",
            "last_name": f"アプリ{index + 1}",
            "email": f"resident{index + 1}@example.jp",
            **{f"attribute[{code}]": value for code, value in answers.items()},
        }
        submissions.submit(
            session,
            key,
            fields,
            None,
            photo_dir=photo_dir,
            photo_max_bytes=1,
            answer_due_days=answer_due_days,
            today=today,
            now=dt.datetime.now(dt.UTC),
        )
