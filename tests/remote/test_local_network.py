"""Local network (issue 18, manual §14): the organisation's defaults, the copy each new location gets, a location's
own settings, and the check against the LAN its router reports (GraphQL heartbeat and MQTT)."""

from __future__ import annotations

import pytest

from models import identity as m
from resolvers.remote.workers.mqtt import BadHeartbeat, parse_status
from tests.factories import add_location, add_organisation, add_router, snapshot
from tests.remote.helpers import HEARTBEAT, LOCATION_CREATE, api_user_token, register

DEFAULTS_SET = """mutation($input: NetworkDefaultsSetInput!) {
  localNetworkDefaultsSet(input: $input) { settings { subnet gateway dnsServers } errors { code field message } }
}"""
LOCATION_SET = """mutation($input: LocationNetworkSetInput!) {
  locationNetworkSet(input: $input) {
    location { localNetwork { settings { subnet gateway dnsServers } reportedSubnet matchesRouter } }
    errors { code field message }
  }
}"""
NETWORK = "localNetwork { settings { subnet gateway dnsServers } reportedSubnet matchesRouter }"
LOCATION = f"query($id: ID!) {{ node(id: $id) {{ ... on Location {{ name {NETWORK} }} }} }}"
OFFICE = {"subnet": "192.168.10.0/24", "gateway": "192.168.10.1", "dnsServers": ["192.168.10.1", "9.9.9.9"]}


async def set_defaults(gql, world, token="admin_a", **given) -> dict:
    result = await gql(DEFAULTS_SET, {"input": {**OFFICE, **given}}, token=world.tokens[token])
    return result["data"]["localNetworkDefaultsSet"]


async def create_location(gql, world, name: str, **given) -> str:
    result = await gql(LOCATION_CREATE, {"input": {"name": name, **given}}, token=world.tokens["admin_a"])
    assert result["data"]["locationCreate"]["errors"] == [], result
    return result["data"]["locationCreate"]["location"]["id"]


async def network_of(gql, world, location_id: str, token="admin_a") -> dict:
    return (await gql(LOCATION, {"id": location_id}, token=world.tokens[token]))["data"]["node"]["localNetwork"]


async def test_new_locations_copy_the_nearest_defaults(gql, world, runtime):
    before = await create_location(gql, world, "Before defaults")
    assert await network_of(gql, world, before) == {"settings": None, "reportedSubnet": None, "matchesRouter": None}

    assert await set_defaults(gql, world) == {
        "settings": {"subnet": "192.168.10.0/24", "gateway": "192.168.10.1", "dnsServers": ["192.168.10.1", "9.9.9.9"]},
        "errors": [],
    }
    shown = await gql("{ localNetworkDefaults { subnet gateway dnsServers } }", token=world.tokens["admin_a"])
    assert shown["data"]["localNetworkDefaults"]["subnet"] == "192.168.10.0/24"
    depot = await create_location(gql, world, "Depot")
    # a sub-organisation without defaults of its own inherits A's
    child = await create_location(gql, world, "Child depot", organisationId=world.id("Organisation", "a1"))
    for location in (depot, child):
        assert (await network_of(gql, world, location))["settings"]["subnet"] == "192.168.10.0/24"
    assert (await network_of(gql, world, before))["settings"] is None  # a copy at creation only

    # new defaults reach new locations only; the child's own defaults win over A's for its locations
    assert (await set_defaults(gql, world, subnet="10.20.0.0/16", gateway="10.20.0.1", dnsServers=[]))["errors"] == []
    own = {"organisationId": world.id("Organisation", "a1"), "subnet": "172.16.5.0/24", "gateway": "172.16.5.254"}
    assert (await set_defaults(gql, world, **own))["errors"] == []
    later = await create_location(gql, world, "Later depot")
    child_later = await create_location(gql, world, "Child later", organisationId=world.id("Organisation", "a1"))
    assert (await network_of(gql, world, depot))["settings"]["subnet"] == "192.168.10.0/24"
    assert (await network_of(gql, world, later))["settings"] == {
        "subnet": "10.20.0.0/16",
        "gateway": "10.20.0.1",
        "dnsServers": [],
    }
    assert (await network_of(gql, world, child_later))["settings"]["gateway"] == "172.16.5.254"
    # B sees nothing of it and B's locations inherit nothing of A's
    assert (await gql("{ localNetworkDefaults { subnet } }", token=world.tokens["admin_b"]))["data"] == {
        "localNetworkDefaults": None
    }


BAD = [
    ({"subnet": "192.168.10.5/24"}, "subnet", "the subnet is 192.168.10.0/24"),
    ({"subnet": "192.168.10.0/33"}, "subnet", "CIDR"),
    ({"subnet": "not a subnet"}, "subnet", "CIDR"),
    ({"subnet": ""}, "subnet", "required"),
    ({"subnet": "192.168.0.0/31"}, "subnet", "prefix"),
    ({"subnet": "8.8.8.0/24", "gateway": "8.8.8.1"}, "subnet", "private"),
    ({"subnet": "fd00::/64"}, "subnet", "CIDR"),
    ({"gateway": "192.168.11.1"}, "gateway", "inside the subnet"),
    ({"gateway": "192.168.10.0"}, "gateway", "network or the broadcast"),
    ({"gateway": "192.168.10.255"}, "gateway", "network or the broadcast"),
    ({"gateway": "192.168.10.x"}, "gateway", "IPv4 address"),
    ({"dnsServers": ["1.1.1.1", "1.1.1.1"]}, "dnsServers.1", "twice"),
    ({"dnsServers": ["192.168.10.255"]}, "dnsServers.0", "broadcast"),
    ({"dnsServers": ["0.0.0.0"]}, "dnsServers.0", "usable"),
    ({"dnsServers": ["dns.example"]}, "dnsServers.0", "IP address"),
    ({"dnsServers": ["1.1.1.1", "1.0.0.1", "9.9.9.9", "8.8.8.8"]}, "dnsServers", "At most 3"),
]


