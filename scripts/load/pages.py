"""Reading the app's HTML as the stress clients see it: forms, hidden fields, CSRF tokens,
options, flash messages, references and the ids in links and redirects. Pure functions of a page."""

from __future__ import annotations

import re
import urllib.parse
from html import unescape

# --- HTML helpers -------------------------------------------------------------------------------

_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_FLASH = re.compile(r'<p class="flash flash-(\w+)"[^>]*>(.*?)</p>', re.S)
_REF = re.compile(r'<dd class="ref">([^<]+)</dd>')


def hidden_inputs(html: str) -> dict[str, str]:
    """name → value of every ``<input>`` with a name and a value."""
    found = {}
    for tag in _INPUT.findall(html):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs and "value" in attrs:
            found[unescape(attrs["name"])] = unescape(attrs["value"])
    return found


def form_block(html: str, marker: str) -> str:
    """The first ``<form>`` whose opening tag contains ``marker`` (e.g. ``id="form-refer"``), or ""."""
    for match in re.finditer(r"<form\b[^>]*>", html):
        if marker in match.group(0):
            end = html.find("</form>", match.end())
            return html[match.start() : end if end >= 0 else len(html)]
    return ""


def hidden_fields(form_html: str) -> list[tuple[str, str]]:
    """The hidden inputs of a form (CSRF token, record version, ...), as a browser sends them."""
    fields = []
    for tag in _INPUT.findall(form_html):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields.append((unescape(attrs["name"]), unescape(attrs.get("value", ""))))
    return fields


def merge_fields(hidden: list[tuple[str, str]], typed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the browser posts: the form's hidden fields, then what was typed (typed wins)."""
    names = {name for name, _ in typed}
    return [(n, v) for n, v in hidden if n not in names] + typed


def csrf_token(html: str) -> str | None:
    """The CSRF token of a page (every form of one session carries the same one)."""
    for name, value in hidden_inputs(html).items():
        if name == "csrf_token" or name.endswith("-csrf_token"):
            return value
    return None


def select_values(html: str, name: str) -> list[str]:
    """The non-empty option values of ``<select name=name>``."""
    match = re.search(r'<select\b[^>]*\bname="' + re.escape(name) + r'"[^>]*>(.*?)</select>', html, re.S)
    if not match:
        return []
    return [unescape(v) for v in re.findall(r'<option\b[^>]*value="([^"]*)"', match.group(1)) if v]


def flashes(html: str) -> list[tuple[str, str]]:
    return [
        (category, unescape(re.sub(r"<[^>]+>", "", text)).strip()) for category, text in _FLASH.findall(html)
    ]


def reference_of(html: str) -> str | None:
    match = _REF.search(html)
    return unescape(match.group(1)).strip() if match else None


def request_id_from_location(location: str | None) -> int | None:
    """The id in a redirect to ``/requests/<id>`` (absolute or relative), else None."""
    if not location:
        return None
    match = re.fullmatch(r"/requests/(\d+)", urllib.parse.urlsplit(location).path)
    return int(match.group(1)) if match else None


def issue_id_on_request_page(html: str) -> int | None:
    """The ward issue a request belongs to, from its detail page."""
    match = re.search(r'<dt>区重要課題</dt>\s*<dd>\s*<a href="[^"]*/issues/(\d+)"', html)
    return int(match.group(1)) if match else None


def request_ids_in_list(html: str) -> list[int]:
    return sorted({int(i) for i in re.findall(r'href="/requests/(\d+)"', html)})


def has_action_form(html: str, action: str) -> bool:
    return f'id="form-{action}"' in html


def hidden_or_value(html: str, name: str) -> str:
    match = re.search(r'<input\b[^>]*\bname="' + re.escape(name) + r'"[^>]*>', html)
    if not match:
        return ""
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""
