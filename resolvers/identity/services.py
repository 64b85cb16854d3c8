"""Identity rules: logins and tokens, passwords, two-factor, users, organisations, partners, groups.

Functions take an open session (in a transaction) and the request context; they raise DomainError
for refused input, which rolls the transaction back. Failed logins are the exception: they must be
counted, so login() and refresh() return their refusal instead of raising it.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pyotp
from pyotp.utils import strings_equal
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from graph.auth import hash_token, new_token
from graph.context import Context, Principal
from graph.db import insert_or_ignore
from graph.errors import DomainError
from graph.passwords import burn_verification_time, check_policy, hash_password, verify_password
from graph.permissions import effective_permissions, require_permission
from graph.relay import decode_id
from graph.secrets import SecretError
from graph.tenancy import path_visible
from models import identity as m
from models.base import utcnow
from resolvers.audit.services import record
from resolvers.identity.hooks import REACH_SHRANK
from resolvers.identity.types import IdentityErrorCode as Code

API_TOKEN_TTL = 3600  # the remote portal's API tokens live one hour
CSV_DELIMITERS = {";", ",", "\t", "|"}
THOUSANDS_SEPARATORS = {"", ".", ",", " ", "'"}
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
TOTP_ISSUER = "fleetgraph"


# --- small input rules -------------------------------------------------------------------------


def clean_text(value: str, field: str, *, max_length: int = 200, required: bool = True) -> str:
    value = value.strip()
    if "\x00" in value:  # PostgreSQL cannot store it: refuse it here rather than fail in the driver
        raise DomainError(Code.INVALID, "must not contain NUL characters", field)
    if required and not value:
        raise DomainError(Code.REQUIRED, "must not be empty", field)
    if len(value) > max_length:
        raise DomainError(Code.TOO_LONG, f"must be at most {max_length} characters", field)
    return value


def clean_email(value: str, field: str = "email") -> str:
    value = value.strip().lower()
    if len(value) > 254 or "\x00" in value or not EMAIL.match(value):
        raise DomainError(Code.INVALID, "is not a valid e-mail address", field)
    return value


def check_csv_settings(delimiter: str | None, thousands: str | None) -> None:
    if delimiter is not None and delimiter not in CSV_DELIMITERS:
        raise DomainError(Code.INVALID, "must be one of ; , | or a tab", "csvDelimiter")
    if thousands is not None and thousands not in THOUSANDS_SEPARATORS:
        raise DomainError(Code.INVALID, "must be empty or one of . , ' or a space", "csvThousandsSeparator")
    if delimiter is not None and thousands and delimiter == thousands:
        raise DomainError(Code.INVALID, "must differ from the column delimiter", "csvThousandsSeparator")


# --- lookups within the caller's reach -----------------------------------------------------------


async def visible_organisation(
    session: AsyncSession, principal: Principal, global_id: str, field: str
) -> m.Organisation:
    pk = decode_id(global_id, "Organisation")
    organisation = await session.get(m.Organisation, pk) if pk is not None else None
    if organisation is None or not path_visible(principal, organisation.path):
        raise DomainError(Code.NOT_FOUND, "no such organisation", field)
    return organisation


async def target_organisation(
    session: AsyncSession, principal: Principal, global_id: str | None, field: str
) -> m.Organisation:
    """The organisation named by `global_id` (within reach), or the caller's own when none is given."""
    if global_id is None:
        return await session.get(m.Organisation, principal.organisation_id)
    return await visible_organisation(session, principal, global_id, field)


async def visible_user(
    session: AsyncSession, principal: Principal, global_id: str, field: str = "id"
) -> tuple[m.User, m.Organisation]:
    pk = decode_id(global_id, "User")
    row = (
        (
            await session.execute(select(m.User, m.Organisation).join(m.Organisation).where(m.User.id == pk))
        ).one_or_none()
        if pk is not None
        else None
    )
    if row is None or not path_visible(principal, row[1].path):
        raise DomainError(Code.NOT_FOUND, "no such user", field)
    return row[0], row[1]


async def visible_group(session: AsyncSession, principal: Principal, global_id: str) -> m.UserGroup:
    pk = decode_id(global_id, "UserGroup")
    row = (
        (
            await session.execute(
                select(m.UserGroup, m.Organisation.path).join(m.Organisation).where(m.UserGroup.id == pk)
            )
        ).one_or_none()
        if pk is not None
        else None
    )
    if row is None or not path_visible(principal, row[1]):
        raise DomainError(Code.NOT_FOUND, "no such user group", "id")
    return row[0]


