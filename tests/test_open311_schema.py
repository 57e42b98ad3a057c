"""Schemathesis against the OpenAPI document the app serves (``/open311/v2/openapi.json``).

Every GET operation of the document, JSON and XML paths alike, is called with generated
parameters (a bounded number of examples, so the run stays short) on a world with requests in
it: none may answer a 5xx, a status the document does not list, another content type, or a JSON
body that breaks its schema; and none may carry the seeded personal data. The POST operation is
called with generated forms that carry a live key, so that its checks (not only the key's) answer.
"""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tracker.open311 import openapi
from tracker.states import IssueState

from .factories import TODAY
from .open311_support import PII_MARKERS, CheckedClient, make_api_key, seed_personal_request

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def open311_schema(app, session, make):
    """The document as the app serves it, on a world of requests in several states."""
    key, _ = make_api_key(session)
    seed_personal_request(make, key)
    answered = seed_personal_request(make)
    answer = {"answer_text": "修繕しました。", "answer_kind": "resolved", "answered_on": TODAY}
    make.act(make.manager(), answered, "answer", answer)
    make.issue(IssueState.CONSULTING)
    return schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", app)


# The read operations of the document, and the POST ones.
READS = sorted(path for path, operations in openapi.paths().items() if "get" in operations)
WRITES = sorted(path for path, operations in openapi.paths().items() if "post" in operations)


@pytest.mark.parametrize("path", READS)
def test_every_read_operation_keeps_to_the_document(open311_schema, path):
    """Schemathesis' generated calls of one GET operation, checked against the served document."""
    operation = open311_schema[path]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case):
        response = case.call_and_validate(checks=CHECKS)
        assert not [marker for marker in PII_MARKERS if marker in response.text], response.text[:300]

    call()


@pytest.mark.parametrize("path", WRITES)
def test_every_post_keeps_to_the_document(open311_schema, session, path):
    """Generated form posts with a live key: a 201 or the spec's error array, as documented."""
    key, plain = make_api_key(session, name="schemathesis")
    key.rate_limit_per_minute = 10**6  # the limit has its own test; here every call must be checked
    session.commit()
    operation = open311_schema[path]["POST"]
    strategy = operation.as_strategy(media_type="application/x-www-form-urlencoded")

    @given(case=strategy)
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case):
        if isinstance(case.body, dict):
            case.body["api_key"] = plain
        response = case.call_and_validate(checks=CHECKS)
        assert not [marker for marker in PII_MARKERS if marker in response.text], response.text[:300]

    call()


@pytest.fixture
def open311(client) -> CheckedClient:
    return CheckedClient(client)


def test_the_document_describes_every_open311_route_and_both_formats(app, open311):
    """Each Open311 route of the app (the document's own two aside) is a path of the document,
    in .json and in .xml; and each path lists its error answers."""
    document = json.loads(open311.get("/open311/v2/openapi.json").get_data(as_text=True))
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/open311/v2/") and rule.endpoint not in (
            "api.openapi_document",
            "api.openapi_page",
        ):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)  # <any(json, xml):fmt> → {fmt}
            served |= {path.replace(".{fmt}", f".{fmt}") for fmt in ("json", "xml")}
    assert served and served <= set(paths)
    for path, operations in paths.items():
        twin = path[:-5] + ".xml" if path.endswith(".json") else path[:-4] + ".json"
        assert twin in paths, path
        for operation in operations.values():
            assert {"200", "400", "403", "404"} <= set(operation["responses"]), path
    post = paths["/open311/v2/requests.json"]["post"]["requestBody"]["content"]
    assert set(post) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    assert {"api_key", "service_code", "media", "email", "device_id"} <= set(
        post["multipart/form-data"]["schema"]["properties"]
    )


def test_the_docs_page_loads_the_vendored_swagger_ui_without_inline_script(open311):
    page = open311.get("/open311/v2/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "/static/open311-docs.js" in page
    assert 'data-document="/open311/v2/openapi.json"' in page
    assert "<script>" not in page
    for asset in (
        "vendor/swagger-ui/swagger-ui-bundle.js",
        "vendor/swagger-ui/swagger-ui.css",
        "open311-docs.js",
    ):
        assert open311.get(f"/static/{asset}").status_code == 200


def test_the_docs_page_is_in_japanese_and_in_english(open311):
    assert "<title>Open311 API の説明" in open311.get("/open311/v2/docs").get_data(as_text=True)
    assert "<title>Open311 API documentation" in open311.get("/open311/v2/docs?lang=en").get_data(
        as_text=True
    )
