"""GraphQL types of data monitoring per location: monitored locations with their status, datalog devices with their
protocol settings (secrets never: only whether one is set) and variables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import datalog as dl
from resolvers.monitoring.datalog import protocols as p
from resolvers.monitoring.datalog.loaders import Status, StatusCode, datalog_devices_by_location, statuses
from resolvers.monitoring.graphics.loaders import graphics_by_location
from resolvers.monitoring.graphics.types import Graphic
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location

strawberry.enum(dl.CloudHost, description="Cloud hosts of the manual (§21.5.2).")
strawberry.enum(dl.ConfigState, description="State of the last configuration upload.")
strawberry.enum(dl.Protocol, description="Datalog protocol.")
strawberry.enum(StatusCode, name="DatalogStatusCode", description="Data monitoring status (§21.7).")


@strawberry.type(description="The data monitoring status of a location, derived from its state, with the reason.")
class DatalogStatus:
    code: StatusCode = strawberry.field(description="The status.")
    reason: str = strawberry.field(description="Why, in words.")
    last_telemetry_at: datetime | None = strawberry.field(description="Time of the location's newest point.")


@strawberry.type(description="OPC UA settings (the password is never returned).")
class OpcUaSettings:
    port: int = strawberry.field(description="Port (1-65535).")
    endpoint_url: str = strawberry.field(description="OPC UA endpoint (opc.tcp://…).")
    security_mode: p.OpcUaSecurityMode = strawberry.field(description="Message security mode.")
    security_policy: p.OpcUaSecurityPolicy = strawberry.field(description="Security policy.")
    username: str = strawberry.field(description="User name (empty: none).")
    password_set: bool = strawberry.field(description="Whether a password is stored.")


@strawberry.type(description="BACnet/IP settings.")
class BacnetSettings:
    server_ip: str = strawberry.field(description="IP address of the BACnet device.")
    port: int = strawberry.field(description="Port (1-65535).")
    device_instance: int = strawberry.field(description="BACnet device instance.")


@strawberry.type(description="Modbus settings.")
class ModbusSettings:
    port: int = strawberry.field(description="Port (1-65535).")
    host: str = strawberry.field(description="Host name or IP address.")
    unit_id: int = strawberry.field(description="Modbus unit (slave) ID.")
    mode: p.ModbusMode = strawberry.field(description="TCP or RTU.")


@strawberry.type(description="A named SNMP device (community and passwords are never returned).")
class SnmpDevice:
    name: str = strawberry.field(description="Name.")
    version: p.SnmpVersion = strawberry.field(description="SNMP version.")
    username: str = strawberry.field(description="User name (empty: none).")
    auth_protocol: p.SnmpAuthProtocol | None = strawberry.field(
        description="SNMPv3 authentication protocol (null for V1/V2C)."
    )
    privacy_protocol: p.SnmpPrivacyProtocol | None = strawberry.field(
        description="SNMPv3 privacy protocol (null for V1/V2C)."
    )
    base_oid: str = strawberry.field(description="Base object identifier of a walk.")
    secrets_set: list[str] = strawberry.field(description="Which secrets are stored: community, authPassword, …")


@strawberry.type(description="SNMP settings.")
class SnmpSettings:
    port: int = strawberry.field(description="Port (1-65535).")
    server: str = strawberry.field(description="Host name or IP address of the SNMP agent.")
    devices: list[SnmpDevice] = strawberry.field(description="The named devices.")


@strawberry.type(description="The settings of a datalog device: the field of its protocol is set, the others null.")
class DatalogSettings:
    opc_ua: OpcUaSettings | None = strawberry.field(default=None, description="OPC UA (set only for that protocol).")
    bacnet: BacnetSettings | None = strawberry.field(default=None, description="BACnet (set only for that protocol).")
    modbus: ModbusSettings | None = strawberry.field(default=None, description="Modbus (set only for that protocol).")
    snmp: SnmpSettings | None = strawberry.field(default=None, description="SNMP (set only for that protocol).")


@strawberry.type(description="Address of an OPC UA variable.")
class OpcUaAddress:
    node_id: str = strawberry.field(description="OPC UA node ID.")


@strawberry.type(description="Address of a BACnet variable.")
class BacnetAddress:
    object_type: str = strawberry.field(description="BACnet object type, e.g. analog-input.")
    instance: int = strawberry.field(description="Object instance.")
    property: str = strawberry.field(description="BACnet property, e.g. present-value.")


@strawberry.type(description="Address of a Modbus variable.")
class ModbusAddress:
    register: int = strawberry.field(description="Register (or coil) address.")
    function: p.ModbusFunction = strawberry.field(description="What is read.")
    value_type: p.ModbusValueType = strawberry.field(description="How the value is encoded.")


@strawberry.type(description="Address of an SNMP variable.")
class SnmpAddress:
    device: str = strawberry.field(description="Name of the SNMP device of the settings.")
    oid: str = strawberry.field(description="Object identifier.")


@strawberry.type(description="A chosen variable: a telemetry key with unit, data type and protocol address.")
class DatalogVariable:
    key: str = strawberry.field(description="Telemetry key.")
    unit: str = strawberry.field(description="Unit, e.g. °C.")
    data_type: p.DatalogDataType = strawberry.field(description="How the value is shown.")
    opc_ua: OpcUaAddress | None = strawberry.field(default=None, description="OPC UA (set only for that protocol).")
    bacnet: BacnetAddress | None = strawberry.field(default=None, description="BACnet (set only for that protocol).")
    modbus: ModbusAddress | None = strawberry.field(default=None, description="Modbus (set only for that protocol).")
    snmp: SnmpAddress | None = strawberry.field(default=None, description="SNMP (set only for that protocol).")


def _settings(protocol: dl.Protocol, stored: dict, secrets: dict[str, Any]) -> DatalogSettings:
    if protocol is dl.Protocol.OPC_UA:
        return DatalogSettings(
            opc_ua=OpcUaSettings(
                port=stored["port"],
                endpoint_url=stored["endpointUrl"],
                security_mode=p.OpcUaSecurityMode(stored["securityMode"]),
                security_policy=p.OpcUaSecurityPolicy(stored["securityPolicy"]),
                username=stored["username"],
                password_set="password" in secrets,
            )
        )
    if protocol is dl.Protocol.BACNET:
        return DatalogSettings(bacnet=BacnetSettings(**_snake(stored)))
    if protocol is dl.Protocol.MODBUS:
        return DatalogSettings(modbus=ModbusSettings(**{**_snake(stored), "mode": p.ModbusMode(stored["mode"])}))
    devices = [
        SnmpDevice(
            name=d["name"],
            version=p.SnmpVersion(d["version"]),
            username=d.get("username", ""),
            auth_protocol=p.SnmpAuthProtocol(d["authProtocol"]) if "authProtocol" in d else None,
            privacy_protocol=p.SnmpPrivacyProtocol(d["privacyProtocol"]) if "privacyProtocol" in d else None,
            base_oid=d["baseOid"],
            secrets_set=sorted(secrets.get(d["name"], ())),
        )
        for d in stored["devices"]
    ]
    return DatalogSettings(snmp=SnmpSettings(port=stored["port"], server=stored["server"], devices=devices))


def _global(kind: str, pk: int | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(kind, pk)) if pk is not None else None


def _snake(stored: dict) -> dict:
    return {"".join(f"_{c.lower()}" if c.isupper() else c for c in k): v for k, v in stored.items()}


def _variable(protocol: dl.Protocol, stored: dict) -> DatalogVariable:
    address = stored["address"]
    made: dict[str, Any] = {
        dl.Protocol.OPC_UA: lambda: {"opc_ua": OpcUaAddress(node_id=address["nodeId"])},
        dl.Protocol.BACNET: lambda: {"bacnet": BacnetAddress(**_snake(address))},
        dl.Protocol.MODBUS: lambda: {
            "modbus": ModbusAddress(
                register=address["register"],
                function=p.ModbusFunction(address["function"]),
                value_type=p.ModbusValueType(address["valueType"]),
            )
        },
        dl.Protocol.SNMP: lambda: {"snmp": SnmpAddress(**address)},
    }
    return DatalogVariable(
        key=stored["key"], unit=stored["unit"], data_type=p.DatalogDataType(stored["dataType"]), **made[protocol]()
    )


@strawberry.type(description="A datalog device: what the router logs from a device and how (§21.1-21.4).")
class DatalogDevice(Node):
    name: str = strawberry.field(description="Name.")
    protocol: dl.Protocol = strawberry.field(description="Protocol.")
    settings: DatalogSettings = strawberry.field(description="The protocol's settings (no secrets).")
    variables: list[DatalogVariable] = strawberry.field(description="The chosen variables.")
    from_template: bool = strawberry.field(description="Whether it belongs to a device template.")
    location_device_id: strawberry.ID | None = strawberry.field(description="Its location device (or null).")
    device_template_id: strawberry.ID | None = strawberry.field(description="Its device template (or null).")
    updated_at: datetime = strawberry.field(description="Last change.")
    pk: strawberry.Private[int]
    location_device_pk: strawberry.Private[int | None]
    template_pk: strawberry.Private[int | None]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: dl.DatalogDevice, secret_names: dict[str, Any] | None = None) -> DatalogDevice:
        # secret_names: which secrets are set (names only), kept in the settings JSON by the rules
        names = row.settings.get("secretsSet", {}) if secret_names is None else secret_names
        stored = {k: v for k, v in row.settings.items() if k != "secretsSet"}
        return cls(
            id=strawberry.ID(to_global_id("DatalogDevice", row.id)),
            name=row.name,
            protocol=row.protocol,
            settings=_settings(row.protocol, stored, names),
            variables=[_variable(row.protocol, v) for v in row.variables],
            from_template=row.template_id is not None,
            location_device_id=_global("LocationDevice", row.location_device_id),
            device_template_id=_global("DeviceTemplate", row.template_id),
            updated_at=row.updated_at,
            pk=row.id,
            location_device_pk=row.location_device_id,
            template_pk=row.template_id,
        )


@strawberry.type(description="A datalog device as it applies to one device of the location.")
class AppliedDatalogDevice:
    location_device_id: strawberry.ID = strawberry.field(description="The location device it logs.")
    datalog_device: DatalogDevice = strawberry.field(description="The datalog device (own or its template's).")


def _status(found: Status) -> DatalogStatus:
    return DatalogStatus(code=found.code, reason=found.reason, last_telemetry_at=found.last_telemetry_at)


def _applied(pair: tuple[int, dl.DatalogDevice]) -> AppliedDatalogDevice:
    device_pk, row = pair
    return AppliedDatalogDevice(
        location_device_id=strawberry.ID(to_global_id("LocationDevice", device_pk)),
        datalog_device=DatalogDevice.from_model(row),
    )


@strawberry.type(description="A location with data monitoring activated, its general settings and status.")
class MonitoredLocation:
    send_frequency_seconds: int = strawberry.field(description="Interval at which the router sends (s, §21.5.1).")
    cloud_host: dl.CloudHost = strawberry.field(description="Where the router sends the data (§21.5.2).")
    silence_seconds: int = strawberry.field(description="No point for longer than this: no new telemetry.")
    configuration_state: dl.ConfigState | None = strawberry.field(description="Last upload; null: never uploaded.")
    configuration_reason: str = strawberry.field(description="The router's reason of a failed upload.")
    configuration_sent_at: datetime | None = strawberry.field(description="When the last upload was sent.")
    configuration_applied_at: datetime | None = strawberry.field(description="When a configuration was last applied.")
    activated_at: datetime = strawberry.field(description="When data monitoring was activated.")
    location_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: dl.MonitoredLocation) -> MonitoredLocation:
        return cls(
            send_frequency_seconds=row.send_frequency_seconds,
            cloud_host=row.cloud_host,
            silence_seconds=row.silence_seconds,
            configuration_state=row.config_state,
            configuration_reason=row.config_reason,
            configuration_sent_at=row.config_sent_at,
            configuration_applied_at=row.config_applied_at,
            activated_at=row.activated_at,
            location_pk=row.location_id,
        )

    @strawberry.field(description="The location.")
    @relation(Batched(visible_locations, key=lambda item: item.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location: ...

    @strawberry.field(description="Status derived from its configuration, router and telemetry, with the reason.")
    @relation(Batched(statuses, key=lambda item: item.location_pk, build=_status))
    def status(self, info: Info) -> DatalogStatus: ...

    @strawberry.field(description="The datalog devices that apply at the location (own and from templates).")
    @relation(Batched(datalog_devices_by_location, key=lambda item: item.location_pk, build=_applied, many=True))
    def datalog_devices(self, info: Info) -> list[AppliedDatalogDevice]: ...

    @strawberry.field(description="Its graphical configurations (§21.6), by name.")
    @relation(Batched(graphics_by_location, key=lambda item: item.location_pk, build=Graphic.from_model, many=True))
    def graphics(self, info: Info) -> list[Graphic]: ...
