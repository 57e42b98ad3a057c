"""Attachment files: the kind told by the content, never by the name or the browser's type.

Accepted: PDF (``%PDF-``), PNG and JPEG (verified with Pillow), Word/Excel/PowerPoint files
(.docx/.xlsx/.pptx: a ZIP holding ``[Content_Types].xml`` and its ``word/``, ``xl/`` or ``ppt/``
part, with a bounded number of entries and uncompressed size) and legacy Word/Excel files
(.doc/.xls: the OLE2 header and its ``WordDocument`` or ``Workbook`` stream). Stored like photos
(``photos``): under the instance folder by a random name, with the SHA-256 of the content, and
served only through a view that checks who may see the subject, with the type found here.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from ..wording import N_, say
from .photos import read_image
from .support import WorkflowError

ACCEPTED = N_("PDF・PNG・JPEG・Word・Excel・PowerPoint")
ZIP_MAX_ENTRIES = 2000  # a real Office file has tens to hundreds of parts
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024  # what the parts declare they unpack to, together
OLE2_HEADER = bytes.fromhex("D0CF11E0A1B11AE1")
NAME_LIMIT = 200


@dataclass(frozen=True)
class Kind:
    content_type: str
    extension: str
    # Shown in the browser: images. Everything else is downloaded (a PDF too: the sandbox the
    # file is served in keeps a browser's PDF viewer from running).
    inline: bool = False


PDF = Kind("application/pdf", "pdf")
PNG = Kind("image/png", "png", inline=True)
JPEG = Kind("image/jpeg", "jpg", inline=True)
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
DOC = Kind("application/msword", "doc")
XLS = Kind("application/vnd.ms-excel", "xls")

KINDS = (PDF, PNG, JPEG, DOCX, XLSX, PPTX, DOC, XLS)
_OFFICE_PARTS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
_IMAGES = {"PNG": PNG, "JPEG": JPEG}
_EXTENSIONS = {"jpg": ("jpg", "jpeg")}


def kind_of(content_type: str) -> Kind | None:
    return next((kind for kind in KINDS if kind.content_type == content_type), None)


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    original_name: str
    kind: Kind
    sha256: str


def clean_name(original_name: str | None) -> str:
    """The name to show and to download as: the last part of any path, without control
    characters or leading dots, at most ``NAME_LIMIT`` characters (the extension kept)."""
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", original_name or ""))[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > NAME_LIMIT:
        _stem, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        name = name[: NAME_LIMIT - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name or N_("添付ファイル")


def _named_for(name: str, kind: Kind) -> str:
    """``name``, ending with an extension of the kind its content is (appended when it does not)."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if suffix in _EXTENSIONS.get(kind.extension, (kind.extension,)):
        return name
    return clean_name(f"{name}.{kind.extension}")


def _image_kind(data: bytes, name: str) -> Kind | None:
    read = read_image(data, say(N_("画像「%(name)s」の画素数が大きすぎます。"), name=name))
    return _IMAGES.get(read[0]) if read else None


def _office_kind(data: bytes, name: str) -> Kind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_MAX_ENTRIES or sum(e.file_size for e in entries) > ZIP_MAX_UNCOMPRESSED:
                raise WorkflowError(
                    N_("「%(name)s」は中のファイルが多すぎるか大きすぎるため、添付できません。"), name=name
                )
            names = {entry.filename for entry in entries}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    found = {kind for prefix, kind in _OFFICE_PARTS.items() if any(n.startswith(prefix) for n in names)}
    return found.pop() if len(found) == 1 else None


def _ole2_kind(data: bytes) -> Kind | None:
    if "WordDocument".encode("utf-16-le") in data:
        return DOC
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return XLS
    return None


def _kind(data: bytes, name: str) -> Kind | None:
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _office_kind(data, name)
    if data.startswith(OLE2_HEADER):
        return _ole2_kind(data)
    return _image_kind(data, name)


def check_file(stream: BinaryIO, original_name: str | None, max_bytes: int) -> CheckedFile:
    """Read and check one upload; raise WorkflowError with a Japanese message if unfit."""
    data = stream.read(max_bytes + 1)
    name = clean_name(original_name)
    if len(data) > max_bytes:
        raise WorkflowError(
            N_("ファイル「%(name)s」が大きすぎます (%(value)sMBまで)。"),
            name=name,
            value=max_bytes // (1024 * 1024),
        )
    if not data:
        raise WorkflowError(N_("ファイル「%(name)s」が空です。"), name=name)
    kind = _kind(data, name)
    if kind is None:
        raise WorkflowError(
            N_("「%(name)s」は添付できる形式 (%(ACCEPTED)s) として読み取れません。"),
            name=name,
            ACCEPTED=ACCEPTED,
        )
    return CheckedFile(data, _named_for(name, kind), kind, hashlib.sha256(data).hexdigest())
