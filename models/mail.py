"""E-mail templates, the transactional outbox and its delivery attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class TemplateType(enum.StrEnum):
    CONFIRM_EMAIL = "CONFIRM_EMAIL"
    INVITE_USER = "INVITE_USER"
    NEW_BATCH = "NEW_BATCH"
    PASSWORD_RESET = "PASSWORD_RESET"
    #: A router watched by a notification profile stayed offline for longer than the profile's threshold.
    ROUTER_OFFLINE = "ROUTER_OFFLINE"
    #: An alarm was raised, repeated or cleared at a location (monitoring's alarm notification settings).
    ALARM = "ALARM"
    #: A one-time code to sign in (or sign up) with (accounts, issue 17).
    SIGN_IN_CODE = "SIGN_IN_CODE"
    #: A metering point's latest reading, sent by an e-mail integration (issue 17).
    METER_READINGS = "METER_READINGS"
    #: A metering point's integration transferred its readings, or failed to (notifications, issue 17).
    TRANSFER_RESULT = "TRANSFER_RESULT"
    #: A router watched by a notification profile reported a fault or its clearing, or a standstill's start or
    #: end (issue 18).
    ROUTER_CONDITION = "ROUTER_CONDITION"


LANGUAGES = ("de", "en", "es", "fr", "it", "nl", "ru", "sv")  # ru: issue 17, nl: issue 18


class OutboxStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for (another) attempt
    SENDING = "SENDING"  # handed to SMTP by a worker; outcome not yet recorded
    SENT = "SENT"
    FAILED = "FAILED"  # gave up after the last retry
    UNCERTAIN = "UNCERTAIN"  # a worker died mid-send: not resent automatically, to never send twice


class EmailTemplate(Base):
    __tablename__ = "email_template"
    __table_args__ = (
        # Exactly one active template per owner x type x language (system defaults: owner NULL).
        Index(
            "uq_email_template_active",
            "organisation_id",
            "type",
            "language",
            unique=True,
            sqlite_where=text("is_active AND organisation_id IS NOT NULL"),
            postgresql_where=text("is_active AND organisation_id IS NOT NULL"),
        ),
        # One system default per type x language, so concurrent starts cannot add one twice.
        Index(
            "uq_email_template_system_default",
            "type",
            "language",
            unique=True,
            sqlite_where=text("organisation_id IS NULL"),
            postgresql_where=text("organisation_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None for the shipped system defaults, which are read-only.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[TemplateType] = mapped_column(string_enum(TemplateType, "template_type"))
    language: Mapped[str] = mapped_column(String(5))
    is_active: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str] = mapped_column(String(500))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A rendered e-mail, written in the same transaction as the action that sends it."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"), index=True)
    template_type: Mapped[TemplateType | None] = mapped_column(string_enum(TemplateType, "template_type"))
    language: Mapped[str] = mapped_column(String(5))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(500))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    #: RFC 5322 Message-ID, fixed when written, so every attempt sends the same message.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(
        string_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: "sent", "failed" (with error), or empty while in flight.
    outcome: Mapped[str] = mapped_column(String(20), default="")
    error: Mapped[str] = mapped_column(String(1000), default="")
