"""The request lists on a map (地図で見る): 区の要望 / 全要望, the liaison's queue, the triage.

Each list has a map page and a GeoJSON endpoint with the list's own roles, scope and filters:
the page keeps the list's query string and hands it to its GeoJSON, whose rows come from the
same scoped query (``tracker.finding.queries``) and, for 区の要望, the same filter functions
(``tracker.finding.geo.list_conditions``) as the list. What the GeoJSON holds, and never holds
(no personal data, no description, no staff names), is ``tracker.finding.geo``'s.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..finding import geo, queries
from ..states import Role
from .common import roles_required

bp = Blueprint("maps", __name__, url_prefix="/map")

LIST_ROLES = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
GEOJSON_MIMETYPE = "application/geo+json"


def _query_string() -> str:
    raw = request.query_string.decode("utf-8", "replace")
    return f"?{raw}" if raw else ""


def _page(title: str, list_endpoint: str, geojson_endpoint: str, notices: list[str] | None = None):
    """The map page: the list's query string kept for its GeoJSON and the link back to the list."""
    return render_template(
        "maps/requests.html",
        title=title,
        list_url=url_for(list_endpoint) + _query_string(),
        geojson_url=url_for(geojson_endpoint) + _query_string(),
        notices=notices or [],
    )


def _geojson(where) -> object:
    def url_of(request_id: int) -> str:
        return url_for("field.request_detail", request_id=request_id)

    response = jsonify(geo.request_features(db.session, where, url_of))
    response.mimetype = GEOJSON_MIMETYPE
    return response


def _list_where():
    """区の要望's scope and filters for this URL (the admin: every ward's requests)."""
    return geo.list_conditions(db.session, current_user, queries.requests_for(current_user), request.args)


@bp.route("/requests")
@roles_required(*LIST_ROLES)
def requests_map():
    flt = _list_where()[1]
    title = _("全要望の地図") if current_user.role == Role.ADMIN else _("区の要望の地図")
    return _page(title, "field.ward_requests", "maps.requests_geojson", flt.notices)


@bp.route("/requests.geojson")
@roles_required(*LIST_ROLES)
def requests_geojson():
    return _geojson(_list_where()[0])


@bp.route("/queue")
@roles_required(Role.LIAISON)
def queue_map():
    return _page(_("未回答の要望の地図"), "field.queue", "maps.queue_geojson")


@bp.route("/queue.geojson")
@roles_required(Role.LIAISON)
def queue_geojson():
    return _geojson([geo.scope_of(queries.open_requests_of_center(current_user.center_id))])


@bp.route("/triage")
@roles_required(Role.WARD_MANAGER)
def triage_map():
    return _page(_("振り分け中の要望の地図"), "ward.triage", "maps.triage_geojson")


@bp.route("/triage.geojson")
@roles_required(Role.WARD_MANAGER)
def triage_geojson():
    return _geojson([geo.scope_of(queries.triage_requests(current_user))])
