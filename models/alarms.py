"""Alarm profiles and alarms (issue 16, the manual's §21.10-21.12).

A profile says when a location's telemetry is alarming: all its activation filters hold (optionally for
`duration_seconds` without a break), and when the alarm clears: all its clearing filters hold. It applies to
chosen locations and location groups of its organisation. System profiles (no organisation, e.g. a router
going offline) are shipped and read-only. An alarm is one occurrence of a profile at a location (and one of
its devices); while it is open (not cleared) `open_key` holds its profile, location and device, so the
database keeps one open alarm per profile x location device even under concurrent ingests.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class Severity(enum.StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Condition(enum.StrEnum):
    GT = "GT"
    LT = "LT"
    EQ = "EQ"
    NE = "NE"


class FilterKind(enum.StrEnum):
    ACTIVATION = "ACTIVATION"
    CLEARING = "CLEARING"


class AlarmProfile(Base):
    __tablename__ = "alarm_profile"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        # NULLs are distinct in a unique constraint: system profiles' names are unique by this index
        Index(
            "uq_alarm_profile_system_name",
            "name",
            unique=True,
            sqlite_where="organisation_id IS NULL",
            postgresql_where="organisation_id IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None: a system profile (shipped, read-only, applies to every location).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    severity: Mapped[Severity] = mapped_column(string_enum(Severity, "alarm_severity"))
    description: Mapped[str] = mapped_column(String(1000), default="")
    #: The activation filters must hold this long before the alarm is raised; None: at once.
    duration_seconds: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlarmProfileFilter(Base):
    __tablename__ = "alarm_profile_filter"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("alarm_profile.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FilterKind] = mapped_column(string_enum(FilterKind, "alarm_filter_kind"))
    #: Order as given.
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(100))
    condition: Mapped[Condition] = mapped_column(string_enum(Condition, "alarm_condition"))
    value: Mapped[float] = mapped_column(Float)


class AlarmProfileLocation(Base):
    __tablename__ = "alarm_profile_location"

    profile_id: Mapped[int] = mapped_column(ForeignKey("alarm_profile.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AlarmProfileLocationGroup(Base):
    __tablename__ = "alarm_profile_location_group"

    profile_id: Mapped[int] = mapped_column(ForeignKey("alarm_profile.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("location_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Alarm(Base):
    __tablename__ = "alarm"
    __table_args__ = (
        Index("ix_alarm_organisation_raised", "organisation_id", "raised_at", "id"),
        Index("ix_alarm_location_raised", "location_id", "raised_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    #: Kept when the profile is deleted (the alarm stays in the history with the profile's name).
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_profile.id", ondelete="SET NULL"), index=True)
    profile_name: Mapped[str] = mapped_column(String(100))
    severity: Mapped[Severity] = mapped_column(string_enum(Severity, "alarm_severity"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("location_device.id", ondelete="CASCADE"), index=True)
    #: "profile:location:device" while not cleared, NULL after: one open alarm per profile x location device.
    open_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Times the activation held while the alarm was open (1: raised once).
    occurrences: Mapped[int] = mapped_column(default=1)
    #: The value of the first activation filter's key when last raised or repeated (None: not a telemetry alarm).
    last_key: Mapped[str | None] = mapped_column(String(100))
    last_value: Mapped[float | None] = mapped_column(Float)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    acknowledged_by_label: Mapped[str | None] = mapped_column(String(254))
    cleared: Mapped[bool] = mapped_column(Boolean, default=False)
    cleared_at: Mapped[datetime | None]
    #: None with cleared set: cleared automatically (the clearing filter held, the router came back).
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    cleared_by_label: Mapped[str | None] = mapped_column(String(254))


class AlarmPending(Base):
    """An activation that holds but must hold for the profile's duration first: the timer raises the alarm
    when `since` is far enough back; a value that breaks the activation deletes the row."""

    __tablename__ = "alarm_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("alarm_profile.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("location_device.id", ondelete="CASCADE"), index=True)
    #: The open_key the alarm will have.
    pending_key: Mapped[str] = mapped_column(String(60), unique=True)
    since: Mapped[datetime] = mapped_column(index=True)
    last_key: Mapped[str | None] = mapped_column(String(100))
    last_value: Mapped[float | None] = mapped_column(Float)


class AlarmNotificationSetting(Base):
    """Who is mailed about the alarms of an organisation's locations (§21.11): for all profiles or chosen ones,
    when an alarm is raised, repeated (changed) or cleared."""

    __tablename__ = "alarm_notification_setting"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    #: False: only the profiles in alarm_notification_profile.
    all_profiles: Mapped[bool] = mapped_column(Boolean, default=True)
    on_raise: Mapped[bool] = mapped_column(Boolean, default=True)
    on_change: Mapped[bool] = mapped_column(Boolean, default=False)
    on_clear: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlarmNotificationProfile(Base):
    __tablename__ = "alarm_notification_profile"

    setting_id: Mapped[int] = mapped_column(
        ForeignKey("alarm_notification_setting.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("alarm_profile.id", ondelete="CASCADE"), primary_key=True, index=True
    )
