"""Case statuses and activity types of an organisation (the manual's §19 and §20), managed with PORTAL_MANAGE.

Both are lists of an organisation (its own or one below it); names are unique within it. A status or type that
cases or calls use is not deleted (IN_USE): a case's history keeps its words. Another tenant's status or type
reads like an unknown one (NOT_FOUND).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.db import lock_row
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import UNSET, clean_text, ensure_name_free, flush_unique
from graph.tenancy import target_organisation, visible_organisation_ids
from models import cases as cs
from resolvers.audit.rules import record
from resolvers.remote.case_settings.defaults import ensure_defaults
from resolvers.remote.errors import RemoteErrorCode as Code

MAX_NAME = 100
MAX_DESCRIPTION = 1000
#: Sequence numbers order the list; any sensible number of statuses fits.
MAX_SEQUENCE = 1_000_000


@dataclass(frozen=True)
class Kind:
    model: Any
    type_name: str
    words: str
    audit: str


STATUS = Kind(cs.CaseStatus, "CaseStatus", "case status", "case_status")
ACTIVITY_TYPE = Kind(cs.ActivityType, "ActivityType", "activity type", "activity_type")


def clean_name(value: str | None) -> str:
    return clean_text(value, "name", max_length=MAX_NAME, single_line=True)


def clean_description(value: str | None) -> str:
    return clean_text(value, "description", max_length=MAX_DESCRIPTION, required=False)


def clean_sequence(value: int) -> int:
    if not 0 <= value <= MAX_SEQUENCE:
        raise DomainError(Code.INVALID, f"A sequence number is between 0 and {MAX_SEQUENCE}.", "sequence")
    return value


async def visible_row(session: AsyncSession, context: Context, kind: Kind, global_id: str, field: str) -> Any:
    """A status or type of the caller's organisations, locked for the change."""
    pk = decode_id(global_id, kind.type_name)
    row = None
    # locked first (a no-op UPDATE): a case or call taking it meanwhile waits, so "in use" stays true or false
    if pk is not None and await lock_row(session, kind.model, pk):
        visible = kind.model.organisation_id.in_(visible_organisation_ids(require_principal(context)))
        row = await session.scalar(select(kind.model).where(kind.model.id == pk, visible))
    if row is None:
        raise DomainError(Code.NOT_FOUND, f"No such {kind.words}.", field)
    return row


def _name_taken(kind: Kind) -> DomainError:
    return DomainError(Code.DUPLICATE, f"The organisation already has a {kind.words} with this name.", "name")


async def create(
    session: AsyncSession, context: Context, kind: Kind, organisation_id: str | None, fields: dict[str, Any]
) -> Any:
    """A new status or type; `fields` are already clean (name, description and a status's own)."""
    organisation = await target_organisation(session, require_principal(context), organisation_id, "organisationId")
    await ensure_defaults(session, organisation.id)  # the defaults first, so that a new one never stands alone
    await ensure_name_free(session, kind.model, organisation.id, fields["name"], _name_taken(kind))
    row = kind.model(organisation_id=organisation.id, **fields)
    session.add(row)
    await flush_unique(session, _name_taken(kind))
    await record(
        session,
        context,
        f"{kind.audit}.created",
        organisation_id=organisation.id,
        target_type=kind.type_name,
        target_id=row.id,
        details={"name": row.name},
    )
    return row


async def update(session: AsyncSession, context: Context, kind: Kind, global_id: str, changes: dict[str, Any]) -> Any:
    """Change the given fields (UNSET ones stay); `changes` are already clean."""
    row = await visible_row(session, context, kind, global_id, "id")
    changes = {key: value for key, value in changes.items() if value is not UNSET}
    if "name" in changes:
        await ensure_name_free(session, kind.model, row.organisation_id, changes["name"], _name_taken(kind), row.id)
    changed = sorted(key for key, value in changes.items() if getattr(row, key) != value)
    for key in changed:
        setattr(row, key, changes[key])
    await flush_unique(session, _name_taken(kind))
    if changed:
        await record(
            session,
            context,
            f"{kind.audit}.updated",
            organisation_id=row.organisation_id,
            target_type=kind.type_name,
            target_id=row.id,
            details={"name": row.name, "fields": changed},
        )
    return row


def _users(kind: Kind, pk: int) -> Any:
    """Whether any case or call uses the status or type."""
    if kind is STATUS:
        return or_(exists().where(cs.Case.status_id == pk), exists().where(cs.CaseCall.status_id == pk))
    return exists().where(cs.CaseCall.activity_type_id == pk)


async def delete(session: AsyncSession, context: Context, kind: Kind, global_id: str) -> int:
    row = await visible_row(session, context, kind, global_id, "id")
    in_use = DomainError(Code.IN_USE, f"Cases or calls use this {kind.words}: it cannot be deleted.", "id")
    if await session.scalar(select(_users(kind, row.id))):
        raise in_use
    pk, name, organisation_id = row.id, row.name, row.organisation_id
    await session.delete(row)
    # a case or call that took it after the check above: the foreign key refuses, and so does this
    await flush_unique(session, in_use)
    await record(
        session,
        context,
        f"{kind.audit}.deleted",
        organisation_id=organisation_id,
        target_type=kind.type_name,
        target_id=pk,
        details={"name": name},
    )
    return pk
