"""Firewall rules (manual §12): a read-only list for an organisation's users; kept by the platform."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.mutations import mutate
from graph.permissions import needs, require_principal
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from models import portal as pt
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.firewall_rules.loaders import firewall_rule_visible, visible_firewall_rules
from resolvers.remote.firewall_rules.rules import RuleFields, create_rule, delete_rule
from resolvers.remote.firewall_rules.types import DirectionEnum, FirewallRule, ProtocolEnum


@strawberry.input(description="A new firewall rule of an organisation.")
class FirewallRuleCreateInput:
    organisation_id: strawberry.ID = strawberry.field(description="The organisation whose routers it applies to.")
    direction: DirectionEnum = strawberry.field(description="INBOUND or OUTBOUND.")  # type: ignore[valid-type]
    protocol: ProtocolEnum = strawberry.field(description="TCP, UDP, ICMP or ANY.")  # type: ignore[valid-type]
    ports: str | None = strawberry.field(
        default=None, description='TCP/UDP: a port ("443") or a range ("8000-8100"); empty or null: every port.'
    )
    source: str = strawberry.field(description="Source network in CIDR notation (0.0.0.0/0: anywhere).")
    destination: str = strawberry.field(description="Destination network in CIDR notation (same IP version).")
    description: str = strawberry.field(default="", description="What the rule is for (at most 500 characters).")


@strawberry.input(description="The firewall rule to delete.")
class FirewallRuleDeleteInput:
    id: strawberry.ID = strawberry.field(description="The rule.")


@strawberry.type(description="The firewall rule, or why it was refused.")
class FirewallRulePayload:
    rule: FirewallRule | None = strawberry.field(description="The rule; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted rule's ID, or why it was refused.")
class FirewallRuleDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The deleted rule's ID; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type
class FirewallRuleQuery:
    @strawberry.field(
        description=(
            "The firewall rules that apply to your organisation (or one of its subtree), oldest first; read-only "
            "(the platform keeps them)."
        ),
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def firewall_rules(
        self,
        info: Info,
        organisation_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="An organisation of your subtree; default your own.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[FirewallRule]:
        principal = require_principal(info.context)
        pk = principal.organisation_id
        if organisation_id is not None:
            pk = decode_id(organisation_id, "Organisation")
            if pk is None:
                raise BadUserInput("Not an Organisation ID.", argument="organisationId")
        # another tenant's organisation lists nothing, like an unknown one
        statement = select(pt.FirewallRule).where(
            pt.FirewallRule.organisation_id == pk, firewall_rule_visible(principal)
        )
        return await paginate(
            info.context,
            statement,
            [SortKey(pt.FirewallRule.id)],
            FirewallRule.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type
class FirewallRuleMutation:
    @strawberry.mutation(
        description="Add a firewall rule to an organisation (the platform).",
        permission_classes=[needs(Permission.FIREWALL_RULES_MANAGE)],
    )
    async def firewall_rule_create(self, info: Info, input: FirewallRuleCreateInput) -> FirewallRulePayload:
        context = info.context
        fields = RuleFields(
            input.organisation_id,
            input.direction,
            input.protocol,
            input.ports,
            input.source,
            input.destination,
            input.description,
        )
        return await mutate(
            context,
            FirewallRulePayload,
            lambda s: create_rule(s, context, fields),
            lambda rule: FirewallRulePayload(rule=FirewallRule.from_model(rule), errors=[]),
        )

    @strawberry.mutation(
        description="Delete a firewall rule (the platform).",
        permission_classes=[needs(Permission.FIREWALL_RULES_MANAGE)],
    )
    async def firewall_rule_delete(self, info: Info, input: FirewallRuleDeleteInput) -> FirewallRuleDeletePayload:
        context = info.context
        return await mutate(
            context,
            FirewallRuleDeletePayload,
            lambda s: delete_rule(s, context, input.id),
            lambda pk: FirewallRuleDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "FirewallRule": (Permission.LOCATIONS_READ, node_loader(visible_firewall_rules, FirewallRule.from_model)),
}
