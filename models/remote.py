"""Remote access: routers (registered by the platform, assigned to an organisation), their reported
status, locations (a place an organisation runs a router at) with the devices behind the router,
device templates, who may reach a location (users, user groups, location groups, external users),
connections through a router and their licence, notification profiles for offline routers, and (issue 18)
serial devices with their templates and configuration groups of routers.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, decides_rights, string_enum, utcnow


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
    #: The configuration group it is in: one column, so a router is in at most one (issue 18, §8).
    configuration_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("configuration_group.id", ondelete="SET NULL"), index=True
    )


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
    #: The LAN behind the router as it reports it (CIDR, e.g. 192.168.1.0/24; issue 18: checked against the
    #: location's local network settings).
    lan_subnet: Mapped[str | None] = mapped_column(String(18))
    #: The fault the router (or the machine behind it) reports; empty when none (issue 18).
    fault_code: Mapped[str] = mapped_column(String(40), default="")
    fault_message: Mapped[str] = mapped_column(String(200), default="")
    #: Whether the machine stands still; null when not reported (issue 18).
    standstill: Mapped[bool | None]


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
    location_id: Mapped[int] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- devices behind a router, device templates ---------------------------------------------------------


class ServiceType(enum.StrEnum):
    """How a user reaches a device through the router's tunnel."""

    HTTP = "HTTP"
    HTTPS = "HTTPS"
    SSH = "SSH"
    TELNET = "TELNET"
    RDP = "RDP"
    VNC = "VNC"
    #: Any other TCP port (a PLC's programming port, Modbus/TCP, ...).
    TCP = "TCP"


