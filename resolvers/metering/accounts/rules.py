"""Sign-up and sign-in with a one-time code, and proving a new phone number of the profile.

signInCodeSend answers alike for known and unknown addresses (either may sign in: the first valid code makes
the account). signInWithCode is throttled like a password login (identity's counters on the address and the
client), gives the same tokens as `login` (identity's token issuing), and asks for the TOTP code of an account
that has two-factor on, as `login` does.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import insert_or_ignore
from graph.errors import DomainError
from models import identity as m
from models.base import utcnow
from models.mail import TemplateType
from resolvers.audit.rules import record
from resolvers.identity.accounts import EMAIL_UNAVAILABLE, caller, organisation_of
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.sessions.rules import IssuedTokens, start_session
from resolvers.identity.sessions.throttling import count_attempt, give_back, throttle_keys
from resolvers.identity.sessions.totp import verify_totp
from resolvers.mail.sending import enqueue, session_sealer
from resolvers.metering.accounts.addresses import clean_phone, phone_account_email, sign_in_address
from resolvers.metering.accounts.codes import CODE_TTL, issue_code, spend_code
from resolvers.metering.accounts.sms import code_text, queue_sms

VALID_MINUTES = int(CODE_TTL.total_seconds() // 60)
NO_SMS = "sign-in by SMS is not available on this server"


def _account_of(address: str, is_phone: bool):
    return m.User.phone == address if is_phone else m.User.email == address


async def _deliver(
    session: AsyncSession,
    context: Context,
    row: m.OneTimeCode,
    code: str,
    is_phone: bool,
    user: m.User | None,
    language: str = "en",
) -> None:
    """The code by SMS or mail; a known account's in its language and naming its organisation, else in
    `language` naming the consumers' organisation."""
    organisation = context.runtime.settings.consumer_organisation
    if user is not None:
        organisation = (await organisation_of(session, user)).name
        language = user.language
    if is_phone:
        text = code_text(language, code, organisation, VALID_MINUTES)
        await queue_sms(session, session_sealer(session), to=row.address, text=text, code_id=row.id)
        return
    await enqueue(
        session,
        to_address=row.address,
        template_type=TemplateType.SIGN_IN_CODE,
        language=language,
        organisation_id=user.organisation_id if user is not None else None,
        variables={"organisation_name": organisation, "code": code, "valid_minutes": VALID_MINUTES},
    )


async def send_sign_in_code(
    session: AsyncSession, context: Context, email: str | None, phone: str | None, language: str = "en"
) -> None:
    address, is_phone = sign_in_address(email, phone)
    if is_phone and not context.runtime.settings.sms_gateway_url:
        raise DomainError(Code.NOT_ALLOWED, NO_SMS, "phone")
    row, code = await issue_code(session, m.CodePurpose.SIGN_IN, address, "phone" if is_phone else "email")
    user = await session.scalar(select(m.User).where(_account_of(address, is_phone)))
    active = user if user is not None and user.is_active else None
    await _deliver(session, context, row, code, is_phone, active, language)


async def consumer_organisation(session: AsyncSession, name: str) -> m.Organisation:
    """The consumers' organisation named by the setting, made on the first sign-up. Its public ID follows from
    the name, so parallel first sign-ups make one (the second insert is ignored)."""
    public_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fleetgraph:consumers:{name}"))
    await insert_or_ignore(session, m.Organisation, public_id=public_id, name=name, path="", created_at=utcnow())
    organisation = await session.scalar(select(m.Organisation).where(m.Organisation.public_id == public_id))
    assert organisation is not None
    if not organisation.path:
        organisation.path = f"/{organisation.id}/"
        await session.flush()
    return organisation


async def _sign_up(session: AsyncSession, context: Context, address: str, is_phone: bool, language: str) -> m.User:
    organisation = await consumer_organisation(session, context.runtime.settings.consumer_organisation)
    user = m.User(
        organisation_id=organisation.id,
        email=phone_account_email(address) if is_phone else address,
        phone=address if is_phone else None,
        name=address,
        language=language,
    )
    session.add(user)
    await session.flush()
    session.add(m.UserRole(user_id=user.id, role=m.Role.CONSUMER))
    await session.flush()
    await record(
        session,
        context,
        "user.signed_up",
        organisation_id=organisation.id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=address,
        details={"channel": "sms" if is_phone else "email"},
    )
    return user


