"""The device catalogue: product types, devices with labels and owners, sealed device keys,
batch references and key downloads."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class RadioTechnology(enum.StrEnum):
    LORAWAN = "LORAWAN"
    WMBUS = "WMBUS"  # wireless M-Bus / OMS
    MBUS = "MBUS"  # wired M-Bus
    MULTI = "MULTI"  # several radios in one device (e.g. aquaradio MultiCom)
    NB_IOT = "NB_IOT"  # cellular narrowband IoT (the metering cloud's water meters, issue 17)


class KeyKind(enum.StrEnum):
    LORAWAN_APP_KEY = "LORAWAN_APP_KEY"
    LORAWAN_NWK_KEY = "LORAWAN_NWK_KEY"
    LORAWAN_APP_S_KEY = "LORAWAN_APP_S_KEY"
    LORAWAN_NWK_S_KEY = "LORAWAN_NWK_S_KEY"
    OMS_KEY = "OMS_KEY"  # OMS / wireless M-Bus AES key
    OTHER = "OTHER"


class KeyAlgorithm(enum.StrEnum):
    DES = "DES"
    AES_128 = "AES_128"
    AES_192 = "AES_192"
    AES_256 = "AES_256"


#: Key length in bytes per algorithm (DES: 8 bytes with parity).
KEY_LENGTH = {KeyAlgorithm.DES: 8, KeyAlgorithm.AES_128: 16, KeyAlgorithm.AES_192: 24, KeyAlgorithm.AES_256: 32}


class ClaimStatus(enum.StrEnum):
    CLAIMED = "CLAIMED"
    UNCLAIMED = "UNCLAIMED"


class KeyState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class BatchState(enum.StrEnum):
    PENDING = "PENDING"  # the receiving organisation has to confirm the ownership request
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class ProductType(Base):
    __tablename__ = "product_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: The manufacturer namespace serial numbers are unique in.
    manufacturer: Mapped[str] = mapped_column(String(100))
    radio_technology: Mapped[RadioTechnology] = mapped_column(string_enum(RadioTechnology, "radio_technology"))
    #: KeyKind values a device of this type carries.
    key_kinds: Mapped[list] = mapped_column(JSON, default=list)


class Batch(Base):
    """A batch reference: devices handed to an organisation, which confirms the ownership request."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("sender_organisation_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100), default="")
    sender_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[BatchState] = mapped_column(string_enum(BatchState, "batch_state"), default=BatchState.PENDING)
    #: The manuals' "ownership request must be confirmed": without it the devices move at creation.
    confirmation_required: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class BatchDevice(Base):
    """The devices a batch was created with; kept after a rejection (Device.batch_id is only the current batch)."""

    __tablename__ = "batch_device"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), primary_key=True, index=True)


class Device(Base):
    __tablename__ = "device"
    __table_args__ = (
        UniqueConstraint("manufacturer", "serial_number"),
        Index("ix_device_org_serial", "organisation_id", "serial_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(100))
    serial_number: Mapped[str] = mapped_column(String(64), index=True)
    product_type_id: Mapped[int] = mapped_column(ForeignKey("product_type.id"), index=True)
    #: The owner; None until the manufacturer hands the device over (batch) or someone claims it.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    claim_status: Mapped[ClaimStatus] = mapped_column(
        string_enum(ClaimStatus, "claim_status"), default=ClaimStatus.UNCLAIMED
    )
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    #: Argon2id hash of the PIN printed in the device passport (binding a meter to a metering point, issue 17).
    pin_hash: Mapped[str | None] = mapped_column(String(200))


class DeviceLabel(Base):
    __tablename__ = "device_label"

    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class DeviceKey(Base):
    """A device key, sealed with the master key (graph.secrets); device and kind are bound to it."""

    __tablename__ = "device_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    kind: Mapped[KeyKind] = mapped_column(string_enum(KeyKind, "key_kind"))
    algorithm: Mapped[KeyAlgorithm] = mapped_column(string_enum(KeyAlgorithm, "key_algorithm"))
    sealed: Mapped[bytes]
    #: Version of the master key that sealed it (also inside `sealed`): rotation re-seals the others.
    master_key_version: Mapped[int] = mapped_column(index=True)
    state: Mapped[KeyState] = mapped_column(string_enum(KeyState, "key_state"), default=KeyState.ACTIVE)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyDownload(Base):
    """Every key download: who, when, which devices, how many; served once through a short-lived link."""

    __tablename__ = "key_download"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    device_count: Mapped[int] = mapped_column(default=0)
    key_count: Mapped[int] = mapped_column(default=0)
    #: SHA-256 of the one-time download link's token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csv_delimiter: Mapped[str] = mapped_column(String(1), default=";")
    expires_at: Mapped[datetime]
    downloaded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyDownloadDevice(Base):
    """The devices of a key download (which devices, for the record and for serving the link)."""

    __tablename__ = "key_download_device"

    key_download_id: Mapped[int] = mapped_column(ForeignKey("key_download.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), primary_key=True, index=True)
