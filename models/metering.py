"""The metering cloud (issue 17, the Russian manual §2): metering points, each with one meter (a catalogue
device), its resource, where it is (a structured address and a free-text room name), the personal account
number and the time zone its integrations are scheduled in.

Integrations, their runs and notification subscriptions come in later parts of issue 17; the meter's readings
are telemetry points of the meter (models/telemetry.py)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class Resource(enum.StrEnum):
    """What the meter measures (the manual's cold and hot water; the catalogue's other product types)."""

    COLD_WATER = "COLD_WATER"
    HOT_WATER = "HOT_WATER"
    HEAT = "HEAT"
    ELECTRICITY = "ELECTRICITY"
    GAS = "GAS"


class AddressSource(enum.StrEnum):
    """Where an address came from: the shipped sample, a Nominatim search, or one already known."""

    SAMPLE = "SAMPLE"
    NOMINATIM = "NOMINATIM"
    KNOWN = "KNOWN"


class Address(Base):
    """A structured postal address as a directory returned it; shared by the points at the same house."""

    __tablename__ = "address"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[AddressSource] = mapped_column(string_enum(AddressSource, "address_source"))
    #: The directory's own identifier (Nominatim: "<osm_type><osm_id>", sample: its key), to find it again.
    external_id: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    house: Mapped[str] = mapped_column(String(50), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    #: One line, as the directory shows it (what a search answers and a list shows).
    display_name: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeteringPoint(Base):
    """One meter's place: a consumer's own point, or one of an organisation's (its staff see them all)."""

    __tablename__ = "metering_point"
    __table_args__ = (Index("ix_metering_point_owner", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: The consumer whose point it is; None for points the organisation's staff keep.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    resource: Mapped[Resource] = mapped_column(string_enum(Resource, "metering_resource"))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("address.id", ondelete="SET NULL"), index=True)
    #: Names the point, e.g. "Flat 16 bathroom".
    room_name: Mapped[str] = mapped_column(String(200))
    #: The one meter (a catalogue device), once bound; a device is at one point at most.
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"), unique=True)
    #: Personal account number; required before an integration to the city portal or a management company.
    account_number: Mapped[str | None] = mapped_column(String(50))
    #: IANA time zone the point's integrations are scheduled in.
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeterGatewayToken(Base):
    """An organisation's meter gateway token for POST /meters/readings (issue 17): a network server sends the
    readings of the organisation's meters, naming them by serial number. Shown once, kept only as its SHA-256."""

    __tablename__ = "meter_gateway_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set once; a revoked token is refused (401) and never valid again.
    revoked_at: Mapped[datetime | None]


class IntegrationKind(enum.StrEnum):
    """Where an integration delivers a point's readings (the manual's chooser, §3)."""

    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"
    #: The city portal (mos.ru).
    CITY_PORTAL = "CITY_PORTAL"
    #: The state housing system (GIS ZhKKh).
    STATE_HOUSING = "STATE_HOUSING"
    #: The water utility (Mosvodokanal).
    UTILITY = "UTILITY"


class RunStatus(enum.StrEnum):
    #: Queued or being retried (its error says the last attempt's problem).
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    #: The city portal does not know the meter yet: not an error to the user; retried daily by itself.
    DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"
    #: Given up: the user must edit the integration.
    FAILED = "FAILED"


class Integration(Base):
    """A metering point's scheduled transfer of its latest reading to a third party (resolvers/metering/
    integrations). Its schedule is the first transfer date, periodicity and local time of day in the point's
    time zone; `next_due_at`/`next_period` are the next occurrence, moved on by the scheduler's conditional UPDATE."""

    __tablename__ = "metering_integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    metering_point_id: Mapped[int] = mapped_column(ForeignKey("metering_point.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IntegrationKind] = mapped_column(string_enum(IntegrationKind, "integration_kind"))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: DAILY, WEEKLY or MONTHLY (resolvers.metering.integrations.schedule.Periodicity).
    periodicity: Mapped[str] = mapped_column(String(10))
    #: The schedule's first local transfer date (occurrences count from it).
    first_date: Mapped[date] = mapped_column(Date)
    #: Local time of day of each transfer, minutes after midnight.
    at_minute: Mapped[int] = mapped_column(Integer)
    #: The next occurrence: its local date (the period it delivers) and its UTC instant.
    next_period: Mapped[date] = mapped_column(Date)
    next_due_at: Mapped[datetime] = mapped_column(index=True)
    #: The kind's fields without secrets (recipient, URL, payer ID, apartment, identifiers).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The webhook's HMAC secret sealed with the master key, bound to the integration; never returned.
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_version: Mapped[int] = mapped_column(default=0)
    #: A city portal that did not know the meter: the period is tried again at this instant (daily) until it
    #: succeeds or the user edits the integration.
    retry_at: Mapped[datetime | None] = mapped_column(index=True)
    retry_period: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntegrationRun(Base):
    """One delivery of one period (scheduled, a daily retry, or a synchronisation) and its outcome."""

    __tablename__ = "metering_integration_run"
    __table_args__ = (Index("ix_metering_integration_run_integration", "integration_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("metering_integration.id", ondelete="CASCADE"))
    #: The local date of the period delivered.
    period: Mapped[date] = mapped_column(Date)
    #: SCHEDULE, RETRY or SYNCHRONISE.
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[RunStatus] = mapped_column(string_enum(RunStatus, "integration_run_status"))
    error: Mapped[str] = mapped_column(String(1000), default="")
    #: SHA-256 (hex) of the payload as sent (the last attempt's).
    payload_digest: Mapped[str] = mapped_column(String(64), default="")
    #: The outbound delivery that carries it (none for a synchronisation, which sends at once).
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


# --- notifications (issue 17, the manual §4) -----------------------------------------------------------------


class MeteringPointSubscription(Base):
    """The manual's bell: the user hears of every transfer of the point's integrations (mail and Web Push)."""

    __tablename__ = "metering_point_subscription"
    __table_args__ = (UniqueConstraint("metering_point_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metering_point_id: Mapped[int] = mapped_column(ForeignKey("metering_point.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushSubscription(Base):
    """One browser's Web Push subscription (its push service endpoint and the keys to encrypt for it), per user:
    two accounts used in one browser each have their own, and nobody can take over another's by its endpoint."""

    __tablename__ = "push_subscription"
    __table_args__ = (UniqueConstraint("user_id", "endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2000))
    #: The browser's P-256 public key and auth secret (base64url, as the Push API hands them out).
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TransferNotice(Base):
    """One notified transfer outcome: an integration's period, succeeded or failed. Noticed once, so a failure the
    scheduler retries daily (the meter is not registered yet) mails once, and its later success once more."""

    __tablename__ = "metering_transfer_notice"
    __table_args__ = (UniqueConstraint("integration_id", "period", "succeeded"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metering_point_id: Mapped[int] = mapped_column(ForeignKey("metering_point.id", ondelete="CASCADE"), index=True)
    #: No foreign key: the integrations' table belongs to their migration; a notice outlives nothing it needs.
    integration_id: Mapped[int]
    period: Mapped[date]
    succeeded: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebPushKey(Base):
    """The server's VAPID key pair (one row, id 1), made on first need; the private key sealed with the master key."""

    __tablename__ = "web_push_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The uncompressed P-256 public key, base64url: what browsers pass as applicationServerKey.
    public_key: Mapped[str] = mapped_column(String(100))
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
