"""Portal settings of organisations: customers and resellers' licence pools, firewall rules, local network
defaults, user preferences (issue 18; filled in by the portal work).

User preferences are columns of models.identity.User; the LAN a router reports is a column of
models.remote.RouterStatusSample; a reseller's licence pool is its models.remote.ConnectionLicence row."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class Customer(Base):
    """A sub-organisation a reseller added as its customer (manual §24): the reseller hands it routers and
    connection licences from its own pool."""

    __tablename__ = "customer"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FirewallDirection(enum.StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class FirewallProtocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    ICMP = "ICMP"
    ANY = "ANY"


class FirewallRule(Base):
    """A firewall rule that applies to an organisation's routers (manual §12): kept by the platform, read-only
    for the organisation's users."""

    __tablename__ = "firewall_rule"
    __table_args__ = (
        CheckConstraint("port_from IS NULL OR (port_from >= 1 AND port_from <= 65535)", name="port_from_range"),
        CheckConstraint("port_to IS NULL OR (port_to >= port_from AND port_to <= 65535)", name="port_to_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    direction: Mapped[FirewallDirection] = mapped_column(string_enum(FirewallDirection, "firewall_direction"))
    protocol: Mapped[FirewallProtocol] = mapped_column(string_enum(FirewallProtocol, "firewall_protocol"))
    #: Null: every port (and always for ICMP and ANY); port_to equals port_from for a single port.
    port_from: Mapped[int | None]
    port_to: Mapped[int | None]
    #: Networks in CIDR notation ("0.0.0.0/0" for any), normalised by ipaddress.
    source: Mapped[str] = mapped_column(String(49))
    destination: Mapped[str] = mapped_column(String(49))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _NetworkColumns:
    """The local network behind a router (manual §14): IPv4 subnet in CIDR, gateway and DNS servers."""

    subnet: Mapped[str] = mapped_column(String(18))
    gateway: Mapped[str] = mapped_column(String(15))
    dns_servers: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NetworkDefaults(_NetworkColumns, Base):
    """An organisation's default local network: every new location gets a copy."""

    __tablename__ = "network_defaults"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)


class LocationNetwork(_NetworkColumns, Base):
    """A location's own local network (a copy of the defaults when it was created; edited on its own after)."""

    __tablename__ = "location_network"

    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), primary_key=True)
