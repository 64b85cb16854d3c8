"""Devices behind a location's router: create, update, delete, their services, validation, tenancy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from graph.errors import DomainError
from models import remote as r
from models.audit import AuditEvent
from resolvers.remote.devices.rules import ServiceSpec, clean_ip_address, clean_services
from tests.factories import snapshot
from tests.remote.helpers import (
    LOCATION_CREATE,
    LOCATION_DEVICE,
    LOCATION_DEVICE_CREATE,
    create_location_device,
    grant_location,
)

UPDATE = f"""mutation($input: LocationDeviceUpdateInput!) {{
  locationDeviceUpdate(input: $input) {{ {LOCATION_DEVICE} errors {{ code field message }} }}
}}"""
DELETE = """mutation($input: LocationDeviceDeleteInput!) { locationDeviceDelete(input: $input) { deletedId
  errors { code field } } }"""
LOCATION_DEVICES = """query($id: ID!) { node(id: $id) { ... on Location {
  name devices { name ipAddress services { type port path username } }
} } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename ... on LocationDevice { name ipAddress location { name } } } }"""


async def location(gql, world, name: str = "Depot", token: str = "admin_a", **given) -> str:
    result = await gql(LOCATION_CREATE, {"input": {"name": name, **given}}, token=world.tokens[token])
    assert result["data"]["locationCreate"]["errors"] == [], result
    return result["data"]["locationCreate"]["location"]["id"]


async def update(gql, world, token: str = "admin_a", **given) -> dict:
    result = await gql(UPDATE, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["locationDeviceUpdate"]


async def create_plc_and_hmi(gql, world) -> tuple[str, dict]:
    """Depot with PLC 1 (four services, defaults filled in) and HMI (none): the depot's ID and PLC 1."""
    depot = await location(gql, world)
    made = await create_location_device(
        gql,
        world,
        locationId=depot,
        name="  PLC 1 ",
        description="Siemens S7",
        ipAddress="FD00:0:0::0010",
        services=[
            {"type": "HTTP"},
            {"type": "SSH", "username": "admin"},
            {"type": "TCP", "port": 102},
            {"type": "HTTPS", "port": 8443, "path": "/ui"},
        ],
    )
    assert made["errors"] == []
    device = made["device"]
    assert (device["name"], device["description"], device["ipAddress"]) == ("PLC 1", "Siemens S7", "fd00::10")
    assert device["services"] == [
        {"type": "HTTP", "port": 80, "path": "/", "username": ""},
        {"type": "SSH", "port": 22, "path": "", "username": "admin"},
        {"type": "TCP", "port": 102, "path": "", "username": ""},
        {"type": "HTTPS", "port": 8443, "path": "/ui", "username": ""},
    ]
    assert device["template"] is None and device["location"] == {"name": "Depot"}
    # without services; the location lists its devices by name
    assert (await create_location_device(gql, world, locationId=depot, name="HMI", ipAddress="192.168.1.10"))[
        "errors"
    ] == []
    listed = (await gql(LOCATION_DEVICES, {"id": depot}, token=world.tokens["admin_a"]))["data"]["node"]["devices"]
    assert [(d["name"], d["ipAddress"], len(d["services"])) for d in listed] == [
        ("HMI", "192.168.1.10", 0),
        ("PLC 1", "fd00::10", 4),
    ]
    return depot, device


