"""The four datalog protocols' settings and variable addresses (manual §21.1-21.4): GraphQL inputs, one field per
protocol (exactly one given), validated into the stored form (camelCase JSON without secrets) and the secrets
(sealed by the rules). Output types read the stored form back (types.py)."""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable
from typing import Any

import strawberry

from graph.errors import DomainError
from graph.rules import clean_text
from models.datalog import Protocol
from resolvers.monitoring.errors import MonitoringErrorCode as Code

MAX_VARIABLES = 500
MAX_SNMP_DEVICES = 50
MAX_SECRET = 200
KEY = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
OID = re.compile(r"[0-2](\.(0|[1-9][0-9]{0,9})){1,127}")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-.]{0,251}[A-Za-z0-9])?")


@strawberry.enum(description="OPC UA message security mode.")
class OpcUaSecurityMode(enum.Enum):
    NONE = "NONE"
    SIGN = "SIGN"
    SIGN_AND_ENCRYPT = "SIGN_AND_ENCRYPT"


@strawberry.enum(description="OPC UA security policy.")
class OpcUaSecurityPolicy(enum.Enum):
    NONE = "NONE"
    BASIC128RSA15 = "BASIC128RSA15"
    BASIC256 = "BASIC256"
    BASIC256SHA256 = "BASIC256SHA256"
    AES128_SHA256_RSAOAEP = "AES128_SHA256_RSAOAEP"
    AES256_SHA256_RSAPSS = "AES256_SHA256_RSAPSS"


@strawberry.enum(description="Modbus transport.")
class ModbusMode(enum.Enum):
    TCP = "TCP"
    RTU = "RTU"


@strawberry.enum(description="Modbus object read by a variable (the function code follows from it).")
class ModbusFunction(enum.Enum):
    COIL = "COIL"
    DISCRETE_INPUT = "DISCRETE_INPUT"
    HOLDING_REGISTER = "HOLDING_REGISTER"
    INPUT_REGISTER = "INPUT_REGISTER"


@strawberry.enum(description="How a Modbus value is encoded in its register(s).")
class ModbusValueType(enum.Enum):
    BOOL = "BOOL"
    INT16 = "INT16"
    UINT16 = "UINT16"
    INT32 = "INT32"
    UINT32 = "UINT32"
    FLOAT32 = "FLOAT32"


@strawberry.enum(description="SNMP version of a named SNMP device.")
class SnmpVersion(enum.Enum):
    V1 = "V1"
    V2C = "V2C"
    V3 = "V3"


@strawberry.enum(description="SNMPv3 authentication protocol.")
class SnmpAuthProtocol(enum.Enum):
    NONE = "NONE"
    MD5 = "MD5"
    SHA = "SHA"
    SHA256 = "SHA256"
    SHA512 = "SHA512"


@strawberry.enum(description="SNMPv3 privacy (encryption) protocol.")
class SnmpPrivacyProtocol(enum.Enum):
    NONE = "NONE"
    DES = "DES"
    AES = "AES"
    AES256 = "AES256"


@strawberry.enum(description="How a variable's value is shown (points are numbers; a boolean is 0 or 1).")
class DatalogDataType(enum.Enum):
    FLOAT = "FLOAT"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"


SECRET_NOTE = "Write-only: never returned. Left out on an update: the stored one stays; empty: removed."


@strawberry.input(description="OPC UA server settings (§21.1).")
class OpcUaSettingsInput:
    port: int = strawberry.field(default=4840, description="TCP port of the OPC UA server (1-65535).")
    endpoint_url: str = strawberry.field(description="Endpoint, e.g. opc.tcp://192.168.1.10:4840/server.")
    security_mode: OpcUaSecurityMode = strawberry.field(default=OpcUaSecurityMode.NONE, description="Security mode.")
    security_policy: OpcUaSecurityPolicy = strawberry.field(
        default=OpcUaSecurityPolicy.NONE, description="Security policy."
    )
    username: str | None = strawberry.field(default=None, description="User, when the server needs one.")
    password: str | None = strawberry.field(default=strawberry.UNSET, description=f"Password. {SECRET_NOTE}")


@strawberry.input(description="BACnet/IP server settings (§21.2).")
class BacnetSettingsInput:
    server_ip: str = strawberry.field(description="IP address of the BACnet device.")
    port: int = strawberry.field(default=47808, description="UDP port (1-65535; BACnet/IP: 47808).")
    device_instance: int = strawberry.field(description="Device instance number (0-4194302).")


