"""The record of the admin's changes: accounts, roles, master data, ward fund allocations, the city's
settings and its budget calendar.

Workflow actions write their history events through ``workflow.apply``; the admin's changes
go through the services in ``accounts`` and ``masterdata_admin`` instead, and were invisible
afterwards (who gave whom the ward manager role, who set a ward's まちづくり推進経費). Before the
admin's change is committed, ``recording`` collects what each flush writes to these tables
and appends one history event (no subject, action ``admin_change``) holding, per
row, the fields changed with their old and new values. Password hashes, session versions and
second-factor secrets are never copied: the event only says that they changed. (Recovery
codes are not recorded at all: a reset deletes them, and the change of ``user_mfa`` says so.)
The event is hash-chained like every other one, so the record cannot be edited quietly either.

The admin's audit pages read such logs here: the events of one action (``action_events``) and the
users they can be filtered by (``actor_choices``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Row, Select, event, inspect, select
from sqlalchemy.orm import MANYTOONE, Session, joinedload

from ..activity_models import ActivityKind, CommunityOrganisation
from ..models import Bureau, Category, Center, HistoryEvent, User, Ward, WardFund
from ..monitoring_models import BudgetCalendar
from ..ops_models import CitySetting, UserMfa
from ..states import Role
from ..teamwork_models import AnswerTemplate
from ..wording import N_
from . import security_log

ACTION = "admin_change"
RECORDED = (
    User,
    UserMfa,
    Ward,
    Center,
    Bureau,
    Category,
    WardFund,
    CitySetting,
    BudgetCalendar,
    ActivityKind,
    CommunityOrganisation,
    AnswerTemplate,  # a ward's answer templates (tracker.city.answer_templates)
)
SECRET_FIELDS = frozenset({"password_hash", "session_version", "secret", "last_used_step"})
SKIPPED_FIELDS = frozenset({"id", "created_at"})
PENDING_KEY = "admin_log_pending"
TABLE_LABELS = {
    "users": N_("ユーザー"),
    "user_mfa": N_("二段階認証"),
    "wards": N_("区"),
    "centers": N_("まちづくりセンター"),
    "bureaus": N_("局"),
    "categories": N_("分野"),
    "ward_funds": N_("まちづくり推進経費"),
    "city_settings": N_("市の設定"),
    "budget_calendars": N_("予算編成スケジュール"),
    "activity_kinds": N_("活動区分"),
    "community_organisations": N_("地域団体"),
    "answer_templates": N_("定型文"),
    # written by tracker.open311 (changes.record_change), shown on the same page
    "api_keys": N_("APIキー"),
    "town_centers": N_("町名とセンター"),
    "service_profiles": N_("サービスの説明"),
    "service_attributes": N_("サービスの質問"),
}
FIELD_LABELS = {
    "login": N_("ログインID"),
    "display_name": N_("氏名"),
    "email": N_("メール"),
    "role": N_("役割"),
    "ward_id": N_("区"),
    "center_id": N_("センター"),
    "bureau_id": N_("局"),
    "active": N_("有効"),
    "must_change_password": N_("初回パスワード変更"),
    "password_hash": N_("パスワード"),
    "session_version": N_("ログイン中のセッション"),
    "user_id": N_("ユーザー"),
    "secret": N_("認証アプリの鍵"),
    "confirmed_at": N_("設定の確認日時"),
    "last_used_step": N_("最後に使われたコード"),
    "locale": N_("言語"),
    "email_notifications": N_("メール通知"),
    "name": N_("名称"),
    "code": N_("コード"),
    "note": N_("備考"),
    "population": N_("人口"),
    "households": N_("世帯数"),
    "area_km2": N_("面積 (km²)"),
    "sort_order": N_("表示順"),
    "fiscal_year": N_("年度"),
    "allocated_yen": N_("配分額 (円)"),
    "key": N_("設定"),
    "value": N_("値"),
    "budget_year": N_("予算の年度"),
    "send_by": N_("局への送付期限"),
    "results_by": N_("協議結果の期限"),
    "decided_on": N_("予算の決定日"),
    "updated_by_id": N_("更新者"),
    "group": N_("見出し"),
    "kind": N_("種類"),
    "key_prefix": N_("キーの先頭"),
    "rate_limit_per_minute": N_("1分あたりの上限"),
    "revoked_at": N_("無効化日時"),
    "town_name": N_("町名"),
    "description": N_("説明"),
    "keywords": N_("キーワード"),
    "datatype": N_("データ型"),
    "required": N_("必須"),
    "datatype_description": N_("データ型の説明"),
    "order": N_("表示順"),
    "values": N_("選択肢"),
    # answer templates (定型文)
    "title": N_("題名"),
    "body": N_("本文"),
    "position": N_("並び順"),
    "created_by_id": N_("作成者"),
}


def _plain(value: Any) -> Any:
    """A value as JSON can hold it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _changed_fields(entry, new: bool) -> dict[str, list]:
    """``{field: [old, new]}`` of the columns this flush will write; secrets only as changed.

    A many-to-one set through its relationship (``user.bureau = ...``) only reaches its
    foreign-key column during the flush, so it is read from the relationship and reported
    under the column's name.
    """
    state = inspect(entry)
    fields: dict[str, list] = {}
    for column in state.mapper.column_attrs:
        name = column.key
        history = state.attrs[name].history
        if name in SKIPPED_FIELDS or not (history.has_changes() or new):
            continue
        old = None if new or not history.deleted else _plain(history.deleted[0])
        value = _plain(getattr(entry, name))
        if value is not None and old != value:
            fields[name] = ["(変更)", "(変更)"] if name in SECRET_FIELDS else [old, value]
        elif value is None and old is not None:
            fields[name] = ["(変更)", None] if name in SECRET_FIELDS else [old, None]
    for relation in state.mapper.relationships:
        history = state.attrs[relation.key].history
        if relation.direction is not MANYTOONE or not history.has_changes():
            continue
        name = next(iter(relation.local_columns)).key
        old = None if new or not history.deleted or history.deleted[0] is None else history.deleted[0].id
        target = getattr(entry, relation.key)
        value = target.id if target is not None else None
        if old != value:
            fields[name] = [old, value]
    return fields


