"""An organisation's personalised theme, its images, and its own login domains
(issue 18; manual §14)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class ThemeFont(enum.StrEnum):
    """The closed list of fonts a theme may use (web-safe or widely hosted)."""

    SYSTEM = "SYSTEM"
    ARIAL = "ARIAL"
    HELVETICA = "HELVETICA"
    VERDANA = "VERDANA"
    ROBOTO = "ROBOTO"
    OPEN_SANS = "OPEN_SANS"
    LATO = "LATO"
    MONTSERRAT = "MONTSERRAT"


class ThemeImageKind(enum.StrEnum):
    LOGO = "LOGO"
    LOGO_DARK = "LOGO_DARK"
    FAVICON = "FAVICON"


class Theme(Base):
    """The personalised theme of an organisation (one row; none until it is first saved)."""

    __tablename__ = "theme"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    #: "#RRGGBB" (upper case) or "" for the platform's.
    main_colour: Mapped[str] = mapped_column(String(7), default="")
    name: Mapped[str] = mapped_column(String(100), default="")
    font: Mapped[ThemeFont] = mapped_column(string_enum(ThemeFont, "theme_font"), default=ThemeFont.SYSTEM)
    #: An https URL or "".
    website: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThemeImage(Base):
    """A logo, dark-mode logo or favicon, checked by its content; served under its SHA-256 (immutable URL)."""

    __tablename__ = "theme_image"
    __table_args__ = (UniqueConstraint("organisation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    kind: Mapped[ThemeImageKind] = mapped_column(string_enum(ThemeImageKind, "theme_image_kind"))
    #: Decided by the content (Pillow, or the SVG sanitiser), never by the upload's name or declared type.
    content_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginDomainState(enum.StrEnum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"


class LoginDomain(Base):
    """A domain on which an organisation's users log in without their customer number, once a DNS TXT record
    proves the organisation holds it."""

    __tablename__ = "login_domain"
    __table_args__ = (UniqueConstraint("organisation_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: Lower case, no trailing dot. Several organisations may claim a domain; one only can verify it.
    domain: Mapped[str] = mapped_column(String(253))
    #: What the TXT record must hold (public: it is published in DNS).
    token: Mapped[str] = mapped_column(String(64))
    state: Mapped[LoginDomainState] = mapped_column(
        string_enum(LoginDomainState, "login_domain_state"), default=LoginDomainState.PENDING
    )
    #: The domain once verified: unique, so that a second organisation's verification fails on the constraint.
    verified_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
