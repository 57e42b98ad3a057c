"""What every Open311 test shares: requests seeded with marked personal data, and a client that
checks that no answer ever carries any of it.

``seed_personal_request(make, api_key)`` logs a request whose requester name, contact and
organisation, whose logging liaison's name, and whose Open311 submission's e-mail/phone,
device id and account id are all distinctive markers (``PII_MARKERS``); ``CheckedClient``
wraps the Flask test client and fails the test as soon as any response body contains one of
them, or a link to our stored photos. A test module makes it its client with a fixture of two
lines (``@pytest.fixture def open311(client): return CheckedClient(client)``) and sends every
request, GET or POST, through it.
"""

from __future__ import annotations

import io
import secrets
import uuid

from tracker.open311.keys import hash_key
from tracker.open311_models import ApiKey, Open311Submission

from .factories import TODAY, png_bytes

PII_NAME = "個人情報太郎PII"
PII_CONTACT = "pii@example.jp"
PII_ORGANISATION = "個人情報町内会PII"
PII_PHONE = "090-0000-PII1"
PII_DEVICE = "PII-DEVICE"
PII_ACCOUNT = "PII-ACCOUNT"
PII_STAFF = "職員氏名PII"
PII_MARKERS = (PII_NAME, PII_CONTACT, PII_ORGANISATION, PII_PHONE, PII_DEVICE, PII_ACCOUNT, PII_STAFF, "PII")
PHOTO_LINKS = ("/photos/",)  # our stored photos are for staff: never linked from the API


def assert_no_personal_data(response) -> None:
    """The body of ``response`` contains no seeded personal data and no link to a stored photo."""
    body = response.get_data(as_text=True)
    found = [marker for marker in (*PII_MARKERS, *PHOTO_LINKS) if marker in body]
    assert not found, f"{response.request.path if response.request else ''} answered {found}: {body[:500]}"


class CheckedClient:
    """The test client, with ``assert_no_personal_data`` on every response."""

    def __init__(self, client):
        self.client = client
        self.responses = 0

    def open(self, *args, **kwargs):
        response = self.client.open(*args, **kwargs)
        assert_no_personal_data(response)
        self.responses += 1
        return response

    def get(self, *args, **kwargs):
        return self.open(*args, method="GET", **kwargs)

    def post(self, *args, **kwargs):
        return self.open(*args, method="POST", **kwargs)


def make_api_key(session, name: str = "テストアプリ", center=None) -> tuple[ApiKey, str]:
    """A live key and its plain text."""
    plain = secrets.token_urlsafe(24)
    key = ApiKey(name=name, key_hash=hash_key(plain), key_prefix=plain[:8], center=center)
    session.add(key)
    session.commit()
    return key, plain


def seed_personal_request(make, api_key: ApiKey | None = None, **fields):
    """A request full of marked personal data (with a photo), and its Open311 submission when
    ``api_key`` is given; committed."""
    liaison = make.liaison()
    liaison.display_name = PII_STAFF
    values = {
        "requester_name": PII_NAME,
        "requester_contact": PII_CONTACT,
        "organisation": PII_ORGANISATION,
        "location_text": "中央区手取本町1-1",
        "latitude": "32.803000",
        "longitude": "130.707900",
    }
    values.update(fields)
    request = make.request(liaison, photos=[(io.BytesIO(png_bytes()), "現場.png")], **values)
    if api_key is not None:
        make.session.add(
            Open311Submission(
                token=str(uuid.uuid4()),
                api_key=api_key,
                service_request_id=request.id,
                category_id=request.category_id,
                title=request.title,
                description=request.description,
                address_string=request.location_text,
                address_id="ADDR-1",
                requester_name=PII_NAME,
                requester_contact=f"{PII_CONTACT} {PII_PHONE}",
                device_id=PII_DEVICE,
                account_id=PII_ACCOUNT,
                media_url="https://example.jp/media/1.jpg",
                received_on=TODAY,
            )
        )
        make.session.commit()
    return request