@strawberry.input(description="Modbus settings (§21.3).")
class ModbusSettingsInput:
    port: int = strawberry.field(default=502, description="TCP port (1-65535).")
    host: str = strawberry.field(description="Host name or IP address of the Modbus server (or gateway for RTU).")
    unit_id: int = strawberry.field(default=1, description="Unit (slave) ID (0-247).")
    mode: ModbusMode = strawberry.field(default=ModbusMode.TCP, description="TCP or RTU (over a gateway).")


@strawberry.input(description="A named SNMP device of the server (§21.4) with its credentials.")
class SnmpDeviceInput:
    name: str = strawberry.field(description="Name, unique within the datalog device (variables refer to it).")
    version: SnmpVersion = strawberry.field(description="V1 or V2C (community) or V3 (user and protocols).")
    community: str | None = strawberry.field(default=strawberry.UNSET, description=f"V1/V2C community. {SECRET_NOTE}")
    username: str | None = strawberry.field(default=None, description="V3 user name.")
    auth_protocol: SnmpAuthProtocol = strawberry.field(default=SnmpAuthProtocol.NONE, description="V3 auth.")
    auth_password: str | None = strawberry.field(default=strawberry.UNSET, description=f"V3. {SECRET_NOTE}")
    privacy_protocol: SnmpPrivacyProtocol = strawberry.field(
        default=SnmpPrivacyProtocol.NONE, description="V3 privacy."
    )
    privacy_password: str | None = strawberry.field(default=strawberry.UNSET, description=f"V3. {SECRET_NOTE}")
    base_oid: str = strawberry.field(default="1.3.6.1", description="Base object identifier of a walk.")


@strawberry.input(description="SNMP server settings (§21.4).")
class SnmpSettingsInput:
    port: int = strawberry.field(default=161, description="UDP port (1-65535).")
    server: str = strawberry.field(description="Host name or IP address of the SNMP agent.")
    devices: list[SnmpDeviceInput] = strawberry.field(description=f"Named devices (1-{MAX_SNMP_DEVICES}).")


@strawberry.input(description="The settings of one protocol: give exactly one field.")
class DatalogSettingsInput:
    opc_ua: OpcUaSettingsInput | None = strawberry.field(
        default=None, description="OPC UA (set only for that protocol)."
    )
    bacnet: BacnetSettingsInput | None = strawberry.field(
        default=None, description="BACnet (set only for that protocol)."
    )
    modbus: ModbusSettingsInput | None = strawberry.field(
        default=None, description="Modbus (set only for that protocol)."
    )
    snmp: SnmpSettingsInput | None = strawberry.field(default=None, description="SNMP (set only for that protocol).")


@strawberry.input(description="Where an OPC UA variable is.")
class OpcUaAddressInput:
    node_id: str = strawberry.field(description='Node ID, e.g. "ns=2;s=Pump1.Temperature".')


@strawberry.input(description="Where a BACnet variable is.")
class BacnetAddressInput:
    object_type: str = strawberry.field(description='Object type, e.g. "analog-input".')
    instance: int = strawberry.field(description="Object instance (0-4194302).")
    property: str = strawberry.field(default="present-value", description="Property.")


@strawberry.input(description="Where a Modbus variable is.")
class ModbusAddressInput:
    register: int = strawberry.field(description="Register or coil address (0-65535).")
    function: ModbusFunction = strawberry.field(description="What is read.")
    value_type: ModbusValueType = strawberry.field(default=ModbusValueType.UINT16, description="Encoding.")


@strawberry.input(description="Where an SNMP variable is.")
class SnmpAddressInput:
    device: str = strawberry.field(description="Name of one of the settings' SNMP devices.")
    oid: str = strawberry.field(description="Object identifier, e.g. 1.3.6.1.2.1.1.3.0.")


@strawberry.input(description="A chosen variable: it becomes a telemetry key. Give the address of the protocol.")
class DatalogVariableInput:
    key: str = strawberry.field(description="Telemetry key (letters, digits, _ . -; at most 100).")
    unit: str = strawberry.field(default="", description="Unit (at most 20 characters), e.g. °C.")
    data_type: DatalogDataType = strawberry.field(default=DatalogDataType.FLOAT, description="How the value is shown.")
    opc_ua: OpcUaAddressInput | None = strawberry.field(
        default=None, description="OPC UA (set only for that protocol)."
    )
    bacnet: BacnetAddressInput | None = strawberry.field(
        default=None, description="BACnet (set only for that protocol)."
    )
    modbus: ModbusAddressInput | None = strawberry.field(
        default=None, description="Modbus (set only for that protocol)."
    )
    snmp: SnmpAddressInput | None = strawberry.field(default=None, description="SNMP (set only for that protocol).")


