"""The OpenAPI 3.1 document of the Open311 server, served at ``/open311/v2/openapi.json``.

Every endpoint is written out twice, as its ``.json`` path (with the JSON schema of its answer)
and its ``.xml`` path (the same items under the spec's XML element names, described as text), each
with its parameters and every answer it can give: 200 and the spec's error array for 400, 403,
404 (and 429 for what a key's rate limit counts). ``tests/test_open311_schema.py`` runs
Schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from .records import MAX_PAGE_SIZE

BASE = "/open311/v2"
TEXT = {"type": ["string", "null"]}
NUMBER = {"type": ["number", "null"]}
SAFE = "^[^\\x00]*$"  # a NUL character is refused before any route (an HTML 400): not API input


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required or properties)}


ERROR = _object({"code": {"type": "integer"}, "description": {"type": "string"}})
SERVICE = _object(
    {
        "service_code": {"type": "string"},
        "service_name": {"type": "string"},
        "description": TEXT,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": TEXT,
        "group": TEXT,
    }
)
VALUE = _object({"key": {"type": "string"}, "name": {"type": "string"}})
ATTRIBUTE = _object(
    {
        "variable": {"type": "boolean"},
        "code": {"type": "string"},
        "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
        "required": {"type": "boolean"},
        "datatype_description": TEXT,
        "order": {"type": "integer"},
        "description": {"type": "string"},
        "values": {"type": "array", "items": {"$ref": "#/components/schemas/Value"}},
    }
)
DEFINITION = _object(
    {
        "service_code": {"type": "string"},
        "attributes": {"type": "array", "items": {"$ref": "#/components/schemas/Attribute"}},
    }
)
RECORD = _object(
    {
        "service_request_id": {"type": "string", "description": "our reference number (受付番号)"},
        "status": {"enum": ["open", "closed"]},
        "status_notes": TEXT,
        "service_name": {"type": "string"},
        "service_code": {"type": "string"},
        "description": TEXT,
        "agency_responsible": {"type": "string"},
        "service_notice": TEXT,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
        "address": TEXT,
        "address_id": TEXT,
        "zipcode": TEXT,
        "lat": NUMBER,
        "long": NUMBER,
        "media_url": TEXT,
    }
)
UPDATE = _object(
    {
        "update_id": {"type": "string"},
        "service_request_id": {"type": "string"},
        "status": {"enum": ["open", "closed"]},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "description": TEXT,
        "media_url": TEXT,
    }
)
ENDPOINT = _object(
    {
        "specification": {"type": "string"},
        "url": {"type": "string"},
        "changeset": {"type": "string"},
        "type": {"enum": ["production", "test"]},
        "formats": {"type": "array", "items": {"type": "string"}},
    }
)
DISCOVERY = _object(
    {
        "changeset": {"type": "string"},
        "contact": TEXT,
        "key_service": TEXT,
        "endpoints": {"type": "array", "items": {"$ref": "#/components/schemas/Endpoint"}},
    }
)
POSTED = _object(
    {
        "service_request_id": {"type": ["string", "null"]},
        "token": {"type": ["string", "null"]},
        "service_notice": TEXT,
    },
    required=("service_notice",),
)
TOKEN = _object({"service_request_id": {"type": ["string", "null"]}, "token": {"type": "string"}})

SCHEMAS = {
    "Error": ERROR,
    "Service": SERVICE,
    "Value": VALUE,
    "Attribute": ATTRIBUTE,
    "ServiceDefinition": DEFINITION,
    "ServiceRequest": RECORD,
    "RequestUpdate": UPDATE,
    "Endpoint": ENDPOINT,
    "Discovery": DISCOVERY,
    "PostedRequest": POSTED,
    "Token": TOKEN,
}

# The XML element names of each answer: its root and the element of one item (None: one object).
XML_NAMES = {
    "Discovery": ("discovery", None),
    "Service": ("services", "service"),
    "ServiceDefinition": ("service_definition", None),
    "ServiceRequest": ("service_requests", "request"),
    "RequestUpdate": ("service_request_updates", "request_update"),
    "PostedRequest": ("service_requests", "request"),
    "Token": ("service_requests", "request"),
}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    schema = schema or {"type": "string", "maxLength": 200, "pattern": SAFE}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path(name: str, description: str) -> dict:
    schema = {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[A-Za-z0-9_-]+$"}
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


JURISDICTION = _query("jurisdiction_id", "optional; when given it must be this city's (else 404)")
API_KEY = _query("api_key", "optional for reading; when given it must be a live key (else 403)")
DATES = [
    _query("start_date", "ISO 8601 date or datetime; the range spans at most 90 days (default: the last 90)"),
    _query("end_date", "ISO 8601 date or datetime; compared by the Tokyo day the request was received"),
]
REQUEST_FILTERS = [
    _query("service_request_id", "comma-separated reference numbers; overrides every other filter"),
    _query("service_code", "comma-separated service codes"),
    *DATES,
    _query("status", "open, closed, or both comma-separated"),
    _query("page", "page number, from 1", {"type": "integer", "minimum": 1, "maximum": 10000}),
    _query(
        "page_size",
        f"requests per page, 1 to {MAX_PAGE_SIZE} (default 50)",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    ),
]
POST_FIELDS = {
    "api_key": {"type": "string", "description": "required to send"},
    "jurisdiction_id": {"type": "string"},
    "service_code": {"type": "string"},
    "lat": {"type": "number"},
    "long": {"type": "number"},
    "address_string": {"type": "string", "maxLength": 200},
    "address_id": {"type": "string", "maxLength": 100},
    "email": {"type": "string", "description": "personal data: stored for staff, never read out"},
    "device_id": {"type": "string", "description": "personal data: stored for staff, never read out"},
    "account_id": {"type": "string", "description": "personal data: stored for staff, never read out"},
    "first_name": {"type": "string", "description": "personal data: stored for staff, never read out"},
    "last_name": {"type": "string", "description": "personal data: stored for staff, never read out"},
    "phone": {"type": "string", "description": "personal data: stored for staff, never read out"},
    "description": {"type": "string", "maxLength": 4000},
    "media_url": {"type": "string", "maxLength": 500},
}


def _errors(fmt: str, statuses: tuple[int, ...]) -> dict:
    described = {
        400: "bad input (the spec's error array)",
        403: "api_key missing (to send) or not valid",
        404: "unknown jurisdiction_id, service_code or service_request_id",
        429: "past the key's rate limit",
    }
    return {
        str(status): {"description": described[status], "content": _content(fmt, "Error")}
        for status in statuses
    }


def _content(fmt: str, schema: str) -> dict:
    if fmt == "json":
        items = {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}}
        if schema in ("Discovery", "ServiceDefinition"):
            items = {"$ref": f"#/components/schemas/{schema}"}
        return {"application/json": {"schema": items}}
    root, item = XML_NAMES.get(schema, ("errors", "error"))
    shape = f"<{root}>" + (f"<{item}>…</{item}>" if item else "…") + f"</{root}>"
    return {"text/xml": {"schema": {"type": "string", "description": f"UTF-8 XML: {shape}"}}}


def _get(summary: str, schema: str, parameters: list, fmt: str, errors=(400, 403, 404)) -> dict:
    return {
        "get": {
            "summary": summary,
            "operationId": f"{summary.split()[0].lower()}_{schema}_{fmt}".replace("-", "_"),
            "parameters": [JURISDICTION, API_KEY, *parameters],
            "responses": {
                "200": {"description": summary, "content": _content(fmt, schema)},
                **_errors(fmt, errors),
            },
        }
    }


def _post(fmt: str) -> dict:
    form = {"type": "object", "properties": POST_FIELDS, "required": ["api_key", "service_code"]}
    multipart = {
        "type": "object",
        "properties": {
            **POST_FIELDS,
            "media": {"type": "string", "contentMediaType": "application/octet-stream"},
        },
        "required": ["api_key", "service_code"],
    }
    return {
        "post": {
            "summary": "Send a request (a location: lat+long, address_string or address_id; attribute[CODE])",
            "operationId": f"post_request_{fmt}",
            "parameters": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": form},
                    "multipart/form-data": {"schema": multipart},
                },
            },
            "responses": {
                "200": {"description": "received", "content": _content(fmt, "PostedRequest")},
                **_errors(fmt, (400, 403, 404, 429)),
            },
        }
    }


def paths() -> dict:
    found: dict[str, dict] = {}
    code = _path("service_code", "a service code from services")
    reference = _path("service_request_id", "a reference number (e.g. CHUO-2024-00012)")
    token = _path("token", "the token a POST answered")
    for fmt in ("json", "xml"):
        found[f"{BASE}/discovery.{fmt}"] = _get("Discovery of the endpoint", "Discovery", [], fmt)
        found[f"{BASE}/services.{fmt}"] = _get("List services", "Service", [], fmt)
        found[f"{BASE}/services/{{service_code}}.{fmt}"] = _get(
            "Service definition", "ServiceDefinition", [code], fmt
        )
        found[f"{BASE}/requests.{fmt}"] = {
            **_get("List requests", "ServiceRequest", REQUEST_FILTERS, fmt),
            **_post(fmt),
        }
        found[f"{BASE}/requests/{{service_request_id}}.{fmt}"] = _get(
            "One request", "ServiceRequest", [reference], fmt
        )
        found[f"{BASE}/tokens/{{token}}.{fmt}"] = _get("Request id from a token", "Token", [token], fmt)
        found[f"{BASE}/servicerequestupdates.{fmt}"] = _get(
            "Request updates (mySociety extension)", "RequestUpdate", DATES, fmt
        )
    return found


def document(server: str, jurisdiction: str) -> dict:
    """The whole document; ``server``: the absolute URL the API is served from."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Open311 GeoReport v2",
            "version": "v2",
            "description": (
                "The city's request API (GeoReport v2, with the mySociety updates extension). "
                f"jurisdiction_id: {jurisdiction}. Timestamps are ISO 8601 with the offset (+09:00). "
                "No answer carries a requester's personal data."
            ),
        },
        "servers": [{"url": server}],
        "paths": paths(),
        "components": {"schemas": SCHEMAS},
    }
