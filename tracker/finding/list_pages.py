"""The list pages and their exports: one function a view calls (``show``), and the export columns.

- ``show`` parses the filters (``tracker.finding.listing``), and either renders one keyset page or,
  with ``?format=csv`` / ``?format=xlsx``, exports EVERY matching row (the same filters, scope
  and order as on screen) through ``tracker.finding.exports``.
- An export is recorded before its first byte leaves (``exports.record_export``: who, which
  list, the filters, the row count, the format) and committed. Residents' names and contacts
  are in it only when asked for (``personal=1``, the 「個人情報を含める」 box) AND the user may
  see them (liaisons and ward managers of the ward, the admin; never bureau staff); then one
  ``PersonalDataAccess`` row ("export") is written per exported request that carries them,
  by one INSERT ... SELECT, so a long export costs no more memory than a short one.
- Rows are streamed with ``yield_per`` (a server-side cursor on PostgreSQL), eager-loaded per
  batch, so memory stays flat and the number of queries does not grow with the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import ColumnElement, Integer, Select, String, func, insert, literal, or_, select, true

from ..extensions import db
from ..formatting import TOKYO, today_in_tokyo
from ..models import ServiceRequest, User, UTCDateTime, utcnow
from ..ops_models import PersonalDataAccess
from ..safeguards import personal_data
from ..states import Role
from ..wording import N_
from ..wording import translate as _t
from . import app_sources, exports, keyset, list_choices, listing

STREAM_BATCH = 500  # rows fetched (and eager-loaded) at a time while exporting
FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel (xlsx)"}


# --- columns ---------------------------------------------------------------------------------


def _moment(value: dt.datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(value) -> str:
    return value.label if value is not None else ""


def request_columns(
    personal: bool, user: User, names: app_sources.AppNames | None = None
) -> list[exports.Column]:
    """The export's columns; ``names`` (filled batch by batch as the rows stream) gives an app
    request's 「アプリ (key name)」 as its 要望元 and its 登録者."""
    Column = exports.Column
    names = names or app_sources.AppNames(db.session)
    columns = [
        Column(_t(N_("受付番号")), lambda r: r.reference),
        Column(_t(N_("年度")), lambda r: r.fiscal_year),
        Column(_t(N_("件名")), lambda r: r.title),
        Column(_t(N_("内容")), lambda r: r.description),
        Column(_t(N_("区")), lambda r: r.ward.name),
        Column(_t(N_("センター")), lambda r: r.center.name),
        Column(_t(N_("分野")), lambda r: r.category.name),
        Column(_t(N_("要望元")), names.source_label),
        Column(_t(N_("団体・組織")), lambda r: r.organisation),
        Column(_t(N_("場所")), lambda r: r.location_text),
        Column(_t(N_("受付日")), lambda r: r.received_on),
        Column(_t(N_("回答期限")), lambda r: r.answer_due_on),
        Column(_t(N_("状態")), lambda r: _label(r.state)),
        Column(_t(N_("回付先")), lambda r: r.referred_to),
        Column(_t(N_("区重要課題")), lambda r: r.ward_issue.reference if r.ward_issue else ""),
        Column(_t(N_("回答日")), lambda r: r.answered_on),
        Column(_t(N_("回答区分")), lambda r: _label(r.answer_kind)),
        Column(_t(N_("回答内容")), lambda r: r.answer_text),
        Column(_t(N_("緊急度")), lambda r: _label(r.priority)),
        Column(_t(N_("担当者")), lambda r: r.assignee.display_name if r.assignee else ""),
        Column(_t(N_("登録者")), names.logged_by_label),
        Column(_t(N_("更新日時")), lambda r: _moment(r.updated_at)),
    ]
    if personal:

        def shown(name: str):
            return lambda r: getattr(r, name) if personal_data.may_reveal(user, r) else ""

        columns += [
            Column(personal_data.FIELD_LABELS["requester_name"], shown("requester_name")),
            Column(personal_data.FIELD_LABELS["requester_contact"], shown("requester_contact")),
        ]
    return columns