async def test_create_update_delete(gql, world, runtime):
    _depot, device = await create_plc_and_hmi(gql, world)

    # fields left out stay; given services replace the list
    changed = await update(
        gql, world, id=device["id"], description="S7-1500", services=[{"type": "VNC", "username": "op"}]
    )
    assert changed["errors"] == []
    assert (changed["device"]["name"], changed["device"]["description"], changed["device"]["ipAddress"]) == (
        "PLC 1",
        "S7-1500",
        "fd00::10",
    )
    assert changed["device"]["services"] == [{"type": "VNC", "port": 5900, "path": "", "username": "op"}]
    renamed = await update(gql, world, id=device["id"], name="PLC 2", ipAddress="10.0.0.5")
    assert (renamed["device"]["name"], renamed["device"]["ipAddress"]) == ("PLC 2", "10.0.0.5")
    assert renamed["device"]["services"] == changed["device"]["services"]
    cleared = await update(gql, world, id=device["id"], services=None, description=None)
    assert cleared["device"]["services"] == [] and cleared["device"]["description"] == ""

    found = await gql(NODE, {"id": device["id"]}, token=world.tokens["admin_a"])
    assert found["data"]["node"] == {
        "__typename": "LocationDevice",
        "name": "PLC 2",
        "ipAddress": "10.0.0.5",
        "location": {"name": "Depot"},
    }

    deleted = (await gql(DELETE, {"input": {"id": device["id"]}}, token=world.tokens["admin_a"]))["data"][
        "locationDeviceDelete"
    ]
    assert deleted == {"deletedId": device["id"], "errors": []}
    assert (await gql(NODE, {"id": device["id"]}, token=world.tokens["admin_a"]))["data"]["node"] is None
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.LocationDevice.name))).all() == ["HMI"]
        assert (await session.scalars(select(r.LocationDeviceService))).all() == []
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "LocationDevice").order_by(AuditEvent.id)
            )
        ).all()
    assert actions == [
        "location.device_created",
        "location.device_created",
        "location.device_updated",
        "location.device_updated",
        "location.device_updated",
        "location.device_deleted",
    ]


async def test_names_are_unique_per_location(gql, world):
    depot, office = await location(gql, world), await location(gql, world, "Office")
    assert (await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1"))[
        "errors"
    ] == []
    assert (await create_location_device(gql, world, locationId=office, name="PLC", ipAddress="10.0.0.1"))[
        "errors"
    ] == []
    again = await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.2")
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("DUPLICATE", ["name"])]
    # an update to its own name is no duplicate; to a sibling's it is
    hmi = (await create_location_device(gql, world, locationId=depot, name="HMI", ipAddress="10.0.0.3"))["device"]["id"]
    assert (await update(gql, world, id=hmi, name="HMI"))["errors"] == []
    taken = await update(gql, world, id=hmi, name=" PLC ")
    assert [(e["code"], e["field"]) for e in taken["errors"]] == [("DUPLICATE", ["name"])]


CREATE_REFUSALS = [
    ({"name": " "}, "REQUIRED", ["name"]),
    ({"name": "x" * 201}, "TOO_LONG", ["name"]),
    ({"name": "PLC"}, "DUPLICATE", ["name"]),
    ({"description": "x" * 1001}, "TOO_LONG", ["description"]),
    ({"ipAddress": ""}, "REQUIRED", ["ipAddress"]),
    ({"ipAddress": "192.168.1.0/24"}, "INVALID", ["ipAddress"]),
    ({"ipAddress": "plc.example.local"}, "INVALID", ["ipAddress"]),
    ({"ipAddress": "0.0.0.0"}, "INVALID", ["ipAddress"]),
    ({"ipAddress": "::1"}, "INVALID", ["ipAddress"]),
    ({"ipAddress": "255.255.255.255"}, "INVALID", ["ipAddress"]),
    ({"ipAddress": "239.1.2.3"}, "INVALID", ["ipAddress"]),
    ({"services": [{"type": "HTTP"}, {"type": "TCP"}]}, "REQUIRED", ["services", "1", "port"]),
    ({"services": [{"type": "SSH", "port": 0}]}, "INVALID", ["services", "0", "port"]),
    ({"services": [{"type": "SSH", "port": 65536}]}, "INVALID", ["services", "0", "port"]),
    ({"services": [{"type": "SSH", "path": "/x"}]}, "INVALID", ["services", "0", "path"]),
    ({"services": [{"type": "HTTP", "path": "admin"}]}, "INVALID", ["services", "0", "path"]),
    ({"services": [{"type": "HTTP", "path": "/" + "x" * 200}]}, "TOO_LONG", ["services", "0", "path"]),
    ({"services": [{"type": "HTTPS", "username": "root"}]}, "INVALID", ["services", "0", "username"]),
    ({"services": [{"type": "RDP", "username": "John Doe"}]}, "INVALID", ["services", "0", "username"]),
    ({"services": [{"type": "TELNET", "username": "op\x07"}]}, "INVALID", ["services", "0", "username"]),
    ({"services": [{"type": "SSH", "username": "u" * 101}]}, "TOO_LONG", ["services", "0", "username"]),
    ({"services": [{"type": "SSH"}, {"type": "SSH", "port": 22}]}, "DUPLICATE", ["services", "1"]),
    ({"services": [{"type": "TCP", "port": 1000 + i} for i in range(21)]}, "TOO_MANY", ["services"]),
]


