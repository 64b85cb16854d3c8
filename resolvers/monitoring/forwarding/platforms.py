"""The platforms' settings: checked when a target is saved, split into what is stored in clear (`settings`) and
what is sealed (`secrets`: tokens, private keys, the Azure connection string), and the per-value settings.

Stored settings by platform (the keys of ForwardingTarget.settings):

- INFLUXDB: url, organisation, bucket; secret token. Per value: measurement, dataType.
- BLOCKBAX: url, projectId, inboundConnectorId; secret token. Per value: ingestionId.
- AWS_IOT_CORE: endpoint, port, clientId, topic, certificatePem, caPem; secret privateKeyPem.
- AZURE_IOT_HUB: hubHost, deviceId, certificatePem, caPem; secret connectionString (SAS) or privateKeyPem (X.509).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from graph.errors import DomainError
from graph.rules import clean_text
from models import forwarding as fw
from models import telemetry as tel
from resolvers.monitoring.errors import MonitoringErrorCode as Code

MAX_PEM = 8000
MAX_FIELD = 500
AZURE_API_VERSION = "2021-04-12"
#: How long a SAS token made for one connection is valid (it is made anew for each).
SAS_TTL_SECONDS = 3600


def camel(name: str) -> str:
    """snake_case (Python) to camelCase (GraphQL, and the keys of the stored settings)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _text(data: Mapping[str, Any], name: str, path: str, *, required: bool = True, max_length: int = MAX_FIELD) -> str:
    return clean_text(data.get(name), [path, name], max_length=max_length, required=required, single_line=True)


def _url(data: Mapping[str, Any], name: str, path: str) -> str:
    url = _text(data, name, path)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DomainError(Code.INVALID, "An http:// or https:// URL.", [path, name])
    return url.rstrip("/")


def _host(data: Mapping[str, Any], name: str, path: str) -> str:
    host = _text(data, name, path)
    if any(char in host for char in "/:@ ") or host.startswith("."):
        raise DomainError(Code.INVALID, "A host name, without scheme or port.", [path, name])
    return host.lower()


def _certificate(data: Mapping[str, Any], name: str, path: str, *, required: bool = True) -> str:
    pem = clean_text(data.get(name), [path, name], max_length=MAX_PEM, required=required)
    if pem:
        try:
            x509.load_pem_x509_certificates(pem.encode())
        except ValueError:
            raise DomainError(Code.INVALID, "Not a PEM certificate.", [path, name]) from None
    return pem


def _private_key(data: Mapping[str, Any], name: str, path: str) -> str:
    pem = clean_text(data.get(name), [path, name], max_length=MAX_PEM)
    try:
        serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise DomainError(Code.INVALID, "Not an unencrypted PEM private key.", [path, name]) from None
    return pem


def parse_connection_string(text: str) -> dict[str, str]:
    """HostName=…;DeviceId=…;SharedAccessKey=… (what Azure shows for a device) as a dict; ValueError if not."""
    parts: dict[str, str] = {}
    for item in text.strip().split(";"):
        name, separator, value = item.partition("=")
        if not separator:
            raise ValueError("not name=value")
        parts[name.strip()] = value.strip()
    if not all(parts.get(name) for name in ("HostName", "DeviceId", "SharedAccessKey")):
        raise ValueError("HostName, DeviceId and SharedAccessKey are required")
    if any(char in parts["HostName"] + parts["DeviceId"] for char in "/:@ #+"):
        raise ValueError("HostName is a host name and DeviceId a device ID")
    base64.b64decode(parts["SharedAccessKey"], validate=True)
    return parts


def sas_token(resource_uri: str, key: str, expiry: int, policy: str | None = None) -> str:
    """An Azure shared access signature: HMAC-SHA256 over "<url-encoded resource>\\n<expiry>" with the base64-decoded
    key, as Azure's SDKs and documentation compute it."""
    resource = urllib.parse.quote(resource_uri, safe="")
    signed = hmac.new(base64.b64decode(key), f"{resource}\n{expiry}".encode(), hashlib.sha256).digest()
    token = (
        f"SharedAccessSignature sr={resource}&sig={urllib.parse.quote(base64.b64encode(signed), safe='')}&se={expiry}"
    )
    return token + (f"&skn={policy}" if policy else "")


def device_sas_token(connection_string: str, now: float | None = None) -> str:
    parts = parse_connection_string(connection_string)
    expiry = int((time.time() if now is None else now) + SAS_TTL_SECONDS)
    return sas_token(f"{parts['HostName']}/devices/{parts['DeviceId']}", parts["SharedAccessKey"], expiry)


