"""Discovery (manual §21.1-21.4): OPC UA browse, BACnet scan and EPICS, Modbus read, SNMP walk. Request/response
over the router link: the request goes to `fleetgraph/routers/{commonName}/discovery` with a request ID and this
process's reply topic, and the mutation waits for the answer up to datalog_discovery_timeout_seconds.

The settings are given with the request (the manual browses before saving); secrets given go only into the
message. The router's answer is device input: it is checked field by field and capped before it is returned."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from strawberry.types import Info

from graph.errors import DomainError, refused
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.rules import clean_text
from models import datalog as dl
from models.identity import Permission
from resolvers.monitoring.datalog import protocols as p
from resolvers.monitoring.datalog.link import DiscoveryTimeout, LinkUnavailable, link_of
from resolvers.monitoring.datalog.rules import managed_datalog_device, open_secrets, record_at_location
from resolvers.monitoring.datalog.upload import router_at
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.remote.scope import visible_location

MAX_ITEMS = 10_000


@strawberry.enum(description="A discovery action of the manual.")
class DiscoveryAction(enum.Enum):
    OPC_UA_BROWSE = "OPC_UA_BROWSE"
    BACNET_SCAN = "BACNET_SCAN"
    BACNET_EPICS = "BACNET_EPICS"
    MODBUS_READ = "MODBUS_READ"
    SNMP_WALK = "SNMP_WALK"


PROTOCOL_OF = {
    DiscoveryAction.OPC_UA_BROWSE: dl.Protocol.OPC_UA,
    DiscoveryAction.BACNET_SCAN: dl.Protocol.BACNET,
    DiscoveryAction.BACNET_EPICS: dl.Protocol.BACNET,
    DiscoveryAction.MODBUS_READ: dl.Protocol.MODBUS,
    DiscoveryAction.SNMP_WALK: dl.Protocol.SNMP,
}


@strawberry.input(description="Ask the location's router to discover what a device offers.")
class DatalogDiscoverInput:
    location_id: strawberry.ID = strawberry.field(description="The location whose router asks.")
    action: DiscoveryAction = strawberry.field(description="What to do (must fit the settings' protocol).")
    settings: p.DatalogSettingsInput = strawberry.field(description="How to reach the device.")
    node_id: str | None = strawberry.field(default=None, description="OPC UA browse: start node (default Objects).")
    device_instance: int | None = strawberry.field(default=None, description="BACnet EPICS: device instance.")
    register: int | None = strawberry.field(default=None, description="Modbus read: first register (0-65535).")
    count: int | None = strawberry.field(default=None, description="Modbus read: registers to read (1-125).")
    function: p.ModbusFunction | None = strawberry.field(default=None, description="Modbus read: what is read.")
    snmp_device: str | None = strawberry.field(default=None, description="SNMP walk: the named device.")
    datalog_device_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A saved datalog device (of the same protocol): its saved secrets fill those the settings leave "
        "out, as an update keeps them, so a password need not be typed again to browse.",
    )


@strawberry.type(description="An OPC UA node found by browsing.")
class OpcUaNode:
    node_id: str = strawberry.field(description="OPC UA node ID.")
    browse_name: str = strawberry.field(description="Browse name.")
    display_name: str = strawberry.field(description="Display name.")
    node_class: str = strawberry.field(description="Node class (Object, Variable, …).")
    has_children: bool = strawberry.field(description="Whether it can be browsed further.")


@strawberry.type(description="A BACnet device found by a scan.")
class BacnetDevice:
    device_instance: int = strawberry.field(description="BACnet device instance.")
    address: str = strawberry.field(description="Network address.")
    name: str = strawberry.field(description="Name.")
    vendor: str = strawberry.field(description="Vendor name.")


@strawberry.type(description="A BACnet object of a device's EPICS.")
class BacnetObject:
    object_type: str = strawberry.field(description="BACnet object type, e.g. analog-input.")
    instance: int = strawberry.field(description="Object instance.")
    name: str = strawberry.field(description="Name.")
    present_value: str = strawberry.field(description="Present value, as text.")
    units: str = strawberry.field(description="Engineering units.")


@strawberry.type(description="A Modbus register (or coil) value read.")
class ModbusValue:
    register: int = strawberry.field(description="Register (or coil) address.")
    value: int = strawberry.field(description="The value.")


@strawberry.type(description="An SNMP variable binding found by a walk.")
class SnmpVarbind:
    oid: str = strawberry.field(description="Object identifier.")
    type: str = strawberry.field(description="SNMP type.")
    value: str = strawberry.field(description="The value.")


@strawberry.type(description="What the router found: the lists of the action asked for are set.")
class DiscoveryResult:
    action: DiscoveryAction = strawberry.field(description="The action asked for.")
    nodes: list[OpcUaNode] = strawberry.field(default_factory=list, description="OPC UA browse: the child nodes.")
    devices: list[BacnetDevice] = strawberry.field(default_factory=list, description="The named devices.")
    objects: list[BacnetObject] = strawberry.field(default_factory=list, description="BACnet EPICS: the objects.")
    registers: list[ModbusValue] = strawberry.field(default_factory=list, description="Modbus read: the values.")
    varbinds: list[SnmpVarbind] = strawberry.field(
        default_factory=list, description="SNMP walk: the variable bindings."
    )


@strawberry.type(description="The discovery result, or why there is none (TIMED_OUT, ROUTER_OFFLINE, …).")
class DatalogDiscoverPayload:
    result: DiscoveryResult | None = strawberry.field(description="Null when refused or failed.")
    errors: list[MonitoringError] = strawberry.field(description="Why there is no result.")


def _params(given: DatalogDiscoverInput) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if given.node_id is not None:
        params["nodeId"] = clean_text(given.node_id, "nodeId", max_length=500, single_line=True)
    if given.device_instance is not None:
        params["deviceInstance"] = p.in_range(given.device_instance, 0, 4194302, ["deviceInstance"])
    if given.action is DiscoveryAction.MODBUS_READ:
        params["register"] = p.in_range(given.register or 0, 0, 65535, ["register"])
        params["count"] = p.in_range(given.count or 1, 1, 125, ["count"])
        params["function"] = (given.function or p.ModbusFunction.HOLDING_REGISTER).value
    if given.snmp_device is not None:
        params["device"] = given.snmp_device.strip()
    return params


async def prepare(session: Any, context: Any, given: DatalogDiscoverInput) -> tuple[str, dict]:
    """(router common name, request) after the checks; the request is recorded in the history."""
    location = await visible_location(session, context, given.location_id, "locationId", managed=True)
    protocol, settings, secrets = p.clean_settings(given.settings, ["settings"])
    if PROTOCOL_OF[given.action] is not protocol:
        raise DomainError(
            Code.INVALID, f"{given.action.value} needs {PROTOCOL_OF[given.action].value} settings.", "action"
        )
    if given.datalog_device_id is not None:
        device, _, _ = await managed_datalog_device(session, context, given.datalog_device_id, "datalogDeviceId")
        if device.protocol is not protocol:
            raise DomainError(Code.INVALID, "The saved device speaks another protocol.", "datalogDeviceId")
        secrets = p.merge_secrets(protocol, open_secrets(context.runtime.sealer, device), secrets)
    params = _params(given)
    if protocol is dl.Protocol.SNMP:
        devices = {d["name"]: d for d in settings["devices"]}
        name = params.get("device") or next(iter(devices))
        if name not in devices:
            raise DomainError(Code.NOT_FOUND, "No SNMP device of this name in the settings.", "snmpDevice")
        params["device"], params["baseOid"] = name, devices[name]["baseOid"]
    router = await router_at(session, location)
    await record_at_location(session, context, "datalog.discovery_requested", location, {"action": given.action.value})
    request = {"action": given.action.value, "protocol": protocol.value, "settings": settings, "secrets": secrets}
    return router.common_name, {**request, "params": params}


def _items(raw: Any, make: Any) -> list[Any]:
    if not isinstance(raw, list):
        return []
    return [make(item) for item in raw[:MAX_ITEMS] if isinstance(item, dict)]


def _text(item: dict, key: str) -> str:
    value = item.get(key, "")
    return str(value)[:500].replace("\x00", "") if value is not None else ""


def _int(item: dict, key: str) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(key)
    return value


def parse_result(action: DiscoveryAction, raw: Any) -> DiscoveryResult:
    if not isinstance(raw, dict):
        raise ValueError("result")
    t, n = _text, _int
    return DiscoveryResult(
        action=action,
        nodes=_items(raw.get("nodes"), lambda i: OpcUaNode(
            node_id=t(i, "nodeId"), browse_name=t(i, "browseName"), display_name=t(i, "displayName"),
            node_class=t(i, "nodeClass"), has_children=i.get("hasChildren") is True)),
        devices=_items(raw.get("devices"), lambda i: BacnetDevice(
            device_instance=n(i, "deviceInstance"), address=t(i, "address"), name=t(i, "name"), vendor=t(i, "vendor"))),
        objects=_items(raw.get("objects"), lambda i: BacnetObject(
            object_type=t(i, "objectType"), instance=n(i, "instance"), name=t(i, "name"),
            present_value=t(i, "presentValue"), units=t(i, "units"))),
        registers=_items(raw.get("registers"), lambda i: ModbusValue(register=n(i, "register"), value=n(i, "value"))),
        varbinds=_items(raw.get("varbinds"), lambda i: SnmpVarbind(
            oid=t(i, "oid"), type=t(i, "type"), value=t(i, "value"))),
    )  # fmt: skip


async def discover(info: Info, given: DatalogDiscoverInput) -> DatalogDiscoverPayload:
    context = info.context
    link = link_of(context.runtime)
    if link is None:
        return refused(
            DatalogDiscoverPayload, DomainError(Code.ROUTER_OFFLINE, "No router link is configured.", "locationId")
        )
    prepared = await run_in_transaction(context, lambda s: prepare(s, context, given))
    if isinstance(prepared, DomainError):
        return refused(DatalogDiscoverPayload, prepared)
    common_name, request = prepared
    try:
        answer = await link.discover(common_name, request, context.runtime.settings.datalog_discovery_timeout_seconds)
    except DiscoveryTimeout:
        return refused(
            DatalogDiscoverPayload, DomainError(Code.TIMED_OUT, "The router did not answer in time.", "locationId")
        )
    except LinkUnavailable:
        return refused(
            DatalogDiscoverPayload, DomainError(Code.ROUTER_OFFLINE, "The router link is not connected.", "locationId")
        )
    finally:
        del request
    if answer.get("ok") is not True:
        reason = _text(answer, "reason") or "The router could not do it."
        return refused(DatalogDiscoverPayload, DomainError(Code.ROUTER_FAILED, reason, "action"))
    try:
        result = parse_result(given.action, answer.get("result"))
    except ValueError:
        return refused(
            DatalogDiscoverPayload, DomainError(Code.ROUTER_FAILED, "The router's answer is malformed.", "action")
        )
    return DatalogDiscoverPayload(result=result, errors=[])


@strawberry.type
class DiscoveryMutation:
    @strawberry.mutation(
        description="Discover what a device offers through the location's router (waits for the answer).",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def datalog_discover(self, info: Info, input: DatalogDiscoverInput) -> DatalogDiscoverPayload:
        return await discover(info, input)