async def test_create_refusals_change_nothing(gql, world, runtime):
    depot = await location(gql, world)
    assert (await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1"))[
        "errors"
    ] == []
    before = await snapshot(runtime)
    for given, code, field in CREATE_REFUSALS:
        payload = await create_location_device(
            gql, world, **{"locationId": depot, "name": "New", "ipAddress": "10.0.0.2", **given}
        )
        assert payload["device"] is None, given
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given
    # the largest allowed list goes through (and is rolled back by nothing else)
    assert await snapshot(runtime) == before
    most = await create_location_device(
        gql,
        world,
        locationId=depot,
        name="Gateway",
        ipAddress="10.0.0.9",
        services=[{"type": "TCP", "port": 1000 + i} for i in range(20)],
    )
    assert most["errors"] == [] and len(most["device"]["services"]) == 20


async def test_update_refusals_change_nothing(gql, world, runtime):
    depot = await location(gql, world)
    await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1")
    hmi = (
        await create_location_device(
            gql, world, locationId=depot, name="HMI", ipAddress="10.0.0.2", services=[{"type": "HTTP"}]
        )
    )["device"]["id"]
    before = await snapshot(runtime)
    for given, code, field in [
        ({"name": None}, "REQUIRED", ["name"]),
        ({"name": "PLC"}, "DUPLICATE", ["name"]),
        ({"ipAddress": None}, "REQUIRED", ["ipAddress"]),
        ({"ipAddress": "fd00::/8"}, "INVALID", ["ipAddress"]),
        # a valid change next to a bad one: nothing of either is written
        ({"name": "Panel", "services": [{"type": "VNC", "port": 70000}]}, "INVALID", ["services", "0", "port"]),
        ({"description": "ok", "ipAddress": "224.0.0.1"}, "INVALID", ["ipAddress"]),
    ]:
        payload = await update(gql, world, id=hmi, **given)
        assert payload["device"] is None, given
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given
    assert await snapshot(runtime) == before


async def test_without_locations_manage_forbidden(gql, world, runtime):
    depot = await location(gql, world)
    device = (await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1"))["device"][
        "id"
    ]
    await grant_location(runtime, world, "user_a", depot)
    before = await snapshot(runtime)
    for document, variables in (
        (LOCATION_DEVICE_CREATE, {"input": {"locationId": depot, "name": "New", "ipAddress": "10.0.0.2"}}),
        (UPDATE, {"input": {"id": device, "name": "Renamed"}}),
        (DELETE, {"input": {"id": device}}),
    ):
        result = await gql(document, variables, token=world.tokens["user_a"])
        assert result["data"] is None and result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before
    # the user reads the devices of a location given to them
    seen = await gql(LOCATION_DEVICES, {"id": depot}, token=world.tokens["user_a"])
    assert seen["data"]["node"]["devices"] == [{"name": "PLC", "ipAddress": "10.0.0.1", "services": []}]
    assert (await gql(NODE, {"id": device}, token=world.tokens["user_a"]))["data"]["node"]["name"] == "PLC"


async def test_other_tenant_reads_like_unknown(gql, world, runtime):
    depot = await location(gql, world)
    device = (await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1"))["device"][
        "id"
    ]
    unknown_device = "TG9jYXRpb25EZXZpY2U6OTk5OTk5"  # LocationDevice:999999
    unknown_location = "TG9jYXRpb246OTk5OTk5"  # Location:999999
    before = await snapshot(runtime)
    for document, variables, unknown, root in (
        (
            LOCATION_DEVICE_CREATE,
            {"input": {"locationId": depot, "name": "Spy", "ipAddress": "10.0.0.2"}},
            {"locationId": unknown_location},
            "locationDeviceCreate",
        ),
        (UPDATE, {"input": {"id": device, "name": "Spy"}}, {"id": unknown_device}, "locationDeviceUpdate"),
        (DELETE, {"input": {"id": device}}, {"id": unknown_device}, "locationDeviceDelete"),
    ):
        other = await gql(document, variables, token=world.tokens["admin_b"])
        missing = await gql(document, {"input": {**variables["input"], **unknown}}, token=world.tokens["admin_b"])
        assert [e["code"] for e in other["data"][root]["errors"]] == ["NOT_FOUND"]
        assert other["data"][root]["errors"] == missing["data"][root]["errors"]
    assert (await gql(NODE, {"id": device}, token=world.tokens["admin_b"]))["data"]["node"] is None
    assert await snapshot(runtime) == before


