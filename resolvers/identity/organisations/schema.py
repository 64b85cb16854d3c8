"""Organisations: the `organisations` query, and creating, editing and partnering organisations."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.filters import contains
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.rules import unset_if_null
from graph.tenancy import organisation_visible, visible_organisation_ids
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.errors import IdentityError
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.identity.organisations import rules
from resolvers.identity.organisations.types import Organisation


@strawberry.input(description="Narrow the organisations list.")
class OrganisationFilter:
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    your_reference: str | None = strawberry.field(default=None, description="Your reference contains.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Direct children of this organisation."
    )


@strawberry.type
class OrganisationQuery:
    @strawberry.field(
        description="Your organisation and its descendants.",
        permission_classes=[needs(m.Permission.ORGANISATIONS_READ)],
    )
    async def organisations(
        self,
        info: Info,
        filter: OrganisationFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Organisation]:
        statement = select(m.Organisation).where(organisation_visible(info.context.principal))
        if filter is not None:
            if filter.name:
                statement = statement.where(contains(m.Organisation.name, filter.name, "filter.name"))
            if filter.your_reference:
                statement = statement.where(
                    contains(m.Organisation.your_reference, filter.your_reference, "filter.yourReference")
                )
            if filter.parent_id is not None:
                # the parent must be visible too: else an invisible ancestor's ID would find the caller's own
                # organisation and read differently from an unknown ID
                statement = statement.where(
                    m.Organisation.parent_id == organisation_filter_pk(filter.parent_id, "filter.parentId"),
                    m.Organisation.parent_id.in_(visible_organisation_ids(info.context.principal)),
                )
        keys = [SortKey(m.Organisation.name), SortKey(m.Organisation.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            Organisation.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Organisation),
        )


@strawberry.input(description="A new organisation below yours (or below `parentId`).")
class OrganisationCreateInput:
    name: str = strawberry.field(description="Name.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")
    your_reference: str = strawberry.field(default="", description="Your reference.")
    can_create_organisations: bool = strawberry.field(default=False, description="May create child organisations.")

    def to_fields(self) -> rules.OrganisationFields:
        return rules.OrganisationFields(
            name=self.name, your_reference=self.your_reference, can_create_organisations=self.can_create_organisations
        )


@strawberry.input(description="Changes to an organisation; omitted fields stay as they are.")
class OrganisationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The organisation.")
    name: str | None = strawberry.field(default=None, description="Name.")
    your_reference: str | None = strawberry.field(default=None, description="Your reference.")
    can_create_organisations: bool | None = strawberry.field(
        default=None, description="May create child organisations."
    )
    password_min_length: int | None = strawberry.field(default=None, description="Minimum password length (12–128).")
    password_history: int | None = strawberry.field(default=None, description="Previous passwords not to reuse (0–24).")
    require_two_factor: bool | None = strawberry.field(default=None, description="Require TOTP for every user.")

    def to_fields(self) -> rules.OrganisationFields:
        return rules.OrganisationFields(
            name=unset_if_null(self.name),
            your_reference=unset_if_null(self.your_reference),
            can_create_organisations=unset_if_null(self.can_create_organisations),
            password_min_length=unset_if_null(self.password_min_length),
            password_history=unset_if_null(self.password_history),
            require_two_factor=unset_if_null(self.require_two_factor),
        )


@strawberry.type(description="An organisation after a change.")
class OrganisationPayload:
    organisation: Organisation | None = strawberry.field(description="The organisation, or null when refused.")
    errors: list[IdentityError] = strawberry.field(description="Why the change was refused.")


@strawberry.input(description="Link (or unlink) a partner organisation by the ID its admin gave you.")
class PartnerInput:
    partner_organisation_id: str = strawberry.field(description="The partner's organisation ID (a UUID).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")


def _organisation(organisation: m.Organisation) -> OrganisationPayload:
    return OrganisationPayload(organisation=Organisation.from_model(organisation), errors=[])


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation(
        description="Create an organisation in your subtree.",
        permission_classes=[needs(m.Permission.ORGANISATIONS_MANAGE)],
    )
    async def organisation_create(self, info: Info, input: OrganisationCreateInput) -> OrganisationPayload:
        context = info.context
        return await mutate(
            context,
            OrganisationPayload,
            lambda s: rules.create_organisation(s, context, input.parent_id, input.to_fields()),
            _organisation,
        )

    @strawberry.mutation(
        description="Edit an organisation in your subtree.",
        permission_classes=[needs(m.Permission.ORGANISATIONS_MANAGE)],
    )
    async def organisation_update(self, info: Info, input: OrganisationUpdateInput) -> OrganisationPayload:
        context = info.context
        return await mutate(
            context,
            OrganisationPayload,
            lambda s: rules.update_organisation(s, context, input.id, input.to_fields()),
            _organisation,
        )

    @strawberry.mutation(
        description="Link a partner organisation by its ID.", permission_classes=[needs(m.Permission.PARTNERS_MANAGE)]
    )
    async def partner_add(self, info: Info, input: PartnerInput) -> OrganisationPayload:
        context = info.context
        return await mutate(
            context,
            OrganisationPayload,
            lambda s: rules.add_partner(s, context, input.organisation_id, input.partner_organisation_id),
            _organisation,
        )

    @strawberry.mutation(
        description="Unlink a partner organisation.", permission_classes=[needs(m.Permission.PARTNERS_MANAGE)]
    )
    async def partner_remove(self, info: Info, input: PartnerInput) -> OrganisationPayload:
        context = info.context
        return await mutate(
            context,
            OrganisationPayload,
            lambda s: rules.remove_partner(s, context, input.organisation_id, input.partner_organisation_id),
            _organisation,
        )


NODE_RESOLVERS = {
    "Organisation": (
        m.Permission.ORGANISATIONS_READ,
        node_loader(loaders.visible_organisations, Organisation.from_model),
    ),
}
