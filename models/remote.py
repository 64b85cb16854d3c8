"""Remote access: routers (registered by the platform, assigned to an organisation), their reported
status, and locations (a place an organisation runs a router at).

Connections, groups, device templates and notification profiles hang off Router and Location later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Router(Base):
    """A remote access router. Its common name is the name of its client certificate (it may change
    with a factory reset); MAC address and serial number are printed on the device."""

    __tablename__ = "router"
    __table_args__ = (Index("ix_router_online_heartbeat", "online", "last_heartbeat_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    common_name: Mapped[str] = mapped_column(String(64), unique=True)
    #: Normalised "AA:BB:CC:DD:EE:FF".
    mac_address: Mapped[str] = mapped_column(String(17), unique=True)
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str] = mapped_column(String(100), default="")
    firmware: Mapped[str] = mapped_column(String(100), default="")
    #: None until the platform assigns it to an organisation.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    online: Mapped[bool] = mapped_column(default=False)
    last_heartbeat_at: Mapped[datetime | None]
    #: When `online` last changed (registration counts as the first state).
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RouterStatusSample(Base):
    """One status report of a router (sent with its heartbeat)."""

    __tablename__ = "router_status_sample"
    __table_args__ = (Index("ix_router_status_sample_router_taken", "router_id", "taken_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("router.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Percent 0-100.
    cpu_load: Mapped[float | None] = mapped_column(Float)
    #: Percent 0-100.
    memory_use: Mapped[float | None] = mapped_column(Float)
    modem_state: Mapped[str] = mapped_column(String(40), default="")
    #: dBm (negative).
    signal_strength: Mapped[float | None] = mapped_column(Float)
    #: Mbit/s.
    link_speed: Mapped[float | None] = mapped_column(Float)


class Location(Base):
    """A place of an organisation with (at most) one router."""

    __tablename__ = "location"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    router_id: Mapped[int | None] = mapped_column(ForeignKey("router.id", ondelete="SET NULL"), unique=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationPin(Base):
    """A location a user pinned (shown first on their dashboard)."""

    __tablename__ = "location_pin"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
