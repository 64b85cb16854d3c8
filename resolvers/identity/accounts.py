"""Account rules several identity features share: addresses, CSV settings, roles, passwords, sessions.

Each raises DomainError with an IdentityErrorCode.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.passwords import check_policy, hash_password, verify_password
from graph.permissions import effective_permissions
from graph.tenancy import path_visible
from models import identity as m
from models.base import utcnow
from resolvers.identity.errors import IdentityErrorCode as Code

CSV_DELIMITERS = {";", ",", "\t", "|"}
THOUSANDS_SEPARATORS = {"", ".", ",", " ", "'"}
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
#: issue 18: a username is what people type: letters, digits, dot, dash, underscore; stored in lower case.
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def clean_email(value: str, field: str = "email") -> str:
    value = value.strip().lower()
    if len(value) > 254 or "\x00" in value or not EMAIL.match(value):
        raise DomainError(Code.INVALID, "is not a valid e-mail address", field)
    return value


def clean_username(value: str, field: str = "username") -> str:
    username = value.strip().lower()
    if not username:
        raise DomainError(Code.REQUIRED, "enter a username", field)
    if len(username) > 64:
        raise DomainError(Code.TOO_LONG, "a username has at most 64 characters", field)
    if not USERNAME.fullmatch(username):
        raise DomainError(
            Code.INVALID, "a username has letters, digits, '.', '-' and '_', and starts with a letter or digit", field
        )
    return username


async def ensure_username_free(
    session: AsyncSession, organisation_id: int, username: str, *, except_user_id: int | None = None
) -> None:
    """Usernames are unique per organisation (the customer number tells organisations apart)."""
    taken = await session.scalar(
        select(m.User.id).where(
            m.User.organisation_id == organisation_id, m.User.username == username, m.User.id != (except_user_id or 0)
        )
    )
    if taken is not None:
        raise DomainError(Code.DUPLICATE, "this username is taken in the organisation", "username")


def check_csv_settings(delimiter: str | None, thousands: str | None) -> None:
    if delimiter is not None and delimiter not in CSV_DELIMITERS:
        raise DomainError(Code.INVALID, "must be one of ; , | or a tab", "csvDelimiter")
    if thousands is not None and thousands not in THOUSANDS_SEPARATORS:
        raise DomainError(Code.INVALID, "must be empty or one of . , ' or a space", "csvThousandsSeparator")
    if delimiter is not None and thousands and delimiter == thousands:
        raise DomainError(Code.INVALID, "must differ from the column delimiter", "csvThousandsSeparator")


def check_assignable_roles(principal: Principal, roles: list[m.Role]) -> None:
    if not roles:
        raise DomainError(Code.REQUIRED, "give at least one role", "roles")
    if m.Role.PLATFORM_ADMIN in roles and not principal.is_platform_admin:
        raise DomainError(Code.NOT_ALLOWED, "only platform admins give the platform admin role", "roles")
    # Giving a role grants its permissions: the same rule as userPermissionsSet applies.
    beyond = sorted(effective_permissions(frozenset(roles), frozenset()) - principal.permissions)
    if beyond:
        raise DomainError(
            Code.NOT_ALLOWED, f"these roles give permissions you do not hold: {', '.join(beyond)}", "roles"
        )


async def ensure_manageable(session: AsyncSession, principal: Principal, user: m.User) -> None:
    """Only someone holding every permission of `user` may change them: else a user manager could take over
    an admin's account."""
    if principal.is_platform_admin:
        return
    roles = set((await session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == user.id))).all())
    granted = set(
        (await session.scalars(select(m.UserPermission.permission).where(m.UserPermission.user_id == user.id))).all()
    )
    if m.Role.PLATFORM_ADMIN in roles or not effective_permissions(roles, granted) <= principal.permissions:
        raise DomainError(Code.NOT_ALLOWED, "this user holds permissions that you do not", "id")


