"""Forwarding over MQTT and TLS to a Mosquitto the test starts, standing in for AWS IoT Core and Azure IoT Hub: one
listener requires a client certificate (AWS, Azure X.509), one only TLS (Azure SAS: the password is a SAS token).
The certificates are made by the test with `cryptography`; a subscriber on the broker sees the messages arrive."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from graph.relay import to_global_id
from models import forwarding as fw
from resolvers.monitoring.delivery.engine import deliver_due
from tests.environment import free_port
from tests.factories import add_location
from tests.monitoring.forwarding_helpers import CREATE, store_points

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool = False, san=None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A CA, the broker's certificate (127.0.0.1) and a device's client certificate, as PEM files and texts."""

    def __init__(self, directory: Path) -> None:
        ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
        ca = _certificate("fleetgraph test CA", ca_key, "fleetgraph test CA", ca_key, ca=True)
        server = _certificate(
            "127.0.0.1",
            server_key,
            "fleetgraph test CA",
            ca_key,
            san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        )
        client = _certificate("device-1", client_key, "fleetgraph test CA", ca_key)
        self.ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
        self.client_pem = client.public_bytes(serialization.Encoding.PEM).decode()
        self.client_key_pem = _pem_key(client_key)
        self.files = {}
        for name, text in (
            ("ca.pem", self.ca_pem),
            ("server.pem", server.public_bytes(serialization.Encoding.PEM).decode()),
            ("server.key", _pem_key(server_key)),
            ("client.pem", self.client_pem),
            ("client.key", self.client_key_pem),
        ):
            (directory / name).write_text(text)
            self.files[name] = str(directory / name)


@pytest.fixture
def broker(tmp_path):
    """Mosquitto with a client-certificate TLS listener and a TLS-only listener: (pki, cert port, tls port)."""
    if not shutil.which(MOSQUITTO):
        pytest.skip("the mosquitto binary is needed for the TLS broker")
    pki = Pki(tmp_path)
    cert_port, tls_port = free_port(), free_port()
    tls = f"cafile {pki.files['ca.pem']}\ncertfile {pki.files['server.pem']}\nkeyfile {pki.files['server.key']}\n"
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        # started as root, mosquitto would become user "mosquitto", who cannot read the test's private directory
        f"user {getpass.getuser()}\npersistence false\nallow_anonymous true\n"
        f"listener {cert_port} 127.0.0.1\n{tls}require_certificate true\n"
        f"listener {tls_port} 127.0.0.1\n{tls}require_certificate false\n"
    )
    log = tmp_path / "mosquitto.log"
    with log.open("w") as output:
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=output, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", tls_port), timeout=0.2):
                    break
            except OSError:
                assert process.poll() is None, f"mosquitto stopped: {log.read_text()}"
                time.sleep(0.05)
        yield pki, cert_port, tls_port
    finally:
        process.kill()
        process.wait(10)


def subscriber_tls(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki.files["ca.pem"])
    context.load_cert_chain(pki.files["client.pem"], pki.files["client.key"])
    return context


async def received(pki: Pki, port: int, topic: str, action, count: int = 1) -> list[aiomqtt.Message]:
    """Subscribe, run `action`, and collect `count` messages (bounded wait)."""
    messages: list[aiomqtt.Message] = []
    async with aiomqtt.Client("127.0.0.1", port, tls_context=subscriber_tls(pki), identifier="observer") as client:
        await client.subscribe(topic, qos=1)
        await action()

        async def collect() -> None:
            async for message in client.messages:
                messages.append(message)
                if len(messages) == count:
                    return

        await asyncio.wait_for(collect(), 15)
    return messages


@pytest.fixture
async def location(runtime, world):
    async with runtime.session_factory() as session, session.begin():
        return await add_location(session, world.organisations["a"].id, "Plant A")


async def create(gql, world, location, platform: str, settings_field: str, settings: dict) -> dict:
    result = await gql(
        CREATE,
        {
            "input": {
                "locationId": to_global_id("Location", location.id),
                "name": platform,
                "platform": platform,
                settings_field: settings,
            }
        },
        world.tokens["admin_a"],
    )
    payload = result["data"]["forwardingTargetCreate"]
    assert payload["errors"] == []
    return payload["forwardingTarget"]


