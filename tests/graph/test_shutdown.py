"""SIGTERM during a subscription: `fleetgraph serve` closes the websocket with 1012 (service restart) and
exits cleanly; the client resumes on a new server process with the cursor of the last event it got, and
gets exactly what it missed."""

from __future__ import annotations

import json
import signal

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.environment import serve_demo
from tests.waiting import DEADLINE
from tests.websocket import init, receive, ws_connect

LOGIN = (
    'mutation { login(input: {email: "demo@integra-metering.com", password: "Wasser-Zaehler#47"}) '
    "{ accessToken errors { code } } }"
)
AUDIT = "subscription($after: String) { auditEventRecorded(after: $after) { cursor action actor } }"


def log_in(base_url: str) -> str:
    """A login of the demo admin (itself an audit event, user.login): its access token."""
    response = httpx.post(f"{base_url}/graphql", json={"query": LOGIN}, timeout=DEADLINE)
    login = response.json()["data"]["login"]
    assert login["errors"] == [], login
    return login["accessToken"]


async def subscribe(ws, token: str, after: str | None) -> None:
    assert (await init(ws, token))["type"] == "connection_ack"
    payload = {"query": AUDIT, "variables": {"after": after}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))


async def next_event(ws) -> dict:
    message = await receive(ws)
    assert message["type"] == "next" and "errors" not in message["payload"], message
    return message["payload"]["data"]["auditEventRecorded"]


async def test_sigterm_closes_subscriptions_for_a_reconnect_and_nothing_is_lost(tmp_path):
    environment = {"FLEETGRAPH_SHUTDOWN_SECONDS": "5", "FLEETGRAPH_LOG_LEVEL": "WARNING"}
    with serve_demo(tmp_path, environment) as first:
        token = log_in(first.base_url)
        address = first.base_url.removeprefix("http://")
        async with ws_connect(address) as ws:
            await subscribe(ws, token, "0")  # from the start of the log: whenever it is in place, it misses nothing
            seen = [await next_event(ws)]  # the demo admin's login
            log_in(first.base_url)
            seen.append(await next_event(ws))
            assert [event["action"] for event in seen] == ["user.login", "user.login"]

            first.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012, closed.value
        # uvicorn shuts down gracefully, then re-raises the signal so that a supervisor sees it
        assert first.process.wait(timeout=DEADLINE + 5) == -signal.SIGTERM
    assert "Traceback" not in first.output and "ERROR" not in first.output, first.output
    cursor = seen[-1]["cursor"]

    with serve_demo(tmp_path, environment) as second:
        tokens = [log_in(second.base_url) for _ in range(3)]  # three events the client was not there for
        async with ws_connect(second.base_url.removeprefix("http://")) as ws:
            await subscribe(ws, tokens[-1], cursor)
            missed = [await next_event(ws) for _ in tokens]
            assert [event["action"] for event in missed] == ["user.login"] * 3
            cursors = [int(event["cursor"]) for event in missed]
            assert cursors == sorted(set(cursors)) and cursors[0] > int(cursor)
            log_in(second.base_url)  # and live from there
            live = await next_event(ws)
            assert live["action"] == "user.login" and int(live["cursor"]) > cursors[-1]