@pytest.mark.parametrize(("given", "field", "message"), BAD, ids=[case[1] + ":" + case[2] for case in BAD])
async def test_bad_settings_are_refused_and_change_nothing(gql, world, runtime, given, field, message):
    assert (await set_defaults(gql, world))["errors"] == []
    location = await create_location(gql, world, "Depot")
    before = await snapshot(runtime)
    refused = await set_defaults(gql, world, **given)
    assert refused["settings"] is None
    [error] = refused["errors"]
    assert ".".join(error["field"]) == field and message.lower() in error["message"].lower(), error
    own = await gql(LOCATION_SET, {"input": {**OFFICE, **given, "locationId": location}}, token=world.tokens["admin_a"])
    assert [e["code"] for e in own["data"]["locationNetworkSet"]["errors"]] == [error["code"]]
    assert await snapshot(runtime) == before


async def test_only_portal_and_location_managers_set_them(gql, world, runtime):
    location = await create_location(gql, world, "Depot")
    before = await snapshot(runtime)
    for document, given in ((DEFAULTS_SET, OFFICE), (LOCATION_SET, {**OFFICE, "locationId": location})):
        result = await gql(document, {"input": given}, token=world.tokens["user_a"])
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # B's admin: A's location and A's child read like unknown ones
    other = await gql(LOCATION_SET, {"input": {**OFFICE, "locationId": location}}, token=world.tokens["admin_b"])
    assert [e["code"] for e in other["data"]["locationNetworkSet"]["errors"]] == ["NOT_FOUND"]
    child = await set_defaults(gql, world, "admin_b", organisationId=world.id("Organisation", "a1"))
    assert [e["code"] for e in child["errors"]] == ["NOT_FOUND"]
    assert await snapshot(runtime) == before


async def test_the_router_reports_its_lan_and_the_location_says_whether_it_matches(gql, world, runtime):
    router = await register(gql, world, "R_LAN1", "00:00:00:00:01:01", "SN-LAN-1")
    assert (await set_defaults(gql, world))["errors"] == []
    location = await create_location(gql, world, "Depot", routerId=router)
    reporter = await api_user_token(runtime, world, "a", "router-api@a.example")

    async def beat(status: dict) -> dict:
        result = await gql(HEARTBEAT, {"input": {"commonName": "R_LAN1", "status": status}}, token=reporter)
        return result["data"]["routerHeartbeat"]

    assert (await network_of(gql, world, location))["reportedSubnet"] is None
    # a router names its LAN by its own address with the prefix: stored as the network
    assert (await beat({"lanSubnet": "192.168.10.1/24", "cpuLoad": 5}))["errors"] == []
    assert await network_of(gql, world, location) == {
        "settings": {"subnet": "192.168.10.0/24", "gateway": "192.168.10.1", "dnsServers": ["192.168.10.1", "9.9.9.9"]},
        "reportedSubnet": "192.168.10.0/24",
        "matchesRouter": True,
    }
    assert (await beat({"cpuLoad": 7}))["errors"] == []  # a report without the LAN keeps the last one named
    assert (await network_of(gql, world, location))["matchesRouter"] is True
    assert (await beat({"lanSubnet": "192.168.1.0/24"}))["errors"] == []
    assert (await network_of(gql, world, location))["reportedSubnet"] == "192.168.1.0/24" and (
        await network_of(gql, world, location)
    )["matchesRouter"] is False

    # the location's own settings follow the router
    changed = await gql(
        LOCATION_SET,
        {"input": {"locationId": location, "subnet": "192.168.1.0/24", "gateway": "192.168.1.1"}},
        token=world.tokens["admin_a"],
    )
    assert changed["data"]["locationNetworkSet"]["location"]["localNetwork"]["matchesRouter"] is True

    before = await snapshot(runtime)
    refused = await beat({"lanSubnet": "192.168.1.0/40", "cpuLoad": 1})
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", ["status", "lanSubnet"])]
    assert await snapshot(runtime) == before


def test_mqtt_heartbeats_carry_the_lan():
    assert parse_status(b'{"lanSubnet": "10.1.2.3/16", "cpuLoad": 3}').lan_subnet == "10.1.2.3/16"
    assert parse_status(b'{"cpuLoad": 3}').lan_subnet is None
    with pytest.raises(BadHeartbeat, match="lanSubnet"):
        parse_status(b'{"lanSubnet": 24}')


async def test_the_location_list_loads_networks_in_one_statement(gql, world, runtime, count_sql):
    counts = []
    for size in (3, 30):
        async with runtime.session_factory() as session, session.begin():
            organisation = await add_organisation(
                session, f"Networks {size}", await session.get(m.Organisation, world.organisations["a"].id)
            )
            for i in range(size):
                router = await add_router(
                    session, organisation.id, f"R_NET{size}X{i}", f"02:00:00:00:{size:02x}:{i:02x}", f"N{size}-{i}"
                )
                await add_location(session, organisation.id, f"Net {i:02d}", router.id)
        with count_sql() as counter:
            result = await gql(
                f"{{ locations(first: 100) {{ totalCount nodes {{ name {NETWORK} }} }} }}",
                token=world.tokens["admin_a"],
            )
        assert "errors" not in result, result
        counts.append(counter.count)
    # authentication + page + totalCount + networks with the routers' reports
    assert counts == [4, 4]