async def forward(runtime, world, location) -> None:
    await store_points(
        runtime, world.organisations["a"].id, location.id, [("temperature", 0, 21.5), ("pressure", 0, 1)]
    )
    assert await deliver_due(runtime) == 1


async def states(runtime) -> list[fw.DeliveryState]:
    async with runtime.session_factory() as session:
        return list((await session.scalars(select(fw.OutboundDelivery.state))).all())


async def test_aws_iot_core_publishes_with_the_client_certificate(runtime, gql, world, location, broker):
    pki, cert_port, _ = broker
    await create(
        gql,
        world,
        location,
        "AWS_IOT_CORE",
        "awsIotCore",
        {
            "endpoint": "127.0.0.1",
            "port": cert_port,
            "clientId": "thing-1",
            "topic": "fleetgraph/plant-a",
            "certificatePem": pki.client_pem,
            "privateKeyPem": pki.client_key_pem,
            "caPem": pki.ca_pem,
        },
    )
    [message] = await received(pki, cert_port, "fleetgraph/#", lambda: forward(runtime, world, location))
    assert str(message.topic) == "fleetgraph/plant-a"
    body = json.loads(message.payload)
    assert body["idempotencyKey"].startswith("forwarding:") and body["location"] == location.id
    assert sorted((p["key"], p["value"]) for p in body["points"]) == [("pressure", 1), ("temperature", 21.5)]
    assert body["points"][0]["at"] == "2026-12-01T12:00:00+00:00"
    assert await states(runtime) == [fw.DeliveryState.DELIVERED]


async def test_azure_iot_hub_by_connection_string_publishes_to_the_device_topic(runtime, gql, world, location, broker):
    pki, cert_port, tls_port = broker
    key = "ZmxlZXRncmFwaC10ZXN0LWRldmljZS1rZXktMzJieXQ="
    await create(
        gql,
        world,
        location,
        "AZURE_IOT_HUB",
        "azureIotHub",
        {
            "connectionString": f"HostName=127.0.0.1;DeviceId=device-1;SharedAccessKey={key}",
            "port": tls_port,
            "caPem": pki.ca_pem,
        },
    )
    [message] = await received(
        pki, cert_port, "devices/device-1/messages/events/#", lambda: forward(runtime, world, location)
    )
    topic = str(message.topic)
    assert topic.startswith("devices/device-1/messages/events/$.mid=forwarding%3A")
    assert topic.endswith("&$.ct=application%2Fjson&$.ce=utf-8")
    assert len(json.loads(message.payload)["points"]) == 2


async def test_azure_iot_hub_by_x509_and_a_broker_refusing_a_certificate(runtime, gql, world, location, broker):
    pki, cert_port, _ = broker
    await create(
        gql,
        world,
        location,
        "AZURE_IOT_HUB",
        "azureIotHub",
        {
            "hubHost": "127.0.0.1",
            "deviceId": "device-1",
            "port": cert_port,
            "certificatePem": pki.client_pem,
            "privateKeyPem": pki.client_key_pem,
            "caPem": pki.ca_pem,
        },
    )
    [message] = await received(
        pki, cert_port, "devices/device-1/messages/events/#", lambda: forward(runtime, world, location)
    )
    assert json.loads(message.payload)["idempotencyKey"].startswith("forwarding:")

    # a CA the broker's certificate is not from: the TLS handshake fails, the delivery stays queued with the reason
    other_directory = Path(pki.files["ca.pem"]).parent / "other"
    other_directory.mkdir()
    other = Pki(other_directory)
    async with runtime.session_factory() as session, session.begin():
        target = await session.scalar(select(fw.ForwardingTarget))
        target.settings = {**target.settings, "caPem": other.ca_pem}
    await store_points(runtime, world.organisations["a"].id, location.id, [("temperature", 60, 22)])
    assert await deliver_due(runtime) == 0
    async with runtime.session_factory() as session:
        failed = await session.scalar(
            select(fw.OutboundDelivery).where(fw.OutboundDelivery.state == fw.DeliveryState.QUEUED)
        )
    assert failed is not None and "CERTIFICATE_VERIFY_FAILED" in failed.last_error
