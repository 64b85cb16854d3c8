"""Adding a customer (manual §24.1) in one step: a sub-organisation of the reseller (the caller's organisation,
which must be allowed to create organisations), an empty licence pool, and its admin's invitation mail.

Each step is identity's own rule (organisationCreate, invitationCreate, invitationSend), in one transaction: if
any refuses (a name, an address already in use), nothing is stored and no mail goes out. The caller needs
CUSTOMERS_MANAGE and, for those steps, what they need (organisation admins hold all of it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id, to_global_id
from models import identity as m
from models import portal as pt
from models import remote as r
from resolvers.audit.rules import record
from resolvers.identity.invitations import rules as invitations
from resolvers.identity.organisations.rules import OrganisationFields, create_organisation
from resolvers.remote.errors import RemoteErrorCode as Code

#: Identity's field names in the steps' refusals, as the customerAdd input names them.
_ADMIN_FIELDS = {"name": "adminName", "email": "adminEmail"}


@dataclass
class NewCustomer:
    name: str
    your_reference: str
    admin_name: str
    admin_email: str
    language: str


async def visible_customer(session: AsyncSession, context: Context, customer_id: str, field: str) -> pt.Customer:
    """A customer of the caller's organisation, named by its organisation's ID; anybody else's (or any other
    organisation, also of the caller's subtree) reads like an unknown one."""
    principal = require_principal(context)
    pk = decode_id(customer_id, "Organisation")
    customer = await session.get(pt.Customer, pk) if pk is not None else None
    if customer is None or customer.reseller_id != principal.organisation_id:
        raise DomainError(Code.NOT_FOUND, "No such customer.", field)
    return customer


async def add_customer(session: AsyncSession, context: Context, new: NewCustomer) -> pt.Customer:
    principal = require_principal(context)
    reseller = await session.get(m.Organisation, principal.organisation_id)
    assert reseller is not None  # a principal's organisation is never deleted while it is signed in
    if not reseller.can_create_organisations:
        raise DomainError(
            Code.NOT_ALLOWED, "Your organisation may not create organisations, so it cannot add customers.", "name"
        )
    if not new.admin_email.strip():
        raise DomainError(
            Code.REQUIRED, "The customer's admin needs an e-mail address for the login mail.", "adminEmail"
        )
    organisation = await create_organisation(
        session,
        context,
        to_global_id("Organisation", reseller.id),
        OrganisationFields(name=new.name, your_reference=new.your_reference),
    )
    customer = pt.Customer(organisation_id=organisation.id, reseller_id=reseller.id)
    # an empty pool, not a missing row: without a licence row an organisation's connections are unlimited
    session.add_all([customer, r.ConnectionLicence(organisation_id=organisation.id, max_active_connections=0)])
    await session.flush()
    try:
        created = await invitations.create(
            session,
            context,
            name=new.admin_name,
            email=new.admin_email,
            organisation_id=to_global_id("Organisation", organisation.id),
            roles=[m.Role.ORGANISATION_ADMIN],
            language=new.language,
        )
        await invitations.send(session, context, to_global_id("Invitation", created.invitation.id))
    except DomainError as error:
        field = [_ADMIN_FIELDS.get(part, part) for part in error.field or []]
        raise DomainError(Code[error.code.name], error.message, field or None) from error
    await record(
        session,
        context,
        "customer.added",
        organisation_id=reseller.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"name": organisation.name, "adminEmail": created.invitation.email},
    )
    return customer
