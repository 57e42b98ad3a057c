"""What apps read from the Open311 GeoReport v2 server: discovery, services, requests, updates.

Each route is served at ``.json`` and ``.xml`` (the format is the path's suffix; another suffix
names no route, a 404). Every answer is public: no key is needed to read, and no record carries
personal data (``tracker.open311.records``). The OpenAPI document and its page are here too.
"""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request, url_for

from ..extensions import db
from ..formatting import today_in_tokyo
from ..open311 import openapi, records, services, updates
from .api import bp
from .open311_common import PREFIX, answer, parameter


def _both(path: str):
    """Route a view at ``path.json`` and ``path.xml``."""

    def decorate(view):
        view = bp.route(f"{PREFIX}{path}.xml")(view)
        return bp.route(f"{PREFIX}{path}.json")(view)

    return decorate


@_both("discovery")
def discovery():
    base = request.url_root.rstrip("/") + PREFIX
    return answer("discovery", None, services.discovery(base))


@_both("services")
def service_list():
    return answer("services", "service", services.service_list(db.session))


@_both("services/<service_code>")
def service_definition(service_code: str):
    return answer("service_definition", None, services.service_definition(db.session, service_code))


@_both("requests")
def request_list():
    found = records.find_requests(
        db.session,
        ids=parameter("service_request_id"),
        service_code=parameter("service_code"),
        start=parameter("start_date"),
        end=parameter("end_date"),
        status=parameter("status"),
        page=parameter("page"),
        page_size=parameter("page_size"),
        today=today_in_tokyo(),
    )
    return answer("service_requests", "request", found)


@_both("requests/<service_request_id>")
def request_record(service_request_id: str):
    return answer("service_requests", "request", [records.find_request(db.session, service_request_id)])


@_both("servicerequestupdates")
def request_updates():
    found = updates.request_updates(
        db.session, start=parameter("start_date"), end=parameter("end_date"), today=today_in_tokyo()
    )
    return answer("service_request_updates", "request_update", found)


@bp.route(f"{PREFIX}openapi.json")
def openapi_document():
    server = request.url_root.rstrip("/")
    return jsonify(openapi.document(server, current_app.config["OPEN311_JURISDICTION_ID"]))


@bp.route(f"{PREFIX}docs")
def openapi_page():
    return render_template("api/docs.html", document_url=url_for("api.openapi_document"))
