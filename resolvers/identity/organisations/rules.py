"""Organisation rules: create and edit organisations of the caller's subtree, link and unlink partners."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_permission
from graph.rules import UNSET, clean_text
from graph.tenancy import target_organisation, visible_organisation
from models import identity as m
from resolvers.audit.rules import record
from resolvers.identity.errors import IdentityErrorCode as Code

MAX_TEXT = 200


@dataclass
class OrganisationFields:
    """What a create or update sets: UNSET fields keep what is stored (or the column's default)."""

    name: str = UNSET
    your_reference: str = UNSET
    can_create_organisations: bool = UNSET
    password_min_length: int = UNSET
    password_history: int = UNSET
    require_two_factor: bool = UNSET


def _apply_organisation_fields(organisation: m.Organisation, fields: OrganisationFields) -> None:
    if fields.name is not UNSET:
        organisation.name = clean_text(fields.name, "name", max_length=MAX_TEXT)
    if fields.your_reference is not UNSET:
        organisation.your_reference = clean_text(
            fields.your_reference, "yourReference", max_length=MAX_TEXT, required=False
        )
    if fields.password_min_length is not UNSET:
        if not 12 <= fields.password_min_length <= 128:
            raise DomainError(Code.INVALID, "must be between 12 and 128", "passwordMinLength")
        organisation.password_min_length = fields.password_min_length
    if fields.password_history is not UNSET:
        if not 0 <= fields.password_history <= 24:
            raise DomainError(Code.INVALID, "must be between 0 and 24", "passwordHistory")
        organisation.password_history = fields.password_history
    if fields.require_two_factor is not UNSET:
        organisation.require_two_factor = fields.require_two_factor
    if fields.can_create_organisations is not UNSET:
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
    _apply_organisation_fields(organisation, fields)
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
        fields.can_create_organisations is not UNSET
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
        details={"changed": sorted(k for k, v in vars(fields).items() if v is not UNSET)},
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
    if cast(CursorResult[Any], removed).rowcount == 0:
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
