"""JSON and XML answers of the GeoReport v2 spec, from plain Python values.

Both formats are built from the same list of dicts. XML follows the spec's element names: a
root (``services``, ``service_requests``, ``errors``, ``service_request_updates``, ...) holding one
element per item (``service``, ``request``, ``error``, ``request_update``, ...); a nested list
is named by the ``LIST_ITEMS`` table (``attributes`` → ``attribute``, ``values`` → ``value``,
``endpoints`` → ``endpoint``, ``formats`` → ``format``). ``None`` becomes an empty element in XML
and ``null`` in JSON; booleans are written ``true`` / ``false``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
TOKYO = dt.timezone(dt.timedelta(hours=9))

LIST_ITEMS = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def timestamp(moment: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 with the offset, in Tokyo time (``2026-12-02T14:00:00+09:00``); a date is its midnight."""
    if moment is None:
        return None
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), tzinfo=TOKYO)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(TOKYO).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False)


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ElementTree.Element, tag: str, value: Any) -> None:
    element = ElementTree.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list | tuple):
        item_tag = LIST_ITEMS.get(tag, "item")
        for item in value:
            _append(element, item_tag, item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, item: str | None, value: Any) -> str:
    """``value`` (a list of items, or one dict when ``item`` is None) under ``<root>``, UTF-8 declared."""
    element = ElementTree.Element(root)
    if item is None:
        for key, child in value.items():
            _append(element, key, child)
    else:
        for child in value:
            _append(element, item, child)
    body = ElementTree.tostring(element, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def render(fmt: str, root: str, item: str | None, value: Any) -> tuple[str, str]:
    """(body, content type) of ``value`` in ``fmt`` ("json" or "xml")."""
    if fmt == "xml":
        return to_xml(root, item, value), XML_TYPE
    return to_json(value), JSON_TYPE


def errors(fmt: str, problems: list[tuple[int, str]]) -> tuple[str, str]:
    """The spec's error answer: an array of ``{code, description}`` (``<errors><error>`` in XML)."""
    items = [{"code": code, "description": description} for code, description in problems]
    return render(fmt, "errors", "error", items)
