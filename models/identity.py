"""Users, organisations (a tree), partners, user groups, tokens and login throttling."""

from __future__ import annotations

import enum
import secrets
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, decides_rights, string_enum, utcnow


class Role(enum.StrEnum):
    PLATFORM_ADMIN = "PLATFORM_ADMIN"
    ORGANISATION_ADMIN = "ORGANISATION_ADMIN"
    USER = "USER"
    EXTERNAL_USER = "EXTERNAL_USER"
    API_USER = "API_USER"
    #: A person who signed up with a one-time code to keep their own metering points (issue 17).
    CONSUMER = "CONSUMER"


class Permission(enum.StrEnum):
    """What a role allows; the manuals' "advanced functions" are permissions an admin grants."""

    USERS_READ = "USERS_READ"
    USERS_MANAGE = "USERS_MANAGE"
    ORGANISATIONS_READ = "ORGANISATIONS_READ"
    ORGANISATIONS_MANAGE = "ORGANISATIONS_MANAGE"
    PARTNERS_MANAGE = "PARTNERS_MANAGE"
    USER_GROUPS_MANAGE = "USER_GROUPS_MANAGE"
    AUDIT_READ = "AUDIT_READ"
    INVITATIONS_MANAGE = "INVITATIONS_MANAGE"
    EMAIL_TEMPLATES_MANAGE = "EMAIL_TEMPLATES_MANAGE"
    #: See every organisation's queued and failed mails (platform operators).
    OUTBOX_READ = "OUTBOX_READ"
    DEVICES_READ = "DEVICES_READ"
    DEVICES_CLAIM = "DEVICES_CLAIM"
    #: Download device keys (also needs a recent re-authentication).
    KEYS_DOWNLOAD = "KEYS_DOWNLOAD"
    BATCHES_MANAGE = "BATCHES_MANAGE"
    #: Import devices and their keys (the manufacturer: platform admins).
    DEVICES_IMPORT = "DEVICES_IMPORT"
    #: Register routers and assign them to organisations (the platform).
    ROUTERS_REGISTER = "ROUTERS_REGISTER"
    ROUTERS_READ = "ROUTERS_READ"
    #: Send a router's heartbeat and status (the router's API user).
    ROUTERS_REPORT = "ROUTERS_REPORT"
    LOCATIONS_READ = "LOCATIONS_READ"
    #: Manage locations and everything about them: devices, templates, access, groups, external users,
    #: notification profiles; see every location of the subtree.
    LOCATIONS_MANAGE = "LOCATIONS_MANAGE"
    #: Connect through the router of a location one may reach.
    ROUTERS_CONNECT = "ROUTERS_CONNECT"
    #: Send telemetry points for the locations one may reach (devices' and gateways' API users).
    TELEMETRY_WRITE = "TELEMETRY_WRITE"
    #: Configure data monitoring: activation, datalog devices, alarm profiles, forwarding, graphics.
    MONITORING_MANAGE = "MONITORING_MANAGE"
    #: Acknowledge and clear the alarms of the locations one may reach.
    ALARMS_HANDLE = "ALARMS_HANDLE"
    #: See the organisation's metering points, their readings and integrations (a consumer sees their own).
    METERING_READ = "METERING_READ"
    #: Keep metering points, their meters and integrations: the organisation's (staff) or one's own (consumers).
    METERING_MANAGE = "METERING_MANAGE"
    #: Open and work on cases and their calls at the locations one may reach (issue 18).
    CASES_MANAGE = "CASES_MANAGE"
    #: The organisation's portal settings: case statuses, activity types, local network, theme, login domains.
    PORTAL_MANAGE = "PORTAL_MANAGE"
    #: Keep the firewall rules every organisation sees read-only (the platform).
    FIREWALL_RULES_MANAGE = "FIREWALL_RULES_MANAGE"
    #: A reseller's: add customers (a sub-organisation with its admin), hand them routers and connection licences.
    CUSTOMERS_MANAGE = "CUSTOMERS_MANAGE"
    #: Pair remote clients (the desktop program that holds the tunnel) and use them.
    CLIENTS_USE = "CLIENTS_USE"


class MenuPosition(enum.StrEnum):
    """Where a user's portal shows its menu (manual §15.3)."""

    LEFT = "LEFT"
    TOP = "TOP"


class TokenKind(enum.StrEnum):
    ACCESS = "ACCESS"
    REFRESH = "REFRESH"