def issue_columns() -> list[exports.Column]:
    Column = exports.Column
    return [
        Column(_t(N_("番号")), lambda i: i.reference),
        Column(_t(N_("年度")), lambda i: i.fiscal_year),
        Column(_t(N_("区")), lambda i: i.ward.name),
        Column(_t(N_("件名")), lambda i: i.title),
        Column(_t(N_("現状と課題")), lambda i: i.situation),
        Column(_t(N_("対応案")), lambda i: i.proposal),
        Column(_t(N_("状態")), lambda i: _label(i.state)),
        Column(_t(N_("主管局")), lambda i: i.lead_bureau.name if i.lead_bureau else ""),
        Column(_t(N_("関係局")), lambda i: "、".join(b.name for b in i.related_bureaus)),
        Column(_t(N_("区の担当者")), lambda i: i.ward_owner.display_name if i.ward_owner else ""),
        Column(_t(N_("局の担当者")), lambda i: i.bureau_owner.display_name if i.bureau_owner else ""),
        Column(_t(N_("協議結果")), lambda i: _label(i.decision)),
        Column(_t(N_("協議結果の理由")), lambda i: i.decision_reason),
        Column(_t(N_("協議結果の日")), lambda i: i.decided_on),
        Column(_t(N_("次回協議予定日")), lambda i: i.next_review_on),
        Column(_t(N_("予算額 (円)")), lambda i: sum(line.allocated_yen for line in i.current_budget_lines)),
        Column(
            _t(N_("決算額 (円)")), lambda i: sum(line.executed_yen or 0 for line in i.current_budget_lines)
        ),
        Column(_t(N_("既存予算内")), lambda i: i.within_existing_budget),
        Column(_t(N_("成果")), lambda i: i.outcome),
        Column(_t(N_("公開")), lambda i: i.is_public),
        Column(_t(N_("局へ送付")), lambda i: _moment(i.sent_at)),
        Column(_t(N_("更新日時")), lambda i: _moment(i.updated_at)),
    ]


# --- exporting -------------------------------------------------------------------------------


def may_export_personal(user: User) -> bool:
    """The roles that may take residents' personal data out of a list (never bureau staff)."""
    allowed = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
    return user.is_authenticated and user.active and user.role in allowed


def streamed(statement: Select, batch: int = STREAM_BATCH) -> Iterator[Any]:
    """The statement's entities, fetched ``batch`` at a time (server-side cursor on PostgreSQL)."""
    result = db.session.execute(statement.execution_options(yield_per=batch))
    try:
        yield from result.scalars()
    finally:
        result.close()


def record_personal_export(user: User, where: Sequence[ColumnElement[bool]], ip: str | None) -> int:
    """One ``PersonalDataAccess`` ("export") per matching request that carries personal data,
    inserted by the database itself (INSERT ... SELECT); how many rows were written."""
    # the same requests as ``personal_data.may_reveal``: the user's ward's, and those handed to it
    own_ward = (
        or_(ServiceRequest.ward_id == user.ward_id, ServiceRequest.handover_ward_id == user.ward_id)
        if user.role in (Role.LIAISON, Role.WARD_MANAGER)
        else true()
    )
    source = select(
        literal(user.id, Integer),
        literal(user.role.value, String),
        ServiceRequest.id,
        literal(personal_data.EXPORT, String),
        literal(utcnow(), UTCDateTime()),
        literal((ip or "")[:45], String),
    ).where(
        *where,
        own_ward,
        or_(*(getattr(ServiceRequest, name) != "" for name in personal_data.FIELDS)),
    )
    names = ["user_id", "role", "request_id", "action", "created_at", "ip"]
    # The Core table, not the ORM entity: the ORM's bulk INSERT would not report a row count.
    result = db.session.execute(insert(PersonalDataAccess.__table__).from_select(names, source))
    if result.rowcount is not None and result.rowcount >= 0:
        return result.rowcount
    return db.session.execute(select(func.count()).select_from(source.subquery())).scalar_one()


