"""Query strings never 500: every GET route of ``app.url_map`` (public ones included), on the
objects of the route world, answers below 500 to huge, negative, non-numeric and malformed
values of every paging, cursor, id, year and number parameter the views read.

The page list and the actors are those of the authorisation matrix; every parameter name any
view reads is sent at once with the same bad value (one world, one transaction: sending each
alone as well held so many savepoint locks that PostgreSQL ran out of shared memory)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tracker.extensions import db

from .route_world import ACTORS, World, open_world
from .test_authorization_matrix import _publish
from .test_fuzz_pages import pages

# Every query parameter a GET view reads (grep ``request.args`` and the list filters).
PARAMETERS = (
    "page",
    "after",
    "before",
    "cursor",
    "size",
    "limit",
    "sort",
    "direction",
    "format",
    "year",
    "fiscal_year",
    "from",
    "to",
    "month",
    "ward",
    "ward_id",
    "center",
    "center_id",
    "bureau",
    "category",
    "kind",
    "state",
    "decision",
    "user",
    "user_id",
    "actor",
    "request",
    "request_id",
    "issue",
    "issue_id",
    "activity",
    "organisation",
    "liaison",
    "indicator",
    "group",
    "period",
    "due",
    "q",
    "mine",
    "lang",
    "day",
    "date_from",
    "date_to",
    "received_from",
    "received_to",
    "batch",
    "job",
    "original",
    # Open311 (jurisdiction_id and api_key left out: a foreign one answers 404/403 before the rest is read)
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "page_size",
)
HOSTILE_VALUES = (
    "9" * 40,
    "-99999999999999999999",
    "abc",
    "1e309",
    "２０２４",
    "2024-13-45",
    "'; DROP TABLE requests; --",
    # Longer than every column and every length the views cut to (a search keyword: 100); not longer,
    # as every parameter carries it at once and a megabyte query string costs seconds a request.
    "ﾟ" * 600,
)
# The actors whose pages differ most: nobody, a field worker, a bureau member, the admin.
LOOKING = [actor for actor in ACTORS if actor.name in ("anonymous", "liaison", "manager", "staff", "admin")]


@pytest.fixture
def world(app) -> Iterator[World]:
    """A world per value: its transaction holds a lock on the id of every savepoint that wrote
    (a refusal's security event...), and one transaction for every value at once outgrew
    PostgreSQL's shared lock table (out of shared memory)."""
    with open_world(app) as built:
        _publish(built)
        yield built


def _get(world: World, actor, url: str, params: dict) -> int:
    db.session.remove()
    status = world.client(actor).get(f"{url}?{urlencode(params)}").status_code
    db.session.remove()
    return status


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_every_get_route_survives_every_parameter_at_once(world, value):
    broken = []
    params = dict.fromkeys(PARAMETERS, value)
    for url in pages(world):
        for actor in LOOKING:
            if (status := _get(world, actor, url, params)) >= 500:
                broken.append(f"GET {url} as {actor.name}: {status}")
    assert not broken, broken
