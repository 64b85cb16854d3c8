"""SAML single sign-on per organisation: identity provider configurations and consumed assertions
(issue 19; filled in by the SAML work)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, string_enum, utcnow


class SamlMode(enum.StrEnum):
    """OFF: no SAML; ALLOWED: SAML or password; REQUIRED: password login refused for the organisation's users."""

    OFF = "OFF"
    ALLOWED = "ALLOWED"
    REQUIRED = "REQUIRED"


class SamlProvider(Base):
    """An organisation's identity provider (one row; none until it is first saved)."""

    __tablename__ = "saml_provider"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[SamlMode] = mapped_column(string_enum(SamlMode, "saml_mode"), default=SamlMode.OFF)
    #: The IdP's metadata XML: as pasted or fetched, or built from entity ID, SSO URL and certificate.
    idp_metadata: Mapped[str] = mapped_column(Text, default="")
    idp_entity_id: Mapped[str] = mapped_column(String(500), default="")
    idp_sso_url: Mapped[str] = mapped_column(String(500), default="")
    #: The IdP's signing certificate (PEM); assertions must be signed with it.
    idp_certificate: Mapped[str] = mapped_column(Text, default="")
    #: The assertion's attribute names; empty e-mail attribute: the NameID is the e-mail address.
    attribute_email: Mapped[str] = mapped_column(String(200), default="")
    attribute_name: Mapped[str] = mapped_column(String(200), default="")
    #: The attribute holding the user's groups or roles at the IdP (e.g. Entra ID's groups claim); empty: none.
    attribute_roles: Mapped[str] = mapped_column(String(200), default="")
    #: [{"value": an IdP value of that attribute, "role": our Role's name}, ...]: the roles it grants.
    role_mapping: Mapped[list] = mapped_column(JSON, default=list)
    #: Trust the IdP's multi-factor AuthnContextClassRef instead of the organisation's own two-factor rules.
    trust_idp_mfa: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SamlRequest(Base):
    """An AuthnRequest sent to the IdP: a response must answer one (InResponseTo), once, before it expires."""

    __tablename__ = "saml_request"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: Who started it: starts are limited per client address (each holds a row for minutes).
    client_address: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class SamlAssertion(Base):
    """A consumed assertion: the primary key makes a replayed assertion's insert fail."""

    __tablename__ = "saml_assertion"

    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    assertion_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: Kept until the assertion could no longer be accepted anyway (its NotOnOrAfter).
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SamlLink(Base):
    """A user who has signed in by SAML: the first sign-in of an existing user links them (audited once)."""

    __tablename__ = "saml_link"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    idp_entity_id: Mapped[str] = mapped_column(String(500))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