def export(
    fmt: str,
    *,
    model,
    statement: Select,
    where: Sequence[ColumnElement[bool]],
    what: str,
    filename: str,
    filters: dict,
    personal_asked: bool = False,
):
    """Record the export (and any personal data in it), commit, then send every row."""
    user = current_user._get_current_object()
    personal = model is ServiceRequest and personal_asked and may_export_personal(user)
    total = db.session.execute(select(func.count(model.id)).where(*where)).scalar_one()
    record = dict(filters, personal=personal)
    if personal:
        record["personal_rows"] = record_personal_export(user, where, request.remote_addr)
    exports.record_export(db.session, user, what, fmt, total, record)
    db.session.commit()
    name = f"{filename}_{today_in_tokyo():%Y%m%d}"
    if model is not ServiceRequest:
        return exports.response(fmt, name, issue_columns(), streamed(statement), what)
    names = app_sources.AppNames(db.session)
    rows = names.batched(streamed(statement), STREAM_BATCH)
    return exports.response(fmt, name, request_columns(personal, user, names), rows, what)


def export_fixed(base: Select, model, what: str, filename: str):
    """The export of a work queue (``field.queue``, ``ward.triage``): its own scope and order."""
    scope = base.whereclause if base.whereclause is not None else true()
    return export(
        request.args["format"],
        model=model,
        statement=base,
        where=[scope],
        what=what,
        filename=filename,
        filters={},
        personal_asked=request.args.get("personal") == "1",
    )


def wanted_format() -> str | None:
    """``csv`` or ``xlsx`` when the URL asks for an export of a known format."""
    fmt = request.args.get("format")
    return fmt if fmt in exports.FORMATS else None


# --- the page --------------------------------------------------------------------------------


def show(
    spec: listing.ListSpec,
    base: Select,
    *,
    template: str,
    endpoint: str,
    what: str,
    filename: str,
    extra: dict | None = None,
    **context,
):
    """A list page (one keyset page of the filtered rows) or, with ``?format=``, its export."""
    extra = extra or {}
    user = current_user._get_current_object()
    choices = list_choices.choices_for(db.session, user, spec)
    flt = listing.parse(request.args, spec, choices, me=user.id)
    fmt = request.args.get("format")
    if fmt and fmt not in exports.FORMATS:
        flt.notices.append(_t(N_("出力形式が不正なため、一覧を表示しています。")))
    elif fmt:
        today = today_in_tokyo()
        scope = base.whereclause if base.whereclause is not None else true()
        return export(
            fmt,
            model=spec.model,
            statement=keyset.ordered(base, flt, today),
            where=[scope, *keyset.conditions(flt, today)],
            what=what,
            filename=filename,
            filters=dict(extra, **flt.as_record()),
            personal_asked=request.args.get("personal") == "1",
        )
    size = current_app.config.get("PAGE_SIZE", keyset.PAGE_SIZE)
    page = keyset.page(db.session, base, flt, size=size)

    def list_url(params: dict | None = None, **more) -> str:
        merged = {**extra, **(flt.params() if params is None else params), **more}
        return url_for(endpoint, **merged)

    hidden = [
        (name, item)
        for name, value in {**extra, **flt.params()}.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return render_template(
        template,
        page=page,
        flt=flt,
        choices=choices,
        list_url=list_url,
        hidden=hidden,
        chips=flt.chips(choices),
        may_export_personal=spec.model is ServiceRequest and may_export_personal(user),
        format_labels=FORMAT_LABELS,
        filter_labels=listing.FILTER_LABELS,
        direction_labels=listing.DIRECTION_LABELS,
        **context,
    )
