"""What a domain brings to the server, declared in one place: its `resolvers/<domain>/domain.py`.

graph.composition lists the domains and is the one graph/ module that imports them; the entry points
(schema, runtime, app, cli) read these declarations from it, and other graph/ modules get what they need
passed in (graph.secrets.reseal_all the sealed values, graph.demo.seed_demo the demo steps).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from graph.demo import DemoStep
    from graph.secrets import SealedValues

#: (permission needed, async (info, pks) -> nodes) by GraphQL type name: what `node(id:)` resolves.
NodeResolvers = Mapping[str, tuple[Any, Callable[..., Awaitable[list[Any]]]]]


class Hook:
    """A point where one domain lets others act without importing them: the owner declares and calls it,
    another domain registers a handler in its Domain declaration (e.g. remote ends the connections a user
    may no longer hold when identity shrinks what the user manages)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[..., Awaitable[object]]] = []

    def register(self, handler: Callable[..., Awaitable[object]]) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    async def __call__(self, *args: Any, **kwargs: Any) -> None:
        for handler in self._handlers:
            await handler(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"


@dataclass(frozen=True)
class Gauge:
    """A number in /metrics read from the database when Prometheus scrapes (graph.metrics.DatabaseGauges):
    `read` runs one statement and returns the value, or values by label values when `labels` are given."""

    name: str
    documentation: str
    read: Callable[[AsyncSession], Awaitable[float | Mapping[tuple[str, ...], float]]]
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    name: str
    #: Strawberry root types merged into Query, Mutation and Subscription.
    queries: tuple[type, ...] = ()
    mutations: tuple[type, ...] = ()
    subscriptions: tuple[type, ...] = ()
    node_resolvers: NodeResolvers = field(default_factory=dict)
    #: String arguments allowed past graph.inputs.MAX_TEXT_ARGUMENT, by schema coordinate, with their limit.
    long_text_arguments: Mapping[str, int] = field(default_factory=dict)
    #: Extra Starlette routes (e.g. a key download's file).
    routes: tuple[Any, ...] = ()
    #: GraphQL documents the domain's own pages send: always on the persisted-query allow-list.
    documents: tuple[str, ...] = ()
    #: Idempotent installs of shipped data, each run in its own transaction when the server starts.
    startup: tuple[Callable[[AsyncSession], Awaitable[object]], ...] = ()
    #: Factories (runtime) -> graph.workers.Worker, or None when the settings turn it off.
    workers: tuple[Callable[[Any], Any], ...] = ()
    #: (hook, handler) pairs registered when the server is composed.
    hooks: tuple[tuple[Hook, Callable[..., Awaitable[object]]], ...] = ()
    #: What the domain seals with the master key: `rotate-master-key` re-seals and counts these.
    sealed: tuple[SealedValues, ...] = ()
    #: `fleetgraph` commands by name: Typer command functions (their docstring is the help).
    commands: Mapping[str, Callable[..., None]] = field(default_factory=dict)
    #: Demo data for the demo tenants (graph.demo.seed_demo), in one transaction after the tenants.
    demo: tuple[DemoStep, ...] = ()
    #: (context, user row, organisation row) -> None, after an HTTP request's token was accepted: put the
    #: caller's own rows, read with the token anyway, into the request's loaders (no statement to ask again).
    prime_request: tuple[Callable[[Any, Any, Any], None], ...] = ()
    #: Gauges in /metrics read from the database at scrape time, e.g. the depth of a delivery queue.
    gauges: tuple[Gauge, ...] = ()
    #: Checks of the settings the domain reads, each raising graph.settings.SettingsError that names what is
    #: wrong: `fleetgraph serve` and the app factory run them, so a bad value stops the server at start rather
    #: than failing its first request.
    settings_checks: tuple[Callable[[Any], object], ...] = ()
    #: Custom scalars: the Python type used in annotations -> its strawberry.scalar definition (scalar_map).
    scalars: Mapping[object, Any] = field(default_factory=dict)
