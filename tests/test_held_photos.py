"""The new-request form keeps the photos chosen when it comes back without saving.

A refused or questioned form lists them as 「選択済みの写真」; the next submit attaches them
(less the ones taken off); once the request is logged, or an hour later, the held files go.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

from sqlalchemy import func, select

from tracker.effects import held_photos, photos
from tracker.models import Photo, ServiceRequest

from .factories import png_bytes


def fields(make, **extra) -> dict:
    return {
        "title": "カーブミラーが曲がっている",
        "category_id": make.category().id,
        "source": "counter",
    } | extra


def token_of(page: str) -> str:
    return re.search(r'name="photo_hold" value="([0-9a-f]{32})"', page).group(1)


def hold_dir(app) -> Path:
    return Path(app.config["PHOTO_HOLD_DIR"])


def test_photos_survive_a_refused_form_and_are_attached_next_time(app, make, login_as, session):
    client = login_as(make.liaison())
    refused = client.post(
        "/requests/new",
        data=fields(make, title="", photos=[(io.BytesIO(png_bytes()), "mirror.png")]),
        content_type="multipart/form-data",
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "選択済みの写真" in page and "mirror.png" in page
    token = token_of(page)
    assert session.scalar(select(func.count(Photo.id))) == 0
    assert (hold_dir(app) / token).is_dir()

    response = client.post(
        "/requests/new", data=fields(make, photo_hold=token), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    created = session.scalars(select(ServiceRequest).filter_by(title="カーブミラーが曲がっている")).one()
    assert [p.original_name for p in created.photos] == ["mirror.png"]
    assert created.events[0].data["photos"] == 1
    assert not (hold_dir(app) / token).exists()


def test_a_held_photo_can_be_taken_off(app, make, login_as, session):
    client = login_as(make.liaison())
    refused = client.post(
        "/requests/new",
        data=fields(
            make,
            title="",
            photos=[
                (io.BytesIO(png_bytes()), "keep.png"),
                (io.BytesIO(png_bytes(color=(0, 0, 0))), "drop.png"),
            ],
        ),
        content_type="multipart/form-data",
    )
    token = token_of(refused.get_data(as_text=True))
    drop = next(p.key for p in held_photos.held(str(hold_dir(app)), token) if p.original_name == "drop.png")
    response = client.post(
        "/requests/new",
        data=fields(make, photo_hold=token, drop_photo=drop),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    created = session.scalars(select(ServiceRequest).filter_by(title="カーブミラーが曲がっている")).one()
    assert [p.original_name for p in created.photos] == ["keep.png"]


def test_a_photo_that_is_not_an_image_is_not_held(app, make, login_as, session):
    client = login_as(make.liaison())
    response = client.post(
        "/requests/new",
        data=fields(make, photos=[(io.BytesIO(b"<html>"), "photo.png")]),
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "写真 (JPEG・PNG・WebP) として読み取れません" in page and "選択済みの写真" not in page
    assert held_photos.held(str(hold_dir(app)), token_of(page)) == []
    assert session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_holds_are_purged_after_an_hour_and_tokens_are_checked(tmp_path):
    directory = str(tmp_path)
    photo = photos.check_photo(io.BytesIO(png_bytes()), "a.png", 1_000_000)
    old, fresh = held_photos.new_token(), held_photos.new_token()
    held_photos.hold(directory, old, photo)
    held_photos.hold(directory, fresh, photo)
    assert held_photos.purge(directory, now=time.time() + 60) == 0
    assert held_photos.purge(directory, now=time.time() + held_photos.KEEP_SECONDS + 1) == 2
    assert held_photos.held(directory, old) == [] and held_photos.held(directory, fresh) == []
    for bad in ("../" + old, old.upper(), "", None, old + "0"):
        assert held_photos.valid_token(bad) is None
        assert held_photos.held(directory, bad) == []
