"""The city-wide 事例集 (good-practice library): every staff member, in every role, searches and
filters it. Marking an issue as a good practice is a workflow action on the issue (``ward``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..finding import listing, practices

bp = Blueprint("practices", __name__)


@bp.route("/practices/")
@login_required
def index():
    choices = practices.choices(db.session)
    flt = listing.parse(request.args, practices.LIBRARY, choices, me=current_user.id)
    size = current_app.config.get("PAGE_SIZE", practices.PAGE_SIZE)
    page, entries = practices.library_page(db.session, current_user, flt, size=size)

    def list_url(params: dict | None = None, **more) -> str:
        return url_for("practices.index", **{**(flt.params() if params is None else params), **more})

    return render_template(
        "practices/index.html", page=page, entries=entries, flt=flt, choices=choices, list_url=list_url
    )
