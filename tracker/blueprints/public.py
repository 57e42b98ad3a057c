"""The public pages (no login): the ward issues each ward has chosen to publish, and their feed.

What is shown, and what never is (internal texts, personal data, staff names), is decided by
``tracker.reporting.public``: the pages get an issue's approved public text (``IssuePublication``)
with the issue's facts, never the issue's internal texts. An id that is not published answers
404, exactly like an id that does not exist, so that ids of unpublished issues do not leak. The
feed is built with ElementTree, which escapes markup, and every text and attribute goes through
``xml_text``, which drops the characters XML 1.0 forbids, so the feed always parses. Pages for
anonymous visitors may be kept by caches for a few minutes; a page seen by a logged-in user
carries the user's name in its header and is never stored.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..formatting import fiscal_year_label
from ..models import utcnow
from ..monitoring_models import IssuePublication
from ..reporting import public
from .common import paginate

bp = Blueprint("public", __name__, url_prefix="/public")

CACHE_SECONDS = 300
ATOM = "http://www.w3.org/2005/Atom"
ATOM_MIMETYPE = "application/atom+xml"
TAG_DATE = "2024"  # the date in the tag: URIs of the feed and its entries; never change it
# What XML 1.0 does not allow in a document (§2.2 Char): control characters but tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF. ElementTree escapes & and <, not these.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _cacheable(response: Response) -> Response:
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response.vary.add("Cookie")
    return response


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdecimal() and len(raw) <= 9 else None


@bp.route("/")
def index():
    ward_id, year = _int_arg("ward"), _int_arg("year")
    page = paginate(public.published_issues(ward_id, year))
    wards = public.wards(db.session)
    years = public.published_years(db.session)
    counts = public.request_counts(db.session, [shown.ward_issue_id for shown in page.items])
    html = render_template(
        "public/index.html", page=page, wards=wards, years=years, ward_id=ward_id, year=year, counts=counts
    )
    return _cacheable(Response(html))


@bp.route("/issues/<int:issue_id>")
def issue(issue_id: int):
    found = public.published_issue(db.session, issue_id)
    if found is None:
        abort(404)
    counts = public.request_counts(db.session, [found.ward_issue_id])
    html = render_template("public/issue.html", shown=found, count=counts.get(found.ward_issue_id, 0))
    return _cacheable(Response(html))


@bp.route("/map")
def map_page():
    """The published issues on a map (each at the mean place of its requests)."""
    return _cacheable(Response(render_template("public/map.html")))


@bp.route("/map.geojson")
def map_geojson():
    """The public map's GeoJSON: published issues only, in their public words; nothing personal."""

    def url_of(issue_id: int) -> str:
        return url_for("public.issue", issue_id=issue_id)

    response = jsonify(public.published_places(db.session, url_of))
    response.mimetype = "application/geo+json"
    return _cacheable(response)


def xml_text(text: str) -> str:
    """``text`` without the characters an XML 1.0 document may not hold."""
    return _NOT_XML.sub("", text)


def _tag(specific: str) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"tag:{host},{TAG_DATE}:{specific}"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(shown: IssuePublication, count: int) -> str:
    """The entry's summary: the issue's facts and its approved public text, nothing else."""
    issue = shown.ward_issue
    parts = [
        f"{issue.ward.name}・{fiscal_year_label(issue.fiscal_year)}",
        _("状態: %(state)s", state=issue.state.label),
    ]
    if issue.lead_bureau:
        parts.append(_("主管局: %(bureau)s", bureau=issue.lead_bureau.name))
    for label, text in (
        (_("概要"), shown.summary),
        (_("協議結果"), shown.decision_text),
        (_("予算"), shown.budget_text),
        (_("進捗"), shown.progress_text),
        (_("結果"), shown.outcome),
    ):
        if text:
            parts.append(f"{label}: {text}")
    if count:
        parts.append(_("まとめた要望: %(count)s件", count=count))
    stop = _("。")
    return (stop.join(parts) + stop).strip()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """A child element; its text and attribute values cleared of what XML 1.0 forbids."""
    cleaned = {name: xml_text(value) for name, value in attributes.items()}
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", cleaned)
    if text is not None:
        element.text = xml_text(text)
    return element


@bp.route("/feed.atom")
def feed():
    """Atom 1.0 (RFC 4287): the latest published issues, newest approval first; always well-formed XML."""
    shown_issues = public.latest_published(db.session)
    counts = public.request_counts(db.session, [shown.ward_issue_id for shown in shown_issues])
    city = current_app.config["CITY_NAME"]
    ET.register_namespace("", ATOM)
    language = str(get_locale() or "ja")
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": language})
    _sub(root, "id", _tag("ward-issues"))
    _sub(root, "title", _("%(city)s 区重要課題 (公開分)", city=city))
    _sub(root, "subtitle", _("%(city)sの各区が公開した区重要課題と、その協議結果・予算化・進捗", city=city))
    _sub(root, "updated", _stamp(shown_issues[0].approved_at if shown_issues else utcnow()))
    _sub(root, "link", rel="self", type=ATOM_MIMETYPE, href=url_for("public.feed", _external=True))
    _sub(root, "link", rel="alternate", type="text/html", href=url_for("public.index", _external=True))
    author = _sub(root, "author")
    _sub(author, "name", city)
    for shown in shown_issues:
        issue = shown.ward_issue
        entry = _sub(root, "entry")
        _sub(entry, "id", _tag(f"ward-issue/{issue.id}"))
        _sub(entry, "title", f"{issue.reference} {shown.title}")
        _sub(entry, "updated", _stamp(shown.approved_at))
        _sub(entry, "published", _stamp(issue.created_at))
        href = url_for("public.issue", issue_id=issue.id, _external=True)
        _sub(entry, "link", rel="alternate", type="text/html", href=href)
        _sub(entry, "summary", _summary(shown, counts.get(issue.id, 0)), type="text")
        _sub(entry, "category", term=issue.ward.name)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return _cacheable(Response(body, mimetype=ATOM_MIMETYPE))