# --- login throttling ------------------------------------------------------------------------------


def _throttle_keys(email: str, client_address: str) -> list[str]:
    return [f"account:{email}"] + ([f"address:{client_address}"] if client_address else [])


@dataclass
class _Counted:
    """One throttle key as an attempt found and left it, so that the count can be given back."""

    key: str
    existed: bool
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None
    counted_failures: int
    counted_at: datetime


@dataclass
class Attempt:
    """An attempt that was counted on every throttle key before its password is checked."""

    keys: list[str]
    counted: list[_Counted]


def _refusal(settings, row: m.LoginThrottle, now: datetime) -> DomainError | None:
    if row.locked_until and row.locked_until > now:
        seconds = int((row.locked_until - now).total_seconds()) + 1
        return DomainError(Code.ACCOUNT_LOCKED, f"too many failed logins; try again in {seconds} s")
    if row.failures >= settings.login_slowdown_after:
        wait = timedelta(seconds=2 ** (row.failures - settings.login_slowdown_after))
        if row.last_failure_at + wait > now:
            seconds = int((row.last_failure_at + wait - now).total_seconds()) + 1
            return DomainError(Code.TOO_MANY_ATTEMPTS, f"too many failed logins; wait {seconds} s")
    return None


async def _count_on(session: AsyncSession, settings, keys: list[str], now: datetime) -> list[_Counted] | DomainError:
    window = timedelta(seconds=settings.login_lock_seconds)
    inserted = set()
    for key in keys:
        # The first write of the transaction: on SQLite it takes the database's write lock, so that what is
        # read below is current and stays so until commit. Concurrent attempts must not collide on insert.
        if await insert_or_ignore(session, m.LoginThrottle, key=key, failures=0, last_failure_at=now):
            inserted.add(key)
    rows = (
        await session.scalars(
            select(m.LoginThrottle)
            .where(m.LoginThrottle.key.in_(keys))
            .order_by(m.LoginThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)  # PostgreSQL: row locks, newest values
        )
    ).all()
    for row in rows:
        refusal = _refusal(settings, row, now)
        if refusal is not None:
            return refusal
    counted = []
    for row in rows:
        before = _Counted(row.key, row.key not in inserted, row.failures, row.last_failure_at, row.locked_until, 0, now)
        if row.last_failure_at + window < now:
            row.failures = 0  # an old streak of failures is forgotten
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= settings.login_lock_after:
            row.locked_until = now + window
        before.counted_failures = row.failures
        counted.append(before)
    await session.flush()
    return counted


async def count_attempt(context: Context, keys: list[str]) -> Attempt | DomainError:
    """Count a login (or reauthentication) attempt on every throttle key before its password is checked.

    Atomic on both databases (row locks on PostgreSQL, the write lock on SQLite), in a short transaction
    of its own that commits at once: N parallel guesses count N, and once the count reaches the slow-down
    or the lock, further attempts are refused here, unevaluated and uncounted (as one at a time). The
    failure of the attempt is then already counted; a success or a request for the TOTP code gives the
    count back (`give_back`). Call it before the request's own session touches the database (one
    connection per request at a time).
    """
    async with context.runtime.session_factory() as session:
        try:
            result = await _count_on(session, context.runtime.settings, keys, utcnow())
        except BaseException:
            await session.rollback()
            raise
        if isinstance(result, DomainError):
            await session.rollback()  # a refused attempt is not counted, and leaves no new rows
            return result
        await session.commit()
    return Attempt(keys=keys, counted=result)


async def give_back(session: AsyncSession, attempt: Attempt, *, reset_account: bool) -> None:
    """Undo the count of an attempt that was not a failure; `reset_account`: a success resets the account.

    The counter is restored exactly when no other attempt was counted since (always so, one at a time);
    otherwise only this attempt's one is taken off, and a lock that the other attempts completed stays.
    """
    LT = m.LoginThrottle
    for index, counted in enumerate(attempt.counted):
        if reset_account and index == 0:
            await session.execute(delete(LT).where(LT.key == counted.key))
            continue
        untouched = (
            LT.key == counted.key,
            LT.failures == counted.counted_failures,
            LT.last_failure_at == counted.counted_at,
        )
        if counted.existed:
            restored = await session.execute(
                update(LT)
                .where(*untouched)
                .values(
                    failures=counted.failures,
                    last_failure_at=counted.last_failure_at,
                    locked_until=counted.locked_until,
                )
                .execution_options(synchronize_session=False)
            )
        else:
            restored = await session.execute(delete(LT).where(*untouched).execution_options(synchronize_session=False))
        if restored.rowcount == 0:
            await session.execute(
                update(LT)
                .where(LT.key == counted.key, LT.failures > 0)
                .values(failures=LT.failures - 1)
                .execution_options(synchronize_session=False)
            )


