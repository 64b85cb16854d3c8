"""User rules: create, edit, (de)activate and delete users, grant permissions, set passwords.

Functions take an open session (in a transaction) and the request context and raise DomainError for
refused input, which rolls the transaction back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.passwords import verify_password
from graph.permissions import require_permission
from graph.rules import UNSET, clean_text
from graph.tenancy import target_organisation, visible_organisation
from models import identity as m
from resolvers.audit.rules import record
from resolvers.identity.accounts import (
    caller,
    check_assignable_roles,
    check_csv_settings,
    clean_email,
    clean_username,
    ensure_email_free,
    ensure_email_free_in_reach,
    ensure_manageable,
    ensure_username_free,
    organisation_of,
    replace_roles,
    revoke_sessions,
    set_password,
    signed_in,
)
from resolvers.identity.email_tokens.rules import request_email_change
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.hooks import REACH_SHRANK
from resolvers.identity.lookups import visible_user

MAX_NAME = 200


@dataclass
class NewUser:
    name: str
    email: str
    password: str
    organisation_id: str | None = None  # None: the caller's organisation
    roles: list[m.Role] | None = None  # None: USER (an explicit [] is refused)
    language: str = "en"
    csv_delimiter: str = ";"
    csv_thousands_separator: str = ""
    require_two_factor: bool = False
    username: str | None = None  # issue 18: None: none (the user logs in by e-mail)


@dataclass
class UserChanges:
    """A partial update: UNSET fields stay as they are."""

    name: str = UNSET
    email: str = UNSET
    organisation_id: str = UNSET
    roles: list[m.Role] = UNSET
    language: str = UNSET
    csv_delimiter: str = UNSET
    csv_thousands_separator: str = UNSET
    require_two_factor: bool = UNSET
    username: str | None = UNSET  # issue 18: None clears it


async def create_user(session: AsyncSession, context: Context, new: NewUser) -> m.User:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    name = clean_text(new.name, "name", max_length=MAX_NAME)
    email = clean_email(new.email)
    # an empty or malformed ID is NOT_FOUND, not the default
    organisation = await target_organisation(session, principal, new.organisation_id, "organisationId")
    roles = new.roles if new.roles is not None else [m.Role.USER]
    check_assignable_roles(principal, roles)
    check_csv_settings(new.csv_delimiter, new.csv_thousands_separator)
    await ensure_email_free(session, email)
    username = None if new.username is None else clean_username(new.username)
    if username is not None:
        await ensure_username_free(session, organisation.id, username)
    user = m.User(
        organisation_id=organisation.id,
        email=email,
        username=username,
        name=name,
        language=new.language,
        csv_delimiter=new.csv_delimiter,
        csv_thousands_separator=new.csv_thousands_separator,
        require_two_factor=new.require_two_factor,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a parallel create took the username (or the address) after the checks above
        field = "username" if username is not None else "email"
        raise DomainError(Code.DUPLICATE, f"this {field} was taken meanwhile; try again", field) from None
    await set_password(session, user, organisation, new.password, "password")
    await replace_roles(session, user, roles)
    await record(
        session,
        context,
        "user.created",
        organisation_id=organisation.id,
        target_type="User",
        target_id=user.id,
        details={"email": email, "roles": [r.value for r in roles]},
    )
    return user


async def _check_may_change(session: AsyncSession, context: Context, user: m.User, changes: UserChanges) -> None:
    """Others need USERS_MANAGE and every permission of the user; oneself may not change what grants reach."""
    principal = signed_in(context)
    if user.id != principal.user_id:
        require_permission(context, m.Permission.USERS_MANAGE)
        await ensure_manageable(session, principal, user)
    elif any(value is not UNSET for value in (changes.organisation_id, changes.roles, changes.require_two_factor)):
        raise DomainError(Code.NOT_ALLOWED, "you cannot change your own organisation, roles or 2FA requirement")


async def _pending_email(session: AsyncSession, principal: Principal, user: m.User, email: str) -> str | None:
    """The new address to confirm, or None when it is the current one."""
    address = clean_email(email)
    # the confirmation (emailChangeConfirm) checks the whole platform: here only what the caller sees
    await ensure_email_free_in_reach(session, principal, address, except_user_id=user.id)
    return address if address != user.email else None


async def _apply_changes(
    session: AsyncSession, principal: Principal, user: m.User, changes: UserChanges
) -> dict[str, object]:
    """Set what was given (but a new address: it waits for its confirmation); returns what changed."""
    changed: dict[str, object] = {}
    if changes.name is not UNSET:
        user.name = changed["name"] = clean_text(changes.name, "name", max_length=MAX_NAME)
    if changes.email is not UNSET:
        # not changed yet: a confirmation link goes to the new address (resolvers/identity/email_tokens)
        new_email = await _pending_email(session, principal, user, changes.email)
        if new_email is not None:
            changed["emailPending"] = new_email
    if changes.organisation_id is not UNSET:
        organisation = await visible_organisation(session, principal, changes.organisation_id, "organisationId")
        user.organisation_id = changed["organisation"] = organisation.id
    await _apply_username(session, user, changes, changed)
    delimiter = user.csv_delimiter if changes.csv_delimiter is UNSET else changes.csv_delimiter
    thousands = (
        user.csv_thousands_separator if changes.csv_thousands_separator is UNSET else changes.csv_thousands_separator
    )
    check_csv_settings(delimiter, thousands)
    for attribute, key in (
        ("language", "language"),
        ("csv_delimiter", "csvDelimiter"),
        ("csv_thousands_separator", "csvThousandsSeparator"),
        ("require_two_factor", "requireTwoFactor"),
    ):
        value = getattr(changes, attribute)
        if value is not UNSET:
            setattr(user, attribute, value)
            changed[key] = value
    if changes.roles is not UNSET:
        check_assignable_roles(principal, changes.roles)
        await replace_roles(session, user, changes.roles)
        changed["roles"] = [r.value for r in changes.roles]
    await session.flush()
    return changed


async def _apply_username(session: AsyncSession, user: m.User, changes: UserChanges, changed: dict) -> None:
    """A new username, or the current one in the organisation the user moves to, must be free there."""
    if changes.username is not UNSET:
        username = None if changes.username is None else clean_username(changes.username)
        if username != user.username:
            user.username = changed["username"] = username
    if user.username is not None and ("username" in changed or "organisation" in changed):
        await ensure_username_free(session, user.organisation_id, user.username, except_user_id=user.id)


async def update_user(session: AsyncSession, context: Context, user_id: str, changes: UserChanges) -> m.User:
    principal = signed_in(context)
    user, _ = await visible_user(session, principal, user_id)
    await _check_may_change(session, context, user, changes)
    changed = await _apply_changes(session, principal, user, changes)
    if "roles" in changed or "organisation" in changed:  # what the user manages may have shrunk
        await REACH_SHRANK(session, {user.id})
    await record(
        session,
        context,
        "user.updated",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"changed": sorted(changed)},
    )
    if "emailPending" in changed:
        await request_email_change(session, context, user, str(changed["emailPending"]))
    return user


async def set_active(session: AsyncSession, context: Context, user_id: str, active: bool) -> m.User:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    user, _ = await visible_user(session, principal, user_id)
    if user.id == principal.user_id:
        raise DomainError(Code.NOT_ALLOWED, "you cannot deactivate yourself", "id")
    await ensure_manageable(session, principal, user)
    user.is_active = active
    if not active:
        await revoke_sessions(session, user.id)
        await session.flush()
        await REACH_SHRANK(session, {user.id})
    await record(
        session,
        context,
        "user.reactivated" if active else "user.deactivated",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user


async def delete_user(session: AsyncSession, context: Context, user_id: str) -> str:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    user, _ = await visible_user(session, principal, user_id)
    if user.id == principal.user_id:
        raise DomainError(Code.NOT_ALLOWED, "you cannot delete yourself", "id")
    await ensure_manageable(session, principal, user)
    await record(
        session,
        context,
        "user.deleted",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"email": user.email},
    )
    await session.delete(user)
    await session.flush()
    return user_id


async def set_granted_permissions(
    session: AsyncSession, context: Context, user_id: str, permissions: list[m.Permission]
) -> m.User:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    user, _ = await visible_user(session, principal, user_id)
    await ensure_manageable(session, principal, user)
    beyond = [p.value for p in permissions if p not in principal.permissions]
    if beyond:
        raise DomainError(
            Code.NOT_ALLOWED, f"you cannot grant what you do not hold: {', '.join(beyond)}", "permissions"
        )
    await session.execute(delete(m.UserPermission).where(m.UserPermission.user_id == user.id))
    session.add_all(m.UserPermission(user_id=user.id, permission=p) for p in dict.fromkeys(permissions))
    await record(
        session,
        context,
        "user.permissions_granted",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"permissions": [p.value for p in permissions]},
    )
    await session.flush()
    await REACH_SHRANK(session, {user.id})
    return user


async def change_password(session: AsyncSession, context: Context, current: str, new: str) -> m.User:
    principal = signed_in(context)
    user = await caller(session, context)
    if not verify_password(user.password_hash, current):
        raise DomainError(Code.INVALID_CREDENTIALS, "the current password is not correct", "currentPassword")
    organisation = await organisation_of(session, user)
    await set_password(session, user, organisation, new, "newPassword")
    await revoke_sessions(session, user.id, keep_session_id=principal.session_id)
    await record(
        session,
        context,
        "user.password_changed",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user


async def admin_set_password(session: AsyncSession, context: Context, user_id: str, new: str) -> m.User:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    user, organisation = await visible_user(session, principal, user_id, "userId")
    try:
        await ensure_manageable(session, principal, user)  # else a user manager could take over an admin's account
    except DomainError as error:
        raise DomainError(error.code, error.message, "userId") from None
    await set_password(session, user, organisation, new, "newPassword")
    await revoke_sessions(session, user.id)
    await record(
        session,
        context,
        "user.password_set_by_admin",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user
