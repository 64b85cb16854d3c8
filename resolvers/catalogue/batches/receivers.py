"""The receiving side of a batch: which organisations may receive one, and the mail to their admins."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.permissions import require_principal
from graph.relay import decode_id, to_global_id
from graph.tenancy import organisation_visible
from models import catalogue as c
from models import identity as m
from models.mail import TemplateType
from resolvers.mail.sending import enqueue


async def receiver(session: AsyncSession, context: Context, organisation_id: str) -> m.Organisation | None:
    """An organisation of the caller's subtree, or a partner of the caller's organisation."""
    pk = decode_id(organisation_id, "Organisation")
    if pk is None:
        return None
    principal: Principal = require_principal(context)
    partner = exists().where(
        m.PartnerLink.organisation_id == principal.organisation_id, m.PartnerLink.partner_id == m.Organisation.id
    )
    return await session.scalar(
        select(m.Organisation).where(m.Organisation.id == pk, or_(organisation_visible(principal), partner))
    )


async def receiver_consents(session: AsyncSession, context: Context, receiver: m.Organisation) -> bool:
    """Whether devices may move to the receiver without its confirmation: it is of the caller's subtree
    (platform admins: any, the manufacturer hands devices over), or it accepted the partnership by adding
    the caller's organisation as its partner too. A one-sided partner link (anyone who knows an
    organisation ID can add it) never pushes devices into another catalogue."""
    principal: Principal = require_principal(context)
    if principal.is_platform_admin or receiver.path.startswith(principal.organisation_path):
        return True
    reciprocal = await session.scalar(
        select(m.PartnerLink.id).where(
            m.PartnerLink.organisation_id == receiver.id, m.PartnerLink.partner_id == principal.organisation_id
        )
    )
    return reciprocal is not None


async def mail_receiver_admins(
    session: AsyncSession, context: Context, batch: c.Batch, receiver: m.Organisation, device_count: int
) -> int:
    """The "new batch" mail to each active admin of the receiving organisation, in their language."""
    sender = await session.get(m.Organisation, batch.sender_organisation_id)
    admins = (
        await session.scalars(
            select(m.User)
            .join(m.UserRole, m.UserRole.user_id == m.User.id)
            .where(
                m.User.organisation_id == receiver.id,
                m.User.is_active.is_(True),
                m.UserRole.role == m.Role.ORGANISATION_ADMIN,
            )
            .order_by(m.User.id)
        )
    ).all()
    link = f"{context.runtime.settings.link_base_url}/batches/{to_global_id('Batch', batch.id)}"
    for admin in admins:
        await enqueue(
            session,
            to_address=admin.email,
            template_type=TemplateType.NEW_BATCH,
            language=admin.language,
            organisation_id=receiver.id,
            variables={
                "recipient_name": admin.name,
                "organisation_name": receiver.name,
                "batch_reference": batch.reference,
                "device_count": device_count,
                "sender_organisation_name": sender.name if sender else "",
                "link": link,
            },
        )
    return len(admins)
