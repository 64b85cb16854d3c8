"""Sending live events over websockets: one GraphQL execution and one serialised payload per event for every
subscriber that would get the same one.

strawberry runs a subscription's selection for each event and each subscriber, then encodes and sends the
result: with a thousand subscribers that is a thousand executions of the same selection on the same object.
Instead, the websocket handlers (graph/app.py) run each operation with its `Sink` in a context variable, and
a subscription resolver hands each event's object to `sent`: subscribers of one event whose operations have
the same document, operation name and variables, and who get the same object, share one execution and the
same payload text; each of them only frames it with its operation's id and writes it to its socket.

Sharing one result between principals is right only when nothing in the selection depends on who asks.
That holds for fields that are plain attributes of the object the resolver built (its rows as the
subscriber may see them: the resolver builds one object per visibility, e.g. with or without the location).
A field with a resolver (a loader that filters by the principal, `pinned`, `connection`, ...) may differ per
subscriber: a document that selects one is executed per subscriber, still without strawberry's per-event
machinery. Without a sink (a caller outside the websocket handlers) or when an execution reports errors,
`sent` returns False and the resolver yields the object, so strawberry executes it and reports its errors
the usual way.
"""

from __future__ import annotations

import contextvars
import inspect
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    is_abstract_type,
    parse,
    visit,
)
from graphql.execution import Executor, execute_subscription_event
from graphql.language import Visitor

from subscriptions.log import LoggedEvent

#: strawberry's back-reference from a graphql-core field to its StrawberryField.
_STRAWBERRY_FIELD = "strawberry-definition"

#: Executions and payload sends of this process (a test reads them to see that work is shared).
counters: Counter[str] = Counter()


@dataclass(frozen=True)
class Sink:
    """Where a websocket operation's events go: its socket, framed for its protocol and operation id."""

    send_text: Callable[[str], Awaitable[None]]
    #: The message up to its payload, e.g. '{"id":"1","type":"next","payload":'; the payload and "}" follow.
    prefix: str
    schema: GraphQLSchema
    executor_class: type[Executor]
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None

    @cached_property
    def key(self) -> tuple[Any, ...]:
        """What makes two operations' executions interchangeable, besides the object they run on (the standard
        library's json: a client may send integers beyond orjson's 64 bits)."""
        variables = json.dumps(self.variables, sort_keys=True) if self.variables else ""
        return (self.query, self.operation_name, variables)

    @cached_property
    def shared_selection(self) -> bool:
        """Whether subscribers who get the same object may share this operation's execution."""
        return _shared_selection(self.schema, self.query, self.operation_name)


CURRENT_SINK: contextvars.ContextVar[Sink | None] = contextvars.ContextVar("fleetgraph_live_sink", default=None)


def frame_for(message_type: str, operation_id: str) -> str:
    """The start of a protocol message carrying a payload, up to the payload."""
    return f'{{"id":{orjson.dumps(operation_id).decode()},"type":"{message_type}","payload":'


async def sent(event: LoggedEvent, result: object, context: Any) -> bool:
    """Send `result` (the event's object as this subscriber may see it, the same object for every subscriber
    who may see the same) to the current operation's socket. False when there is no sink or the execution
    reported errors: then the caller yields `result` for strawberry to execute."""
    sink = CURRENT_SINK.get()
    if sink is None:
        return False
    key = (sink.key, id(result), None if sink.shared_selection else id(context))
    payload = await event.shared.once(("payload", key), lambda: _execute(sink, result, context))
    if payload is None:
        return False
    counters["sent"] += 1
    await sink.send_text(sink.prefix + payload + "}")
    return True


async def _execute(sink: Sink, result: object, context: Any) -> str | None:
    """The operation's payload text for `result`, or None when the execution reported errors."""
    counters["executions"] += 1
    executor = sink.executor_class.build(
        sink.schema,
        _parsed(sink.query),
        context_value=context,
        raw_variable_values=sink.variables,
        operation_name=sink.operation_name,
    )
    if isinstance(executor, list):  # variables that do not fit: strawberry refused them at subscribe already
        return None
    outcome = execute_subscription_event(executor.build_per_event_executor(result))
    if inspect.isawaitable(outcome):
        outcome = await outcome
    if outcome.errors:
        return None
    return orjson.dumps({"data": outcome.data}).decode()


@lru_cache(maxsize=256)
def _parsed(query: str) -> DocumentNode:
    return parse(query)


@lru_cache(maxsize=256)
def _shared_selection(schema: GraphQLSchema, query: str, operation_name: str | None) -> bool:
    """Whether every field the operation selects below its root field is a plain attribute (no resolver, no
    permission or field extension) of an object type: then its result depends only on the object, not on who
    asks. Fields of interfaces and unions count as principal-dependent (their implementations may differ)."""
    document = _parsed(query)
    type_info = TypeInfo(schema)
    verdict = _PlainFields(schema, type_info, operation_name)
    visit(document, TypeInfoVisitor(type_info, verdict))
    return verdict.plain


class _PlainFields(Visitor):
    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo, operation_name: str | None) -> None:
        super().__init__()
        self.root = schema.subscription_type
        self.type_info = type_info
        self.operation_name = operation_name
        self.plain = True

    def enter_operation_definition(self, node: Any, *_: Any) -> Any:
        if self.operation_name is not None and (node.name is None or node.name.value != self.operation_name):
            return self.SKIP
        return None

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        definition = self.type_info.get_field_def()
        if node.name.value == "__typename" or parent is None or parent is self.root:
            return
        if definition is None or is_abstract_type(parent):
            self.plain = False
            return
        strawberry_field = (definition.extensions or {}).get(_STRAWBERRY_FIELD)
        if strawberry_field is None or strawberry_field.base_resolver is not None or strawberry_field.extensions:
            self.plain = False
