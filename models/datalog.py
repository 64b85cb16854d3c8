"""Data monitoring per location (issue 16, manual §21-21.7): which locations are monitored with which general
settings, the datalog devices (OPC UA, BACnet, Modbus, SNMP) of location devices and device templates, the
state of the last configuration upload to the location's router, and graphical configurations (SVG)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class CloudHost(enum.StrEnum):
    """The manual's cloud hosts (§21.5.2)."""

    HELIX = "HELIX"
    THINGSBOARD = "THINGSBOARD"
    DOCKERS = "DOCKERS"
    NETSUPPORT = "NETSUPPORT"


class ConfigState(enum.StrEnum):
    """The last configuration upload to the location's router."""

    PENDING = "PENDING"
    APPLIED = "APPLIED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


class Protocol(enum.StrEnum):
    OPC_UA = "OPC_UA"
    BACNET = "BACNET"
    MODBUS = "MODBUS"
    SNMP = "SNMP"


class MonitoredLocation(Base):
    """A location with data monitoring activated (one row per location)."""

    __tablename__ = "datalog_location"

    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), primary_key=True)
    send_frequency_seconds: Mapped[int]
    cloud_host: Mapped[CloudHost] = mapped_column(string_enum(CloudHost, "datalog_cloud_host"))
    #: No point for longer than this: ACTIVE_NO_NEW_TELEMETRY.
    silence_seconds: Mapped[int]
    #: None: never uploaded.
    config_state: Mapped[ConfigState | None] = mapped_column(string_enum(ConfigState, "datalog_config_state"))
    #: The request ID of the last upload: an acknowledgement applies only to it.
    config_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    config_sent_at: Mapped[datetime | None]
    #: The router's reason of a FAILED upload (its words, cut to length), or why it timed out.
    config_reason: Mapped[str] = mapped_column(String(500), default="")
    #: When the router last acknowledged a configuration; None: never applied (NO_CONFIGURATION).
    config_applied_at: Mapped[datetime | None]
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatalogDevice(Base):
    """A datalog device of a location device, or of a device template (then it applies to every location device
    made from the template, read through at each upload: see the README notes)."""

    __tablename__ = "datalog_device"
    __table_args__ = (
        CheckConstraint("(location_device_id IS NULL) <> (template_id IS NULL)", name="one_owner"),
        Index("ix_datalog_device_location_device_id", "location_device_id"),
        Index("ix_datalog_device_template_id", "template_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Denormalised from the owner: tenancy filters without a join.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    location_device_id: Mapped[int | None] = mapped_column(ForeignKey("location_device.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("device_template.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[Protocol] = mapped_column(string_enum(Protocol, "datalog_protocol"))
    #: The protocol's settings without secrets (validated by resolvers/monitoring/datalog/settings.py).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The protocol's secrets (passwords, community) as JSON, sealed with the master key; None: none given.
    secrets_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The chosen variables: [{key, unit, dataType, address: {...}}].
    variables: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Graphic(Base):
    """A graphical configuration (§21.6): a sanitised SVG and its element bindings."""

    __tablename__ = "datalog_graphic"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    svg: Mapped[str] = mapped_column(Text)
    #: The ids of the SVG's elements (bindings refer to them), in document order.
    element_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: [{elementId, key, conditions: [...], actions: [...], animations: [...]}].
    bindings: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