def new_customer_number() -> str:
    """A customer number (the manual's klantnummer): 8 digits, no leading zero, random so that it says nothing
    about how many customers there are."""
    return str(10_000_000 + secrets.randbelow(90_000_000))


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The "ID to copy" of the manuals: what a partner types in to link to this organisation.
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(200))
    your_reference: Mapped[str] = mapped_column(String(200), default="")
    can_create_organisations: Mapped[bool] = mapped_column(default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    #: Materialised path "/1/4/9/" so a subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(1000), index=True, default="")
    password_min_length: Mapped[int] = mapped_column(default=12)
    password_history: Mapped[int] = mapped_column(default=3)
    require_two_factor: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: issue 18: what users type with their username to log in (outside the organisation's own login domain).
    customer_number: Mapped[str] = mapped_column(String(8), unique=True, default=new_customer_number)


class PartnerLink(Base):
    __tablename__ = "partner_link"
    __table_args__ = (UniqueConstraint("organisation_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("organisation_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: issue 18: the login name within the organisation (lower case); optional, existing users have none.
    username: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="en")
    csv_delimiter: Mapped[str] = mapped_column(String(1), default=";")
    csv_thousands_separator: Mapped[str] = mapped_column(String(1), default="")
    #: Personal settings (manual §15; `language` above is the third): dark mode and where the menu is.
    dark_mode: Mapped[bool] = mapped_column(default=False)
    menu_position: Mapped[MenuPosition] = mapped_column(
        string_enum(MenuPosition, "menu_position"), default=MenuPosition.LEFT
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    require_two_factor: Mapped[bool] = mapped_column(default=False)
    #: TOTP secret sealed with the master key; confirmed once a first code matched.
    totp_secret_sealed: Mapped[bytes | None]
    totp_confirmed: Mapped[bool] = mapped_column(default=False)
    #: Last accepted TOTP time step: a code is accepted once only.
    totp_last_step: Mapped[int] = mapped_column(default=0)
    #: accounts (issue 17): the phone number in E.164, proven by a code sent to it; signs in by SMS code.
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"), primary_key=True)


class UserPermission(Base):
    """A permission granted to one user on top of what the roles give."""

    __tablename__ = "user_permission"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[Permission] = mapped_column(string_enum(Permission, "permission"), primary_key=True)


class PasswordHistory(Base):
    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthToken(Base):
    """Bearer tokens; only their SHA-256 is stored."""

    __tablename__ = "auth_token"
    __table_args__ = (Index("ix_auth_token_user_session", "user_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[TokenKind] = mapped_column(string_enum(TokenKind, "token_kind"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Access and refresh tokens of one login share a session id; logout revokes both.
    session_id: Mapped[str] = mapped_column(String(36))
    #: When the user last proved who they are (password or TOTP) in this session.
    authenticated_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    client_address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The session began with an identity provider's trusted multi-factor sign-in (issue 19): it stands for the
    #: organisation's own two-factor, so no enrolment is demanded of it.
    mfa_by_idp: Mapped[bool] = mapped_column(default=False)


class LoginThrottle(Base):
    """Failed-login counters per account ("account:<email>") and per client ("address:<ip>")."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class UserGroup(Base):
    __tablename__ = "user_group"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserGroupMember(Base):
    __tablename__ = "user_group_member"

    group_id: Mapped[int] = mapped_column(ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True)


class InvitationState(enum.StrEnum):
    CREATED = "CREATED"
    SENT = "SENT"
    ACCEPTED = "ACCEPTED"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


class Invitation(Base):
    """An invitation to register in an organisation, through a time-limited single-use link."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5), default="en")
    roles: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[InvitationState] = mapped_column(
        string_enum(InvitationState, "invitation_state"), default=InvitationState.CREATED
    )
    #: SHA-256 of the registration link's token; the token itself is only ever in the link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    accepted_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OneTimePurpose(enum.StrEnum):
    CONFIRM_EMAIL = "CONFIRM_EMAIL"
    PASSWORD_RESET = "PASSWORD_RESET"


class OneTimeToken(Base):
    """Single-use, time-limited tokens sent by e-mail (address confirmation, password reset)."""

    __tablename__ = "one_time_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[OneTimePurpose] = mapped_column(string_enum(OneTimePurpose, "one_time_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: For CONFIRM_EMAIL: the address that becomes the user's once confirmed.
    new_email: Mapped[str | None] = mapped_column(String(254))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- accounts (issue 17): one-time codes, contact addresses, the SMS gateway's credentials -----------------


class CodePurpose(enum.StrEnum):
    #: Sign in (or sign up) with a code sent to an e-mail address or a phone number.
    SIGN_IN = "SIGN_IN"
    #: Prove a new phone number of the profile.
    PHONE_CHANGE = "PHONE_CHANGE"


class OneTimeCode(Base):
    """A 6-digit code sent to an address (e-mail, or a phone number in E.164); only its Argon2 hash is stored.
    The newest code of an address and purpose is the only live one; it dies when used, expired or guessed wrong
    too often."""

    __tablename__ = "one_time_code"
    __table_args__ = (Index("ix_one_time_code_address", "address", "purpose", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[CodePurpose] = mapped_column(string_enum(CodePurpose, "code_purpose"))
    address: Mapped[str] = mapped_column(String(254))
    #: For PHONE_CHANGE: whose profile gets the number.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactEmail(Base):
    """An address a user wants notifications at; used only once confirmed through the link mailed to it."""

    __tablename__ = "contact_email"
    __table_args__ = (UniqueConstraint("user_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    #: SHA-256 of the confirmation token (single use); cleared once confirmed.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsGatewayCredential(Base):
    """The SMS gateway's credentials (one row, id 1), sealed with the master key; set with
    `fleetgraph sms-gateway-credentials`."""

    __tablename__ = "sms_gateway_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- end of accounts (issue 17) ----------------------------------------------------------------------------


# Who a token belongs to, whether it still works, the user's roles, permissions, organisation and groups.
decides_rights(AuthToken, User, Organisation, new_rows=False)
decides_rights(UserRole, UserPermission, UserGroup, UserGroupMember)
