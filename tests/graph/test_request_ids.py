"""Every GraphQL error carries the request ID (X-Request-ID) in `extensions.requestId`, beside its `code`, over
HTTP and websockets; the log line of a masked server error has the same ID (issue 15)."""

from __future__ import annotations

import json
import logging
from functools import partial

import pytest
import strawberry
from strawberry.extensions import MaskErrors
from websockets.asyncio.client import connect

from graph.errors import should_mask
from tests.waiting import DEADLINE
from tests.websocket import AUDIT_SUBSCRIPTION, init, receive, ws_connect

USERS = "query Users { users(first: 5) { totalCount } }"
OUTBOX = "{ outboxMessages(first: 1) { totalCount } }"  # platform admins only


def request_ids(body: dict) -> list[str]:
    return [error["extensions"]["requestId"] for error in body["errors"]]


async def test_a_validation_error_carries_the_request_id_and_its_code(client):
    response = await client.post("/graphql", json={"query": "{ noSuchField }"}, headers={"X-Request-ID": "edge-7"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["requestId"] == "edge-7" == response.headers["X-Request-ID"]


async def test_a_permission_error_keeps_its_code_beside_the_request_id(client, world):
    response = await client.post("/graphql", json={"query": USERS}, headers={"Authorization": "Bearer nonsense"})
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert request_ids(body) == [response.headers["X-Request-ID"]]
    forbidden = await client.post(
        "/graphql",
        json={"query": OUTBOX},
        headers={"Authorization": f"Bearer {world.tokens['user_a']}"},
    )
    body = forbidden.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert request_ids(body) == [forbidden.headers["X-Request-ID"]]


async def test_refused_requests_carry_it_too(client):
    bad_json = await client.post("/graphql", content=b"{", headers={"Content-Type": "application/json"})
    [error] = bad_json.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST", "requestId": bad_json.headers["X-Request-ID"]}
    empty = await client.post("/graphql", json={"query": ""})
    assert request_ids(empty.json()) == [empty.headers["X-Request-ID"]]


async def test_a_masked_server_error_and_its_log_line_share_the_request_id(client, runtime, monkeypatch, caplog):
    @strawberry.type
    class Query:
        @strawberry.field
        def broken(self) -> int:
            raise RuntimeError("internal detail the client must not see")

    schema = type(runtime.schema)(query=Query, extensions=[partial(MaskErrors, should_mask_error=should_mask)])
    monkeypatch.setattr(runtime, "schema", schema)
    caplog.set_level(logging.INFO, logger="fleetgraph")
    response = await client.post("/graphql", json={"query": "{ broken }"}, headers={"X-Request-ID": "trace-me-1"})
    [error] = response.json()["errors"]
    assert error["message"] == "Unexpected error." and "internal detail" not in response.text
    assert error["extensions"]["requestId"] == "trace-me-1"
    [logged] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "request=trace-me-1" in logged.getMessage() and logged.fields["requestId"] == "trace-me-1"


def errors_of(message: dict) -> list[dict]:
    """graphql-transport-ws sends a list of errors, graphql-ws one error; results have them under `errors`."""
    payload = message["payload"]
    return payload if isinstance(payload, list) else payload.get("errors", [payload])


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_websocket_errors_carry_the_connection_request_id(live_server, world, protocol):
    url = f"ws://{live_server}/graphql"
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    headers = {"X-Request-ID": "socket-42"}
    async with connect(url, subprotocols=[protocol], additional_headers=headers, open_timeout=DEADLINE) as ws:
        assert (await init(ws, world.tokens["user_a"]))["type"] == "connection_ack"
        # a validation error, and a subscription the caller lacks the permission for
        for operation_id, query in (("1", "subscription { noSuchField }"), ("2", AUDIT_SUBSCRIPTION)):
            await ws.send(json.dumps({"id": operation_id, "type": start, "payload": {"query": query}}))
            failed = await receive(ws)
            assert failed["type"] == "error", failed
            assert [error["extensions"]["requestId"] for error in errors_of(failed)] == ["socket-42"]
        assert errors_of(failed)[0]["extensions"]["code"] == "FORBIDDEN"
        if protocol == "graphql-transport-ws":  # queries too: a refusal inside the result
            await ws.send(json.dumps({"id": "3", "type": start, "payload": {"query": OUTBOX}}))
            [error] = errors_of(await receive(ws))
            assert error["extensions"]["code"] == "FORBIDDEN" and error["extensions"]["requestId"] == "socket-42"
    async with ws_connect(live_server, protocol) as ws:  # no header: an ID of its own
        await init(ws, None)
        await ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": AUDIT_SUBSCRIPTION}}))
        [error] = errors_of(await receive(ws))
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and len(error["extensions"]["requestId"]) == 32
