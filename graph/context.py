"""The per-request context: who is asking, the request's read session, per-request DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from graph.workers import transaction
from models.identity import Permission, Role
from subscriptions import log as event_log
from subscriptions.stream import Owner

if TYPE_CHECKING:
    from graph.loaders import Loaders
    from graph.runtime import Runtime


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, resolved from a bearer token."""

    user_id: int
    email: str
    organisation_id: int
    #: Materialised path of the caller's organisation: its subtree is what the caller sees.
    organisation_path: str
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    session_id: str
    authenticated_at: datetime
    needs_two_factor_enrolment: bool = False
    #: When the token the caller presented stops working.
    token_expires_at: datetime | None = None

    @property
    def is_platform_admin(self) -> bool:
        return Role.PLATFORM_ADMIN in self.roles


class RequestReads:
    """One session for all reads of an HTTP request, so a request checks out one connection, not one per
    resolver and DataLoader batch, and reads one object per primary key. Those run concurrently and a session
    runs one statement at a time, so they take turns: a turn is one `async with` block, which must not wait
    for another read of the request inside it (that would wait for its own turn)."""

    def __init__(self, session_factory: Callable[[], AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        async with self._turn:
            if self._session is None:
                self._session = self._session_factory()
            try:
                yield self._session
            except BaseException:
                await self._discard()  # a failed statement can leave the transaction unusable for the next turn
                raise

    async def close(self) -> None:
        """Give the connection back: at the end of the request, and around a mutation's transaction (so a
        request holds one connection at a time, and reads after the commit see it)."""
        async with self._turn:
            await self._discard()

    async def _discard(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class Context:
    def __init__(
        self,
        runtime: Runtime,
        *,
        principal: Principal | None = None,
        auth_problem: str | None = None,
        client_address: str = "",
        request: Any = None,
        reads: RequestReads | None = None,
        request_id: str = "",
    ) -> None:
        self.runtime = runtime
        #: The HTTP request's shared read session; None (a websocket's context, which lives as long as the
        #: websocket and must not keep one transaction open): each read opens its own session.
        self.reads = reads
        self.principal = principal
        #: Why a presented token was not accepted (expired, revoked, unknown), for the error text.
        self.auth_problem = auth_problem
        self.client_address = client_address
        self.request = request
        #: The HTTP request's or websocket's X-Request-ID (graph.metrics), in error extensions and log lines.
        self.request_id = request_id
        #: Filled in by the websocket handlers from the connection-init payload.
        self.connection_params: dict[str, Any] | None = None
        #: The websocket's token, checked again before each event (HTTP requests are checked once).
        self.access_token: str | None = None
        #: The event stream's count of rights changes at the last check of the token (graph.auth.reauthenticate),
        #: and what the subscriptions loaded about the caller's rights since (graph.loaders.SharedLoaders.rights).
        self.rights_epoch: int | None = None
        self.rights_cache: dict[Any, Any] = {}

    @cached_property
    def loaders(self) -> Loaders:
        from graph.loaders import Loaders

        return Loaders(self)

    def reset_loaders(self) -> None:
        """Subscriptions call this per event: a websocket's context outlives any cache."""
        self.__dict__.pop("loaders", None)

    def subscription_owner(self, permission: Permission) -> Owner:
        """Who a subscription of this context belongs to: counted per user and per websocket (this context
        lives as long as its websocket), ended when the websocket's token expires, or when a commit that
        changes rights leaves it without a valid token or without `permission`."""
        from graph.auth import recheck_rights  # graph.auth imports this module

        principal = self.principal
        return Owner(
            user_id=principal.user_id if principal else None,
            connection=id(self),
            ends_at=principal.token_expires_at if principal and self.access_token else None,
            recheck=partial(recheck_rights, self, permission),
        )

    def session(self) -> Any:
        """The session to read with, as `async with context.session() as session:`: the request's shared one
        (`RequestReads`), else a new one."""
        return self.reads() if self.reads is not None else self.runtime.session_factory()

    async def after_commit(self) -> None:
        """Rows read before a commit (the loaders' caches, the read session's objects) may predate it."""
        self.reset_loaders()
        if self.reads is not None:
            await self.reads.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session and one transaction for a mutation; events go out after the commit."""
        async with transaction(self.runtime) as session:
            yield session


def publish_after_commit(session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """Queue an event on the session: its commit writes it to the event log, then it goes out live."""
    event_log.queue(session, channel, payload)
