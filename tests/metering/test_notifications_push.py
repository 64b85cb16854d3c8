"""Web Push of a transfer's outcome, against a local push service (Starlette on uvicorn at 127.0.0.1) that checks
the VAPID Authorization header (the JWT's ES256 signature under the server's public key, its audience and expiry)
and decrypts the aes128gcm body with the browser's keys: failures are retried, 404/410 removes the browser, and
endpoints at private addresses are refused unless the settings allow them."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from dataclasses import dataclass, field

import http_ece
import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.relay import to_global_id
from models import forwarding as fw
from models import metering as mt
from resolvers.metering.notifications.push import KIND
from resolvers.monitoring.delivery.engine import deliver_due
from tests.metering.notifications_helpers import (
    PUBLIC_KEY,
    REGISTER,
    REMOVE,
    SUBSCRIBE,
    Browser,
    add_point,
    finished,
    transfer,
)


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushService:
    """Answers by `script` ("fail", "gone", then "ok"), keeping what it decrypted and why it refused."""

    browser: Browser
    public_key: str = ""
    origin: str = ""
    script: list[str] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    requests: int = 0

    def check_vapid(self, header: str) -> None:
        scheme, _, params = header.partition(" ")
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        assert scheme == "vapid" and values["k"] == self.public_key, header
        head, claims, signature = values["t"].split(".")
        raw = unb64(signature)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(self.public_key))
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises when forged
        payload = orjson.loads(unb64(claims))
        assert orjson.loads(unb64(head))["alg"] == "ES256"
        assert payload["aud"] == self.origin and payload["sub"].startswith("mailto:")
        assert time.time() < payload["exp"] <= time.time() + 24 * 3600

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            self.requests += 1
            try:
                self.check_vapid(request.headers["authorization"])
                assert request.headers["content-encoding"] == "aes128gcm" and int(request.headers["ttl"]) > 0
                plain = http_ece.decrypt(
                    await request.body(), private_key=self.browser.private_key, auth_secret=self.browser.auth
                )
            except Exception as error:
                self.problems.append(repr(error))
                return Response(status_code=400)
            mode = self.script.pop(0) if self.script else "ok"
            if mode == "fail":
                return Response(status_code=503)
            if mode == "gone":
                return Response(status_code=410)
            self.received.append(orjson.loads(plain))
            return Response(status_code=201)

        return Starlette(routes=[Route("/push/{browser}", receive, methods=["POST"])])


@pytest.fixture
async def push_service(runtime, monkeypatch):
    from tests.environment import serve_app

    service = PushService(Browser.new())
    async with serve_app(service.app()) as url:
        service.origin = url
        settings = dataclasses.replace(
            runtime.settings,
            forwarding_private_addresses=True,  # the local push service is on 127.0.0.1
            delivery_retry_seconds=0.0,
            delivery_max_backoff_seconds=0.0,
        )
        monkeypatch.setattr(runtime, "settings", settings)
        yield service


async def call(gql, query: str, values: dict, token: str) -> dict:
    result = await gql(query, {"input": values}, token=token)
    assert "errors" not in result, result
    [payload] = result["data"].values()
    return payload


async def _subscribed_browser(gql, runtime, consumers, service: PushService):
    olga = consumers.users["olga"]
    async with runtime.session_factory() as session, session.begin():
        point = await add_point(session, olga)
    token = consumers.tokens["olga"]
    await call(gql, SUBSCRIBE, {"meteringPointId": to_global_id("MeteringPoint", point.id)}, token)
    endpoint = f"{service.origin}/push/olga-phone"
    for _ in range(2):  # registering again refreshes, keeps one
        registered = await call(gql, REGISTER, {"endpoint": endpoint, "keys": service.browser.keys()}, token)
        assert registered == {"pushSubscription": {"endpoint": endpoint}, "errors": []}
    service.public_key = (await gql(PUBLIC_KEY, token=token))["data"]["webPushPublicKey"]
    assert service.public_key
    return point, endpoint


async def _states(runtime) -> list[tuple[str, str]]:
    async with runtime.session_factory() as session:
        D = fw.OutboundDelivery
        return [tuple(row) for row in (await session.execute(select(D.kind, D.state).order_by(D.id))).all()]


async def test_pushes_are_encrypted_signed_and_retried(gql, runtime, consumers, push_service):
    point, _ = await _subscribed_browser(gql, runtime, consumers, push_service)
    push_service.script = ["fail"]
    await transfer(runtime, finished(point.id, point.organisation_id, succeeded=False))
    await transfer(runtime, finished(point.id, point.organisation_id, succeeded=False))  # the same outcome: once
    assert await _states(runtime) == [(KIND, fw.DeliveryState.QUEUED)]  # queued in the hook, not sent there
    for _ in range(5):
        await deliver_due(runtime)
        if await _states(runtime) == [(KIND, fw.DeliveryState.DELIVERED)]:
            break
    assert await _states(runtime) == [(KIND, fw.DeliveryState.DELIVERED)]
    assert push_service.problems == [] and push_service.requests == 2
    [notice] = push_service.received
    assert notice["title"] == "Readings not transferred" and notice["succeeded"] is False
    assert notice["meteringPointId"] == to_global_id("MeteringPoint", point.id) and notice["period"] == "2026-12-01"
    assert "Flat 16 bathroom" in notice["body"] and "does not know the meter" in notice["body"]


async def test_a_browser_the_push_service_forgot_is_removed(gql, runtime, consumers, push_service):
    point, _ = await _subscribed_browser(gql, runtime, consumers, push_service)
    push_service.script = ["gone"]
    await transfer(runtime, finished(point.id, point.organisation_id))
    await deliver_due(runtime)
    assert await _states(runtime) == [(KIND, fw.DeliveryState.FAILED)]  # for good: no retry helps
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.PushSubscription)) == 0
    await transfer(runtime, finished(point.id, point.organisation_id, integration_id=8))
    assert len(await _states(runtime)) == 1  # nobody's browser left to push to


async def test_remove_and_refused_endpoints(gql, runtime, consumers, push_service, monkeypatch):
    _, endpoint = await _subscribed_browser(gql, runtime, consumers, push_service)
    token = consumers.tokens["olga"]
    # another user removing olga's endpoint removes nothing of hers
    assert (await call(gql, REMOVE, {"endpoint": endpoint}, consumers.tokens["ivan"]))["removed"] is False
    assert await call(gql, REMOVE, {"endpoint": endpoint}, token) == {"removed": True, "errors": []}
    assert (await call(gql, REMOVE, {"endpoint": endpoint}, token))["removed"] is False

    keys = push_service.browser.keys()
    bad_keys = await call(gql, REGISTER, {"endpoint": endpoint, "keys": {**keys, "auth": "not base64!"}}, token)
    assert [(e["code"], e["field"]) for e in bad_keys["errors"]] == [("INVALID", ["keys", "auth"])]

    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, forwarding_private_addresses=False))
    for refused in (endpoint, "https://127.0.0.1/push/x", "https://10.1.2.3/push/x", "ftp://push.example/x"):
        answer = await call(gql, REGISTER, {"endpoint": refused, "keys": keys}, token)
        assert answer["pushSubscription"] is None and answer["errors"][0]["code"] == "INVALID", refused
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.PushSubscription)) == 0


async def test_the_vapid_key_is_made_once_sealed_and_resealed_by_rotation(gql, runtime, consumers):
    from graph.secrets import Sealer, reseal_all
    from resolvers.metering.notifications.vapid import BINDING, VAPID_KEY

    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.WebPushKey)) == 0  # not before it is needed
    # the first readers race to make it: one key, the same for all
    answers = await asyncio.gather(*(gql(PUBLIC_KEY, token=consumers.tokens["olga"]) for _ in range(8)))
    assert len({answer["data"]["webPushPublicKey"] for answer in answers}) == 1
    async with runtime.session_factory() as session:
        [row] = (await session.scalars(select(mt.WebPushKey))).all()
    assert b"PRIVATE KEY" not in row.private_key  # sealed
    public = answers[0]["data"]["webPushPublicKey"]
    assert public == row.public_key and len(unb64(public)) == 65

    sealer = Sealer(runtime.sealer.keyring.with_new_version())
    report = await reseal_all(runtime.session_factory, sealer, [VAPID_KEY])
    assert report.remaining == 0
    async with runtime.session_factory() as session:
        resealed = await session.scalar(select(mt.WebPushKey.private_key))
    assert resealed != row.private_key
    assert sealer.open(resealed, BINDING) == runtime.sealer.open(row.private_key, BINDING)
