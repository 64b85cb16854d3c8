"""SAML sign-in rules: the AuthnRequest (start), the assertion consumer (ACS) and the one-time code exchange.

Decisions (README): an assertion signs in a user of the organisation whose ACS received it. A user of that
organisation with the asserted e-mail is linked on first sign-in; none: one is created (no password; role
USER, or those the IdP's role mapping gives: saml.roles). A user of ANOTHER organisation with that e-mail is
never signed in (refused and audited). The ACS hands the browser a one-time sign-in code in the URL fragment
(never sent to a server, so never in an access log); `federatedSignIn` redeems it, once, for the token pair
`login` issues (federation.rules, shared with OpenID Connect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from models import identity as m
from models import saml as saml_models
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.federation.rules import hand_out_code
from resolvers.identity.saml.roles import groups_withheld, synchronise_roles

REQUEST_TTL = timedelta(minutes=10)
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}")
#: AuthnContextClassRefs that say the IdP checked more than a password (Entra ID's, Okta's, REFEDS's).
MFA_CLASSES = frozenset(
    {
        "http://schemas.microsoft.com/claims/multipleauthn",
        "https://refeds.org/profile/mfa",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:MultiFactor",
        "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
    }
)


class Refused(Exception):
    """An assertion not accepted; `reason` is audited and shown (it holds no part of the assertion)."""

    def __init__(self, reason: str, user_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: the id, not the row: the refusal outlives the rolled-back session that loaded it
        self.user_id = user_id


@dataclass(frozen=True)
class Accepted:
    """What pysaml2 verified: the signed assertion's ID, issuer, expiry, subject and attributes."""

    request_id: str
    assertion_id: str
    issuer: str
    not_on_or_after: datetime
    name_id: str
    attributes: dict[str, list[str]]
    class_refs: tuple[str, ...]


async def store_request(session: AsyncSession, organisation_id: int, request_id: str, client_address: str) -> None:
    now = utcnow()
    session.add(
        saml_models.SamlRequest(
            id=request_id, organisation_id=organisation_id, client_address=client_address, expires_at=now + REQUEST_TTL
        )
    )
    # expired requests go with the next one: the table stays as small as the sign-ins under way
    await session.execute(delete(saml_models.SamlRequest).where(saml_models.SamlRequest.expires_at <= now))


async def outstanding_request(session: AsyncSession, organisation_id: int, request_id: str) -> bool:
    return (
        await session.scalar(
            select(saml_models.SamlRequest.id).where(
                saml_models.SamlRequest.id == request_id,
                saml_models.SamlRequest.organisation_id == organisation_id,
                saml_models.SamlRequest.expires_at > utcnow(),
            )
        )
        is not None
    )


async def consume(session: AsyncSession, organisation_id: int, accepted: Accepted) -> None:
    """The request answered and the assertion consumed, each once: the DELETE's row count decides between
    parallel posts of one response (on PostgreSQL the losers wait for the winner's commit, on SQLite for
    the write lock), and the assertion's primary key refuses it for any later request."""
    answered = await session.execute(
        delete(saml_models.SamlRequest)
        .where(
            saml_models.SamlRequest.id == accepted.request_id,
            saml_models.SamlRequest.organisation_id == organisation_id,
        )
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], answered).rowcount != 1:
        raise Refused("the sign-in request was answered already (replayed response)")
    try:
        async with session.begin_nested():
            session.add(
                saml_models.SamlAssertion(
                    issuer=accepted.issuer[:500],
                    assertion_id=accepted.assertion_id[:200],
                    organisation_id=organisation_id,
                    expires_at=accepted.not_on_or_after,
                )
            )
    except IntegrityError:
        raise Refused("the assertion was used already (replayed assertion)") from None
    await session.execute(
        delete(saml_models.SamlAssertion).where(saml_models.SamlAssertion.expires_at < utcnow() - timedelta(hours=1))
    )


def _first(attributes: dict[str, list[str]], name: str) -> str:
    values = attributes.get(name) or []
    return str(values[0]).strip() if values else ""


async def _user_for(
    session: AsyncSession, context: Context, provider: saml_models.SamlProvider, accepted: Accepted
) -> m.User:
    email = _first(accepted.attributes, provider.attribute_email) if provider.attribute_email else accepted.name_id
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise Refused("the assertion holds no e-mail address")
    if provider.attribute_roles and provider.role_mapping and groups_withheld(provider, accepted.attributes):
        # signing in would take the mapped roles away from someone who may well still hold them
        raise Refused("the IdP sent a link to the groups instead of the groups (Entra ID's groups overage)")
    user = await session.scalar(select(m.User).where(m.User.email == email).with_for_update())
    if user is not None and user.organisation_id != provider.organisation_id:
        raise Refused("the e-mail address belongs to a user of another organisation")
    if user is not None and not user.is_active:
        raise Refused("the user is deactivated", user.id)
    if user is not None:
        await _link(session, context, provider, user, existing=True)
        await synchronise_roles(session, context, provider, user, accepted.attributes, created=False)
        return user
    name = _first(accepted.attributes, provider.attribute_name) if provider.attribute_name else ""
    user = m.User(organisation_id=provider.organisation_id, email=email, name=(name or email.split("@")[0])[:200])
    session.add(user)
    await session.flush()
    await _link(session, context, provider, user, existing=False)
    await record(
        session,
        context,
        "saml.user_created",
        organisation_id=provider.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_label=email,
        details={"idpEntityId": provider.idp_entity_id},
    )
    await synchronise_roles(session, context, provider, user, accepted.attributes, created=True)
    return user


async def _link(
    session: AsyncSession, context: Context, provider: saml_models.SamlProvider, user: m.User, *, existing: bool
) -> None:
    """Note the user's first SAML sign-in; an existing (password) user's is audited as a link. The user's row
    is locked, so two first sign-ins of one user cannot both insert."""
    if await session.get(saml_models.SamlLink, user.id) is not None:
        return
    session.add(
        saml_models.SamlLink(
            user_id=user.id, organisation_id=provider.organisation_id, idp_entity_id=provider.idp_entity_id[:500]
        )
    )
    if existing:
        await record(
            session,
            context,
            "saml.user_linked",
            organisation_id=provider.organisation_id,
            target_type="User",
            target_id=user.id,
            actor_label=user.email,
            details={"idpEntityId": provider.idp_entity_id},
        )


async def sign_in_code(
    session: AsyncSession, context: Context, provider: saml_models.SamlProvider, accepted: Accepted
) -> str:
    """Consume the assertion, find or create its user, and hand out a one-time code for the tokens."""
    await consume(session, provider.organisation_id, accepted)
    before = utcnow()
    user = await _user_for(session, context, provider, accepted)
    created = user.created_at >= before
    mfa = bool(MFA_CLASSES.intersection(accepted.class_refs))
    code = await hand_out_code(
        session, user, "saml", provider.idp_entity_id, mfa_trusted=mfa and provider.trust_idp_mfa
    )
    await record(
        session,
        context,
        "saml.assertion_accepted",
        organisation_id=provider.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_user_id=user.id,
        actor_label=user.email,
        details={
            "idpEntityId": provider.idp_entity_id,
            "mfaAsserted": mfa,
            "user": "created" if created else "existing",
        },
    )
    return code


def expiry(epoch: int | float | None) -> datetime:
    return datetime.fromtimestamp(epoch, UTC) if epoch else utcnow() + REQUEST_TTL
