"""Telemetry (issue 16): a series is one key of one location (optionally of one of its devices), or one key of a
meter (a catalogue device; issue 17: a meter's readings are its points); a point is one value of a series at one
time. The latest value of each series is kept on the series itself."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow

SERIES_ID = BigInteger().with_variant(Integer(), "sqlite")


class DataType(enum.StrEnum):
    """How a numeric value is shown: points are stored as numbers (a boolean as 0 or 1)."""

    FLOAT = "FLOAT"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"


class TelemetrySeries(Base):
    __tablename__ = "telemetry_series"
    __table_args__ = (
        # one series per key of a location's own values, and per key of each of its devices
        Index(
            "uq_telemetry_series_location_key",
            "location_id",
            "key",
            unique=True,
            sqlite_where="device_id IS NULL",
            postgresql_where="device_id IS NULL",
        ),
        Index(
            "uq_telemetry_series_device_key",
            "device_id",
            "key",
            unique=True,
            sqlite_where="device_id IS NOT NULL",
            postgresql_where="device_id IS NOT NULL",
        ),
        # one series per key of each meter (its readings: resolvers/metering/readings)
        Index(
            "uq_telemetry_series_meter_key",
            "meter_id",
            "key",
            unique=True,
            sqlite_where="meter_id IS NOT NULL",
            postgresql_where="meter_id IS NOT NULL",
        ),
        # a series is a location's or a meter's, never both nor neither
        CheckConstraint("(location_id IS NULL) <> (meter_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(SERIES_ID, primary_key=True, autoincrement=True)
    #: Denormalised from the location: retention and tenancy filters without a join.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: None for a meter's series (then meter_id is set).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("location_device.id", ondelete="CASCADE"))
    #: The catalogue device whose readings these are (issue 17); None for a location's series.
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20), default="")
    data_type: Mapped[DataType] = mapped_column(string_enum(DataType, "telemetry_data_type"), default=DataType.FLOAT)
    #: The newest point (by its time, not by when it arrived).
    last_at: Mapped[datetime | None]
    last_value: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelemetryPoint(Base):
    """On PostgreSQL a table partitioned by range of `at` (models/migrations 0009), so that retention drops
    whole partitions."""

    __tablename__ = "telemetry_point"
    __table_args__ = (PrimaryKeyConstraint("series_id", "at", name="pk_telemetry_point"),)

    series_id: Mapped[int] = mapped_column(SERIES_ID, ForeignKey("telemetry_series.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)


class TelemetryToken(Base):
    """A location's device token for POST /telemetry: shown once when created, kept only as its SHA-256."""

    __tablename__ = "telemetry_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set once; a revoked token is refused (401) and never valid again.
    revoked_at: Mapped[datetime | None]


class TelemetryRetention(Base):
    """How long an organisation keeps its telemetry points; without a row: FLEETGRAPH_TELEMETRY_RETENTION_DAYS."""

    __tablename__ = "telemetry_retention"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    #: 0 keeps points forever.
    days: Mapped[int] = mapped_column(Integer)
