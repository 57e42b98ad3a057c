"""Models of the liaison staff's field work (活動記録): the activities they log, the kinds of
activity and the community organisations of each center they meet.

An activity is where requests are heard: a request names the activity it came from
(``ServiceRequest.activity_id``). This module refers to the city's models; those never refer
back, so it imports ``tracker.models`` and not the other way round.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .model_types import UTCDateTime, enum_column, utcnow
from .models import Center, ServiceRequest, User, Ward
from .states import OrganisationKind

activity_liaisons = Table(
    "activity_liaisons",
    db.metadata,
    Column("activity_id", ForeignKey("activities.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class ActivityKind(db.Model):
    """活動区分: master data the admin keeps (会議出席（校区自治協議会）, 地域行事の支援, ...).

    ``group`` gathers kinds under one heading in a choice list (会議出席), or is empty.
    """

    __tablename__ = "activity_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    group: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class CommunityOrganisation(db.Model):
    """A 校区自治協議会, 町内自治会 or other group of one center's area, kept by the ward manager."""

    __tablename__ = "community_organisations"
    __table_args__ = (UniqueConstraint("center_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[OrganisationKind] = enum_column(OrganisationKind)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    center: Mapped[Center] = relationship()

    def __str__(self) -> str:
        return self.name


class Activity(db.Model):
    """活動記録: one meeting, event, visit or consultation of a center's liaison staff."""

    __tablename__ = "activities"
    __table_args__ = (
        # Lists: the filters, and each keyset order (sort column, id).
        Index("ix_activities_center_held_id", "center_id", "held_on", "id"),
        Index("ix_activities_ward_held_id", "ward_id", "held_on", "id"),
        Index("ix_activities_held_id", "held_on", "id"),
        Index("ix_activities_ward_updated_id", "ward_id", "updated_at", "id"),
        Index("ix_activities_updated_id", "updated_at", "id"),
        # Counts per ward (or center) and fiscal year.
        Index("ix_activities_ward_fiscal_year", "ward_id", "fiscal_year"),
        Index("ix_activities_center_fiscal_year", "center_id", "fiscal_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.time | None] = mapped_column(Time)
    ends_at: Mapped[dt.time | None] = mapped_column(Time)
    kind_id: Mapped[int] = mapped_column(ForeignKey("activity_kinds.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("community_organisations.id"), index=True)
    # The organisation met when it is not on the center's list (free text), else empty.
    organisation_text: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    attendees: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id"), index=True)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Set by offline capture and the importer: the same activity sent twice is stored once.
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking, as on requests and issues.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    kind: Mapped[ActivityKind] = relationship()
    organisation: Mapped[CommunityOrganisation | None] = relationship()
    center: Mapped[Center] = relationship()
    ward: Mapped[Ward] = relationship()
    logged_by: Mapped[User] = relationship()
    liaisons: Mapped[list[User]] = relationship(secondary=activity_liaisons, order_by="User.id")
    requests: Mapped[list[ServiceRequest]] = relationship(
        primaryjoin="Activity.id == foreign(ServiceRequest.activity_id)",
        order_by="ServiceRequest.id",
        viewonly=True,
    )

    @property
    def organisation_name(self) -> str:
        """The organisation met, from the center's list or as typed."""
        return self.organisation.name if self.organisation else self.organisation_text
