"""Cases and calls at locations, case statuses and activity types (issue 18: the manual's Case & Call, §17-20).

A case is a piece of work at a location (optionally about one of its devices), opened by a user, with
calls in it: each call is a stretch of work (start, duration, activity type, status, who, what). A case's
status is one of its organisation's statuses; a status that "closes the case" makes the case final. The
time worked on a case is the sum of its calls' durations (derived, never stored).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CaseSettingsSeed(Base):
    """An organisation whose default statuses and activity types were created (once: a default deleted
    later does not come back). Inserted if missing; the insert that wins creates the defaults."""

    __tablename__ = "case_settings_seed"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseStatus(Base):
    """A status of cases of an organisation (Open, Waiting on customer, ..., Closed)."""

    __tablename__ = "case_status"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    #: Order in lists (the manual's "volgnummer"); ties by name.
    sequence: Mapped[int] = mapped_column(default=0)
    #: Shown in the portal, not offered in the desktop client.
    hidden_in_client: Mapped[bool] = mapped_column(default=False)
    #: A case in this status is closed: no longer editable, no new calls.
    closes_case: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityType(Base):
    """What kind of work a call was (Software update, Malfunction, ...), per organisation."""

    __tablename__ = "activity_type"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """Work at a location, with its calls. Its organisation is the location's (statuses come from there)."""

    __tablename__ = "service_case"  # "case" is an SQL keyword
    __table_args__ = (
        Index("ix_service_case_location_started", "location_id", "started_at", "id"),
        Index("ix_service_case_user_started", "user_id", "started_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    #: The case goes with its location.
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    #: A device of the location, or none.
    device_id: Mapped[int | None] = mapped_column(ForeignKey("location_device.id", ondelete="SET NULL"), index=True)
    #: Who opened it; null once that user is deleted.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    #: A status in use cannot be deleted (refused by the rule; the foreign key backs it).
    status_id: Mapped[int] = mapped_column(ForeignKey("case_status.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(String(4000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseCall(Base):
    """A call in a case: a stretch of work."""

    __tablename__ = "case_call"
    __table_args__ = (
        CheckConstraint("duration_minutes >= 0", name="duration_not_negative"),
        Index("ix_case_call_case_started", "case_id", "started_at", "id"),
        Index("ix_case_call_user_started", "user_id", "started_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("service_case.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration_minutes: Mapped[int]
    activity_type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), index=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("case_status.id"), index=True)
    #: Who did the work; null once that user is deleted.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(4000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
