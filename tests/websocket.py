"""A GraphQL client over a real websocket (the `websockets` client against the `live_server` fixture), and
plain HTTP calls to the same server."""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.waiting import DEADLINE

AUDIT_SUBSCRIPTION = "subscription { auditEventRecorded { action actor details organisation { name } } }"
USER_CREATE = """
mutation ($input: UserCreateInput!) {
  userCreate(input: $input) { user { email } errors { code field message } }
}"""


def ws_connect(live_server: str, protocol: str = "graphql-transport-ws"):
    return connect(f"ws://{live_server}/graphql", subprotocols=[protocol], open_timeout=DEADLINE, close_timeout=2)


async def receive_text(ws: ClientConnection) -> str:
    """The next message as sent, so that subscribers' payloads can be compared byte for byte."""
    text = await asyncio.wait_for(ws.recv(), DEADLINE)
    assert isinstance(text, str), text
    return text


async def receive(ws: ClientConnection) -> dict:
    return json.loads(await receive_text(ws))


async def init(ws: ClientConnection, token: str | None) -> dict:
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    return await receive(ws)


async def subscribe(ws: ClientConnection, token: str, operation_id: str = "1", query: str = AUDIT_SUBSCRIPTION) -> None:
    ack = await init(ws, token)
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query}}))


async def http_gql(live_server: str, query: str, variables: dict, token: str) -> dict:
    async with httpx.AsyncClient(base_url=f"http://{live_server}", timeout=DEADLINE) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def create_user(live_server: str, token: str, email: str, password: str = "Unusual-Tern#Ledger47") -> dict:
    data = await http_gql(
        live_server, USER_CREATE, {"input": {"name": "New Person", "email": email, "password": password}}, token
    )
    return data["userCreate"]