FIELDS = {Protocol.OPC_UA: "opcUa", Protocol.BACNET: "bacnet", Protocol.MODBUS: "modbus", Protocol.SNMP: "snmp"}
ATTRIBUTES = {Protocol.OPC_UA: "opc_ua", Protocol.BACNET: "bacnet", Protocol.MODBUS: "modbus", Protocol.SNMP: "snmp"}


def one_of(given: Any, field: list[str]) -> tuple[Protocol, Any]:
    """The one protocol field given; a typed error for none or several."""
    chosen = [(p, getattr(given, a)) for p, a in ATTRIBUTES.items() if getattr(given, a, None) is not None]
    if len(chosen) != 1:
        raise DomainError(Code.INVALID, "Give exactly one of opcUa, bacnet, modbus, snmp.", field)
    return chosen[0]


def _port(value: int, field: list[str]) -> int:
    if not 1 <= value <= 65535:
        raise DomainError(Code.INVALID, "A port is 1-65535.", field)
    return value


def _host(value: str, field: list[str]) -> str:
    text = clean_text(value, field, max_length=253, single_line=True)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        if not HOST.fullmatch(text):
            raise DomainError(Code.INVALID, "Not a host name or IP address.", field) from None
        return text


def in_range(value: int, low: int, high: int, field: list[str]) -> int:
    if not low <= value <= high:
        raise DomainError(Code.INVALID, f"Must be {low}-{high}.", field)
    return value


def _secret(value: Any, field: list[str]) -> str | None:
    """None: not given (keep the stored one); "" removes it."""
    if value is strawberry.UNSET or value is None:
        return None
    return clean_text(value, field, max_length=MAX_SECRET, required=False, strip=False, single_line=True)


def _opc_ua(given: OpcUaSettingsInput, at: list[str]) -> tuple[dict, dict]:
    url = clean_text(given.endpoint_url, [*at, "endpointUrl"], max_length=500, single_line=True)
    if not url.startswith("opc.tcp://"):
        raise DomainError(Code.INVALID, "An OPC UA endpoint starts with opc.tcp://.", [*at, "endpointUrl"])
    user = clean_text(given.username, [*at, "username"], max_length=100, required=False, single_line=True)
    settings = {
        "port": _port(given.port, [*at, "port"]),
        "endpointUrl": url,
        "securityMode": given.security_mode.value,
        "securityPolicy": given.security_policy.value,
        "username": user,
    }
    secret = _secret(given.password, [*at, "password"])
    return settings, ({} if secret is None else {"password": secret})


def _bacnet(given: BacnetSettingsInput, at: list[str]) -> tuple[dict, dict]:
    try:
        server_ip = str(ipaddress.ip_address(given.server_ip.strip()))
    except ValueError:
        raise DomainError(Code.INVALID, "Not an IP address.", [*at, "serverIp"]) from None
    return {
        "serverIp": server_ip,
        "port": _port(given.port, [*at, "port"]),
        "deviceInstance": in_range(given.device_instance, 0, 4194302, [*at, "deviceInstance"]),
    }, {}


def _modbus(given: ModbusSettingsInput, at: list[str]) -> tuple[dict, dict]:
    return {
        "port": _port(given.port, [*at, "port"]),
        "host": _host(given.host, [*at, "host"]),
        "unitId": in_range(given.unit_id, 0, 247, [*at, "unitId"]),
        "mode": given.mode.value,
    }, {}


def _snmp_device(given: SnmpDeviceInput, at: list[str]) -> tuple[dict, dict]:
    name = clean_text(given.name, [*at, "name"], max_length=100, single_line=True)
    base_oid = given.base_oid.strip()
    if not OID.fullmatch(base_oid):
        raise DomainError(Code.INVALID, "Not an object identifier (e.g. 1.3.6.1).", [*at, "baseOid"])
    device = {"name": name, "version": given.version.value, "baseOid": base_oid, "username": ""}
    secrets: dict[str, str] = {}
    if given.version is SnmpVersion.V3:
        device["username"] = clean_text(given.username, [*at, "username"], max_length=100, single_line=True)
        device["authProtocol"] = given.auth_protocol.value
        device["privacyProtocol"] = given.privacy_protocol.value
        for name_, value in (("authPassword", given.auth_password), ("privacyPassword", given.privacy_password)):
            secret = _secret(value, [*at, name_])
            if secret is not None:
                secrets[name_] = secret
    else:
        secret = _secret(given.community, [*at, "community"])
        if secret is not None:
            secrets["community"] = secret
    return device, secrets


