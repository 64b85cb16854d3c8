"""Invitations: the `invitations` query, and creating, editing, sending, revoking and accepting invitations."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import ColumnElement, and_, or_, select
from strawberry.types import Info

from graph.errors import as_payload
from graph.filters import contains
from graph.lookahead import LookAhead
from graph.mutations import mutate, run_in_transaction
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.rules import unset_if_null
from graph.tenancy import visible_organisation_ids
from models import identity as m
from models.base import utcnow
from resolvers.identity.enums import Language, RoleEnum
from resolvers.identity.errors import IdentityError
from resolvers.identity.invitations import rules
from resolvers.identity.invitations.loaders import visible_invitations
from resolvers.identity.invitations.types import Invitation, InvitationStateEnum
from resolvers.identity.lookups import organisation_filter_pk
from resolvers.identity.users.types import User


@strawberry.input(description="Narrow the invitations list; all given conditions must hold.")
class InvitationFilter:
    state: InvitationStateEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="In this state (as shown: open invitations past their expiry are EXPIRED)."
    )
    name: str | None = strawberry.field(default=None, description="Name contains (case-insensitive).")
    email: str | None = strawberry.field(default=None, description="E-mail contains (case-insensitive).")
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Invited to this organisation.")


def _state_condition(state: m.InvitationState) -> ColumnElement[bool]:
    """The stored state alone is not enough: expiry is evaluated when read."""
    now = utcnow()
    if state in rules.OPEN:
        return and_(m.Invitation.state == state, m.Invitation.expires_at > now)
    if state == m.InvitationState.EXPIRED:
        return or_(
            m.Invitation.state == state,
            and_(m.Invitation.state.in_(rules.OPEN), m.Invitation.expires_at <= now),
        )
    return m.Invitation.state == state


@strawberry.type
class InvitationQuery:
    @strawberry.field(
        description="Invitations to your organisation and its descendants, newest first.",
        permission_classes=[needs(m.Permission.INVITATIONS_MANAGE)],
    )
    async def invitations(
        self,
        info: Info,
        filter: InvitationFilter | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Invitation]:
        statement = select(m.Invitation).where(
            m.Invitation.organisation_id.in_(visible_organisation_ids(info.context.principal))
        )
        if filter is not None:
            if filter.state is not None:
                statement = statement.where(_state_condition(m.InvitationState(filter.state)))
            if filter.name:
                statement = statement.where(contains(m.Invitation.name, filter.name, "filter.name"))
            if filter.email:
                statement = statement.where(contains(m.Invitation.email, filter.email, "filter.email"))
            if filter.organisation_id is not None:
                statement = statement.where(
                    m.Invitation.organisation_id
                    == organisation_filter_pk(filter.organisation_id, "filter.organisationId")
                )
        keys = [SortKey(m.Invitation.created_at, True), SortKey(m.Invitation.id, True)]
        return await paginate(
            info.context,
            statement,
            keys,
            Invitation.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Invitation),
        )


@strawberry.input(description="A new invitation.")
class InvitationCreateInput:
    name: str = strawberry.field(description="Name of the person (becomes the user's name).")
    email: str | None = strawberry.field(
        default=None,
        description="Their e-mail address; without one, they give it when accepting and you hand on the link.",
    )
    organisation_id: strawberry.ID | None = strawberry.field(default=None, description="Default: your organisation.")
    roles: list[RoleEnum] | None = strawberry.field(default=None, description=("Default: USER."))  # type: ignore[valid-type]
    language: Language = strawberry.field(default=Language.EN, description="Language of the mail and of the new user.")


@strawberry.type(description="A new invitation and, once only, its registration link.")
class InvitationCreatePayload:
    invitation: Invitation | None = strawberry.field(description="The invitation, or null when refused.")
    registration_link: str | None = strawberry.field(
        description=(
            "The link, shown once (to hand on yourself). Sending the invitation makes a new link and this one "
            "stops working."
        )
    )
    errors: list[IdentityError] = strawberry.field(description="Why the invitation was refused.")


@strawberry.input(description="Changes to an open (CREATED or SENT) invitation; omitted fields stay as they are.")
class InvitationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The invitation.")
    name: str | None = strawberry.field(default=None, description="Name.")
    email: str | None = strawberry.field(
        default=None,
        description=(
            "E-mail address (empty removes it). A new address makes a new link and puts the invitation back to CREATED."
        ),
    )
    roles: list[RoleEnum] | None = strawberry.field(default=None, description=("Replace the roles."))  # type: ignore[valid-type]
    language: Language | None = strawberry.field(default=None, description="Language.")

    def to_changes(self) -> dict[str, Any]:
        """The rule's keyword arguments: null keeps a field (UNSET)."""
        return {
            "name": unset_if_null(self.name),
            "email": unset_if_null(self.email),
            "roles": unset_if_null(self.roles),
            "language": unset_if_null(self.language.value if self.language is not None else None),
        }


