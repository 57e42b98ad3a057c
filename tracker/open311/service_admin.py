"""The admin's writes of what Open311 reads besides API keys: the town table (町名 → センター),
each category's service profile (description, keywords, group) and its extra questions
(service attributes).

Each function checks its input, changes the rows, flushes and records the change with old and
new values (``changes.record_change``); a broken rule raises ``WorkflowError`` (``FieldError``
when it belongs to one field) before anything changes. The caller commits. ``town_rows``,
``service_rows`` and ``attributes_of`` read what the admin's pages list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..effects.support import WorkflowError
from ..models import Category, Center, User
from ..open311_models import ServiceAttribute, ServiceProfile, TownCenter
from ..wording import N_, translate
from .changes import FieldError, record_change

CODE = re.compile(r"[A-Za-z0-9_]{1,50}")
LIST_TYPES = ("singlevaluelist", "multivaluelist")
MAX_VALUES = 100


def _text(value: Any, field: str, label: str, limit: int, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise FieldError(field, "%(label)sを入力してください。", label=translate(label))
    if len(text) > limit:
        raise FieldError(
            field, "%(label)sは%(limit)s文字以内にしてください。", label=translate(label), limit=limit
        )
    return text


def _length(model, column: str) -> int:
    return model.__table__.c[column].type.length or 2000


def _active_center(session: Session, center_id: Any) -> Center:
    center = None
    if isinstance(center_id, int) and not isinstance(center_id, bool) and 0 < center_id <= 2**31 - 1:
        center = session.get(Center, center_id)
    if center is None or not center.active:
        raise FieldError("center_id", "有効なまちづくりセンターを選んでください。")
    return center


# --- the town table --------------------------------------------------------------------------


def town_rows(session: Session) -> Sequence[TownCenter]:
    return session.scalars(
        select(TownCenter)
        .options(joinedload(TownCenter.center).joinedload(Center.ward))
        .order_by(TownCenter.town_name)
    ).all()


def add_town(session: Session, actor: User | None, town_name: Any, center_id: Any) -> TownCenter:
    """A 町名 an ``address_string`` may name, and the center its requests go to."""
    name = _text(town_name, "town_name", N_("町名"), _length(TownCenter, "town_name"), required=True)
    center = _active_center(session, center_id)
    if session.execute(select(TownCenter.id).where(TownCenter.town_name == name)).first():
        raise FieldError("town_name", "町名「%(name)s」は既に登録されています。", name=name)
    town = TownCenter(town_name=name, center=center)
    session.add(town)
    session.flush()
    fields = {"town_name": (None, name), "center_id": (None, center.id)}
    record_change(
        session, actor, f"町名「{name}」→ {center.name}を登録", "town_centers", town.id, fields, new=True
    )
    return town


def delete_town(session: Session, actor: User | None, town: TownCenter) -> None:
    fields = {"town_name": (town.town_name, None), "center_id": (town.center_id, None)}
    summary = f"町名「{town.town_name}」を削除"
    row_id = town.id
    session.delete(town)
    session.flush()
    record_change(session, actor, summary, "town_centers", row_id, fields, deleted=True)


# --- service profiles --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRow:
    category: Category
    profile: ServiceProfile | None
    attribute_count: int


def service_rows(session: Session) -> list[ServiceRow]:
    """Each active category with its profile and how many questions it asks: three queries."""
    categories = session.scalars(select(Category).where(Category.active).order_by(Category.sort_order)).all()
    profiles = {p.category_id: p for p in session.scalars(select(ServiceProfile))}
    counts = dict(
        session.execute(
            select(ServiceAttribute.category_id, func.count(ServiceAttribute.id)).group_by(
                ServiceAttribute.category_id
            )
        ).all()
    )
    return [ServiceRow(c, profiles.get(c.id), counts.get(c.id, 0)) for c in categories]


def profile_of(session: Session, category: Category) -> ServiceProfile | None:
    return session.get(ServiceProfile, category.id)


def save_profile(
    session: Session, actor: User | None, category: Category, fields: dict[str, Any]
) -> ServiceProfile:
    """Description, keywords (comma separated) and group of an active category's service."""
    if not category.active:
        raise WorkflowError(
            "分野「%(name)s」は無効のため、サービスの説明は編集できません。", name=category.name
        )
    description = _text(fields.get("description"), "description", N_("説明"), 2000)
    keywords = ",".join(
        word.strip()
        for word in _text(
            fields.get("keywords"), "keywords", N_("キーワード"), _length(ServiceProfile, "keywords")
        )
        .replace("、", ",")
        .split(",")
        if word.strip()
    )
    group = _text(fields.get("group"), "group", N_("グループ"), _length(ServiceProfile, "group"))
    profile = session.get(ServiceProfile, category.id)
    new = profile is None
    old = ("", "", "") if new else (profile.description, profile.keywords, profile.group)
    if not new and old == (description, keywords, group):
        raise WorkflowError("変更はありません。")
    if new:
        profile = ServiceProfile(category_id=category.id)
        session.add(profile)
    profile.description, profile.keywords, profile.group = description, keywords, group
    session.flush()
    changed = {
        name: (before, after)
        for name, before, after in zip(
            ("description", "keywords", "group"), old, (description, keywords, group), strict=True
        )
        if before != after
    }
    record_change(
        session,
        actor,
        f"サービス「{category.name}」の説明を更新",
        "service_profiles",
        category.id,
        changed,
        new=new,
    )
    return profile


