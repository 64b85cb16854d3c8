"""Outbound deliveries and forwarding (issue 16, §21.9).

`OutboundDelivery` and `OutboundAttempt` are the generic outbound-delivery engine's queue and history
(resolvers/monitoring/delivery): one row per thing to deliver (a forwarded point batch, later a metering
integration's message), kept until acknowledged. `ForwardingTarget` is where a location's telemetry goes;
`ForwardingState` remembers per target and series what was sent last (smart mode).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow

ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryState(enum.StrEnum):
    #: Waiting for its (next) attempt; a worker holding the lease is sending it.
    QUEUED = "QUEUED"
    #: The receiver acknowledged it: never sent again.
    DELIVERED = "DELIVERED"
    #: Gave up (attempts exhausted, or a permanent error such as a deleted target).
    FAILED = "FAILED"


class OutboundDelivery(Base):
    __tablename__ = "outbound_delivery"
    __table_args__ = (
        Index("ix_outbound_delivery_due", "state", "next_attempt_at"),
        Index("ix_outbound_delivery_target", "kind", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    #: Which adapter sends it ("forwarding.influxdb", …).
    kind: Mapped[str] = mapped_column(String(60))
    #: The kind's own target (no foreign key: the engine knows no targets; the adapter fails a vanished one).
    target_id: Mapped[int] = mapped_column(ROW_ID)
    #: One row per key, ever: enqueueing the same key again does nothing. Sent to the receiver with every attempt.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[DeliveryState] = mapped_column(
        string_enum(DeliveryState, "delivery_state"), default=DeliveryState.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A worker's claim: until then no other worker takes it; after it (the worker stopped), it is due again.
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[str] = mapped_column(String(40), default="")
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class OutboundAttempt(Base):
    __tablename__ = "outbound_attempt"
    __table_args__ = (Index("ix_outbound_attempt_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ROW_ID, ForeignKey("outbound_delivery.id", ondelete="CASCADE"))
    #: "delivered" or "failed".
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str] = mapped_column(String(1000), default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Platform(enum.StrEnum):
    INFLUXDB = "INFLUXDB"
    BLOCKBAX = "BLOCKBAX"
    AWS_IOT_CORE = "AWS_IOT_CORE"
    AZURE_IOT_HUB = "AZURE_IOT_HUB"


class ForwardingTarget(Base):
    __tablename__ = "forwarding_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[Platform] = mapped_column(string_enum(Platform, "forwarding_platform"))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: Smart mode: a value goes out only when it changed, or when `smart_interval_seconds` passed since it was
    #: last sent (0: an unchanged value never again).
    smart: Mapped[bool] = mapped_column(default=False)
    smart_interval_seconds: Mapped[int] = mapped_column(default=0)
    #: The chosen telemetry keys with their per-value settings: [{"key", "measurement", "dataType",
    #: "ingestionId"}]; empty: every key (not allowed for InfluxDB and Blockbax).
    values: Mapped[list] = mapped_column(JSON, default=list)
    #: The platform's settings without secrets (URL, org, bucket, endpoint, client ID, certificates, …).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The platform's secrets (token, private key, connection string) as one JSON object sealed with the master
    #: key, bound to the target (graph.secrets); never returned, only whether it is set and its fingerprint.
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The master key version that sealed `secret` (rotate-master-key finds older ones by it).
    secret_version: Mapped[int] = mapped_column(default=0)
    secret_fingerprint: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ForwardingState(Base):
    """The last value of a series a target sent (smart mode), written with the ingest that sent it."""

    __tablename__ = "forwarding_state"
    __table_args__ = (PrimaryKeyConstraint("target_id", "series_id", name="pk_forwarding_state"),)

    target_id: Mapped[int] = mapped_column(ForeignKey("forwarding_target.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(ROW_ID, ForeignKey("telemetry_series.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float)
    #: The point's time of the value sent.
    at: Mapped[datetime]
