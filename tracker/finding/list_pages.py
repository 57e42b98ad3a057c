"""The list pages and their exports: one function a view calls (``show``).

- ``show`` parses the filters (``tracker.finding.listing``), and either renders one keyset page or,
  with ``?format=csv`` / ``?format=xlsx``, exports EVERY matching row (the same filters, scope
  and order as on screen: ``export_plans``) through ``deliver``.
- Up to ``EXPORT_INLINE_MAX_ROWS`` rows (a count that stops there: a LIMIT inside), the file is
  streamed as it is read (``export_rows``, ``exports.delivery``); past it, the export becomes a
  background job (``tracker.background.export_job``) and the user is sent to its page, which
  shows its progress and, when the file is complete, its download.
- An export is recorded when its file is complete (``exports.record_export``: who, which list,
  the filters, the rows actually written, the format): streamed, after the last chunk has been
  handed to the server, in a short transaction of its own, and never when the client went away
  half-way; by the job, in the transaction that marks it done. Residents' names and contacts
  are in it only when asked for (``personal=1``, the 「個人情報を含める」 box) AND the user may
  see them (liaisons and ward managers of the ward, the admin; never bureau staff); then one
  ``PersonalDataAccess`` row ("export") is written per exported request that carries them,
  by one INSERT ... SELECT, and committed before the first byte leaves.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select

from ..background import export_job
from ..extensions import db
from ..formatting import today_in_tokyo
from ..models import ServiceRequest, User
from ..wording import N_
from ..wording import translate as _t
from . import export_plans, export_rows, exports, keyset, list_choices, listing, request_rows

FORMAT_LABELS = {"csv": "CSV", "xlsx": "Excel (xlsx)"}


# --- exporting -------------------------------------------------------------------------------


def may_export_personal(user: User) -> bool:
    """The roles that may take residents' personal data out of a list (never bureau staff)."""
    return request_rows.may_export_personal(user)


def deliver(plan: export_plans.Plan, fmt: str, *, what: str, filename: str, personal: bool | None):
    """Send ``plan``'s export, or, past ``EXPORT_INLINE_MAX_ROWS`` rows, start it as a job.

    ``personal``: whether residents' personal data is in it (None: a list that has none, whose
    record says nothing about it). Streamed, the personal-data log is committed before the
    first byte, and the history event after the last, with the rows sent (``exports.delivery``).
    """
    user = current_user._get_current_object()
    threshold = current_app.config["EXPORT_INLINE_MAX_ROWS"]
    if export_plans.exports_in_background(request.endpoint) and plan.count(db.session, threshold) > threshold:
        row = export_job.request_export(
            db.session,
            user,
            endpoint=request.endpoint,
            pairs=list(request.args.items(multi=True)),
            fmt=fmt,
            what=what,
            filename=filename,
            personal=personal,
            ip=request.remote_addr,
        )
        db.session.commit()
        flash(
            _t(
                N_(
                    "件数が多いため、バックグラウンドで作成します。できあがったら、このページからダウンロードできます。"
                )
            ),
            "info",
        )
        return redirect(url_for("exports.job", outbox_id=row.id))
    record = dict(plan.filters) if personal is None else dict(plan.filters, personal=personal)
    if personal:
        record["personal_rows"] = request_rows.record_personal_export(
            db.session, user, plan.where, request.remote_addr
        )
        db.session.commit()
    headers, cells = export_rows.rows_of(db.session, user, plan, bool(personal))

    def recorded(rows: int) -> None:
        exports.record_export(db.session, user, what, fmt, rows, record)
        db.session.commit()

    name = f"{filename}_{today_in_tokyo():%Y%m%d}"
    return exports.delivery(fmt, name, headers, cells, _t(what), recorded)


def _personal(model) -> bool:
    user = current_user._get_current_object()
    return model is ServiceRequest and request.args.get("personal") == "1" and may_export_personal(user)


def export_fixed(base: Select, model, what: str, filename: str):
    """The export of a work queue (``field.queue``, ``ward.triage``): its own scope and order."""
    plan = export_plans.fixed_plan(base, model)
    return deliver(plan, request.args["format"], what=what, filename=filename, personal=_personal(model))


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
        plan = export_plans.list_plan(base, flt, today_in_tokyo(), extra)
        return deliver(plan, fmt, what=what, filename=filename, personal=_personal(spec.model))
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
