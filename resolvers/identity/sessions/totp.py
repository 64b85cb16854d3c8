"""Two-factor authentication with TOTP codes: enrol, confirm, disable, and checking a code (each step once)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pyotp
from pyotp.utils import strings_equal
from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from graph.context import Context
from graph.errors import DomainError
from graph.passwords import verify_password
from graph.secrets import SecretError
from models import identity as m
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.accounts import caller, organisation_of, signed_in
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.key_rotation import totp_binding

TOTP_ISSUER = "fleetgraph"


async def verify_totp(session: AsyncSession, context: Context, user: m.User, code: str) -> bool:
    """Accept a code of the current 30-second step or a neighbour, each step once only.

    The step is spent by a conditional UPDATE (only while the stored last step is older): of parallel
    requests with one code exactly one wins, the others read like a reused code.
    """
    if not user.totp_secret_sealed or not re.fullmatch(r"\d{6}", code or ""):
        return False
    try:
        secret = context.runtime.sealer.open(user.totp_secret_sealed, totp_binding(user.id)).decode()
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
            if cast(CursorResult[Any], spent).rowcount != 1:
                return False  # another request spent this step (or a later one) first
            set_committed_value(user, "totp_last_step", step)
            return True
    return False


@dataclass
class Enrolment:
    secret: str
    provisioning_uri: str


#: How recent a password-less user's sign-in must be to start two-factor enrolment (issue 19).
PASSWORDLESS_ENROL_SECONDS = 300


async def two_factor_enrol(session: AsyncSession, context: Context, password: str) -> Enrolment:
    user = await caller(session, context)
    if user.password_hash is None:
        # issue 19: a user signed in by SAML has no password; a sign-in of the last minutes proves them instead
        fresh = signed_in(context).authenticated_at > utcnow() - timedelta(seconds=PASSWORDLESS_ENROL_SECONDS)
        if not fresh:
            raise DomainError(Code.INVALID_CREDENTIALS, "sign in again to turn on two-factor", "password")
    elif not verify_password(user.password_hash, password):
        raise DomainError(Code.INVALID_CREDENTIALS, "the password is not correct", "password")
    if user.totp_confirmed:
        # A new enrolment would unset totp_confirmed, so logins would need no code until it is confirmed.
        raise DomainError(Code.NOT_ALLOWED, "two-factor is already on; turn it off with twoFactorDisable first")
    secret = pyotp.random_base32()
    user.totp_secret_sealed = context.runtime.sealer.seal(secret.encode(), totp_binding(user.id))
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
    user = await caller(session, context)
    if user.totp_secret_sealed is None:
        raise DomainError(Code.TWO_FACTOR_NOT_ENROLLED, "start with twoFactorEnrol", "code")
    if not await verify_totp(session, context, user, code):
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
    user = await caller(session, context)
    organisation = await organisation_of(session, user)
    if user.require_two_factor or organisation.require_two_factor:
        raise DomainError(Code.NOT_ALLOWED, "two-factor authentication is required for your account")
    if not verify_password(user.password_hash, password):
        raise DomainError(Code.INVALID_CREDENTIALS, "the password is not correct", "password")
    if not user.totp_confirmed or not await verify_totp(session, context, user, code):
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