# --- service attributes ------------------------------------------------------------------------


def attributes_of(session: Session, category_id: int) -> Sequence[ServiceAttribute]:
    return session.scalars(
        select(ServiceAttribute)
        .where(ServiceAttribute.category_id == category_id)
        .order_by(ServiceAttribute.order, ServiceAttribute.id)
    ).all()


def parse_values(text: Any) -> list[dict[str, str]]:
    """``key=name`` one a line (a line without ``=`` is its own key and name)."""
    values, keys = [], set()
    for line in (text if isinstance(text, str) else "").splitlines():
        line = line.strip()
        if not line:
            continue
        key, _, name = line.partition("=")
        key, name = key.strip(), (name.strip() or key.strip())
        if not key or len(key) > 100 or len(name) > 200:
            raise FieldError(
                "values",
                "選択肢「%(line)s」は key=名前 の形 (key 100文字、名前 200文字以内) にしてください。",
                line=line[:40],
            )
        if key in keys:
            raise FieldError("values", "選択肢の key「%(key)s」が重複しています。", key=key)
        keys.add(key)
        values.append({"key": key, "name": name})
    if len(values) > MAX_VALUES:
        raise FieldError("values", "選択肢は%(max_values)s個までにしてください。", max_values=MAX_VALUES)
    return values


def values_text(values: list) -> str:
    return "\n".join(f"{value['key']}={value['name']}" for value in values or [])


def _order(value: Any) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not -10_000 <= value <= 10_000:
        raise FieldError("order", "表示順は-10,000〜10,000の整数で入力してください。")
    return value


def _attribute_fields(
    session: Session, attribute: ServiceAttribute, fields: dict[str, Any]
) -> dict[str, Any]:
    code = fields.get("code") if isinstance(fields.get("code"), str) else ""
    code = code.strip()
    if not CODE.fullmatch(code):
        raise FieldError("code", "コードは半角英数字と _ の50文字以内で入力してください。")
    taken = select(ServiceAttribute.id).where(
        ServiceAttribute.category_id == attribute.category_id, ServiceAttribute.code == code
    )
    if attribute.id is not None:
        taken = taken.where(ServiceAttribute.id != attribute.id)
    if session.execute(taken).first():
        raise FieldError("code", "コード「%(code)s」はこの分野に既にあります。", code=code)
    datatype = fields.get("datatype")
    if datatype not in ServiceAttribute.DATATYPES:
        raise FieldError("datatype", "データ型を一覧から選んでください。")
    values = parse_values(fields.get("values"))
    if datatype in LIST_TYPES and not values:
        raise FieldError("values", "選択肢のデータ型には選択肢を1つ以上入力してください。")
    if datatype not in LIST_TYPES and values:
        raise FieldError("values", "選択肢は singlevaluelist / multivaluelist のときだけ入力します。")
    return {
        "code": code,
        "datatype": datatype,
        "required": bool(fields.get("required")),
        "description": _text(fields.get("description"), "description", N_("質問 (説明)"), 200, required=True),
        "datatype_description": _text(
            fields.get("datatype_description"), "datatype_description", N_("データ型の説明"), 200
        ),
        "order": _order(fields.get("order")),
        "values": values,
    }


def add_attribute(
    session: Session, actor: User | None, category: Category, fields: dict[str, Any]
) -> ServiceAttribute:
    """A question the category's service definition asks."""
    if not category.active:
        raise WorkflowError("分野「%(name)s」は無効のため、質問は追加できません。", name=category.name)
    attribute = ServiceAttribute(category_id=category.id)
    values = _attribute_fields(session, attribute, fields)
    for name, value in values.items():
        setattr(attribute, name, value)
    session.add(attribute)
    session.flush()
    changes = {name: (None, value) for name, value in values.items()}
    summary = f"サービス「{category.name}」に質問「{values['code']}」を追加"
    record_change(session, actor, summary, "service_attributes", attribute.id, changes, new=True)
    return attribute


def update_attribute(
    session: Session, actor: User | None, attribute: ServiceAttribute, fields: dict[str, Any]
) -> None:
    values = _attribute_fields(session, attribute, fields)
    changes = {
        name: (getattr(attribute, name), value)
        for name, value in values.items()
        if getattr(attribute, name) != value
    }
    if not changes:
        raise WorkflowError("変更はありません。")
    for name, value in values.items():
        setattr(attribute, name, value)
    session.flush()
    summary = f"サービス「{attribute.category.name}」の質問「{values['code']}」を更新"
    record_change(session, actor, summary, "service_attributes", attribute.id, changes)


def delete_attribute(session: Session, actor: User | None, attribute: ServiceAttribute) -> None:
    names = ("code", "datatype", "required", "description", "datatype_description", "order", "values")
    changes = {name: (getattr(attribute, name), None) for name in names}
    summary = f"サービス「{attribute.category.name}」の質問「{attribute.code}」を削除"
    row_id = attribute.id
    session.delete(attribute)
    session.flush()
    record_change(session, actor, summary, "service_attributes", row_id, changes, deleted=True)