@contextmanager
def recording(session: Session, actor: User, summary: str) -> Iterator[None]:
    """Record what the block writes to the admin's tables as one history event by ``actor``.

    The services flush as they go (to surface unique-key errors early), so the changes are
    collected at each flush; the event is appended when the block ends without an error.
    """
    session.info[PENDING_KEY] = {}
    try:
        yield
        session.flush()
        _append_event(session, actor, summary, session.info[PENDING_KEY])
    finally:
        session.info.pop(PENDING_KEY, None)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    pending = session.info.get(PENDING_KEY)
    if pending is None:
        return
    for entry in (*session.new, *session.dirty):
        if not isinstance(entry, RECORDED):
            continue
        new = entry in session.new
        fields = _changed_fields(entry, new)
        if not fields:
            continue
        earlier = pending.setdefault(id(entry), (entry, new, {}))
        for name, (old, value) in fields.items():
            first_old = earlier[2][name][0] if name in earlier[2] else old
            earlier[2][name] = [first_old, value]


def _append_event(session: Session, actor: User, summary: str, pending: dict) -> HistoryEvent | None:
    if not pending:
        return None
    changes = [
        {"table": entry.__tablename__, "id": inspect(entry).identity[0], "new": new, "fields": fields}
        for entry, new, fields in pending.values()
    ]
    logged = HistoryEvent(
        actor=actor,
        actor_role=actor.role.value,
        action=ACTION,
        comment=summary,
        data={"changes": changes},
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(logged)
    session.flush()
    security_log.record(
        session,
        security_log.ADMIN_CHANGE,
        user=actor,
        detail={"history_event_id": logged.id, "tables": sorted({change["table"] for change in changes})},
    )
    return logged


# --- reading the logs ----------------------------------------------------------------------


def action_events(action: str, actor_id: int | None = None) -> Select:
    """The history events of one ``action`` (no subject), newest first, optionally by one actor."""
    statement = (
        select(HistoryEvent)
        .options(joinedload(HistoryEvent.actor))
        .where(HistoryEvent.action == action)
        .order_by(HistoryEvent.id.desc())
    )
    if actor_id:
        statement = statement.where(HistoryEvent.actor_id == actor_id)
    return statement


def actor_choices(session: Session, roles: tuple[Role, ...] = ()) -> Sequence[Row]:
    """(id, login, display name) of the users a log can be filtered by, of ``roles`` if given."""
    statement = select(User.id, User.login, User.display_name).order_by(User.login)
    if roles:
        statement = statement.where(User.role.in_(roles))
    return session.execute(statement).all()