async def replace_roles(session: AsyncSession, user: m.User, roles: list[m.Role]) -> None:
    await session.execute(delete(m.UserRole).where(m.UserRole.user_id == user.id))
    session.add_all(m.UserRole(user_id=user.id, role=role) for role in dict.fromkeys(roles))
    await session.flush()


#: The one answer for an address that is taken, whoever holds it: it never says where (or whose) it is.
EMAIL_UNAVAILABLE = "this e-mail address cannot be used"


async def ensure_email_free(session: AsyncSession, email: str, except_user_id: int | None = None) -> None:
    """Addresses are unique on the whole platform. For an account created on the spot (userCreate) or
    an address whose owner is confirming it (invitationAccept, emailChangeConfirm)."""
    existing = await session.scalar(select(m.User.id).where(m.User.email == email))
    if existing is not None and existing != except_user_id:
        raise DomainError(Code.DUPLICATE, EMAIL_UNAVAILABLE, "email")


async def email_holder_in_reach(session: AsyncSession, principal: Principal, email: str) -> m.User | None:
    """The user with this address if the caller sees them (their subtree); None for a free address and
    for one held outside the caller's reach alike."""
    row = (
        await session.execute(
            select(m.User, m.Organisation.path)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(m.User.email == email)
        )
    ).first()
    return row[0] if row is not None and path_visible(principal, row[1]) else None


async def ensure_email_free_in_reach(
    session: AsyncSession, principal: Principal, email: str, field: str = "email", except_user_id: int | None = None
) -> None:
    """For offers that the address's owner must take up (an invitation, an e-mail change): an address
    taken within the caller's reach is refused at once; one taken outside it passes like a free one
    (the caller learns nothing of other tenants) and is refused later, to the address's owner, when
    they confirm."""
    holder = await email_holder_in_reach(session, principal, email)
    if holder is not None and holder.id != except_user_id:
        raise DomainError(Code.DUPLICATE, "a user of your organisations has this e-mail address", field)


async def set_password(
    session: AsyncSession, user: m.User, organisation: m.Organisation, password: str, field: str
) -> None:
    problems = check_policy(
        password,
        min_length=max(12, organisation.password_min_length),
        email=user.email,
        name=user.name,
        organisation=organisation.name,
    )
    if problems:
        raise DomainError(Code.WEAK_PASSWORD, "the password " + "; ".join(p.message for p in problems), field)
    if organisation.password_history > 0:
        previous = (
            await session.scalars(
                select(m.PasswordHistory.password_hash)
                .where(m.PasswordHistory.user_id == user.id)
                .order_by(m.PasswordHistory.id.desc())
                .limit(organisation.password_history)
            )
        ).all()
        if any(verify_password(old, password) for old in previous):
            raise DomainError(
                Code.PASSWORD_REUSED, f"must differ from your last {organisation.password_history} passwords", field
            )
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    await session.flush()


async def revoke_sessions(session: AsyncSession, user_id: int, keep_session_id: str | None = None) -> None:
    condition = (m.AuthToken.user_id == user_id) & m.AuthToken.revoked_at.is_(None)
    if keep_session_id is not None:
        condition = condition & (m.AuthToken.session_id != keep_session_id)
    await session.execute(update(m.AuthToken).where(condition).values(revoked_at=utcnow()))


def signed_in(context: Context) -> Principal:
    """The caller; the resolver's permission class has made sure there is one."""
    principal = context.principal
    assert principal is not None
    return principal


async def caller(session: AsyncSession, context: Context) -> m.User:
    """The signed-in user's row."""
    user = await session.get(m.User, signed_in(context).user_id)
    assert user is not None  # a deleted user's tokens no longer authenticate
    return user


async def organisation_of(session: AsyncSession, user: m.User) -> m.Organisation:
    organisation = await session.get(m.Organisation, user.organisation_id)
    assert organisation is not None  # an organisation is deleted only with its users
    return organisation