@strawberry.input(description="An invitation, by ID.")
class InvitationIdInput:
    id: strawberry.ID = strawberry.field(description="The invitation.")


@strawberry.type(description="An invitation after a change.")
class InvitationPayload:
    invitation: Invitation | None = strawberry.field(description="The invitation, or null when refused.")
    errors: list[IdentityError] = strawberry.field(description="Why the change was refused.")


@strawberry.type(description="The invitation mail as it would be sent (the link in it does not work).")
class InvitationPreviewPayload:
    subject: str | None = strawberry.field(description="Subject line.")
    html: str | None = strawberry.field(description="HTML body.")
    text: str | None = strawberry.field(description="Plain-text body.")
    errors: list[IdentityError] = strawberry.field(description="Why there is no preview.")


@strawberry.input(description="Register with an invitation link.")
class InvitationAcceptInput:
    token: str = strawberry.field(description="The token of the registration link.")
    password: str = strawberry.field(description="Your password; must meet the organisation's policy.")
    email: str | None = strawberry.field(
        default=None, description="Your e-mail address: needed only if the invitation has none."
    )


@strawberry.type(description="The new user, or why registration was refused.")
class InvitationAcceptPayload:
    user: User | None = strawberry.field(description="The new user; log in with its e-mail and your password.")
    errors: list[IdentityError] = strawberry.field(
        description="Why registration was refused (INVALID_TOKEN, EXPIRED, …)."
    )


def _invitation(invitation: m.Invitation) -> InvitationPayload:
    return InvitationPayload(invitation=Invitation.from_model(invitation), errors=[])


MANAGE = [needs(m.Permission.INVITATIONS_MANAGE)]


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(
        description="Invite someone to an organisation of yours with roles you may give.", permission_classes=MANAGE
    )
    async def invitation_create(self, info: Info, input: InvitationCreateInput) -> InvitationCreatePayload:
        context = info.context
        return await mutate(
            context,
            InvitationCreatePayload,
            lambda s: rules.create(
                s,
                context,
                name=input.name,
                email=input.email,
                organisation_id=input.organisation_id,
                roles=list(input.roles) if input.roles is not None else None,
                language=input.language.value,
            ),
            lambda created: InvitationCreatePayload(
                invitation=Invitation.from_model(created.invitation), registration_link=created.link, errors=[]
            ),
        )

    @strawberry.mutation(description="Edit an open invitation.", permission_classes=MANAGE)
    async def invitation_update(self, info: Info, input: InvitationUpdateInput) -> InvitationPayload:
        context = info.context
        return await mutate(
            context, InvitationPayload, lambda s: rules.update(s, context, input.id, **input.to_changes()), _invitation
        )

    @strawberry.mutation(
        description="The invitation mail as it would be sent, without sending it.", permission_classes=MANAGE
    )
    async def invitation_preview(self, info: Info, input: InvitationIdInput) -> InvitationPreviewPayload:
        context = info.context
        return await mutate(
            context,
            InvitationPreviewPayload,
            lambda s: rules.preview(s, context, input.id),
            lambda mail: InvitationPreviewPayload(
                subject=mail.subject, html=mail.body_html, text=mail.body_text, errors=[]
            ),
        )

    @strawberry.mutation(
        description=(
            "Mail the invitation (again): a new link valid for the configured hours; earlier links stop working."
        ),
        permission_classes=MANAGE,
    )
    async def invitation_send(self, info: Info, input: InvitationIdInput) -> InvitationPayload:
        context = info.context
        return await mutate(context, InvitationPayload, lambda s: rules.send(s, context, input.id), _invitation)

    @strawberry.mutation(description="Revoke an open invitation: its link stops working.", permission_classes=MANAGE)
    async def invitation_revoke(self, info: Info, input: InvitationIdInput) -> InvitationPayload:
        context = info.context
        return await mutate(context, InvitationPayload, lambda s: rules.revoke(s, context, input.id), _invitation)

    @strawberry.mutation(description="Register with an invitation link (no login needed); the link is spent.")
    async def invitation_accept(self, info: Info, input: InvitationAcceptInput) -> InvitationAcceptPayload:
        context = info.context
        # mutate() in two steps: the rule may *return* a DomainError (EXPIRED is stored), which mutate's types
        # cannot express
        user = await run_in_transaction(
            context, lambda s: rules.accept(s, context, input.token, input.password, input.email)
        )
        return as_payload(
            InvitationAcceptPayload, user, lambda user: InvitationAcceptPayload(user=User.from_model(user), errors=[])
        )


NODE_RESOLVERS = {
    "Invitation": (m.Permission.INVITATIONS_MANAGE, node_loader(visible_invitations, Invitation.from_model))
}
