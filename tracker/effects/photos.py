"""Photo storage: checked by content with Pillow, stored under the instance folder.

Files get a random name and are served only through a view that checks access, with the
type found in the content, never the one the browser claimed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from ..wording import N_, say
from .support import WorkflowError

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_PIXELS = 60_000_000


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    original_name: str
    content_type: str
    extension: str
    width: int
    height: int


def read_image(data: bytes, too_large: str) -> tuple[str, int, int] | None:
    """(format, width, height) of an image Pillow verifies, or None if ``data`` is none.

    Refuses an image past ``MAX_PIXELS`` (a decompression bomb) with ``too_large`` as the message.
    Photos and attachments both read images through here.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise WorkflowError(too_large)
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return image_format, width, height


def check_photo(stream: BinaryIO, original_name: str, max_bytes: int) -> CheckedPhoto:
    """Read and verify one upload; raise WorkflowError with a Japanese message if unfit."""
    data = stream.read(max_bytes + 1)
    name = Path(original_name or "photo").name[:200]
    if len(data) > max_bytes:
        raise WorkflowError(
            N_("写真「%(name)s」が大きすぎます (%(value)sMBまで)。"),
            name=name,
            value=max_bytes // (1024 * 1024),
        )
    if not data:
        raise WorkflowError(N_("写真「%(name)s」が空です。"), name=name)
    read = read_image(data, say(N_("写真「%(name)s」の画素数が大きすぎます。"), name=name))
    if read is None:
        raise WorkflowError(N_("「%(name)s」は写真 (JPEG・PNG・WebP) として読み取れません。"), name=name)
    image_format, width, height = read
    if image_format not in ALLOWED_FORMATS:
        raise WorkflowError(N_("「%(name)s」の形式には対応していません (JPEG・PNG・WebPのみ)。"), name=name)
    content_type, extension = ALLOWED_FORMATS[image_format]
    try:
        data, width, height = without_metadata(data, image_format)
    except (OSError, SyntaxError, ValueError):
        raise WorkflowError(
            N_("「%(name)s」は写真 (JPEG・PNG・WebP) として読み取れません。"), name=name
        ) from None
    return CheckedPhoto(data, name, content_type, extension, width, height)


def without_metadata(data: bytes, image_format: str) -> tuple[bytes, int, int]:
    """The photo re-encoded with its pixels only: EXIF (GPS position, camera), XMP, comments
    and text chunks dropped. The EXIF orientation is applied to the pixels first, so the photo
    still shows the right way up; returns (bytes, width, height) of what is stored."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        if image_format == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        # The pixels alone, in a new image: nothing of the upload's ``info`` can reach the file.
        clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        if upright.mode in ("P", "PA"):
            clean.putpalette(upright.getpalette())
        buffer = io.BytesIO()
        clean.save(buffer, image_format, **({"quality": 90} if image_format in ("JPEG", "WEBP") else {}))
        return buffer.getvalue(), clean.width, clean.height
