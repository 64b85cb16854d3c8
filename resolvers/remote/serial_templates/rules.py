"""Serial device templates: create, update, delete. A template pre-fills new serial devices (a copy):
editing or deleting it never changes the devices made from it (their `template` becomes null on delete).

Templates belong to an organisation; LOCATIONS_MANAGE holders manage those of their subtree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.rules import UNSET, ensure_name_free, flush_unique
from graph.tenancy import visible_organisation
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.devices.rules import clean_description, clean_name
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.serial_devices.rules import clean_settings, settings_of, visible_serial_template


def _name_taken() -> DomainError:
    return DomainError(Code.DUPLICATE, "The organisation already has a serial device template with this name.", "name")


async def create_serial_template(
    session: AsyncSession,
    context: Context,
    *,
    name: str | None,
    description: str | None,
    organisation_id: str | None,
    settings: dict[str, Any],
) -> r.SerialDeviceTemplate:
    name = clean_name(name)
    description = clean_description(description)
    clean = clean_settings(settings)
    principal: Principal = require_principal(context)
    if organisation_id is None:
        organisation_pk = principal.organisation_id
    else:
        organisation_pk = (await visible_organisation(session, principal, organisation_id, "organisationId")).id
    await ensure_name_free(session, r.SerialDeviceTemplate, organisation_pk, name, _name_taken())
    template = r.SerialDeviceTemplate(organisation_id=organisation_pk, name=name, description=description, **clean)
    session.add(template)
    await flush_unique(session, _name_taken())
    await record(
        session,
        context,
        "serial_device_template.created",
        organisation_id=organisation_pk,
        target_type="SerialDeviceTemplate",
        target_id=template.id,
        details={"name": name},
    )
    return template


async def update_serial_template(
    session: AsyncSession,
    context: Context,
    template_id: str,
    *,
    name: Any = UNSET,
    description: Any = UNSET,
    settings: dict[str, Any],
) -> r.SerialDeviceTemplate:
    """Fields left out stay; serial devices created from it keep what they have."""
    template = await visible_serial_template(session, context, template_id, "id")
    changes: dict[str, Any] = {}
    if name is not UNSET and name is not None:
        changes["name"] = clean_name(name)
        await ensure_name_free(
            session, r.SerialDeviceTemplate, template.organisation_id, changes["name"], _name_taken(), template.id
        )
    if description is not UNSET:
        changes["description"] = clean_description(description)
    clean = clean_settings(settings, settings_of(template))
    changes.update({key: value for key, value in clean.items() if value != getattr(template, key)})
    for key, value in changes.items():
        setattr(template, key, value)
    await flush_unique(session, _name_taken())
    if changes:
        await record(
            session,
            context,
            "serial_device_template.updated",
            organisation_id=template.organisation_id,
            target_type="SerialDeviceTemplate",
            target_id=template.id,
            details={"name": template.name, "fields": sorted(changes)},
        )
    return template


async def delete_serial_template(session: AsyncSession, context: Context, template_id: str) -> int:
    template = await visible_serial_template(session, context, template_id, "id")
    pk, name, organisation_pk = template.id, template.name, template.organisation_id
    await session.delete(template)  # devices made from it stay (template_id ON DELETE SET NULL)
    await session.flush()
    await record(
        session,
        context,
        "serial_device_template.deleted",
        organisation_id=organisation_pk,
        target_type="SerialDeviceTemplate",
        target_id=pk,
        details={"name": name},
    )
    return pk
