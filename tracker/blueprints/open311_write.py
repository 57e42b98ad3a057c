"""What apps send through Open311: ``POST requests.{fmt}`` and ``GET tokens/{token}.{fmt}``.

Routes of the ``api`` blueprint. The POST is CSRF-exempt (an app has no session; the API key
is its credential), takes form-encoded and multipart bodies, and answers the spec's array:
``[{"service_request_id", "token", "service_notice"}]``; a request that waits in the intake
queue has no ``service_request_id`` yet. Nothing answered names the requester.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, request

from ..extensions import csrf, db
from ..formatting import today_in_tokyo
from ..open311 import submissions
from ..open311.errors import Open311Error
from .api import bp
from .open311_common import PREFIX, answer, current_key

FORMATS = "<any(json, xml):fmt>"
MISSING_KEY = "api_key is required (APIキーが必要です)"


# The parameters of a POSTed request the spec names (``attribute[CODE]`` besides).
PARAMETERS = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)


def _fields() -> dict:
    """The form's parameters: one value each, a list where a key is given more than once."""
    # A malformed part can arrive without a name (None): it names no parameter.
    names = [
        *PARAMETERS,
        *(key for key in request.form if isinstance(key, str) and key.startswith("attribute[")),
    ]
    fields = {}
    for name in names:
        values = request.form.getlist(name)
        if values:
            fields[name] = values[0] if len(values) == 1 else values
    return fields


@bp.route(f"{PREFIX}requests.{FORMATS}", methods=["POST"])
@csrf.exempt
def open311_post_request(fmt: str):
    key = current_key()
    if key is None:
        raise Open311Error(403, MISSING_KEY)
    upload = request.files.get("media")
    submission = submissions.submit(
        db.session,
        key,
        _fields(),
        (upload.stream, upload.filename or "media") if upload is not None and upload.filename else None,
        photo_dir=current_app.config["PHOTO_DIR"],
        photo_max_bytes=current_app.config["PHOTO_MAX_BYTES"],
        answer_due_days=current_app.config["ANSWER_DUE_DAYS"],
        today=today_in_tokyo(),
        now=dt.datetime.now(dt.UTC),
    )
    item = {"token": submission.token, "service_notice": submissions.service_notice(submission)}
    if submission.service_request is not None:
        item = {"service_request_id": submission.service_request.reference, **item}
    db.session.commit()
    return answer("service_requests", "request", [item], status=201)


@bp.route(f"{PREFIX}tokens/<token>.{FORMATS}")
def open311_token(token: str, fmt: str):
    found = submissions.token_status(db.session, token)
    if found is None:
        raise Open311Error(404, f"token not found: {token[:40]} (受付番号が見つかりません)")
    reference = found.service_request.reference if found.service_request is not None else None
    db.session.commit()  # the key's last use
    return answer("service_requests", "request", [{"service_request_id": reference, "token": found.token}])