def _influxdb(data: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[dict, dict | None]:
    path = "influxdb"
    settings = {
        "url": _url(data, "url", path),
        "organisation": _text(data, "organisation", path),
        "bucket": _text(data, "bucket", path),
    }
    token = _text(data, "token", path, required=not old)
    return settings, ({"token": token} if token else None)


def _blockbax(data: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[dict, dict | None]:
    path = "blockbax"
    settings = {
        "url": _url(data, "url", path),
        "projectId": _text(data, "projectId", path),
        "inboundConnectorId": _text(data, "inboundConnectorId", path),
    }
    token = _text(data, "token", path, required=not old)
    return settings, ({"token": token} if token else None)


def _port(data: Mapping[str, Any], path: str) -> int:
    port = data.get("port") or 8883
    if not 1 <= port <= 65535:
        raise DomainError(Code.INVALID, "A port between 1 and 65535.", [path, "port"])
    return port


def _aws(data: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[dict, dict | None]:
    path = "awsIotCore"
    settings: dict[str, Any] = {
        "endpoint": _host(data, "endpoint", path),
        "port": _port(data, path),
        "clientId": _text(data, "clientId", path, max_length=128),
        "topic": _text(data, "topic", path),
        "certificatePem": _certificate(data, "certificatePem", path),
        "caPem": _certificate(data, "caPem", path, required=False),
    }
    if "#" in str(settings["topic"]) or "+" in str(settings["topic"]):
        raise DomainError(Code.INVALID, "A topic to publish to has no wildcards.", [path, "topic"])
    if not data.get("privateKeyPem") and old:
        return settings, None
    return settings, {"privateKeyPem": _private_key(data, "privateKeyPem", path)}


def _azure(data: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[dict, dict | None]:
    path = "azureIotHub"
    settings: dict[str, Any] = {
        "port": _port(data, path),
        "caPem": _certificate(data, "caPem", path, required=False),
        "certificatePem": _certificate(data, "certificatePem", path, required=False),
    }
    connection = _text(data, "connectionString", path, required=False)
    if connection and settings["certificatePem"]:
        raise DomainError(Code.INVALID, "Either a connection string (SAS) or a certificate (X.509).", path)
    if connection:
        try:
            parts = parse_connection_string(connection)
        except (ValueError, binascii.Error):
            raise DomainError(
                Code.INVALID,
                "Not a device connection string (HostName=…;DeviceId=…;SharedAccessKey=<base64>).",
                [path, "connectionString"],
            ) from None
        settings |= {"hubHost": parts["HostName"].lower(), "deviceId": parts["DeviceId"], "auth": "SAS"}
        return settings, {"connectionString": connection}
    settings |= {"hubHost": _host(data, "hubHost", path), "deviceId": _text(data, "deviceId", path, max_length=128)}
    if settings["certificatePem"]:
        settings["auth"] = "X509"
        if not data.get("privateKeyPem") and old.get("auth") == "X509":
            return settings, None
        return settings, {"privateKeyPem": _private_key(data, "privateKeyPem", path)}
    if old.get("auth") == "SAS" and (old.get("hubHost"), old.get("deviceId")) == (
        settings["hubHost"],
        settings["deviceId"],
    ):
        settings["auth"] = "SAS"
        return settings, None  # the sealed connection string stays
    raise DomainError(Code.REQUIRED, "A connection string (SAS) or a certificate and key (X.509).", path)


CLEANERS = {
    fw.Platform.INFLUXDB: _influxdb,
    fw.Platform.BLOCKBAX: _blockbax,
    fw.Platform.AWS_IOT_CORE: _aws,
    fw.Platform.AZURE_IOT_HUB: _azure,
}
#: The input field of each platform's settings.
INPUT_FIELDS = {
    fw.Platform.INFLUXDB: "influxdb",
    fw.Platform.BLOCKBAX: "blockbax",
    fw.Platform.AWS_IOT_CORE: "awsIotCore",
    fw.Platform.AZURE_IOT_HUB: "azureIotHub",
}


def clean_settings(
    platform: fw.Platform, data: Mapping[str, Any], old: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """(settings stored in clear, secrets to seal or None to keep the sealed ones). `old`: the target's stored
    settings when it is changed (a secret left out then stays), empty when it is created."""
    return CLEANERS[platform](data, old)


MAX_VALUES = 500


def clean_values(platform: fw.Platform, values: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The telemetry selection with each value's platform settings; none: all keys (not for InfluxDB and
    Blockbax, whose every value needs its measurement or ingestion ID)."""
    if len(values) > MAX_VALUES:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_VALUES} values.", "values")
    if not values and platform in (fw.Platform.INFLUXDB, fw.Platform.BLOCKBAX):
        raise DomainError(Code.REQUIRED, f"{platform.value} needs at least one chosen telemetry key.", "values")
    cleaned: dict[str, dict[str, Any]] = {}
    for index, value in enumerate(values):
        path = ["values", str(index)]
        key = clean_text(value.get("key"), [*path, "key"], max_length=100, single_line=True)
        if key in cleaned:
            raise DomainError(Code.DUPLICATE, "This key is chosen twice.", [*path, "key"])
        item: dict[str, Any] = {"key": key}
        if platform == fw.Platform.INFLUXDB:
            measurement = clean_text(value.get("measurement") or key, [*path, "measurement"], max_length=200)
            item |= {"measurement": measurement, "dataType": (value.get("data_type") or tel.DataType.FLOAT).value}
        if platform == fw.Platform.BLOCKBAX:
            item["ingestionId"] = clean_text(value.get("ingestion_id"), [*path, "ingestionId"], max_length=200)
        cleaned[key] = item
    return list(cleaned.values())
