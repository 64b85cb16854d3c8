"""Sign-in by SMS through the HTTP gateway adapter, against a local gateway (Starlette on uvicorn at 127.0.0.1) that
fails (500), times out (answers after the client gave up, having sent the SMS) and recovers: each SMS reaches the
phone exactly once (the gateway drops repeats by their Idempotency-Key), with the credentials sealed in the database.
Also: the profile's phone number, proven by a code, and the credentials command with master key rotation."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph.secrets import Sealer, load_sealer, reseal_all
from graph.settings import Settings
from models import forwarding as fw
from models import identity as m
from resolvers.metering.accounts.key_rotation import SMS_GATEWAY_CREDENTIALS
from resolvers.metering.accounts.sms import KIND, open_credentials, seal_credentials
from resolvers.monitoring.delivery.engine import deliver_due
from tests.accounts.helpers import ME, PHONE_CODE, PHONE_SET, SEND, SIGN_IN, call, codes, configure
from tests.environment import run_fleetgraph, serve_app

TIMEOUT = 1.0
USER, SECRET = "fleetgraph", "gateway-Secret-42"
PHONE = "+49 170 1234567"
E164 = "+491701234567"


@dataclass
class Gateway:
    """An SMS gateway: `script` says how to answer the next requests ("fail", "slow", then "ok" for ever)."""

    script: list[str] = field(default_factory=list)
    #: What reached phones, by Idempotency-Key (a repeat with a known key is acknowledged and dropped).
    sent: dict[str, dict] = field(default_factory=dict)
    requests: int = 0
    refused: int = 0

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            self.requests += 1
            expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
            if request.headers.get("authorization") != expected:
                self.refused += 1
                return Response(status_code=401)
            mode = self.script.pop(0) if self.script else "ok"
            if mode == "fail":
                return Response("gateway trouble", status_code=500)
            key = request.headers["idempotency-key"]
            self.sent.setdefault(key, await request.json())
            if mode == "slow":
                await asyncio.sleep(TIMEOUT * 3)  # the client gave up long ago; the SMS went out anyway
            return JSONResponse({"id": key})

        return Starlette(routes=[Route("/sms", receive, methods=["POST"])])

    def code_for(self, phone: str) -> str:
        [text] = [body["text"] for body in self.sent.values() if body["to"] == phone][-1:]
        return text[:6]


async def store_credentials(runtime, username: str = USER, secret: str = SECRET) -> None:
    async with runtime.session_factory() as session, session.begin():
        session.add(
            m.SmsGatewayCredential(
                id=1, secret=seal_credentials(runtime.sealer, {"username": username, "secret": secret})
            )
        )


@pytest.fixture
async def gateway(runtime, monkeypatch):
    gateway = Gateway()
    async with serve_app(gateway.app()) as url:
        configure(
            monkeypatch,
            runtime,
            sms_gateway_url=f"{url}/sms",
            delivery_timeout_seconds=TIMEOUT,
            delivery_retry_seconds=0.0,
            delivery_max_backoff_seconds=0.0,
        )
        await store_credentials(runtime)
        yield gateway


async def deliver_until_settled(runtime, rounds: int = 10) -> None:
    """Run the delivery engine until nothing is queued (bounded)."""
    for _ in range(rounds):
        await deliver_due(runtime)
        async with runtime.session_factory() as session:
            queued = await session.scalar(
                select(func.count())
                .select_from(fw.OutboundDelivery)
                .where(fw.OutboundDelivery.state == fw.DeliveryState.QUEUED)
            )
        if queued == 0:
            return
    raise AssertionError("SMS still queued")


async def test_sms_sign_up_survives_a_failing_and_slow_gateway(gql, runtime, gateway):
    gateway.script = ["fail", "slow"]
    assert await call(gql, SEND, {"phone": PHONE, "language": "RU"}) == {"sent": True, "errors": []}
    async with runtime.session_factory() as session:
        queued = await session.scalar(select(fw.OutboundDelivery))
    assert queued.kind == KIND and queued.payload["to"] == E164
    assert "Consumers" not in base64.b64decode(queued.payload["text"]).decode(errors="replace")  # sealed
    await deliver_until_settled(runtime)

    assert gateway.requests == 3 and len(gateway.sent) == 1  # failed, timed out (but sent), repeated: once
    [body] = gateway.sent.values()
    assert body["to"] == E164 and "Действует 10 минут" in body["text"] and "Consumers" in body["text"]
    async with runtime.session_factory() as session:
        delivered = await session.scalar(select(fw.OutboundDelivery))
        attempts = (await session.scalars(select(fw.OutboundAttempt.status).order_by(fw.OutboundAttempt.id))).all()
    assert delivered.state == fw.DeliveryState.DELIVERED and delivered.payload["text"] == ""  # wiped once sent
    assert attempts == ["failed", "failed", "delivered"]

    signed_in = await call(gql, SIGN_IN, {"phone": PHONE, "code": gateway.code_for(E164)})
    assert signed_in["errors"] == []
    assert signed_in["user"]["phone"] == E164 and signed_in["user"]["roles"] == ["CONSUMER"]
    assert signed_in["user"]["email"] == "491701234567@phone.invalid"


async def test_several_sms_each_reach_the_phone_once(gql, runtime, gateway):
    gateway.script = ["fail", "slow", "fail"]
    phones = ["+491701234560", "+491701234561", "+491701234562"]
    for phone in phones:
        await call(gql, SEND, {"phone": phone})
    await deliver_until_settled(runtime)
    assert sorted(body["to"] for body in gateway.sent.values()) == phones


async def test_wrong_credentials_fail_at_once(gql, runtime, gateway):
    async with runtime.session_factory() as session, session.begin():
        await session.execute(m.SmsGatewayCredential.__table__.delete())
    await store_credentials(runtime, secret="wrong")
    await call(gql, SEND, {"phone": PHONE})
    await deliver_due(runtime)
    async with runtime.session_factory() as session:
        delivery = await session.scalar(select(fw.OutboundDelivery))
    assert delivery.state == fw.DeliveryState.FAILED and "401" in delivery.last_error
    assert gateway.refused == 1 and gateway.sent == {}


async def test_profile_phone_is_proven_by_a_code(gql, world, runtime, gateway):
    token = world.tokens["user_a"]
    assert await call(gql, PHONE_CODE, {"phone": PHONE}, token) == {"sent": True, "errors": []}
    await deliver_until_settled(runtime)
    code = gateway.code_for(E164)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert codes(await call(gql, PHONE_SET, {"phone": PHONE, "code": wrong}, token)) == ["INVALID_CREDENTIALS"]
    # another user cannot take the code sent for user_a
    assert codes(await call(gql, PHONE_SET, {"phone": PHONE, "code": code}, world.tokens["user_b"])) == [
        "INVALID_CREDENTIALS"
    ]
    await call(gql, PHONE_CODE, {"phone": PHONE}, token)
    await deliver_until_settled(runtime)
    answer = await call(gql, PHONE_SET, {"phone": PHONE, "code": gateway.code_for(E164)}, token)
    assert answer == {"user": {"phone": E164}, "errors": []}
    # the number now signs in to user_a's account
    await call(gql, SEND, {"phone": E164})
    await deliver_until_settled(runtime)
    signed_in = await call(gql, SIGN_IN, {"phone": E164, "code": gateway.code_for(E164)})
    assert signed_in["user"]["email"] == "user@a.example"
    # and it is removed without a code
    assert await call(gql, PHONE_SET, {"phone": None}, token) == {"user": {"phone": None}, "errors": []}
    me = await gql(ME, token=token)
    assert me["data"]["me"]["phone"] is None


async def test_no_gateway_no_sms(gql, world, runtime, monkeypatch):
    configure(monkeypatch, runtime, sms_gateway_url="")
    assert codes(await call(gql, SEND, {"phone": PHONE})) == ["NOT_ALLOWED"]
    assert codes(await call(gql, PHONE_CODE, {"phone": PHONE}, world.tokens["user_a"])) == ["NOT_ALLOWED"]
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(fw.OutboundDelivery)) == 0


async def test_rotation_reseals_the_gateway_credentials(runtime):
    await store_credentials(runtime)
    rotated = runtime.sealer.keyring.with_new_version()
    sealer = Sealer(rotated)
    report = await reseal_all(runtime.session_factory, sealer, [SMS_GATEWAY_CREDENTIALS])
    assert report.remaining == 0
    async with runtime.session_factory() as session:
        sealed = await session.scalar(select(m.SmsGatewayCredential.secret))
    assert open_credentials(sealer, sealed) == {"username": USER, "secret": SECRET}
    assert SECRET.encode() not in sealed


def test_credentials_command_seals_the_secret_from_standard_input(tmp_path):
    assert run_fleetgraph(tmp_path, "migrate").returncode == 0
    stored = run_fleetgraph(tmp_path, "sms-gateway-credentials", "--username", USER, input=f"{SECRET}\n")
    assert stored.returncode == 0, stored.stderr
    assert SECRET not in stored.stdout + stored.stderr

    settings = Settings(data_dir=tmp_path)
    with sqlite3.connect(tmp_path / "fleetgraph.db") as connection:
        [(sealed,)] = connection.execute("SELECT secret FROM sms_gateway_credential").fetchall()
    assert SECRET.encode() not in sealed
    assert open_credentials(load_sealer(settings), sealed) == {"username": USER, "secret": SECRET}

    assert run_fleetgraph(tmp_path, "sms-gateway-credentials", "--clear").returncode == 0
    with sqlite3.connect(tmp_path / "fleetgraph.db") as connection:
        assert connection.execute("SELECT count(*) FROM sms_gateway_credential").fetchone() == (0,)
