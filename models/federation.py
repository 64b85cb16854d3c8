"""OpenID Connect / OAuth 2 sign-in: pending authorisations (state, nonce, PKCE verifier) and the federated
identities linked to users (issue 19).

A sign-in runs: start (a pending authorisation is stored, the browser goes to the provider), callback (the
pending authorisation is spent once, the code exchanged and the ID token or userinfo checked), then the
client redeems a one-time sign-in code for the same tokens `login` gives. SAML's assertion consumer hands out
the same codes. State and sign-in codes are stored only as SHA-256 hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PendingAuthorisation(Base):
    """One started sign-in, waiting for the provider's callback; spent by the first callback."""

    __tablename__ = "oidc_pending_authorisation"
    __table_args__ = (Index("ix_oidc_pending_authorisation_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(60))
    #: SHA-256 (hex) of the state parameter.
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(100))
    #: The PKCE code verifier: useless without the code, which only the browser sees, and gone in minutes.
    code_verifier: Mapped[str] = mapped_column(String(128))
    #: Who started it: starts are limited per client address (each holds a row for minutes).
    client_address: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class FederatedIdentity(Base):
    """A user's account at a provider: (provider, subject) signs in as user."""

    __tablename__ = "federated_identity"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    #: The verified e-mail it was linked by.
    email: Mapped[str] = mapped_column(String(320))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]


class SignInCode(Base):
    """What a federated sign-in (OpenID Connect callback or SAML ACS) hands the browser in the redirect's URL
    fragment, never seen by a server's access log: redeemed once by `federatedSignIn` for `login`'s tokens."""

    __tablename__ = "sign_in_code"
    __table_args__ = (Index("ix_sign_in_code_expires_at", "expires_at"),)

    #: SHA-256 (hex) of the code.
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    #: "oidc" or "saml": how the user proved who they are (audited with the login).
    method: Mapped[str] = mapped_column(String(10))
    #: The OIDC provider's name or the SAML IdP's entity ID.
    source: Mapped[str] = mapped_column(String(500))
    #: The provider asserted multi-factor authentication and it is trusted: no TOTP code asked, and the
    #: session's tokens count as two-factor (graph.auth).
    mfa_trusted: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