def _snmp(given: SnmpSettingsInput, at: list[str]) -> tuple[dict, dict]:
    if not 1 <= len(given.devices) <= MAX_SNMP_DEVICES:
        raise DomainError(Code.INVALID, f"Give 1-{MAX_SNMP_DEVICES} SNMP devices.", [*at, "devices"])
    devices: list[dict] = []
    secrets: dict[str, dict] = {}
    for n, item in enumerate(given.devices):
        device, device_secrets = _snmp_device(item, [*at, "devices", str(n)])
        if any(d["name"] == device["name"] for d in devices):
            raise DomainError(Code.DUPLICATE, "Two SNMP devices of this name.", [*at, "devices", str(n), "name"])
        devices.append(device)
        if device_secrets:
            secrets[device["name"]] = device_secrets
    settings = {"port": _port(given.port, [*at, "port"]), "server": _host(given.server, [*at, "server"])}
    return {**settings, "devices": devices}, ({"devices": secrets} if secrets else {})


VALIDATORS: dict[Protocol, Callable[[Any, list[str]], tuple[dict, dict]]] = {
    Protocol.OPC_UA: _opc_ua,
    Protocol.BACNET: _bacnet,
    Protocol.MODBUS: _modbus,
    Protocol.SNMP: _snmp,
}


def clean_settings(given: DatalogSettingsInput, field: list[str]) -> tuple[Protocol, dict, dict]:
    """(protocol, stored settings, secrets given) of valid settings."""
    protocol, chosen = one_of(given, field)
    settings, secrets = VALIDATORS[protocol](chosen, [*field, FIELDS[protocol]])
    return protocol, settings, secrets


def merge_secrets(protocol: Protocol, stored: dict, given: dict) -> dict:
    """The secrets after an update: given ones replace, left-out ones stay, empty ones are removed."""
    if protocol is Protocol.SNMP:
        devices = {name: dict(values) for name, values in stored.get("devices", {}).items()}
        for name, values in given.get("devices", {}).items():
            devices.setdefault(name, {}).update(values)
        kept = {name: {k: v for k, v in values.items() if v} for name, values in devices.items()}
        return {"devices": {name: values for name, values in kept.items() if values}} if kept else {}
    merged = {**stored, **given}
    return {key: value for key, value in merged.items() if value}


def _address(protocol: Protocol, given: Any, settings: dict, at: list[str]) -> dict:
    if protocol is Protocol.OPC_UA:
        node = clean_text(given.node_id, [*at, "nodeId"], max_length=500, single_line=True)
        return {"nodeId": node}
    if protocol is Protocol.BACNET:
        object_type = clean_text(given.object_type, [*at, "objectType"], max_length=60, single_line=True)
        prop = clean_text(given.property, [*at, "property"], max_length=60, single_line=True)
        instance = in_range(given.instance, 0, 4194302, [*at, "instance"])
        return {"objectType": object_type, "instance": instance, "property": prop}
    if protocol is Protocol.MODBUS:
        register = in_range(given.register, 0, 65535, [*at, "register"])
        return {"register": register, "function": given.function.value, "valueType": given.value_type.value}
    names = {device["name"] for device in settings["devices"]}
    if given.device.strip() not in names:
        raise DomainError(Code.NOT_FOUND, "No SNMP device of this name in the settings.", [*at, "device"])
    if not OID.fullmatch(given.oid.strip()):
        raise DomainError(Code.INVALID, "Not an object identifier.", [*at, "oid"])
    return {"device": given.device.strip(), "oid": given.oid.strip()}


def clean_variables(protocol: Protocol, settings: dict, given: list[DatalogVariableInput], field: str) -> list[dict]:
    if len(given) > MAX_VARIABLES:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_VARIABLES} variables.", field)
    variables: list[dict] = []
    for n, item in enumerate(given):
        at = [field, str(n)]
        key = item.key.strip()
        if not KEY.fullmatch(key):
            raise DomainError(Code.INVALID, "A key is 1-100 letters, digits, _ . or -.", [*at, "key"])
        if any(v["key"] == key for v in variables):
            raise DomainError(Code.DUPLICATE, "Two variables with this key.", [*at, "key"])
        unit = clean_text(item.unit, [*at, "unit"], max_length=20, required=False, single_line=True)
        chosen, address = one_of(item, at)
        if chosen is not protocol:
            raise DomainError(Code.INVALID, f"Give the {FIELDS[protocol]} address.", [*at, FIELDS[chosen]])
        variables.append(
            {
                "key": key,
                "unit": unit,
                "dataType": item.data_type.value,
                "address": _address(protocol, address, settings, [*at, FIELDS[protocol]]),
            }
        )
    return variables
