"""Photos lose their metadata on upload, and retention erasure takes a request's photos and
attachments with its personal data. Before this, a photo was stored byte for byte, GPS position
and camera included, and the erasure job left photos and 陳情書 PDFs in place forever."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from flask import current_app
from PIL import Image
from sqlalchemy import select

from tracker import workflow
from tracker.effects import photos
from tracker.formatting import today_in_tokyo
from tracker.models import HistoryEvent, Photo
from tracker.safeguards import personal_data
from tracker.teamwork_models import Attachment

from .teamwork_cases import attach_payload

GPS_TAG, MAKE_TAG, ORIENTATION_TAG = 0x8825, 0x010F, 0x0112


def jpeg_with_exif(size=(40, 20), orientation: int = 6) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[MAKE_TAG] = "ExampleCam"
    exif[ORIENTATION_TAG] = orientation
    exif[GPS_TAG] = {1: "N", 2: (32.0, 48.0, 10.0), 3: "E", 4: (130.0, 42.0, 30.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def test_an_uploaded_photo_is_stored_without_gps_or_camera_and_the_right_way_up():
    upload = jpeg_with_exif(orientation=6)  # "rotate 90° clockwise to view"
    with Image.open(io.BytesIO(upload)) as original:
        assert GPS_TAG in original.getexif() and original.size == (40, 20)
    checked = photos.check_photo(io.BytesIO(upload), "現場.jpg", 8 * 1024 * 1024)
    with Image.open(io.BytesIO(checked.data)) as stored:
        exif = stored.getexif()
        assert GPS_TAG not in exif and MAKE_TAG not in exif and ORIENTATION_TAG not in exif
        assert stored.size == (20, 40) == (checked.width, checked.height)  # turned upright
    assert b"ExampleCam" not in checked.data


def test_png_text_chunks_are_dropped():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "熊本 太郎")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    checked = photos.check_photo(io.BytesIO(buffer.getvalue()), "a.png", 1024 * 1024)
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert "Author" not in stored.info


def test_retention_erasure_deletes_the_requests_photos_and_attachments_and_their_files(make, session):
    liaison = make.liaison()
    request = make.request(liaison, photos=[(io.BytesIO(jpeg_with_exif()), "現場.jpg")])
    workflow.apply(session, liaison, request, "attach", attach_payload(), today=today_in_tokyo())
    answer = {"answer_text": "対応しました", "answer_kind": "resolved", "answered_on": dt.date(2024, 6, 3)}
    workflow.apply(session, liaison, request, "answer", answer, today=today_in_tokyo())
    session.commit()
    photo_path = Path(current_app.config["PHOTO_DIR"]) / request.photos[0].stored_name
    attachment = session.scalars(select(Attachment).filter_by(service_request_id=request.id)).one()
    attachment_path = Path(current_app.config["ATTACHMENT_DIR"]) / attachment.stored_name
    assert photo_path.is_file() and attachment_path.is_file()

    assert personal_data.erase_due(session, today_in_tokyo(), 30) == 1
    session.commit()

    assert session.scalars(select(Photo).filter_by(service_request_id=request.id)).all() == []
    assert session.scalars(select(Attachment).filter_by(service_request_id=request.id)).all() == []
    assert not photo_path.exists() and not attachment_path.exists()
    event = session.scalars(
        select(HistoryEvent).filter_by(service_request_id=request.id, action="erase_personal_data")
    ).one()
    assert event.data["photos"] == 1 and event.data["attachments"] == 1
    assert "写真1枚" in event.comment and "添付ファイル1件" in event.comment


def test_a_rolled_back_erasure_keeps_the_files(make, session):
    liaison = make.liaison()
    request = make.request(liaison, photos=[(io.BytesIO(jpeg_with_exif()), "現場.jpg")])
    answer = {"answer_text": "対応しました", "answer_kind": "resolved", "answered_on": dt.date(2024, 6, 3)}
    workflow.apply(session, liaison, request, "answer", answer, today=today_in_tokyo())
    session.commit()
    path = Path(current_app.config["PHOTO_DIR"]) / request.photos[0].stored_name
    personal_data.erase_due(session, today_in_tokyo(), 30)
    session.rollback()
    assert path.is_file()
