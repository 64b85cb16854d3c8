"""Remote clients: registration and heartbeats (the client, without a login), pairing, the user's list,
renaming and removal (CLIENTS_USE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from graph.errors import as_payload
from graph.mutations import mutate, run_in_transaction
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import clients as cl
from models.base import utcnow
from models.identity import Permission
from resolvers.remote.clients.loaders import client_visible, visible_clients
from resolvers.remote.clients.rules import (
    MAX_NAME,
    Registered,
    client_heartbeat,
    count_unknown_secret,
    pair_client,
    register_client,
    remove_client,
    rename_client,
)
from resolvers.remote.clients.types import ClientConnectionStatus, RemoteClient, status_of
from resolvers.remote.errors import RemoteError


@strawberry.input(description="A desktop client announcing itself (no login).")
class ClientRegisterInput:
    version: str | None = strawberry.field(
        default=None, description="What the client is, e.g. its name, version and system (at most 100 characters)."
    )


@strawberry.type(description="The new client's secret and the key it shows for pairing, or why it was refused.")
class ClientRegisterPayload:
    secret: str | None = strawberry.field(
        description="The client's secret: keep it, send it with every heartbeat. Shown once, stored only as a hash."
    )
    pairing_key: str | None = strawberry.field(
        description="The key to show the user (XXXX-XXXX), who pairs the client with it (clientPair)."
    )
    pairing_key_expires_at: datetime | None = strawberry.field(
        description="When the key stops working (register again for a new one)."
    )
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (TOO_MANY: throttled or full).")


@strawberry.input(description="A client's heartbeat, authenticated by its secret.")
class ClientHeartbeatInput:
    secret: str = strawberry.field(description="The secret clientRegister gave the client.")


@strawberry.type(description="What the client learns from its heartbeat, or why it was refused.")
class ClientHeartbeatPayload:
    paired: bool | None = strawberry.field(description="Whether a user has paired the client.")
    name: str | None = strawberry.field(description="The name the user gave it; empty while not paired.")
    connection_status: ClientConnectionStatus | None = strawberry.field(
        description="The issue's clientConnectionStatus as the client sees it: CONNECTED after this heartbeat."
    )
    pairing_key_expires_at: datetime | None = strawberry.field(
        description="While not paired: when its pairing key stops working."
    )
    errors: list[RemoteError] = strawberry.field(
        description="Why it was refused: NOT_FOUND (no client holds this secret), TOO_MANY (throttled)."
    )


@strawberry.input(description="Pair the client showing this key with your account.")
class ClientPairInput:
    key: str = strawberry.field(description="The key the client shows (any case, with or without the dash).")
    name: str = strawberry.field(description=f"A name for it, e.g. the computer's (at most {MAX_NAME} characters).")


@strawberry.input(description="Rename one of your clients.")
class ClientRenameInput:
    id: strawberry.ID = strawberry.field(description="The client.")
    name: str = strawberry.field(description="The new name.")


@strawberry.input(description="One of your clients to remove.")
class ClientRemoveInput:
    id: strawberry.ID = strawberry.field(description="The client.")


@strawberry.type(description="The client, or why it was refused.")
class RemoteClientPayload:
    client: RemoteClient | None = strawberry.field(description="The client; null when refused.")
    errors: list[RemoteError] = strawberry.field(
        description="Why it was refused (NOT_FOUND: no client shows the key, or it expired; TOO_MANY: throttled)."
    )


@strawberry.type(description="The removed client's ID, or why it was refused.")
class RemoteClientRemovePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the removed client; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


def _client_payload(client: cl.RemoteClient) -> RemoteClientPayload:
    return RemoteClientPayload(client=RemoteClient.from_model(client), errors=[])


def _registered(result: Registered) -> ClientRegisterPayload:
    return ClientRegisterPayload(
        secret=result.secret,
        pairing_key=result.pairing_key,
        pairing_key_expires_at=result.client.pairing_expires_at,
        errors=[],
    )


@strawberry.type
class ClientQuery:
    @strawberry.field(description="Your paired clients, by name.", permission_classes=[needs(Permission.CLIENTS_USE)])
    async def clients(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[RemoteClient]:
        statement = select(cl.RemoteClient).where(client_visible(info.context.principal))
        keys = [SortKey(cl.RemoteClient.name), SortKey(cl.RemoteClient.id)]
        return await paginate(
            info.context, statement, keys, RemoteClient.from_model, first=first, after=after, last=last, before=before
        )

    @strawberry.field(
        description=(
            "Whether your client is connected to the servers (the manual's GetConnectionStatus): CONNECTED when one "
            "of your paired clients sent a heartbeat within FLEETGRAPH_CLIENT_OFFLINE_AFTER_SECONDS."
        ),
        permission_classes=[needs(Permission.CLIENTS_USE)],
    )
    async def client_connection_status(self, info: Info) -> ClientConnectionStatus:
        latest = select(func.max(cl.RemoteClient.last_heartbeat_at)).where(client_visible(info.context.principal))
        async with info.context.session() as session:
            return status_of(await session.scalar(latest), info)


@strawberry.type
class ClientMutation:
    @strawberry.mutation(
        description=(
            "A desktop client announces itself (no login): it gets a secret to keep and a key to show. "
            "Throttled per client address like failed logins."
        )
    )
    async def client_register(self, info: Info, input: ClientRegisterInput) -> ClientRegisterPayload:
        context = info.context

        async def work(session: AsyncSession) -> Any:  # the new client, or a refusal committed with its count
            return await register_client(session, context, input.version)

        return await mutate(context, ClientRegisterPayload, work, _registered)

    @strawberry.mutation(
        description="A client's heartbeat (no login: its secret). It is connected while its heartbeats keep coming."
    )
    async def client_heartbeat(self, info: Info, input: ClientHeartbeatInput) -> ClientHeartbeatPayload:
        context = info.context
        now = utcnow()
        result = await run_in_transaction(context, lambda s: client_heartbeat(s, input.secret, now))
        if result is None:  # counted once its transaction is over (the throttle has its own)
            result = await count_unknown_secret(context)
        return as_payload(
            ClientHeartbeatPayload,
            result,
            lambda client: ClientHeartbeatPayload(
                paired=client.user_id is not None,
                name=client.name,
                connection_status=status_of(client.last_heartbeat_at, info),
                pairing_key_expires_at=client.pairing_expires_at,
                errors=[],
            ),
        )

    @strawberry.mutation(
        description="Pair the client showing this key with your account (wrong keys are throttled).",
        permission_classes=[needs(Permission.CLIENTS_USE)],
    )
    async def client_pair(self, info: Info, input: ClientPairInput) -> RemoteClientPayload:
        context = info.context

        async def work(session: AsyncSession) -> Any:  # the client, or a refusal committed with its count
            return await pair_client(session, context, input.key, input.name)

        return await mutate(context, RemoteClientPayload, work, _client_payload)

    @strawberry.mutation(description="Rename one of your clients.", permission_classes=[needs(Permission.CLIENTS_USE)])
    async def client_rename(self, info: Info, input: ClientRenameInput) -> RemoteClientPayload:
        context = info.context
        return await mutate(
            context, RemoteClientPayload, lambda s: rename_client(s, context, input.id, input.name), _client_payload
        )

    @strawberry.mutation(
        description="Remove one of your clients: its secret stops working at once.",
        permission_classes=[needs(Permission.CLIENTS_USE)],
    )
    async def client_remove(self, info: Info, input: ClientRemoveInput) -> RemoteClientRemovePayload:
        context = info.context
        return await mutate(
            context,
            RemoteClientRemovePayload,
            lambda s: remove_client(s, context, input.id),
            lambda result: RemoteClientRemovePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "RemoteClient": (Permission.CLIENTS_USE, node_loader(visible_clients, RemoteClient.from_model)),
}
