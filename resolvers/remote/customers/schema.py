"""Customers and resellers (manual §24): add a customer in one step, list them, hand them routers and licences."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs, require_principal
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, paginate
from models import identity as m
from models import portal as pt
from models.identity import Permission
from resolvers.identity.enums import Language
from resolvers.remote.customers import licences
from resolvers.remote.customers.routers import assign_to_customer, take_back_router
from resolvers.remote.customers.rules import NewCustomer, add_customer
from resolvers.remote.customers.types import Customer
from resolvers.remote.errors import RemoteError
from resolvers.remote.routers.schema import RouterPayload, router_payload


@strawberry.input(description="A new customer: its organisation and its admin, who gets a mail to register.")
class CustomerAddInput:
    name: str = strawberry.field(description="The customer's (organisation's) name.")
    your_reference: str = strawberry.field(default="", description="Your reference for it (e.g. a customer number).")
    admin_name: str = strawberry.field(description="Full name of the customer's admin.")
    admin_email: str = strawberry.field(description="The admin's e-mail address: the invitation mail goes there.")
    language: Language = strawberry.field(default=Language.EN, description="Language of the mail and of the admin.")


@strawberry.input(description="Move connection licences between your pool and a customer's.")
class CustomerLicencesInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer (its organisation's ID).")
    count: int = strawberry.field(description="How many licences (1-100000).")


@strawberry.input(description="Give one of your routers to a customer.")
class CustomerRouterAssignInput:
    router_id: strawberry.ID = strawberry.field(description="Your router (not at a location).")
    customer_id: strawberry.ID = strawberry.field(description="The customer (its organisation's ID).")


@strawberry.input(description="Take a router back from a customer.")
class CustomerRouterTakeBackInput:
    router_id: strawberry.ID = strawberry.field(description="The customer's router (not at a location).")


@strawberry.type(description="The customer, or why it was refused.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(description="The customer; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed, no mail sent).")


@strawberry.type(description="The customer's licences after the move, or why it was refused.")
class CustomerLicencesPayload:
    customer: Customer | None = strawberry.field(description="The customer; null when refused.")
    licences: int | None = strawberry.field(description="The customer's licences now; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing moved).")


def _licences_payload(result: tuple[pt.Customer, int]) -> CustomerLicencesPayload:
    return CustomerLicencesPayload(customer=Customer.from_model(result[0]), licences=result[1], errors=[])


@strawberry.type
class CustomerQuery:
    @strawberry.field(
        description="Your organisation's customers, by name, with their licences and routers.",
        permission_classes=[needs(Permission.CUSTOMERS_MANAGE)],
    )
    async def customers(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Customer]:
        principal = require_principal(info.context)
        statement = (
            select(pt.Customer)
            .join(m.Organisation, m.Organisation.id == pt.Customer.organisation_id)
            .where(pt.Customer.reseller_id == principal.organisation_id)
        )
        keys = [SortKey(m.Organisation.name), SortKey(pt.Customer.organisation_id)]
        return await paginate(
            info.context,
            statement,
            keys,
            Customer.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Customer),
        )


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(
        description=(
            "Add a customer: a sub-organisation of yours with its own portal, an empty licence pool, and its admin, "
            "who gets an invitation mail to register. Your organisation must be allowed to create organisations."
        ),
        permission_classes=[needs(Permission.CUSTOMERS_MANAGE)],
    )
    async def customer_add(self, info: Info, input: CustomerAddInput) -> CustomerPayload:
        context = info.context
        new = NewCustomer(input.name, input.your_reference, input.admin_name, input.admin_email, input.language.value)
        return await mutate(
            context,
            CustomerPayload,
            lambda s: add_customer(s, context, new),
            lambda row: CustomerPayload(customer=Customer.from_model(row), errors=[]),
        )

    @strawberry.mutation(
        description="Give a customer connection licences from your pool (refused beyond your free licences).",
        permission_classes=[needs(Permission.CUSTOMERS_MANAGE)],
    )
    async def customer_licences_give(self, info: Info, input: CustomerLicencesInput) -> CustomerLicencesPayload:
        context = info.context
        return await mutate(
            context,
            CustomerLicencesPayload,
            lambda s: licences.give(s, context, input.customer_id, input.count),
            _licences_payload,
        )

    @strawberry.mutation(
        description="Take connection licences back from a customer (never those its active connections use).",
        permission_classes=[needs(Permission.CUSTOMERS_MANAGE)],
    )
    async def customer_licences_take_back(self, info: Info, input: CustomerLicencesInput) -> CustomerLicencesPayload:
        context = info.context
        return await mutate(
            context,
            CustomerLicencesPayload,
            lambda s: licences.take_back(s, context, input.customer_id, input.count),
            _licences_payload,
        )

    @strawberry.mutation(
        description="Give one of your routers (not at a location) to a customer, who places it at a location.",
        permission_classes=[needs(Permission.CUSTOMERS_MANAGE)],
    )
    async def customer_router_assign(self, info: Info, input: CustomerRouterAssignInput) -> RouterPayload:
        context = info.context
        return await mutate(
            context,
            RouterPayload,
            lambda s: assign_to_customer(s, context, input.router_id, input.customer_id),
            router_payload,
        )

    @strawberry.mutation(
        description="Take a router back from a customer; refused while it is at one of the customer's locations.",
        permission_classes=[needs(Permission.CUSTOMERS_MANAGE)],
    )
    async def customer_router_take_back(self, info: Info, input: CustomerRouterTakeBackInput) -> RouterPayload:
        context = info.context
        return await mutate(
            context, RouterPayload, lambda s: take_back_router(s, context, input.router_id), router_payload
        )
