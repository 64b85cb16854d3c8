"""Contact addresses for notifications: add, confirm (through the mailed link), resend the link, remove.

Listed on `me { contactEmails { … } }`; a user sees only their own.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import node_loader
from models import identity as m
from resolvers.identity.contacts import loaders, rules
from resolvers.identity.contacts.types import ContactEmail
from resolvers.identity.errors import IdentityError


@strawberry.input(description="An address to get notifications at; a confirmation link is mailed to it.")
class ContactEmailAddInput:
    email: str = strawberry.field(description="The e-mail address.")


@strawberry.input(description="One of your contact addresses.")
class ContactEmailIdInput:
    id: strawberry.ID = strawberry.field(description="The contact address's ID.")


@strawberry.input(description="The token of a contact address's confirmation link.")
class ContactEmailConfirmInput:
    token: str = strawberry.field(description="The token from the link mailed to the address.")


@strawberry.type(description="A contact address, or why the change was refused.")
class ContactEmailPayload:
    contact_email: ContactEmail | None = strawberry.field(description="The address as it is now.")
    errors: list[IdentityError] = strawberry.field(description="Why it was refused.")


def _payload(row: m.ContactEmail) -> ContactEmailPayload:
    return ContactEmailPayload(contact_email=ContactEmail.from_model(row), errors=[])


SIGNED_IN = [needs()]


@strawberry.type
class ContactEmailMutation:
    @strawberry.mutation(
        description="Add a contact address (at most 10); it is used once confirmed with the link mailed to it.",
        permission_classes=SIGNED_IN,
    )
    async def contact_email_add(self, info: Info, input: ContactEmailAddInput) -> ContactEmailPayload:
        context = info.context
        return await mutate(
            context, ContactEmailPayload, lambda s: rules.add_contact(s, context, input.email), _payload
        )

    @strawberry.mutation(
        description="Mail a new confirmation link to an unconfirmed contact address (the older link stops working).",
        permission_classes=SIGNED_IN,
    )
    async def contact_email_resend(self, info: Info, input: ContactEmailIdInput) -> ContactEmailPayload:
        context = info.context
        return await mutate(
            context, ContactEmailPayload, lambda s: rules.resend_confirmation(s, context, input.id), _payload
        )

    @strawberry.mutation(description="Remove one of your contact addresses.", permission_classes=SIGNED_IN)
    async def contact_email_remove(self, info: Info, input: ContactEmailIdInput) -> ContactEmailPayload:
        context = info.context
        return await mutate(
            context, ContactEmailPayload, lambda s: rules.remove_contact(s, context, input.id), _payload
        )

    @strawberry.mutation(description="Confirm a contact address with the link mailed to it (no sign-in needed).")
    async def contact_email_confirm(self, info: Info, input: ContactEmailConfirmInput) -> ContactEmailPayload:
        context = info.context
        return await mutate(
            context, ContactEmailPayload, lambda s: rules.confirm_contact(s, context, input.token), _payload
        )


NODE_RESOLVERS = {"ContactEmail": (None, node_loader(loaders.own_contact_emails, ContactEmail.from_model))}
