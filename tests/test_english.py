"""English, fully: the catalog is complete, every page reads in English, the choice is kept.

1. The catalog (``translations/en``): every text has an English ``msgstr``, none is fuzzy, the
   placeholders of each translation are those of its Japanese source, and the compiled ``.mo``
   says what the ``.po`` says.
2. Every GET page of ``tests/test_authorization_matrix.py``'s ``RULES``, as each actor who may see
   it (on the world's objects of ``tests/route_world.py``), plus a 403 page of every route and
   the 404 page, is rendered with ``?lang=en``. Its visible text (text nodes outside scripts and
   styles, and ``title``, ``placeholder``, ``aria-label``, ``alt`` and the ``value`` of buttons),
   less every string stored in the database (names, titles, texts, master data) and the city's
   name, must hold no Japanese character. Run it alone with ``-k english``.
3. The language is kept per user: chosen once, it holds after signing out and in, on another
   device too; a choice made before signing in holds after it.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import flask_babel
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import template_rendered
from sqlalchemy import JSON, String, Text, select

from tracker.extensions import db

from .factories import Factory
from .route_world import ACTORS, Target, open_world
from .test_authorization_matrix import RULES, _methods, _publish, expected

CATALOG = Path(__file__).resolve().parent.parent / "translations" / "en" / "LC_MESSAGES"
JAPANESE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
PLACEHOLDER = re.compile(
    r"%\(\w+\)[sdifr]|%[sdif]"
)  # the %-style ones gettext fills; {受付日} is a token users type
FRAGMENTS_SHOWN = int(os.environ.get("ENGLISH_FRAGMENTS_SHOWN", "10"))  # per page, in the failure
PIECES = re.compile(r"\s+\|\s+|\s{2,}|\n")  # where a text breaks into separately written pieces
# The language switch names each language in itself: 日本語 is right on an English page.
ALLOWED = ("日本語",)
SHORTEST_DATA_INSIDE_TEXT = 2  # a one-character data string ("日", a unit) is data only on its own

# --- 1. the catalog ----------------------------------------------------------------------------


def _catalog():
    with open(CATALOG / "messages.po", "rb") as file:
        return read_po(file)


def _pairs(message) -> list[tuple[str, str]]:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return [(ids[min(i, len(ids) - 1)], text) for i, text in enumerate(strings)]


def test_every_english_catalog_entry_is_translated_and_not_fuzzy():
    untranslated, fuzzy = [], []
    for message in _catalog():
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        if any(not text.strip() for _, text in _pairs(message)):
            untranslated.append(message.id)
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries: {fuzzy[:20]}"
    assert not untranslated, f"{len(untranslated)} entries without English: {untranslated[:20]}"


def test_english_translations_keep_every_placeholder():
    wrong = []
    for message in _catalog():
        if not message.id:
            continue
        for source, text in _pairs(message):
            if text and sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append(f"{source!r} -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_compiled_english_catalog_is_current():
    """The ``.mo`` the app reads holds exactly the ``.po``'s translations (run
    ``pybabel compile -d translations`` after editing the ``.po``)."""
    with open(CATALOG / "messages.mo", "rb") as file:
        compiled = {m.id: m.string for m in read_mo(file) if m.id}
    written = {m.id: m.string for m in _catalog() if m.id and m.string and not m.fuzzy}
    stale = sorted(str(k) for k in set(written) | set(compiled) if written.get(k) != compiled.get(k))
    assert not stale, f"messages.mo is not compiled from messages.po ({len(stale)} differ): {stale[:10]}"


# --- 2. every page in English --------------------------------------------------------------


class VisibleText(HTMLParser):
    """The texts a user reads on a page: text nodes and the attributes that are read aloud or shown.

    An element marked ``lang="ja"`` quotes Japanese the user must type or find as it is (the
    column names an import file must carry, a placeholder token of an answer template): it is
    Japanese on purpose, in any language, and not read here."""

    ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
    SILENT = {"script", "style", "template", "noscript"}
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._silent = 0
        self._quoted: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if self._quoted or (tag != "html" and (values.get("lang") or "").startswith("ja")):
            if tag not in self.VOID:
                self._quoted.append(tag)
            return
        for name in self.ATTRIBUTES:
            if values.get(name):
                self.texts.append(values[name])
        kind = values.get("type")
        is_button = tag == "button" or (tag == "input" and kind in ("submit", "button", "reset"))
        if is_button and values.get("value"):
            self.texts.append(values["value"])
        if tag in self.SILENT:
            self._silent += 1

    def handle_startendtag(self, tag, attrs):
        if self._quoted:
            return
        self.handle_starttag(tag, attrs)
        if tag in self.SILENT:
            self._silent -= 1

    def handle_endtag(self, tag):
        if self._quoted:
            if tag == self._quoted[-1]:
                self._quoted.pop()
            return
        if tag in self.SILENT and self._silent:
            self._silent -= 1

    def handle_data(self, data):
        if not self._silent and not self._quoted and data.strip():
            self.texts.append(data)


def _strings_in(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings_in(item)


def stored_strings(city_name: str) -> list[str]:
    """Every Japanese string value stored in the database (and each line of it), longest first."""
    found: set[str] = {city_name}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                for text in _strings_in(value):
                    if not JAPANESE.search(text):
                        continue
                    found.add(text.strip())
                    found.update(line.strip() for line in text.splitlines())
    return sorted((s for s in found if s), key=len, reverse=True)


def japanese_fragments(html: str, data: re.Pattern, whole: set[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    fragments = []
    for text in parser.texts:
        if text.strip() in whole:
            continue
        left = data.sub(" ", text)
        for word in ALLOWED:
            left = left.replace(word, " ")
        for piece in PIECES.split(left):
            fragment = " ".join(piece.split())[:80]
            if JAPANESE.search(fragment) and fragment not in fragments:
                fragments.append(fragment)
    return fragments


def _pages(world) -> Iterator[tuple[str, str, object]]:
    """(endpoint, actor, target) of every GET page to read: each allowed cell, one 403 a route."""
    for endpoint, rule in sorted(RULES.items()):
        if "GET" not in _methods(world.app, endpoint):
            continue
        denied_shown = False
        for actor in ACTORS:
            targets = [t for name in rule.targets for t in world.targets(name, actor)] or [None]
            for target in targets:
                want = expected(rule, actor, target)
                if want == "allow" or (want == "deny" and not denied_shown):
                    denied_shown |= want == "deny"
                    yield endpoint, actor, target


def _missing(world) -> Iterator[tuple[str, str, object]]:
    """The 404 page: a request that does not exist, as the manager who may look."""
    manager = next(a for a in ACTORS if a.name == "manager")
    template = world.targets("received", manager)[0]
    values = {k: (2**31 - 1 if k.endswith("_id") else v) for k, v in template.values.items()}
    yield "field.request_detail", manager, Target("missing", values)


# --- 3. the language is kept per user ----------------------------------------------------------


def _lang_of(response) -> str:
    found = re.search(r'<html lang="(\w+)"', response.get_data(as_text=True))
    return found.group(1) if found else ""


def _sign_in(client, user) -> None:
    response = client.post("/login", data={"login": user.login, "password": Factory.PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_english_chosen_once_is_kept_after_signing_out_and_in(app, session, make, csrf_off):
    user = make.manager()
    client = app.test_client()
    _sign_in(client, user)
    assert _lang_of(client.get("/password")) == "ja"
    assert _lang_of(client.get("/password?lang=en")) == "en"
    assert _lang_of(client.get("/password")) == "en"
    client.post("/logout")
    _sign_in(client, user)
    assert _lang_of(client.get("/password")) == "en"
    elsewhere = app.test_client()  # another device: nothing in its session
    _sign_in(elsewhere, user)
    assert _lang_of(elsewhere.get("/password")) == "en"


def test_english_chosen_before_signing_in_holds_after_it(app, session, make, csrf_off):
    user = make.liaison()
    client = app.test_client()
    assert _lang_of(client.get("/login?lang=en")) == "en"
    _sign_in(client, user)
    assert _lang_of(client.get("/password")) == "en"
    elsewhere = app.test_client()
    _sign_in(elsewhere, user)
    assert _lang_of(elsewhere.get("/password")) == "en", "the choice made before signing in is the account's"


# --- 4. money, fiscal years and dates in English -----------------------------------------------


def test_formatting_writes_english_for_english_and_keeps_japanese_as_it_was():
    import datetime as dt

    from tracker import formatting as f

    day, moment = dt.date(2024, 5, 7), dt.datetime(2024, 5, 7, 5, 5, tzinfo=dt.UTC)
    cases = [
        (f.fiscal_year_label, 2024, "令和6年度 (2024)", "FY2024 (Reiwa 6)"),
        (f.fiscal_year_label, 2019, "令和元年度 (2019)", "FY2019 (Reiwa 1)"),
        (f.thousand_yen, 20_900_000, "20,900千円", "¥20,900 thousand"),
        (f.thousand_yen, 1_234, "1.234千円", "¥1.234 thousand"),
        (f.yen, 1_234, "1,234円", "¥1,234"),
        (f.date_label, day, "2024年5月7日", "7 May 2024"),
        (f.datetime_label, moment, "2024年5月7日 14:05", "7 May 2024 14:05"),
        (f.era_date_label, day, "令和6年5月7日", "7 May 2024 (Reiwa 6)"),
        (f.approximate_yen, 49_537_000, "約4,954万円", "about ¥49.5 million"),
        (f.approximate_yen, 1_000_000_000, "約10億円", "about ¥1 billion"),
        (f.file_size, 850, "850バイト", "850 bytes"),
    ]
    for helper, value, japanese, english in cases:
        assert helper(value) == japanese
        assert helper(value, "ja") == japanese
        assert helper(value, "en") == english


def test_template_filters_follow_the_page_language(app):
    from tracker.models import utcnow

    template = "{{ 20900000|thousand_yen }} {{ 2024|fiscal_year }} {{ day|jdate }} {{ 1234|yen }}"
    for lang, start in (
        ("ja", "20,900千円 令和6年度 (2024)"),
        ("en", "¥20,900 thousand FY2024 (Reiwa 6)"),
    ):
        with app.test_request_context(f"/?lang={lang}"):
            flask_babel.refresh()
            shown = app.jinja_env.from_string(template).render(day=utcnow())
            assert shown.startswith(start), shown


# --- 2 (run last: its world holds one open transaction until the module ends) ------------------


@pytest.fixture(scope="module")
def english_world(app):
    with open_world(app) as built:
        _publish(built)
        yield built


def _read(world, endpoint, actor, target, data, whole, rendered) -> tuple[int, list[str], str]:
    values = target.values if target else {}
    url = world.app.url_map.bind("localhost").build(endpoint, values, method="GET")
    url += ("&" if "?" in url else "?") + "lang=en"
    savepoint = world.connection.begin_nested()
    try:
        db.session.remove()
        rendered.clear()
        response = world.client(actor).get(url)
        template = rendered[0] if rendered else "(no template)"
        if response.mimetype != "text/html" or 300 <= response.status_code < 400:
            return response.status_code, [], template
        return (
            response.status_code,
            japanese_fragments(response.get_data(as_text=True), data, whole),
            template,
        )
    finally:
        db.session.remove()
        savepoint.rollback()


def test_every_page_reads_in_english(english_world):
    """No Japanese left on any page in English, but the data the city typed in."""
    world = english_world
    with world.app.app_context():
        data = stored_strings(world.app.config["CITY_NAME"])
    whole = set(data)
    pattern = re.compile("|".join(re.escape(s) for s in data if len(s) >= SHORTEST_DATA_INSIDE_TEXT))
    rendered: list[str] = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)

    errors: list[str] = []
    found: list[tuple[str, str, list[str]]] = []  # (where, template, fragments)
    with template_rendered.connected_to(record, world.app):
        for endpoint, actor, target in [*_pages(world), *_missing(world)]:
            status, fragments, template = _read(world, endpoint, actor, target, pattern, whole, rendered)
            where = f"GET {endpoint} as {actor.name}" + (f" on {target.label}" if target else "")
            if status >= 500:
                errors.append(f"{where}: {status}")
            found.append((f"{where} ({status})", template, fragments))
    assert len(found) > len(RULES) / 2
    # What more than half of the pages show is the layout's (base.html): reported once.
    counts: dict[str, int] = defaultdict(int)
    for _where, _template, fragments in found:
        for fragment in fragments:
            counts[fragment] += 1
    layout = sorted(f for f, n in counts.items() if n > len(found) / 2)
    per_area: dict[str, int] = defaultdict(int)
    failures = [f"every page (layout): {layout}"] if layout else []
    for where, template, fragments in found:
        own = [f for f in fragments if f not in layout]
        if not own:
            continue
        per_area[template.split("/")[0] if "/" in template else template] += len(own)
        hidden = len(own) - FRAGMENTS_SHOWN
        more = f"\n    … and {hidden} more" if hidden > 0 else ""
        failures.append(f"{where} [{template}]:\n    " + "\n    ".join(own[:FRAGMENTS_SHOWN]) + more)
    assert not errors, "pages that failed in English:\n" + "\n".join(errors)
    summary = ", ".join(f"{area}: {count}" for area, count in sorted(per_area.items()))
    heading = f"Japanese left on {len(failures)} pages (fragments by template area: {summary})"
    assert not failures, heading + "\n" + "\n".join(failures)