# --- two-factor ------------------------------------------------------------------------------------


def _totp_binding(user: m.User) -> str:
    return f"user:{user.id}:totp"


async def _verify_totp(session: AsyncSession, context: Context, user: m.User, code: str) -> bool:
    """Accept a code of the current 30-second step or a neighbour, each step once only.

    The step is spent by a conditional UPDATE (only while the stored last step is older): of parallel
    requests with one code exactly one wins, the others read like a reused code.
    """
    if not user.totp_secret_sealed or not re.fullmatch(r"\d{6}", code or ""):
        return False
    try:
        secret = context.runtime.sealer.open(user.totp_secret_sealed, _totp_binding(user)).decode()
    except SecretError:
        return False
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (-1, 0, 1):
        step = int(now // totp.interval) + offset
        if step > user.totp_last_step and strings_equal(totp.at(step * totp.interval), code):
            spent = await session.execute(
                update(m.User)
                .where(m.User.id == user.id, m.User.totp_last_step < step)
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            if spent.rowcount != 1:
                return False  # another request spent this step (or a later one) first
            set_committed_value(user, "totp_last_step", step)
            return True
    return False


@dataclass
class Enrolment:
    secret: str
    provisioning_uri: str


async def two_factor_enrol(session: AsyncSession, context: Context, password: str) -> Enrolment:
    principal = context.principal
    user = await session.get(m.User, principal.user_id)
    if not verify_password(user.password_hash, password):
        raise DomainError(Code.INVALID_CREDENTIALS, "the password is not correct", "password")
    if user.totp_confirmed:
        # A new enrolment would unset totp_confirmed, so logins would need no code until it is confirmed.
        raise DomainError(Code.NOT_ALLOWED, "two-factor is already on; turn it off with twoFactorDisable first")
    secret = pyotp.random_base32()
    user.totp_secret_sealed = context.runtime.sealer.seal(secret.encode(), _totp_binding(user))
    user.totp_confirmed = False
    user.totp_last_step = 0
    await record(
        session,
        context,
        "user.two_factor_enrolment_started",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return Enrolment(
        secret=secret, provisioning_uri=pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
    )


async def two_factor_confirm(session: AsyncSession, context: Context, code: str) -> m.User:
    user = await session.get(m.User, context.principal.user_id)
    if user.totp_secret_sealed is None:
        raise DomainError(Code.TWO_FACTOR_NOT_ENROLLED, "start with twoFactorEnrol", "code")
    if not await _verify_totp(session, context, user, code):
        raise DomainError(Code.INVALID_TWO_FACTOR_CODE, "the code is not valid", "code")
    user.totp_confirmed = True
    await record(
        session,
        context,
        "user.two_factor_enabled",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user


async def two_factor_disable(session: AsyncSession, context: Context, password: str, code: str) -> m.User:
    user = await session.get(m.User, context.principal.user_id)
    organisation = await session.get(m.Organisation, user.organisation_id)
    if user.require_two_factor or organisation.require_two_factor:
        raise DomainError(Code.NOT_ALLOWED, "two-factor authentication is required for your account")
    if not verify_password(user.password_hash, password):
        raise DomainError(Code.INVALID_CREDENTIALS, "the password is not correct", "password")
    if not user.totp_confirmed or not await _verify_totp(session, context, user, code):
        raise DomainError(Code.INVALID_TWO_FACTOR_CODE, "the code is not valid", "code")
    user.totp_secret_sealed = None
    user.totp_confirmed = False
    await record(
        session,
        context,
        "user.two_factor_disabled",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user


# --- tokens ----------------------------------------------------------------------------------------


@dataclass
class IssuedTokens:
    user: m.User
    access_token: str
    access_expires_at: datetime
    refresh_token: str | None


async def _issue(
    session: AsyncSession, context: Context, user: m.User, *, session_id: str, authenticated_at: datetime
) -> IssuedTokens:
    settings = context.runtime.settings
    now = utcnow()
    is_api_user = (
        await session.scalar(
            select(func.count()).where(m.UserRole.user_id == user.id, m.UserRole.role == m.Role.API_USER)
        )
    ) > 0
    ttl = min(settings.access_token_ttl, API_TOKEN_TTL) if is_api_user else settings.access_token_ttl
    access = new_token(m.TokenKind.ACCESS)
    expires_at = now + timedelta(seconds=ttl)
    tokens = [(m.TokenKind.ACCESS, access, expires_at)]
    refresh = None
    if not is_api_user:  # API users get access tokens only, and log in again after an hour
        refresh = new_token(m.TokenKind.REFRESH)
        tokens.append((m.TokenKind.REFRESH, refresh, now + timedelta(seconds=settings.refresh_token_ttl)))
    for kind, token, expiry in tokens:
        session.add(
            m.AuthToken(
                user_id=user.id,
                kind=kind,
                token_hash=hash_token(token),
                session_id=session_id,
                authenticated_at=authenticated_at,
                expires_at=expiry,
                client_address=context.client_address,
            )
        )
    await session.flush()
    return IssuedTokens(user=user, access_token=access, access_expires_at=expires_at, refresh_token=refresh)


async def login(
    session: AsyncSession, context: Context, email: str, password: str, otp: str | None
) -> IssuedTokens | DomainError:
    # PostgreSQL cannot hold NUL in text: replaced, the address still matches no account and is counted.
    email = email.strip().lower()[:254].replace("\x00", "\ufffd")
    keys = _throttle_keys(email, context.client_address)
    # Counted before the password is checked (before `session` is used: one connection at a time).
    attempt = await count_attempt(context, keys)
    if isinstance(attempt, DomainError):
        return attempt
    user = await session.scalar(select(m.User).where(m.User.email == email))
    # Argon2 runs in a thread: the event loop keeps serving (and committing) the other requests meanwhile.
    if user is None:
        await asyncio.to_thread(burn_verification_time, password)
    # The password is checked before is_active so that a deactivated account takes as long as any other.
    valid = (
        user is not None and await asyncio.to_thread(verify_password, user.password_hash, password) and user.is_active
    )
    if valid and user.totp_confirmed:
        if not otp:
            await give_back(session, attempt, reset_account=False)  # not a failure: the password was right
            return DomainError(Code.TWO_FACTOR_REQUIRED, "enter the code of your authenticator app", "otp")
        valid = await _verify_totp(session, context, user, otp)
    if not valid:
        # already counted as a failure by count_attempt
        await record(
            session,
            context,
            "user.login_failed",
            organisation_id=user.organisation_id if user else None,
            target_type="User" if user else "",
            target_id=user.id if user else None,
            # Only a known account's address: what was typed may be a password in the wrong field.
            actor_label=user.email if user else "unknown account",
        )
        # One answer for unknown account, wrong password, wrong code and deactivated account.
        return DomainError(Code.INVALID_CREDENTIALS, "e-mail, password or code is not correct")
    await give_back(session, attempt, reset_account=True)
    issued = await _issue(session, context, user, session_id=str(uuid.uuid4()), authenticated_at=utcnow())
    await record(
        session,
        context,
        "user.login",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=user.email,
    )
    return issued


async def refresh(session: AsyncSession, context: Context, refresh_token: str) -> IssuedTokens | DomainError:
    """Rotate a refresh token: spend it and issue a new pair in the same session.

    Spending is one conditional UPDATE (only while unrevoked and unexpired): of parallel refreshes with
    one token exactly one wins. Every other presentation of a spent token, a parallel loser's included,
    is reuse: it ends the whole session (the winner's new tokens too) and is audited.
    """
    invalid = DomainError(Code.INVALID_TOKEN, "the refresh token is not valid", "refreshToken")
    if len(refresh_token) > 200:
        return invalid
    token = await session.scalar(
        select(m.AuthToken).where(
            m.AuthToken.token_hash == hash_token(refresh_token), m.AuthToken.kind == m.TokenKind.REFRESH
        )
    )
    if token is None:
        return invalid
    user = await session.get(m.User, token.user_id)
    now = utcnow()
    if token.revoked_at is None:
        if token.expires_at <= now or not user.is_active:
            return invalid
        spent = await session.execute(
            update(m.AuthToken)
            .where(m.AuthToken.id == token.id, m.AuthToken.revoked_at.is_(None), m.AuthToken.expires_at > now)
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount == 1:
            return await _issue(
                session, context, user, session_id=token.session_id, authenticated_at=token.authenticated_at
            )
        # Lost to a parallel refresh with this token (on PostgreSQL the UPDATE waited for it to commit,
        # on SQLite for the write lock): this presentation is a reuse like any later one.
    # A refresh token is used once; seeing it again means it leaked: end the whole session.
    await session.execute(
        update(m.AuthToken)
        .where(m.AuthToken.session_id == token.session_id, m.AuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await record(
        session,
        context,
        "token.refresh_reuse_detected",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=user.email,
    )
    return invalid


async def logout(session: AsyncSession, context: Context, all_sessions: bool) -> None:
    principal = context.principal
    condition = m.AuthToken.user_id == principal.user_id
    if not all_sessions:
        condition = condition & (m.AuthToken.session_id == principal.session_id)
    await session.execute(
        update(m.AuthToken).where(condition, m.AuthToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    await record(
        session,
        context,
        "user.logout",
        organisation_id=principal.organisation_id,
        target_type="User",
        target_id=principal.user_id,
        details={"allSessions": all_sessions},
    )


# --- passwords -------------------------------------------------------------------------------------


async def _set_password(
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


async def _revoke_sessions(session: AsyncSession, user_id: int, keep_session_id: str | None = None) -> None:
    condition = (m.AuthToken.user_id == user_id) & m.AuthToken.revoked_at.is_(None)
    if keep_session_id is not None:
        condition = condition & (m.AuthToken.session_id != keep_session_id)
    await session.execute(update(m.AuthToken).where(condition).values(revoked_at=utcnow()))


async def change_password(session: AsyncSession, context: Context, current: str, new: str) -> m.User:
    principal = context.principal
    user = await session.get(m.User, principal.user_id)
    if not verify_password(user.password_hash, current):
        raise DomainError(Code.INVALID_CREDENTIALS, "the current password is not correct", "currentPassword")
    organisation = await session.get(m.Organisation, user.organisation_id)
    await _set_password(session, user, organisation, new, "newPassword")
    await _revoke_sessions(session, user.id, keep_session_id=principal.session_id)
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
        await _ensure_manageable(session, principal, user)  # else a user manager could take over an admin's account
    except DomainError as error:
        raise DomainError(error.code, error.message, "userId") from None
    await _set_password(session, user, organisation, new, "newPassword")
    await _revoke_sessions(session, user.id)
    await record(
        session,
        context,
        "user.password_set_by_admin",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user


# --- users -----------------------------------------------------------------------------------------


def _check_assignable_roles(principal: Principal, roles: list[m.Role]) -> None:
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


async def _ensure_manageable(session: AsyncSession, principal: Principal, user: m.User) -> None:
    """Only someone holding every permission of `user` may change them (else a user manager could take over an admin)."""
    if principal.is_platform_admin:
        return
    roles = set((await session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == user.id))).all())
    granted = set(
        (await session.scalars(select(m.UserPermission.permission).where(m.UserPermission.user_id == user.id))).all()
    )
    if m.Role.PLATFORM_ADMIN in roles or not effective_permissions(roles, granted) <= principal.permissions:
        raise DomainError(Code.NOT_ALLOWED, "this user holds permissions that you do not", "id")


async def _replace_roles(session: AsyncSession, user: m.User, roles: list[m.Role]) -> None:
    await session.execute(delete(m.UserRole).where(m.UserRole.user_id == user.id))
    session.add_all(m.UserRole(user_id=user.id, role=role) for role in dict.fromkeys(roles))
    await session.flush()


#: The one answer for an address that is taken, whoever holds it: it never says where (or whose) it is.
EMAIL_UNAVAILABLE = "this e-mail address cannot be used"


async def _ensure_email_free(session: AsyncSession, email: str, except_user_id: int | None = None) -> None:
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


@dataclass
class UserFields:
    name: str | None = None
    email: str | None = None
    organisation_id: str | None = None
    roles: list[m.Role] | None = None
    language: str | None = None
    csv_delimiter: str | None = None
    csv_thousands_separator: str | None = None
    require_two_factor: bool | None = None


async def create_user(session: AsyncSession, context: Context, fields: UserFields, password: str) -> m.User:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    name = clean_text(fields.name or "", "name")
    email = clean_email(fields.email or "")
    # an empty or malformed ID is NOT_FOUND, not the default
    organisation = await target_organisation(session, principal, fields.organisation_id, "organisationId")
    roles = fields.roles if fields.roles is not None else [m.Role.USER]  # an explicit [] is refused below
    _check_assignable_roles(principal, roles)
    check_csv_settings(fields.csv_delimiter, fields.csv_thousands_separator)
    await _ensure_email_free(session, email)
    user = m.User(
        organisation_id=organisation.id,
        email=email,
        name=name,
        language=fields.language or "en",
        csv_delimiter=fields.csv_delimiter if fields.csv_delimiter is not None else ";",
        csv_thousands_separator=fields.csv_thousands_separator or "",
        require_two_factor=bool(fields.require_two_factor),
    )
    session.add(user)
    await session.flush()
    await _set_password(session, user, organisation, password, "password")
    await _replace_roles(session, user, roles)
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


async def update_user(session: AsyncSession, context: Context, user_id: str, fields: UserFields) -> m.User:
    principal = context.principal
    user, _ = await visible_user(session, principal, user_id)
    if user.id != principal.user_id:
        require_permission(context, m.Permission.USERS_MANAGE)
        await _ensure_manageable(session, principal, user)
    elif fields.organisation_id is not None or fields.roles is not None or fields.require_two_factor is not None:
        raise DomainError(Code.NOT_ALLOWED, "you cannot change your own organisation, roles or 2FA requirement")
    changed: dict[str, object] = {}
    if fields.name is not None:
        user.name = changed["name"] = clean_text(fields.name, "name")
    new_email = None
    if fields.email is not None:
        email = clean_email(fields.email)
        # the confirmation (emailChangeConfirm) checks the whole platform: here only what the caller sees
        await ensure_email_free_in_reach(session, principal, email, except_user_id=user.id)
        if email != user.email:
            # not changed yet: a confirmation link goes to the new address (resolvers/identity/email_tokens.py)
            new_email = changed["emailPending"] = email
    if fields.organisation_id is not None:
        organisation = await visible_organisation(session, principal, fields.organisation_id, "organisationId")
        user.organisation_id = changed["organisation"] = organisation.id
    check_csv_settings(
        fields.csv_delimiter if fields.csv_delimiter is not None else user.csv_delimiter,
        fields.csv_thousands_separator if fields.csv_thousands_separator is not None else user.csv_thousands_separator,
    )
    if fields.language is not None:
        user.language = changed["language"] = fields.language
    if fields.csv_delimiter is not None:
        user.csv_delimiter = changed["csvDelimiter"] = fields.csv_delimiter
    if fields.csv_thousands_separator is not None:
        user.csv_thousands_separator = changed["csvThousandsSeparator"] = fields.csv_thousands_separator
    if fields.require_two_factor is not None:
        user.require_two_factor = changed["requireTwoFactor"] = fields.require_two_factor
    if fields.roles is not None:
        _check_assignable_roles(principal, fields.roles)
        await _replace_roles(session, user, fields.roles)
        changed["roles"] = [r.value for r in fields.roles]
    await session.flush()
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
    if new_email is not None:
        from resolvers.identity import email_tokens  # it builds on this module

        await email_tokens.request_email_change(session, context, user, new_email)
    return user


async def set_active(session: AsyncSession, context: Context, user_id: str, active: bool) -> m.User:
    principal = require_permission(context, m.Permission.USERS_MANAGE)
    user, _ = await visible_user(session, principal, user_id)
    if user.id == principal.user_id:
        raise DomainError(Code.NOT_ALLOWED, "you cannot deactivate yourself", "id")
    await _ensure_manageable(session, principal, user)
    user.is_active = active
    if not active:
        await _revoke_sessions(session, user.id)
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
    await _ensure_manageable(session, principal, user)
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
    await _ensure_manageable(session, principal, user)
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


# --- organisations and partners ----------------------------------------------------------------------


@dataclass
class OrganisationFields:
    name: str | None = None
    your_reference: str | None = None
    can_create_organisations: bool | None = None
    password_min_length: int | None = None
    password_history: int | None = None
    require_two_factor: bool | None = None


def _apply_organisation_fields(organisation: m.Organisation, fields: OrganisationFields) -> None:
    if fields.name is not None:
        organisation.name = clean_text(fields.name, "name")
    if fields.your_reference is not None:
        organisation.your_reference = clean_text(fields.your_reference, "yourReference", required=False)
    if fields.password_min_length is not None:
        if not 12 <= fields.password_min_length <= 128:
            raise DomainError(Code.INVALID, "must be between 12 and 128", "passwordMinLength")
        organisation.password_min_length = fields.password_min_length
    if fields.password_history is not None:
        if not 0 <= fields.password_history <= 24:
            raise DomainError(Code.INVALID, "must be between 0 and 24", "passwordHistory")
        organisation.password_history = fields.password_history
    if fields.require_two_factor is not None:
        organisation.require_two_factor = fields.require_two_factor
    if fields.can_create_organisations is not None:
        organisation.can_create_organisations = fields.can_create_organisations


async def create_organisation(
    session: AsyncSession, context: Context, parent_id: str | None, fields: OrganisationFields
) -> m.Organisation:
    principal = require_permission(context, m.Permission.ORGANISATIONS_MANAGE)
    if parent_id is not None:
        parent = await visible_organisation(session, principal, parent_id, "parentId")
    elif principal.is_platform_admin:
        parent = None  # a new top-level tenant
    else:
        parent = await session.get(m.Organisation, principal.organisation_id)
    if parent is not None and not parent.can_create_organisations and not principal.is_platform_admin:
        raise DomainError(Code.NOT_ALLOWED, "this organisation may not create organisations", "parentId")
    organisation = m.Organisation(name="", parent_id=parent.id if parent else None)
    _apply_organisation_fields(organisation, replace(fields, name=fields.name or ""))
    session.add(organisation)
    await session.flush()
    organisation.path = f"{parent.path if parent else '/'}{organisation.id}/"
    await record(
        session,
        context,
        "organisation.created",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"name": organisation.name},
    )
    return organisation


async def update_organisation(
    session: AsyncSession, context: Context, organisation_id: str, fields: OrganisationFields
) -> m.Organisation:
    principal = require_permission(context, m.Permission.ORGANISATIONS_MANAGE)
    organisation = await visible_organisation(session, principal, organisation_id, "id")
    if (
        fields.can_create_organisations is not None
        and organisation.id == principal.organisation_id
        and not principal.is_platform_admin
    ):
        raise DomainError(
            Code.NOT_ALLOWED, "you cannot change this for your own organisation", "canCreateOrganisations"
        )
    _apply_organisation_fields(organisation, fields)
    await session.flush()
    await record(
        session,
        context,
        "organisation.updated",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"changed": sorted(k for k, v in vars(fields).items() if v is not None)},
    )
    return organisation


async def _partner_target(session: AsyncSession, partner_organisation_id: str) -> m.Organisation:
    try:
        public_id = str(uuid.UUID(partner_organisation_id.strip()))
    except ValueError as exc:
        raise DomainError(Code.INVALID, "is not an organisation ID", "partnerOrganisationId") from exc
    partner = await session.scalar(select(m.Organisation).where(m.Organisation.public_id == public_id))
    if partner is None:
        raise DomainError(Code.NOT_FOUND, "no organisation has this ID", "partnerOrganisationId")
    return partner


async def add_partner(
    session: AsyncSession, context: Context, organisation_id: str | None, partner_organisation_id: str
) -> m.Organisation:
    principal = require_permission(context, m.Permission.PARTNERS_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    partner = await _partner_target(session, partner_organisation_id)
    if partner.id == organisation.id:
        raise DomainError(Code.INVALID, "an organisation cannot be its own partner", "partnerOrganisationId")
    exists = await session.scalar(
        select(m.PartnerLink.id).where(
            m.PartnerLink.organisation_id == organisation.id, m.PartnerLink.partner_id == partner.id
        )
    )
    if exists is not None:
        raise DomainError(Code.DUPLICATE, "already a partner", "partnerOrganisationId")
    session.add(m.PartnerLink(organisation_id=organisation.id, partner_id=partner.id))
    await session.flush()
    await record(
        session,
        context,
        "partner.added",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"partner": partner.public_id},
    )
    return organisation


async def remove_partner(
    session: AsyncSession, context: Context, organisation_id: str | None, partner_organisation_id: str
) -> m.Organisation:
    principal = require_permission(context, m.Permission.PARTNERS_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    not_linked = DomainError(Code.NOT_FOUND, "not a partner", "partnerOrganisationId")
    try:
        partner = await _partner_target(session, partner_organisation_id)
    except DomainError as error:
        # an unknown organisation ID reads like one that is not linked: removal reveals no other tenant
        raise (not_linked if error.code == Code.NOT_FOUND else error) from None
    removed = await session.execute(
        delete(m.PartnerLink).where(
            m.PartnerLink.organisation_id == organisation.id, m.PartnerLink.partner_id == partner.id
        )
    )
    if removed.rowcount == 0:
        raise not_linked
    await record(
        session,
        context,
        "partner.removed",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"partner": partner.public_id},
    )
    return organisation


# --- user groups -------------------------------------------------------------------------------------


async def _members(
    session: AsyncSession, principal: Principal, organisation_id: int, member_ids: list[str]
) -> list[m.User]:
    if len(member_ids) > 1000:
        raise DomainError(Code.INVALID, "at most 1000 members at once", "memberIds")
    pks = [decode_id(global_id, "User") for global_id in member_ids]
    wanted = {pk for pk in pks if pk is not None}
    # one query for all members; the error's path is the index in the input as given (duplicates included)
    found = (
        {
            user.id: user
            for user in (
                await session.scalars(
                    select(m.User).where(m.User.id.in_(wanted), m.User.organisation_id == organisation_id)
                )
            ).all()
        }
        if wanted
        else {}
    )
    for index, pk in enumerate(pks):
        if pk not in found:
            raise DomainError(Code.NOT_FOUND, "no such user in the group's organisation", ["memberIds", str(index)])
    return [found[pk] for pk in dict.fromkeys(pks)]


async def _member_ids(session: AsyncSession, group_id: int) -> set[int]:
    return set(
        (await session.scalars(select(m.UserGroupMember.user_id).where(m.UserGroupMember.group_id == group_id))).all()
    )


async def _set_members(session: AsyncSession, group: m.UserGroup, members: list[m.User]) -> None:
    former = await _member_ids(session, group.id)
    await session.execute(delete(m.UserGroupMember).where(m.UserGroupMember.group_id == group.id))
    session.add_all(m.UserGroupMember(group_id=group.id, user_id=user.id) for user in members)
    await session.flush()
    await REACH_SHRANK(session, former - {user.id for user in members})


async def _ensure_group_name_free(
    session: AsyncSession, organisation_id: int, name: str, except_id: int | None = None
) -> None:
    existing = await session.scalar(
        select(m.UserGroup.id).where(m.UserGroup.organisation_id == organisation_id, m.UserGroup.name == name)
    )
    if existing is not None and existing != except_id:
        raise DomainError(Code.DUPLICATE, "a group with this name exists", "name")


async def create_group(
    session: AsyncSession, context: Context, name: str, organisation_id: str | None, member_ids: list[str]
) -> m.UserGroup:
    principal = require_permission(context, m.Permission.USER_GROUPS_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    name = clean_text(name, "name")
    await _ensure_group_name_free(session, organisation.id, name)
    members = await _members(session, principal, organisation.id, member_ids)
    group = m.UserGroup(organisation_id=organisation.id, name=name)
    session.add(group)
    await session.flush()
    await _set_members(session, group, members)
    await record(
        session,
        context,
        "user_group.created",
        organisation_id=organisation.id,
        target_type="UserGroup",
        target_id=group.id,
        details={"name": name, "members": len(members)},
    )
    return group


async def update_group(
    session: AsyncSession, context: Context, group_id: str, name: str | None, member_ids: list[str] | None
) -> m.UserGroup:
    principal = require_permission(context, m.Permission.USER_GROUPS_MANAGE)
    group = await visible_group(session, principal, group_id)
    if name is not None:
        name = clean_text(name, "name")
        await _ensure_group_name_free(session, group.organisation_id, name, except_id=group.id)
        group.name = name
    if member_ids is not None:
        await _set_members(session, group, await _members(session, principal, group.organisation_id, member_ids))
    await record(
        session,
        context,
        "user_group.updated",
        organisation_id=group.organisation_id,
        target_type="UserGroup",
        target_id=group.id,
    )
    return group


async def delete_group(session: AsyncSession, context: Context, group_id: str) -> str:
    principal = require_permission(context, m.Permission.USER_GROUPS_MANAGE)
    group = await visible_group(session, principal, group_id)
    await record(
        session,
        context,
        "user_group.deleted",
        organisation_id=group.organisation_id,
        target_type="UserGroup",
        target_id=group.id,
        details={"name": group.name},
    )
    former = await _member_ids(session, group.id)
    await session.delete(group)
    await session.flush()
    await REACH_SHRANK(session, former)
    return group_id
