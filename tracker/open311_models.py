"""Models of the Open311 GeoReport v2 intake: API keys, submissions, service definitions, towns.

Requests from residents' apps and the call center arrive through an API key. Each arrival is
an ``Open311Submission`` (its ``token`` is the spec's): routed at once to a center, it becomes a
normal request in 受付 and the submission points at it; with no resolvable place it waits in the
intake queue (未振り分け) until a ward manager or admin assigns a center. The city's models never
refer to these; this module imports ``tracker.models`` and not the other way round.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import UTCDateTime, utcnow
from .models import Category, Center, ServiceRequest, User, Ward


class ApiKey(db.Model):
    """An Open311 client (a residents' app, the call center): stored as a SHA-256 hash, never in clear.

    ``center_id`` NULL: city-wide (requests are routed by place); else every request through the
    key goes to that center. A revoked key is refused (403) but kept, so its requests stay attributed.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, shown so that admin can tell keys apart; not a secret.
    key_prefix: Mapped[str] = mapped_column(String(12))
    center_id: Mapped[int | None] = mapped_column(ForeignKey("centers.id"), index=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    center: Mapped[Center | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def __str__(self) -> str:
        return self.name


class Open311Submission(db.Model):
    """One request POSTed through an API key: what arrived, and the request it became (if routed yet).

    ``requester_*``, ``email``, ``device_id`` and ``account_id`` are personal data: kept for the
    staff who answer, masked like a request's, and never part of any Open311 answer.
    """

    __tablename__ = "open311_submissions"
    __table_args__ = (
        # The intake queue: unassigned submissions of a ward (or of no ward), oldest first.
        Index("ix_open311_submissions_queue", "service_request_id", "ward_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    # The ward the address names, when it names one but no known town: whose managers may assign it.
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    address_string: Mapped[str] = mapped_column(String(200), default="")
    address_id: Mapped[str] = mapped_column(String(100), default="")
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    requester_name: Mapped[str] = mapped_column(String(100), default="")
    requester_contact: Mapped[str] = mapped_column(String(200), default="")
    device_id: Mapped[str] = mapped_column(String(200), default="")
    account_id: Mapped[str] = mapped_column(String(200), default="")
    media_url: Mapped[str] = mapped_column(String(500), default="")
    # An uploaded ``media`` file, checked like any photo and stored; moved to the request's photos.
    media: Mapped[dict] = mapped_column(JSON, default=dict)
    # ``attribute[CODE]`` answers to the service definition's questions, by code.
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    received_on: Mapped[dt.date] = mapped_column(Date)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    api_key: Mapped[ApiKey] = relationship()
    service_request: Mapped[ServiceRequest | None] = relationship()
    category: Mapped[Category] = relationship()
    ward: Mapped[Ward | None] = relationship()
    assigned_by: Mapped[User | None] = relationship()


class ServiceProfile(db.Model):
    """What ``services`` says about a category beyond its name: description, keywords, group."""

    __tablename__ = "service_profiles"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(String(200), default="")  # comma separated, as the spec has it
    group: Mapped[str] = mapped_column(String(100), default="")

    category: Mapped[Category] = relationship()


class ServiceAttribute(db.Model):
    """An extra question a category asks (the spec's service definition attribute)."""

    __tablename__ = "service_attributes"
    __table_args__ = (UniqueConstraint("category_id", "code"),)

    DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    datatype: Mapped[str] = mapped_column(String(20), default="string")
    required: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(String(200))
    datatype_description: Mapped[str] = mapped_column(String(200), default="")
    order: Mapped[int] = mapped_column(Integer, default=0)
    # For the list datatypes: [{"key": ..., "name": ...}, ...].
    values: Mapped[list] = mapped_column(JSON, default=list)

    category: Mapped[Category] = relationship()


class TownCenter(db.Model):
    """町名 → まちづくりセンター: the table admin keeps so an ``address_string`` finds its center."""

    __tablename__ = "town_centers"

    id: Mapped[int] = mapped_column(primary_key=True)
    town_name: Mapped[str] = mapped_column(String(100), unique=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)

    center: Mapped[Center] = relationship()