async def sign_in_with_code(
    session: AsyncSession,
    context: Context,
    email: str | None,
    phone: str | None,
    code: str,
    otp: str | None,
    language: str,
) -> IssuedTokens | DomainError:
    """Long because it is login's sequence: count the attempt, check, give the count back, issue tokens."""
    try:
        address, is_phone = sign_in_address(email, phone)
    except DomainError as error:
        return error
    # Counted before anything is checked (before `session` is used: one connection at a time).
    attempt = await count_attempt(context, throttle_keys(address, context.client_address))
    if isinstance(attempt, DomainError):
        return attempt
    user = await session.scalar(select(m.User).where(_account_of(address, is_phone)))
    if user is not None and not user.is_active:
        return DomainError(Code.INVALID_CREDENTIALS, "the code is not valid", "code")
    if user is not None and user.totp_confirmed and not otp:
        await give_back(session, attempt, reset_account=False)  # not a failure; the code stays live
        return DomainError(Code.TWO_FACTOR_REQUIRED, "enter the code of your authenticator app", "otp")
    spent = await spend_code(session, m.CodePurpose.SIGN_IN, address, code)
    if isinstance(spent, DomainError):
        if user is not None:  # as login: a known account's failures are in its history
            await record(
                session,
                context,
                "user.login_failed",
                organisation_id=user.organisation_id,
                target_type="User",
                target_id=user.id,
                actor_label=address,
                details={"method": "sms code" if is_phone else "e-mail code"},
            )
        return spent  # already counted as a failure by count_attempt
    if user is not None and user.totp_confirmed and not await verify_totp(session, context, user, otp or ""):
        return DomainError(Code.INVALID_TWO_FACTOR_CODE, "the code of your authenticator app is not valid", "otp")
    if user is None:
        user = await _sign_up(session, context, address, is_phone, language)
    await give_back(session, attempt, reset_account=True)
    method = {"method": "sms code" if is_phone else "e-mail code"}
    return await start_session(session, context, user, method, actor_label=address)


# --- the profile's phone number -------------------------------------------------------------------------------


async def send_phone_code(session: AsyncSession, context: Context, phone: str) -> None:
    """Send a code to the new number; profilePhoneSet with it makes the number the caller's."""
    if not context.runtime.settings.sms_gateway_url:
        raise DomainError(Code.NOT_ALLOWED, "phone numbers cannot be proven: this server sends no SMS", "phone")
    address = clean_phone(phone)
    user = await caller(session, context)
    row, code = await issue_code(session, m.CodePurpose.PHONE_CHANGE, address, "phone", user_id=user.id)
    await _deliver(session, context, row, code, True, user)


async def set_phone(
    session: AsyncSession, context: Context, phone: str | None, code: str | None
) -> m.User | DomainError:
    if phone is None:
        try:
            return await _remove_phone(session, context)
        except DomainError as error:
            return error
    if not code:
        return DomainError(Code.REQUIRED, "enter the code sent to the number", "code")
    try:
        address = clean_phone(phone)
    except DomainError as error:
        return error
    user = await caller(session, context)
    spent = await spend_code(session, m.CodePurpose.PHONE_CHANGE, address, code)
    if isinstance(spent, DomainError):
        return spent
    if spent.user_id != user.id:
        return DomainError(Code.INVALID_CREDENTIALS, "the code is not valid", "code")
    holder = await session.scalar(select(m.User.id).where(m.User.phone == address))
    if holder is not None and holder != user.id:
        return DomainError(Code.DUPLICATE, EMAIL_UNAVAILABLE.replace("e-mail address", "phone number"), "phone")
    user.phone = address
    await session.flush()
    await record(
        session,
        context,
        "user.phone_changed",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
        details={"phone": address},
    )
    return user


async def _remove_phone(session: AsyncSession, context: Context) -> m.User:
    user = await caller(session, context)
    if user.email.endswith("@phone.invalid"):
        raise DomainError(Code.NOT_ALLOWED, "you sign in with this number: it is your account's only address", "phone")
    user.phone = None
    await session.flush()
    await record(
        session,
        context,
        "user.phone_removed",
        organisation_id=user.organisation_id,
        target_type="User",
        target_id=user.id,
    )
    return user
