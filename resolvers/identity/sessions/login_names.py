"""Who a login names (issue 18): an e-mail address, or a username in an organisation given by its customer
number or by the organisation's own verified login domain (the request's Host).

The account is looked up before the attempt is counted, in a short read of its own, so that a known account
is throttled on the same key whichever way it is named (its e-mail address); an unknown name is throttled on
what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from graph.context import Context
from graph.errors import DomainError
from models import branding as br
from models import identity as m
from resolvers.identity.errors import IdentityErrorCode as Code


@dataclass(frozen=True)
class Credentials:
    password: str
    email: str | None = None
    customer_number: str | None = None
    username: str | None = None
    otp: str | None = None


@dataclass(frozen=True)
class Account:
    #: What the account's throttle key names (the key is "account:<this>").
    key: str
    #: The e-mail address of the account named, or None when no account has that name.
    email: str | None
    #: How the refusal names what was typed (one answer whichever part was wrong).
    names: str


def _clean(value: str | None, length: int) -> str:
    # PostgreSQL cannot hold NUL in text: replaced, the value still matches nothing and is counted.
    return (value or "").strip().lower()[:length].replace("\x00", "\ufffd")


def request_host(context: Context) -> str:
    """The Host the request was sent to (lower case, without port): a proxy passes the client's Host on."""
    headers = getattr(context.request, "headers", None)
    host = (headers.get("host", "") if headers is not None else "").strip().lower()
    if host.startswith("["):  # an IPv6 literal is never a login domain
        return ""
    return host.rsplit(":", 1)[0].rstrip(".")[:253]


async def _organisation_by_host(context: Context, host: str) -> int | None:
    if not host:
        return None
    async with context.runtime.session_factory() as session:
        return await session.scalar(
            select(br.LoginDomain.organisation_id).where(br.LoginDomain.verified_domain == host)
        )


async def account_named(context: Context, credentials: Credentials) -> Account | DomainError:
    """The account the credentials name; a DomainError (not counted) when they name none at all."""
    if credentials.email is not None and (credentials.username is not None or credentials.customer_number):
        return DomainError(Code.INVALID, "log in with an e-mail address or with a username, not both", "email")
    if credentials.email is not None:
        email = _clean(credentials.email, 254)
        return Account(key=email, email=email, names="e-mail")
    username = _clean(credentials.username, 64)
    if not username:
        return DomainError(Code.REQUIRED, "enter your e-mail address, or your username", "email")
    customer_number = _clean(credentials.customer_number, 20)
    names = "customer number, username"
    if customer_number:
        condition = m.Organisation.customer_number == customer_number
        key = f"{customer_number}/{username}"
    else:
        host = request_host(context)
        organisation_id = await _organisation_by_host(context, host)
        if organisation_id is None:
            return DomainError(Code.REQUIRED, "enter your customer number", "customerNumber")
        condition, key, names = m.Organisation.id == organisation_id, f"{host}/{username}", "username"
    async with context.runtime.session_factory() as session:
        found = await session.scalar(
            select(m.User.email)
            .join(m.Organisation, m.Organisation.id == m.User.organisation_id)
            .where(condition, m.User.username == username)
        )
    return Account(key=found or key, email=found, names=names)
