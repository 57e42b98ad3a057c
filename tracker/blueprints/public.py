"""The public pages (no login): the ward issues each ward has chosen to publish, and their feed.

What is shown, and what never is (personal data, staff names), is decided by
``tracker.reporting.public``: an id that is not published answers 404, exactly like an id
that does not exist, so that ids of unpublished issues do not leak. Pages for anonymous
visitors may be kept by caches for a few minutes; a page seen by a logged-in user carries the
user's name in its header and is never stored.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..formatting import fiscal_year_label, thousand_yen
from ..models import WardIssue, utcnow
from ..reporting import public
from .common import paginate

bp = Blueprint("public", __name__, url_prefix="/public")

CACHE_SECONDS = 300
ATOM = "http://www.w3.org/2005/Atom"
ATOM_MIMETYPE = "application/atom+xml"
TAG_DATE = "2024"  # the date in the tag: URIs of the feed and its entries; never change it


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
    counts = public.request_counts(db.session, [issue.id for issue in page.items])
    html = render_template(
        "public/index.html", page=page, wards=wards, years=years, ward_id=ward_id, year=year, counts=counts
    )
    return _cacheable(Response(html))


@bp.route("/issues/<int:issue_id>")
def issue(issue_id: int):
    found = public.published_issue(db.session, issue_id)
    if found is None:
        abort(404)
    counts = public.request_counts(db.session, [found.id])
    return _cacheable(
        Response(render_template("public/issue.html", issue=found, count=counts.get(found.id, 0)))
    )


def _tag(specific: str) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"tag:{host},{TAG_DATE}:{specific}"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(issue: WardIssue, count: int) -> str:
    parts = [f"{issue.ward.name}・{fiscal_year_label(issue.fiscal_year)}", f"状態: {issue.state.label}"]
    if issue.lead_bureau:
        parts.append(f"主管局: {issue.lead_bureau.name}")
    if issue.decision:
        parts.append(f"協議結果: {issue.decision.label}")
    if issue.current_budget_lines:
        parts.append(f"予算額: {thousand_yen(public.budget_yen(issue))}")
    elif issue.within_existing_budget:
        parts.append("既存予算内で対応")
    if count:
        parts.append(f"まとめた要望: {count}件")
    return "。".join(parts) + "。"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


@bp.route("/feed.atom")
def feed():
    """Atom 1.0 (RFC 4287): the latest published issues, newest change first."""
    issues = public.latest_published(db.session)
    counts = public.request_counts(db.session, [issue.id for issue in issues])
    city = current_app.config["CITY_NAME"]
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "ja"})
    _sub(root, "id", _tag("ward-issues"))
    _sub(root, "title", f"{city} 区重要課題 (公開分)")
    _sub(root, "subtitle", f"{city}の各区が公開した区重要課題と、その協議結果・予算化・進捗")
    _sub(root, "updated", _stamp(issues[0].updated_at if issues else utcnow()))
    _sub(root, "link", rel="self", type=ATOM_MIMETYPE, href=url_for("public.feed", _external=True))
    _sub(root, "link", rel="alternate", type="text/html", href=url_for("public.index", _external=True))
    author = _sub(root, "author")
    _sub(author, "name", city)
    for issue in issues:
        entry = _sub(root, "entry")
        _sub(entry, "id", _tag(f"ward-issue/{issue.id}"))
        _sub(entry, "title", f"{issue.reference} {issue.title}")
        _sub(entry, "updated", _stamp(issue.updated_at))
        _sub(entry, "published", _stamp(issue.created_at))
        href = url_for("public.issue", issue_id=issue.id, _external=True)
        _sub(entry, "link", rel="alternate", type="text/html", href=href)
        _sub(entry, "summary", _summary(issue, counts.get(issue.id, 0)), type="text")
        _sub(entry, "category", term=issue.ward.name)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return _cacheable(Response(body, mimetype=ATOM_MIMETYPE))
