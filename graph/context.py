"""The per-request context: who is asking, a session factory, per-request DataLoaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
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


class Context:
    def __init__(
        self,
        runtime: Runtime,
        *,
        principal: Principal | None = None,
        auth_problem: str | None = None,
        client_address: str = "",
        request: Any = None,
    ) -> None:
        self.runtime = runtime
        self.principal = principal
        #: Why a presented token was not accepted (expired, revoked, unknown), for the error text.
        self.auth_problem = auth_problem
        self.client_address = client_address
        self.request = request
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

    def session(self) -> AsyncSession:
        """A new session: each resolver and each DataLoader batch uses its own."""
        return self.runtime.session_factory()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session and one transaction for a mutation; events go out after the commit."""
        async with transaction(self.runtime) as session:
            yield session


def publish_after_commit(session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """Queue an event on the session: its commit writes it to the event log, then it goes out live."""
    event_log.queue(session, channel, payload)