class _ServiceColumns:
    """Settings of one remote access service (the same for a template's and a location device's)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    service_type: Mapped[ServiceType] = mapped_column(string_enum(ServiceType, "service_type"))
    port: Mapped[int]
    #: URL path for HTTP(S); empty otherwise.
    path: Mapped[str] = mapped_column(String(200), default="")
    #: Login name to offer for SSH, TELNET, RDP and VNC; empty when not set. Never a password.
    username: Mapped[str] = mapped_column(String(100), default="")


class DeviceTemplate(Base):
    """A device (PLC, HMI, camera, ...) described once and copied to locations."""

    __tablename__ = "device_template"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    ip_address: Mapped[str] = mapped_column(String(45))
    #: Kept, but not offered when applying templates to a location.
    inactive: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceTemplateService(_ServiceColumns, Base):
    __tablename__ = "device_template_service"

    template_id: Mapped[int] = mapped_column(ForeignKey("device_template.id", ondelete="CASCADE"), index=True)


class LocationDevice(Base):
    """A device behind a location's router."""

    __tablename__ = "location_device"
    __table_args__ = (
        UniqueConstraint("location_id", "name"),
        # a template is linked to a location at most once
        Index(
            "uq_location_device_linked_template",
            "location_id",
            "template_id",
            unique=True,
            sqlite_where=text("template_linked"),
            postgresql_where=text("template_linked"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    ip_address: Mapped[str] = mapped_column(String(45))
    #: The template it was copied from, or is linked to (see template_linked).
    template_id: Mapped[int | None] = mapped_column(ForeignKey("device_template.id", ondelete="SET NULL"))
    #: Linked: the template's later edits (description, IP address, services) reach this device, until the
    #: location copies it as its own setting or unlinks it. Not linked: a copy, template edits do not reach it.
    template_linked: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationDeviceService(_ServiceColumns, Base):
    __tablename__ = "location_device_service"

    device_id: Mapped[int] = mapped_column(ForeignKey("location_device.id", ondelete="CASCADE"), index=True)


# --- who may reach a location -------------------------------------------------------------------------


class LocationUserAccess(Base):
    """A user given access to a location directly."""

    __tablename__ = "location_user_access"

    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationUserGroupAccess(Base):
    """A user group (all its members) given access to a location."""

    __tablename__ = "location_user_group_access"

    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), primary_key=True)
    user_group_id: Mapped[int] = mapped_column(
        ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationGroup(Base):
    """Locations and users grouped: every user of the group may reach every location of it."""

    __tablename__ = "location_group"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationGroupLocation(Base):
    __tablename__ = "location_group_location"

    group_id: Mapped[int] = mapped_column(ForeignKey("location_group.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LocationGroupUser(Base):
    __tablename__ = "location_group_user"

    group_id: Mapped[int] = mapped_column(ForeignKey("location_group.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)


class ExternalUser(Base):
    """A user of another organisation let into this one: they reach only the locations (and
    location groups) granted to them here, and see nothing else of it."""

    __tablename__ = "external_user"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalUserInvitation(Base):
    """An organisation's pending offer to let the holder of an e-mail address in as an external user.

    It names an address, not a user: the inviting side learns nothing of whether (or where) the
    address exists until the user (or an admin of their organisation) accepts, which turns it into an
    ExternalUser row."""

    __tablename__ = "external_user_invitation"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    #: Lower case, as user e-mail addresses are stored.
    email: Mapped[str] = mapped_column(String(254), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- connections --------------------------------------------------------------------------------------


class ConnectionEnd(enum.StrEnum):
    """Why a connection ended."""

    DISCONNECTED = "DISCONNECTED"
    ROUTER_OFFLINE = "ROUTER_OFFLINE"
    ACCESS_REVOKED = "ACCESS_REVOKED"


class ConnectionLicence(Base):
    """How many connections an organisation may hold at the same time (the manual's active connections)."""

    __tablename__ = "connection_licence"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    max_active_connections: Mapped[int]


class RouterConnection(Base):
    """A user's connection through a location's router: active while ended_at is null, history after.
    Names are copied so that the history still reads after a router or device is gone."""

    __tablename__ = "router_connection"
    __table_args__ = (
        # A user's client holds one tunnel at a time.
        Index(
            "uq_router_connection_active_user",
            "user_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_router_connection_location_started", "location_id", "started_at", "id"),
        Index("ix_router_connection_organisation_ended", "organisation_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The licence holder: the location's organisation (also for external users).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    router_id: Mapped[int | None] = mapped_column(ForeignKey("router.id", ondelete="SET NULL"), index=True)
    router_common_name: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    #: The device behind the router the user asked for, if any.
    device_id: Mapped[int | None] = mapped_column(ForeignKey("location_device.id", ondelete="SET NULL"))
    device_name: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[ConnectionEnd | None] = mapped_column(string_enum(ConnectionEnd, "connection_end"))


class ConnectionFailure(Base):
    """The last refused connect or disconnect of a user (the manual's GetLastErrorDetails)."""

    __tablename__ = "connection_failure"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    result: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(500))
    router_common_name: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- notification profiles ----------------------------------------------------------------------------


class NotificationProfile(Base):
    """Who is told by mail when a watched location's router stays offline for offline_minutes."""

    __tablename__ = "notification_profile"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        CheckConstraint("offline_minutes >= 1", name="offline_minutes_positive"),
        CheckConstraint("repeat_minutes IS NULL OR repeat_minutes >= 1", name="repeat_minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    offline_minutes: Mapped[int]
    #: Repeat while still offline every this many minutes; null sends once per offline period.
    repeat_minutes: Mapped[int | None]
    #: Which events the profile reports (issue 18): offline (after offline_minutes), a reported fault
    #: appearing or clearing, the machine starting or ending a standstill.
    on_offline: Mapped[bool] = mapped_column(default=True)
    on_fault: Mapped[bool] = mapped_column(default=False)
    on_standstill: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationProfileUser(Base):
    __tablename__ = "notification_profile_user"

    profile_id: Mapped[int] = mapped_column(ForeignKey("notification_profile.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)


class NotificationProfileEmail(Base):
    __tablename__ = "notification_profile_email"

    profile_id: Mapped[int] = mapped_column(ForeignKey("notification_profile.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)


class NotificationProfileLocation(Base):
    __tablename__ = "notification_profile_location"

    profile_id: Mapped[int] = mapped_column(ForeignKey("notification_profile.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class NotificationProfileLocationGroup(Base):
    __tablename__ = "notification_profile_location_group"

    profile_id: Mapped[int] = mapped_column(ForeignKey("notification_profile.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("location_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class OfflineNotification(Base):
    """What a profile has sent about a router's current offline period (one row per profile and router)."""

    __tablename__ = "offline_notification"

    profile_id: Mapped[int] = mapped_column(ForeignKey("notification_profile.id", ondelete="CASCADE"), primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("router.id", ondelete="CASCADE"), primary_key=True, index=True)
    #: The router's state_changed_at when it went offline: a new offline period starts a new count.
    offline_since: Mapped[datetime]
    last_sent_at: Mapped[datetime]
    sent_count: Mapped[int] = mapped_column(default=1)


class ConditionKind(enum.StrEnum):
    """A reported condition of a router whose changes profiles report (issue 18)."""

    FAULT = "FAULT"
    STANDSTILL = "STANDSTILL"


class ConditionNotification(Base):
    """The state of a router's condition a profile last reported (one row per profile, router and kind): a
    mail goes out when the router's latest status differs from it, once per transition."""

    __tablename__ = "condition_notification"

    profile_id: Mapped[int] = mapped_column(ForeignKey("notification_profile.id", ondelete="CASCADE"), primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("router.id", ondelete="CASCADE"), primary_key=True, index=True)
    kind: Mapped[ConditionKind] = mapped_column(string_enum(ConditionKind, "condition_kind"), primary_key=True)
    #: "" when clear; the fault code, or "STANDSTILL".
    state: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[datetime]


# The three ways a user is granted a location (resolvers.remote.scope), and who may be granted one.
decides_rights(
    LocationUserAccess, LocationUserGroupAccess, LocationGroup, LocationGroupLocation, LocationGroupUser, ExternalUser
)


# --- serial devices and their templates, configuration groups (issue 18) ------------------------------


class SerialProtocol(enum.StrEnum):
    """What the router speaks on a serial port."""

    MODBUS_RTU = "MODBUS_RTU"
    MODBUS_ASCII = "MODBUS_ASCII"
    DNP3 = "DNP3"
    #: Bytes passed through as they are (serial over IP).
    TRANSPARENT = "TRANSPARENT"


class SerialParity(enum.StrEnum):
    NONE = "NONE"
    EVEN = "EVEN"
    ODD = "ODD"
    MARK = "MARK"
    SPACE = "SPACE"


class SerialStopBits(enum.StrEnum):
    ONE = "ONE"
    ONE_AND_A_HALF = "ONE_AND_A_HALF"
    TWO = "TWO"


class SerialMode(enum.StrEnum):
    RS232 = "RS232"
    RS422 = "RS422"
    RS485 = "RS485"


#: The standard baud rates a serial port is set to.
BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_BAUD_CHECK = f"baud_rate IN ({', '.join(str(rate) for rate in BAUD_RATES)})"


class _SerialColumns:
    """Settings of a serial port (the same for a serial device template and a location's serial device)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    protocol: Mapped[SerialProtocol] = mapped_column(string_enum(SerialProtocol, "serial_protocol"))
    baud_rate: Mapped[int]
    data_bits: Mapped[int]
    stop_bits: Mapped[SerialStopBits] = mapped_column(string_enum(SerialStopBits, "serial_stop_bits"))
    parity: Mapped[SerialParity] = mapped_column(string_enum(SerialParity, "serial_parity"))
    serial_mode: Mapped[SerialMode] = mapped_column(string_enum(SerialMode, "serial_mode"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SerialDeviceTemplate(_SerialColumns, Base):
    """Serial settings described once per organisation; creating a serial device from it copies them."""

    __tablename__ = "serial_device_template"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        CheckConstraint(_BAUD_CHECK, name="baud_rate_standard"),
        CheckConstraint("data_bits >= 5 AND data_bits <= 8", name="data_bits_range"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)


class LocationSerialDevice(_SerialColumns, Base):
    """A serial device at a location's router."""

    __tablename__ = "location_serial_device"
    __table_args__ = (
        UniqueConstraint("location_id", "name"),
        CheckConstraint(_BAUD_CHECK, name="baud_rate_standard"),
        CheckConstraint("data_bits >= 5 AND data_bits <= 8", name="data_bits_range"),
    )

    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    #: The template it was copied from (a copy: later template edits do not reach it).
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("serial_device_template.id", ondelete="SET NULL"), index=True
    )


class ConfigurationGroup(Base):
    """Routers of one organisation that need the same configuration (Router.configuration_group_id)."""

    __tablename__ = "configuration_group"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