async def test_granted_location_is_seen_not_managed(gql, world, runtime):
    """B's admin given A's location sees its devices but cannot change them: only the subtree is managed."""
    depot = await location(gql, world)
    device = (await create_location_device(gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1"))["device"][
        "id"
    ]
    await grant_location(runtime, world, "admin_b", depot)
    assert (await gql(NODE, {"id": device}, token=world.tokens["admin_b"]))["data"]["node"]["name"] == "PLC"
    before = await snapshot(runtime)
    created = await create_location_device(
        gql, world, token="admin_b", locationId=depot, name="Spy", ipAddress="10.0.0.2"
    )
    assert [(e["code"], e["field"]) for e in created["errors"]] == [("NOT_FOUND", ["locationId"])]
    changed = await update(gql, world, token="admin_b", id=device, name="Spy")
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [("NOT_FOUND", ["id"])]
    assert await snapshot(runtime) == before


async def test_devices_go_with_their_location(gql, world, runtime):
    depot = await location(gql, world)
    await create_location_device(
        gql, world, locationId=depot, name="PLC", ipAddress="10.0.0.1", services=[{"type": "HTTP"}]
    )
    result = await gql(
        "mutation($id: ID!) { locationDelete(input: {id: $id}) { errors { code } } }",
        {"id": depot},
        token=world.tokens["admin_a"],
    )
    assert result["data"]["locationDelete"]["errors"] == []
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.LocationDevice))).all() == []
        assert (await session.scalars(select(r.LocationDeviceService))).all() == []


# --- the rules as plain functions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, stored",
    [
        ("192.168.1.10", "192.168.1.10"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("192.168.1.0", "192.168.1.0"),  # without a mask it is one host's address
        ("fd00::10", "fd00::10"),
        ("FD00:0000:0000:0000:0000:0000:0000:0010", "fd00::10"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1", "fe80::1"),
        ("::ffff:192.168.1.10", "::ffff:192.168.1.10"),
        ("::FFFF:C0A8:010A", "::ffff:192.168.1.10"),
    ],
)
def test_ip_addresses_accepted_and_normalised(given, stored):
    assert clean_ip_address(given) == stored


@pytest.mark.parametrize(
    "given, code",
    [
        ("", "REQUIRED"),
        ("   ", "REQUIRED"),
        ("10.0.0.0/8", "INVALID"),
        ("10.0.0.1/32", "INVALID"),
        ("fd00::/64", "INVALID"),
        ("plc", "INVALID"),
        ("plc.example.local", "INVALID"),
        ("1.2.3", "INVALID"),
        ("192.168.001.010", "INVALID"),  # leading zeros: octal or decimal? refused
        ("256.1.1.1", "INVALID"),
        ("fe80::1%eth0", "INVALID"),
        ("0.0.0.0", "INVALID"),
        ("::", "INVALID"),
        ("127.0.0.1", "INVALID"),
        ("127.10.0.1", "INVALID"),
        ("::1", "INVALID"),
        ("::ffff:127.0.0.1", "INVALID"),
        ("224.0.0.1", "INVALID"),
        ("ff02::1", "INVALID"),
        ("255.255.255.255", "INVALID"),
        ("10.0.0.1 10.0.0.2", "INVALID"),
    ],
)
def test_ip_addresses_refused(given, code):
    with pytest.raises(DomainError) as refused:
        clean_ip_address(given)
    assert (refused.value.code.value, refused.value.field) == (code, ["ipAddress"])


def test_service_defaults():
    cleaned = clean_services([ServiceSpec(kind) for kind in r.ServiceType if kind is not r.ServiceType.TCP])
    assert [(s.service_type.value, s.port, s.path, s.username) for s in cleaned] == [
        ("HTTP", 80, "/", ""),
        ("HTTPS", 443, "/", ""),
        ("SSH", 22, "", ""),
        ("TELNET", 23, "", ""),
        ("RDP", 3389, "", ""),
        ("VNC", 5900, "", ""),
    ]
    # the same type twice on different ports (or paths) is two services
    assert (
        len(
            clean_services(
                [
                    ServiceSpec(r.ServiceType.HTTP),
                    ServiceSpec(r.ServiceType.HTTP, path="/status"),
                    ServiceSpec(r.ServiceType.HTTP, port=8080),
                ]
            )
        )
        == 3
    )
