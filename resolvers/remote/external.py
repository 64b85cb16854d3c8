"""External users: a user of another organisation let into this one, who reaches only the locations
(and location groups) given to them here.

Being external is a row (external_user), not a role: the user keeps their own organisation, role and
permissions (they need LOCATIONS_READ, as users and external users have, to see the locations). They
see the granted locations, their routers and devices, and nothing else of the organisation: not its
users, groups or the organisation itself (Location.organisation is null for them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.context import Context
from graph.errors import BadUserInput, DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, decode_id, paginate, to_global_id
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models import remote as r
from models.identity import Permission
from resolvers.audit.services import record
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.types import Organisation, User
from resolvers.remote import access_loaders
from resolvers.remote.access import end_unreachable_connections
from resolvers.remote.errors import RemoteError, as_errors
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.services import visible_organisation


@strawberry.type(description="A user of another organisation let into this one: they reach only the locations given to them here.")
class ExternalUser:
    created_at: datetime = strawberry.field(description="When they were added.")
    user_pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: r.ExternalUser) -> ExternalUser:
        return cls(created_at=row.created_at, user_pk=row.user_id, organisation_pk=row.organisation_id)

    @strawberry.field(description="The user (of their own organisation).")
    async def user(self, info: Info) -> User:
        return User.from_model(await info.context.loaders(access_loaders.users).load(self.user_pk))

    @strawberry.field(description="The organisation (of your subtree) they were let into.")
    async def organisation(self, info: Info) -> Organisation:
        return Organisation.from_model(await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk))


async def _target(session: AsyncSession, context: Context, organisation_id: str | None) -> m.Organisation:
    if organisation_id is None:
        return await session.get(m.Organisation, context.principal.organisation_id)
    return await visible_organisation(session, context, organisation_id, "organisationId")


async def add_external_user(session: AsyncSession, context: Context, email: str, organisation_id: str | None) -> r.ExternalUser:
    organisation = await _target(session, context, organisation_id)
    address = (email or "").strip().lower()
    if not address:
        raise DomainError(Code.REQUIRED, "An e-mail address is required.", "email")
    found = (await session.execute(
        select(m.User, m.Organisation.path).join(m.Organisation, m.Organisation.id == m.User.organisation_id)
        .where(func.lower(m.User.email) == address)
    )).first()
    if found is None:
        raise DomainError(Code.NOT_FOUND, "No user with this e-mail address.", "email")
    user, user_path = found
    if user_path.startswith(organisation.path):
        # the organisation's own people are given locations directly; they are no external users
        raise DomainError(Code.INVALID, "This user belongs to the organisation; give them locations directly.", "email")
    if await session.get(r.ExternalUser, (organisation.id, user.id)) is not None:
        raise DomainError(Code.DUPLICATE, "This user is already an external user of the organisation.", "email")
    row = r.ExternalUser(organisation_id=organisation.id, user_id=user.id)
    session.add(row)
    await session.flush()
    await record(session, context, "external_user.added", organisation_id=organisation.id, target_type="User", target_id=user.id,
                 details={"email": user.email})
    return row


async def remove_external_user(session: AsyncSession, context: Context, user_id: str, organisation_id: str | None) -> int:
    """Remove the external user and all their grants on the organisation's locations (direct and
    through its location groups); their connections there end."""
    organisation = await _target(session, context, organisation_id)
    pk = decode_id(user_id, "User")
    row = await session.get(r.ExternalUser, (organisation.id, pk)) if pk is not None else None
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such external user.", "userId")
    await session.delete(row)
    await session.execute(delete(r.LocationUserAccess).where(
        r.LocationUserAccess.user_id == pk,
        r.LocationUserAccess.location_id.in_(select(r.Location.id).where(r.Location.organisation_id == organisation.id)),
    ))
    await session.execute(delete(r.LocationGroupUser).where(
        r.LocationGroupUser.user_id == pk,
        r.LocationGroupUser.group_id.in_(select(r.LocationGroup.id).where(r.LocationGroup.organisation_id == organisation.id)),
    ))
    await session.flush()
    await record(session, context, "external_user.removed", organisation_id=organisation.id, target_type="User", target_id=pk)
    await end_unreachable_connections(session, [pk])
    return pk


@strawberry.input(description="Let a user of another organisation in.")
class ExternalUserAddInput:
    email: str = strawberry.field(description="E-mail address of an existing user of another organisation.")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="The organisation (of your subtree); default yours.")


@strawberry.input(description="An external user to remove.")
class ExternalUserRemoveInput:
    user_id: strawberry.ID = strawberry.field(description="The external user.")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="The organisation (of your subtree); default yours.")


@strawberry.type(description="The external user, or why they were not added.")
class ExternalUserAddPayload:
    external_user: ExternalUser | None = strawberry.field(description="The new external user; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The removed external user's ID, or why it was refused.")
class ExternalUserRemovePayload:
    removed_user_id: strawberry.ID | None = strawberry.field(description="ID of the removed user; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type
class ExternalUserMutation:
    @strawberry.mutation(
        description="Let an existing user of another organisation (found by e-mail) in as an external user.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_add(self, info: Info, input: ExternalUserAddInput) -> ExternalUserAddPayload:
        result = await run_in_transaction(info.context, lambda s: add_external_user(s, info.context, input.email, input.organisation_id))
        if isinstance(result, DomainError):
            return ExternalUserAddPayload(external_user=None, errors=as_errors(result))
        return ExternalUserAddPayload(external_user=ExternalUser.from_model(result), errors=[])

    @strawberry.mutation(
        description="Remove an external user with all their grants here; their connections here end (ACCESS_REVOKED).",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_user_remove(self, info: Info, input: ExternalUserRemoveInput) -> ExternalUserRemovePayload:
        result = await run_in_transaction(info.context, lambda s: remove_external_user(s, info.context, input.user_id, input.organisation_id))
        if isinstance(result, DomainError):
            return ExternalUserRemovePayload(removed_user_id=None, errors=as_errors(result))
        return ExternalUserRemovePayload(removed_user_id=strawberry.ID(to_global_id("User", result)), errors=[])


@strawberry.input(description="Narrow the external user list.")
class ExternalUserFilter:
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Only external users of this organisation.")


@strawberry.type
class ExternalUserQuery:
    @strawberry.field(
        description="External users of your organisation's subtree, by e-mail address.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def external_users(
        self,
        info: Info,
        filter: Annotated[ExternalUserFilter | None, strawberry.argument(description="Conditions they must meet.")] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ExternalUser]:
        statement = (select(r.ExternalUser).join(m.User, m.User.id == r.ExternalUser.user_id)
                     .where(r.ExternalUser.organisation_id.in_(visible_organisation_ids(info.context.principal))))
        if filter is not None and filter.organisation_id is not None:
            pk = decode_id(filter.organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an organisation ID.", argument="filter.organisationId")
            statement = statement.where(r.ExternalUser.organisation_id == pk)
        keys = [SortKey(m.User.email), SortKey(r.ExternalUser.organisation_id)]
        return await paginate(info.context, statement, keys, ExternalUser.from_model, first=first, after=after, last=last,
                              before=before)

