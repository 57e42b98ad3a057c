"""``GET discovery``, ``GET services`` and ``GET services/{code}``: what the city offers to apps.

A service is an active category (分野); its ``service_code`` is the category's id. Its
description, keywords and group come from the category's ``ServiceProfile`` when admin wrote
one; ``metadata`` is true when the category asks extra questions (``ServiceAttribute`` rows),
which its service definition lists.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Category
from ..open311_models import ServiceAttribute, ServiceProfile
from .errors import Open311Error
from .render import FORMATS

CHANGESET = "2026-12-02T00:00:00+09:00"  # when the list of endpoints below last changed
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def service_list(session: Session) -> list[dict]:
    """One service per active category, in the city's order; two queries."""
    rows = session.execute(
        select(Category, ServiceProfile)
        .outerjoin(ServiceProfile, ServiceProfile.category_id == Category.id)
        .where(Category.active.is_(True))
        .order_by(Category.sort_order, Category.id)
    ).all()
    asking = set(session.scalars(select(ServiceAttribute.category_id).distinct()))
    return [
        {
            "service_code": str(category.id),
            "service_name": category.name,
            "description": (profile.description if profile else "") or category.name,
            "metadata": category.id in asking,
            "type": "realtime",
            "keywords": (profile.keywords if profile else "") or None,
            "group": (profile.group if profile else "") or None,
        }
        for category, profile in rows
    ]


def _active_category(session: Session, code: str) -> Category:
    category = None
    if code.isascii() and code.isdigit() and len(code) < 10:
        category = session.get(Category, int(code))
    if category is None or not category.active:
        raise Open311Error(404, f"service_code not found: {code[:40]} (該当するサービスはありません)")
    return category


def service_definition(session: Session, code: str) -> dict:
    """The category's questions, in their order; 404 for an unknown or inactive category."""
    category = _active_category(session, code)
    attributes = session.scalars(
        select(ServiceAttribute)
        .where(ServiceAttribute.category_id == category.id)
        .order_by(ServiceAttribute.order, ServiceAttribute.id)
    )
    return {
        "service_code": str(category.id),
        "attributes": [
            {
                "variable": True,
                "code": attribute.code,
                "datatype": attribute.datatype,
                "required": attribute.required,
                "datatype_description": attribute.datatype_description or None,
                "order": attribute.order,
                "description": attribute.description,
                "values": [
                    {"key": str(value.get("key", "")), "name": str(value.get("name", ""))}
                    for value in attribute.values or []
                ],
            }
            for attribute in attributes
        ],
    }


def discovery(base_url: str, contact: str = "") -> dict:
    """Where the API is (``base_url``: the absolute URL of ``/open311/v2/``) and what it speaks."""
    return {
        "changeset": CHANGESET,
        "contact": contact or None,
        "key_service": "APIキーは市の地域政策課が発行します (API keys are issued by the city).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": [f"text/{fmt}" if fmt == "xml" else f"application/{fmt}" for fmt in FORMATS],
            }
        ],
    }
