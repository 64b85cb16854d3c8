"""AWS IoT Core and Azure IoT Hub: MQTT over TLS, one connection per delivery, QoS 1 (the publish returns when the
broker acknowledged it).

The message is JSON: {"idempotencyKey", "location", "points": [{"key", "device", "at" (ISO 8601), "value"}]}; the
idempotency key is also Azure's message ID ($.mid in the topic's property bag), so a repeat is recognisable.

AWS IoT Core: the thing's client certificate and private key, to `<endpoint>:8883`, published to the target's topic.
Azure IoT Hub: client ID the device ID, username `<hub>/<deviceId>/?api-version=2021-04-12`, password a SAS token
made from the connection string (or a client certificate for X.509), topic `devices/<deviceId>/messages/events/`.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import orjson

from resolvers.monitoring.delivery.engine import Delivery, DeliveryError
from resolvers.monitoring.forwarding.adapters.target import check_address, load_target
from resolvers.monitoring.forwarding.platforms import AZURE_API_VERSION, device_sas_token


def message(delivery: Delivery) -> bytes:
    return orjson.dumps(
        {
            "idempotencyKey": delivery.idempotency_key,
            "location": delivery.payload["location"],
            "points": [
                {
                    "key": p["key"],
                    "device": p.get("device"),
                    "at": datetime.fromtimestamp(p["at"] / 1e9, tz=UTC).isoformat(),
                    "value": p["value"],
                }
                for p in delivery.payload["points"]
            ],
        }
    )


@contextlib.contextmanager
def tls_context(ca_pem: str, certificate_pem: str = "", key_pem: str = "") -> Iterator[ssl.SSLContext]:
    """A verifying TLS context; with a client certificate, its key goes through a 0600 file in a 0700 directory
    (the ssl module reads keys only from files) that is removed as soon as the context holds it."""
    context = ssl.create_default_context(cadata=ca_pem or None)
    if certificate_pem:
        with tempfile.TemporaryDirectory(prefix="fleetgraph-fw-") as directory:
            certificate, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
            for path, text in ((certificate, certificate_pem), (key, key_pem)):
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                    handle.write(text)
            context.load_cert_chain(certificate, key)
    yield context


async def _publish(
    runtime: Any, host: str, port: int, topic: str, body: bytes, context: ssl.SSLContext, **client: Any
) -> None:
    timeout = runtime.settings.delivery_timeout_seconds
    await check_address(runtime, host)
    try:
        async with aiomqtt.Client(host, port, tls_context=context, timeout=timeout, **client) as connection:
            await connection.publish(topic, body, qos=1, timeout=timeout)
    except aiomqtt.MqttCodeError as exc:
        raise DeliveryError(f"The broker refused: {exc.rc}.") from None
    except (aiomqtt.MqttError, ssl.SSLError, OSError) as exc:
        raise DeliveryError(f"MQTT to {host}:{port} failed: {type(exc).__name__}: {exc}"[:500]) from None


async def send_aws_iot_core(runtime: Any, delivery: Delivery) -> None:
    target = await load_target(runtime, delivery)
    settings = target.settings
    with tls_context(settings.get("caPem", ""), settings["certificatePem"], target.secrets["privateKeyPem"]) as context:
        await _publish(
            runtime,
            settings["endpoint"],
            settings["port"],
            settings["topic"],
            message(delivery),
            context,
            identifier=settings["clientId"],
        )


async def send_azure_iot_hub(runtime: Any, delivery: Delivery) -> None:
    target = await load_target(runtime, delivery)
    settings = target.settings
    hub, device = settings["hubHost"], settings["deviceId"]
    # the property bag: system property names as they are, values URL-encoded (Azure's documented form)
    bag = {"$.mid": delivery.idempotency_key, "$.ct": "application/json", "$.ce": "utf-8"}
    properties = "&".join(f"{name}={urllib.parse.quote(value, safe='')}" for name, value in bag.items())
    topic = f"devices/{device}/messages/events/{properties}"
    client: dict[str, Any] = {"identifier": device, "username": f"{hub}/{device}/?api-version={AZURE_API_VERSION}"}
    if settings.get("auth") == "X509":
        certificate, key = settings["certificatePem"], target.secrets["privateKeyPem"]
    else:
        certificate, key = "", ""
        client["password"] = device_sas_token(target.secrets["connectionString"])
    with tls_context(settings.get("caPem", ""), certificate, key) as context:
        await _publish(runtime, hub, settings.get("port", 8883), topic, message(delivery), context, **client)
