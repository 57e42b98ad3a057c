"""After arbitrary data is posted to every form, every page of every role still renders.

``test_fuzz_forms`` proves one post at a time: never a 5xx, a refusal changes nothing. What it
cannot see is a value that a post stored (accepted, as it should be) and that breaks a page
later: an odd date on a report, a long text in a list, an amount at the edge of a total. Here
each example sends one drawn form to every state-changing route, keeping what was accepted,
then opens every page the app serves (every GET route, on every object of the world it takes)
as each of the eight actors, and asserts that none answers with a 5xx. All of it runs in one
savepoint, rolled back after the example.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import BuildError

from tracker.extensions import db

from .route_world import ACTORS, World, open_world
from .test_authorization_matrix import RULES, SKIPPED_METHODS, _publish
from .test_fuzz_forms import FUZZED, _sent, form_data
from .test_fuzz_forms import fuzzing as fuzzing  # the fixture: routes and values, in this world

# Posts that would end the actors' own sessions (and so hide every page behind the login form).
SESSION_ENDING = {"auth.logout", "auth.password", "admin.deactivate_user", "admin.reset_password"}

LOOK_AFTER_POSTS = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world(app) -> Iterator[World]:
    """The world of the route tests, with the published issues the public pages need."""
    with open_world(app) as built:
        _publish(built)
        yield built


def pages(world: World) -> list[str]:
    """Every URL a GET route serves: each route on every object of the world it can be built on."""
    adapter = world.app.url_map.bind("localhost")
    urls: list[str] = []
    for rule in world.app.url_map.iter_rules():
        if rule.endpoint not in RULES or "GET" not in (set(rule.methods or ()) - SKIPPED_METHODS):
            continue
        if not rule.arguments:
            urls.append(adapter.build(rule.endpoint, {}, method="GET"))
            continue
        for target in world.objects.values():
            if rule.arguments <= set(target.values):
                values = {key: target.values[key] for key in rule.arguments}
                try:
                    urls.append(adapter.build(rule.endpoint, values, method="GET"))
                except (BuildError, ValueError):  # a converter refuses it (an entry kind): not a page
                    continue
    return sorted(set(urls))


def post_everywhere(fuzzing, data) -> None:
    for endpoint in FUZZED:
        if endpoint in SESSION_ENDING:
            continue
        route = data.draw(st.sampled_from(fuzzing.routes[endpoint]), label=endpoint)
        sent = data.draw(form_data(route, fuzzing), label=f"{endpoint} form")
        db.session.remove()
        form = {key: _sent(value) for key, value in sent.items()}
        response = fuzzing.world.client(route.actor).open(route.url, method=route.method, data=form)
        assert response.status_code < 500, f"{route.method} {route.url} as {route.actor.name}"
        db.session.remove()


def test_the_world_offers_pages_on_objects(world):
    """The page list covers the detail pages of requests and issues, not only the lists."""
    urls = pages(world)
    assert any(url.startswith("/requests/") for url in urls)
    assert any(url.startswith("/issues/") for url in urls)


@LOOK_AFTER_POSTS
@given(data=st.data())
def test_every_page_of_every_role_renders_after_any_form_data(world, fuzzing, data):
    savepoint = world.connection.begin_nested()
    try:
        post_everywhere(fuzzing, data)
        broken = []
        for url in pages(world):
            for actor in ACTORS:
                db.session.remove()
                status = world.client(actor).get(url).status_code
                if status >= 500:
                    broken.append(f"GET {url} as {actor.name}: {status}")
        assert not broken, broken
    finally:
        db.session.remove()
        savepoint.rollback()
