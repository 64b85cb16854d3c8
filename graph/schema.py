"""Schema assembly: the domains' root types merged, node lookup, limits and caches."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import strawberry
from graphql import ASTValidationRule, GraphQLError, ValidationContext
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from graph.compiled import CompiledExecutionContext
from graph.composition import DOMAINS
from graph.cost import QueryCostLimiter
from graph.errors import BadUserInput, should_mask
from graph.inputs import UTC_DATETIME, InputGuard, StrictParsing
from graph.logs import log_graphql_errors
from graph.metrics import RecordOperation
from graph.permissions import require_permission, require_principal
from graph.relay import InvalidGlobalId, Node, from_global_id
from graph.settings import Settings

NODE_RESOLVERS = {type_name: resolver for domain in DOMAINS for type_name, resolver in domain.node_resolvers.items()}
MAX_NODES = 100

#: String arguments that legitimately take more than graph.inputs.MAX_TEXT_ARGUMENT (10,000)
#: characters, by schema coordinate ("InputType.field", or "Root.field(argument)" for a root
#: argument), with their limit, as the domains declare them. Everything else longer is refused
#: before execution. Each limit is the resolver's own, so it still answers with its typed payload
#: error up to there.
LONG_TEXT_ARGUMENTS = {
    coordinate: limit for domain in DOMAINS for coordinate, limit in domain.long_text_arguments.items()
}


async def _resolve_nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    """Nodes by global ID; unknown, malformed and other tenants' IDs all read as null."""
    if len(ids) > MAX_NODES:
        raise BadUserInput(f"At most {MAX_NODES} IDs at once.", argument="ids")
    wanted: dict[str, list[tuple[int, int]]] = {}
    for index, global_id in enumerate(ids):
        try:
            type_name, pk = from_global_id(global_id)
        except InvalidGlobalId:
            continue
        if type_name in NODE_RESOLVERS:
            wanted.setdefault(type_name, []).append((index, pk))
    found: list[Node | None] = [None] * len(ids)
    for type_name, entries in wanted.items():
        permission, load = NODE_RESOLVERS[type_name]
        if permission is None:  # one's own objects (a contact address): signed in is enough
            require_principal(info.context)
        else:
            require_permission(info.context, permission)
        for (index, _), node in zip(entries, await load(info, [pk for _, pk in entries]), strict=True):
            found[index] = node
    return found


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; null when it does not exist or is not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await _resolve_nodes(info, [id]))[0]

    @strawberry.field(description="Objects by global ID (at most 100), in the same order; null where not found.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await _resolve_nodes(info, ids)


def _root(name: str, parts: tuple[type, ...]) -> type:
    """The domains' root types merged into one, fields in name order: schema.graphql then does not change
    when code moves between modules or domains."""
    merged = merge_types(name, parts)
    definition = merged.__strawberry_definition__  # type: ignore[attr-defined]
    definition.fields.sort(key=lambda field: field.python_name)
    return merged


Query = _root("Query", (NodeQuery, *(root for domain in DOMAINS for root in domain.queries)))
Mutation = _root("Mutation", tuple(root for domain in DOMAINS for root in domain.mutations))
Subscription = _root("Subscription", tuple(root for domain in DOMAINS for root in domain.subscriptions))


def _coded(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """The limiter's rule with `extensions.code` on its errors, like every other refusal. strawberry's
    limiters report through the shared validation context while they are being built, so the context's
    report_error is wrapped for exactly that moment."""

    class Coded(rule):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            report = context.report_error

            def with_code(error: GraphQLError) -> None:
                error.extensions = {**(error.extensions or {}), "code": code}
                report(error)

            context.report_error = with_code  # type: ignore[method-assign]
            try:
                super().__init__(context)
            finally:
                context.report_error = report  # type: ignore[method-assign]

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # strawberry logs every error at ERROR with str(error), which prints the document's lines (and
        # with them inline passwords); graph.logs keeps documents and variables out of the log.
        log_graphql_errors(errors, execution_context)


def build_schema(settings: Settings | None = None, *, compiled: bool = True) -> strawberry.Schema:
    """The schema with the settings' limits; `compiled=False` executes every field through graphql-core
    (the differential test compares the two)."""
    settings = settings or Settings()
    # The limiters' rule classes are made once: ValidationCache keys on the rule classes, and
    # limiters built per request make new classes each time, so validation would never be cached.
    limit_rules = [
        *(_coded(rule, "QUERY_TOO_DEEP") for rule in QueryDepthLimiter(max_depth=settings.max_depth).validation_rules),
        *(
            _coded(rule, "TOO_MANY_ALIASES")
            for rule in MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules
        ),
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(
            scalar_map={datetime: UTC_DATETIME, **{k: v for domain in DOMAINS for k, v in domain.scalars.items()}}
        ),
        execution_context_class=CompiledExecutionContext if compiled else None,
        # Factories, not instances: each request gets its own extension objects.
        extensions=[
            StrictParsing,
            partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
            partial(ParserCache, maxsize=1024),
            partial(AddValidationRules, limit_rules),
            partial(ValidationCache, maxsize=1024),
            partial(InputGuard, LONG_TEXT_ARGUMENTS),
            partial(QueryCostLimiter, settings.max_cost),
            partial(MaskErrors, should_mask_error=should_mask),
            RecordOperation,
        ],
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
