"""Connections through a router: every connect/disconnect result, the licence limit (also under
concurrent connects), status and last error, history paging, tenancy, and the watchdog ending the
connections of a router that went offline."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from graph.relay import from_global_id, to_global_id
from models import identity as m
from models import remote as r
from models.audit import AuditEvent
from models.base import utcnow
from resolvers.remote.workers.watchdog import RouterWatchdog, end_connections_of_offline_routers
from subscriptions import channels
from tests.factories import add_user, issue_token, snapshot
from tests.remote.helpers import (
    CONNECT,
    DISCONNECT,
    HEARTBEAT,
    LOCATION_CREATE,
    api_user_token,
    create_location_device,
    grant_location,
    log_position,
    logged_since,
    register,
)

STATUS = (
    "{ connectionStatus { id routerCommonName deviceName location { name } router { commonName online } startedAt } }"
)
LAST_ERROR = "{ lastErrorDetails { result message routerCommonName at } }"
LICENCE = "query($id: ID) { connectionLicence(organisationId: $id) { maxActive active organisation { name } } }"
LICENCE_SET = """mutation($input: ConnectionLicenceSetInput!) {
  connectionLicenceSet(input: $input) { licence { maxActive active } errors { code field message } }
}"""
HISTORY = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Location {
  connectionHistory(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { userName deviceName routerCommonName startedAt endedAt duration endReason }
  }
} } }"""
ACTIVE = "{ activeConnections(first: 50) { totalCount nodes { userName routerCommonName location { name } } } }"


async def site(
    gql, world, runtime, name: str, common_name: str | None, n: int, *, organisation: str = "a", online: bool = True
) -> str:
    """A location of `organisation` (made by its admin), with a router (online after a heartbeat) unless None."""
    router_id = None
    if common_name is not None:
        router_id = await register(
            gql, world, common_name, f"00:00:00:00:01:{n:02X}", f"SN-{n}", organisation=organisation
        )
    given = {"name": name, **({"routerId": router_id} if router_id else {})}
    result = await gql(LOCATION_CREATE, {"input": given}, token=world.tokens[f"admin_{organisation}"])
    assert result["data"]["locationCreate"]["errors"] == [], result
    if common_name is not None and online:
        reporter = await api_user_token(runtime, world, organisation, f"reporter{n}@{organisation}.example")
        assert (await gql(HEARTBEAT, {"input": {"commonName": common_name}}, token=reporter))["data"][
            "routerHeartbeat"
        ]["errors"] == []
    return result["data"]["locationCreate"]["location"]["id"]


async def connect(gql, world, token: str = "user_a", **given) -> dict:
    result = await gql(CONNECT, {"input": given}, token=world.tokens.get(token, token))
    assert "errors" not in result, result
    return result["data"]["routerConnect"]


async def disconnect(gql, world, token: str = "user_a", **given) -> dict:
    result = await gql(DISCONNECT, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["routerDisconnect"]


async def active_rows(runtime) -> list[tuple]:
    async with runtime.session_factory() as session:
        return [
            tuple(row)
            for row in (
                await session.execute(
                    select(r.RouterConnection.user_id, r.RouterConnection.location_id).where(
                        r.RouterConnection.ended_at.is_(None)
                    )
                )
            ).all()
        ]


async def set_licence(gql, world, organisation: str, value: int | None, token: str = "platform") -> dict:
    return await gql(
        LICENCE_SET,
        {"input": {"organisationId": world.id("Organisation", organisation), "maxActiveConnections": value}},
        token=world.tokens[token],
    )


async def test_connect_status_and_disconnect(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    await grant_location(runtime, world, "user_a", depot)
    assert (await gql(STATUS, token=world.tokens["user_a"]))["data"]["connectionStatus"] is None

    made = await connect(gql, world, commonName="r_a1")  # any case, as everywhere
    assert (made["result"], made["errors"]) == ("CONNECTED", [])
    connection = made["connection"]
    assert (connection["routerCommonName"], connection["userEmail"], connection["location"], connection["router"]) == (
        "R_A1",
        "user@a.example",
        {"name": "Depot"},
        {"commonName": "R_A1"},
    )
    assert (connection["active"], connection["endedAt"], connection["duration"], connection["endReason"]) == (
        True,
        None,
        None,
        None,
    )
    status = (await gql(STATUS, token=world.tokens["user_a"]))["data"]["connectionStatus"]
    assert (status["id"], status["location"], status["router"]) == (
        connection["id"],
        {"name": "Depot"},
        {"commonName": "R_A1", "online": True},
    )

    # the same location again, by common name or by location: the connection that is there
    for given in ({"commonName": "R_A1"}, {"locationId": depot}):
        again = await connect(gql, world, **given)
        assert (again["result"], again["connection"]["id"]) == ("ALREADY_CONNECTED", connection["id"])
    assert await active_rows(runtime) == [(world.users["user_a"].id, from_global_id(depot)[1])]
    # ALREADY_CONNECTED is no refusal
    assert (await gql(LAST_ERROR, token=world.tokens["user_a"]))["data"]["lastErrorDetails"] is None

    ended = await disconnect(gql, world)
    assert ended["result"] == "DISCONNECTED" and ended["connection"]["id"] == connection["id"]
    assert ended["connection"]["endReason"] == "DISCONNECTED" and ended["connection"]["duration"] >= 0
    assert ended["connection"]["active"] is False
    assert (await gql(STATUS, token=world.tokens["user_a"]))["data"]["connectionStatus"] is None
    assert await active_rows(runtime) == []

    nothing = await disconnect(gql, world)
    assert (nothing["result"], nothing["connection"], nothing["errors"]) == ("NOT_CONNECTED", None, [])
    last = (await gql(LAST_ERROR, token=world.tokens["user_a"]))["data"]["lastErrorDetails"]
    assert last["result"] == "NOT_CONNECTED" and last["message"]

    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.in_(["router.connected", "router.disconnected"]))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["router.connected", "router.disconnected"]


async def test_every_refusal_is_a_result_and_kept_as_last_error(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    yard = await site(gql, world, runtime, "Yard", "R_A2", 2)
    cold = await site(gql, world, runtime, "Cold store", "R_A3", 3, online=False)
    empty = await site(gql, world, runtime, "Empty", None, 4)
    hidden = await site(gql, world, runtime, "Hidden", "R_A5", 5)
    for location in (depot, yard, cold, empty):
        await grant_location(runtime, world, "user_a", location)

    async def refused(expected: str, common_name: str, **given):
        answer = await connect(gql, world, **given)
        assert (answer["result"], answer["connection"], answer["errors"]) == (expected, None, []), answer
        last = (await gql(LAST_ERROR, token=world.tokens["user_a"]))["data"]["lastErrorDetails"]
        assert (last["result"], last["routerCommonName"]) == (expected, common_name) and last["message"], last

    # a location of the user's own organisation not given to them
    await refused("NOT_ALLOWED", "R_A5", locationId=hidden)
    await refused("NOT_ALLOWED", "R_A5", commonName="R_A5")
    await refused("NO_ROUTER", "", locationId=empty)
    await refused("ROUTER_OFFLINE", "R_A3", locationId=cold)
    assert (await connect(gql, world, locationId=depot))["result"] == "CONNECTED"
    await refused("CONNECTED_ELSEWHERE", "R_A2", commonName="R_A2")
    # a free router of the organisation: at no location to connect to
    await register(gql, world, "R_FREE", "00:00:00:00:02:01", "SN-free")
    assert (await connect(gql, world, token="admin_a", commonName="R_FREE"))["result"] == "NOT_ALLOWED"
    # only the one connection was made
    assert await active_rows(runtime) == [(world.users["user_a"].id, from_global_id(depot)[1])]


async def test_input_errors_change_nothing(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    yard = await site(gql, world, runtime, "Yard", "R_A2", 2)
    device = (await create_location_device(gql, world, locationId=yard, name="PLC", ipAddress="10.0.0.1"))["device"][
        "id"
    ]
    before = await snapshot(runtime)
    for given, code, field in (
        ({}, "REQUIRED", "commonName"),
        ({"commonName": "R_A1", "locationId": depot}, "INVALID", "locationId"),
        ({"commonName": "not a name"}, "INVALID", "commonName"),
        ({"commonName": "R_NOSUCH"}, "NOT_FOUND", "commonName"),
        ({"locationId": to_global_id("Location", 999_999)}, "NOT_FOUND", "locationId"),
        ({"locationId": to_global_id("Router", from_global_id(depot)[1])}, "NOT_FOUND", "locationId"),
        ({"locationId": depot, "deviceId": device}, "NOT_FOUND", "deviceId"),  # a device of another location
        ({"locationId": depot, "deviceId": "!!!"}, "NOT_FOUND", "deviceId"),
    ):
        answer = await connect(gql, world, token="admin_a", **given)
        assert answer["result"] is None and answer["connection"] is None
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [(code, [field])], (given, answer)
    answer = await disconnect(gql, world, token="admin_a", connectionId=to_global_id("RemoteConnection", 999_999))
    assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    assert await snapshot(runtime) == before

    # with a device of the location its name is recorded
    made = await connect(gql, world, token="admin_a", locationId=yard, deviceId=device)
    assert (made["result"], made["connection"]["deviceName"]) == ("CONNECTED", "PLC")


async def test_other_tenants_router_and_location_read_like_unknown_ones(gql, world, runtime):
    theirs = await site(gql, world, runtime, "Theirs", "R_B1", 1, organisation="b")
    unknown = to_global_id("Location", from_global_id(theirs)[1] + 1000)
    before = await snapshot(runtime)
    for other, missing in (
        ({"commonName": "R_B1"}, {"commonName": "R_B9"}),
        ({"locationId": theirs}, {"locationId": unknown}),
    ):
        with_other = await connect(gql, world, token="admin_a", **other)
        with_unknown = await connect(gql, world, token="admin_a", **missing)
        assert with_other == with_unknown and [e["code"] for e in with_other["errors"]] == ["NOT_FOUND"]
    # nor does a refusal of theirs show as our last error
    assert (await gql(LAST_ERROR, token=world.tokens["admin_a"]))["data"]["lastErrorDetails"] is None
    assert await snapshot(runtime) == before

    # their connection is no connection of ours to end, nor to look up
    made = await connect(gql, world, token="admin_b", locationId=theirs)
    assert made["result"] == "CONNECTED"
    before = await snapshot(runtime)
    ended = await disconnect(gql, world, token="admin_a", connectionId=made["connection"]["id"])
    assert [e["code"] for e in ended["errors"]] == ["NOT_FOUND"]
    node = await gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": made["connection"]["id"]}, token=world.tokens["admin_a"]
    )
    assert node["data"]["node"] is None
    assert await snapshot(runtime) == before


async def test_external_user_connects_only_to_granted_locations(gql, world, runtime):
    granted = await site(gql, world, runtime, "Granted", "R_A1", 1)
    other = await site(gql, world, runtime, "Other", "R_A2", 2)
    await grant_location(runtime, world, "user_b", granted)
    assert (await set_licence(gql, world, "a", 1))["data"]["connectionLicenceSet"]["errors"] == []

    # not granted: another tenant's location, so it reads like an unknown one
    refused = await connect(gql, world, token="user_b", locationId=other)
    unknown = await connect(gql, world, token="user_b", locationId=to_global_id("Location", 999_999))
    assert refused == unknown and [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    refused = await connect(gql, world, token="user_b", commonName="R_A2")
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]

    made = await connect(gql, world, token="user_b", commonName="R_A1")
    assert made["result"] == "CONNECTED" and made["connection"]["location"] == {"name": "Granted"}
    # the licence is the location's organisation's: A's one licence is now taken by B's user
    licence = (await gql(LICENCE, token=world.tokens["admin_a"]))["data"]["connectionLicence"]
    assert licence == {"maxActive": 1, "active": 1, "organisation": {"name": world.organisations["a"].name}}
    assert (await gql(LICENCE, token=world.tokens["admin_b"]))["data"]["connectionLicence"]["active"] == 0
    assert (await connect(gql, world, token="admin_a", locationId=other))["result"] == "LICENCE_LIMIT_REACHED"
    # A's manager sees the external user's connection (by name, not their account) and may end it
    history = (await gql(HISTORY, {"id": granted}, token=world.tokens["admin_a"]))["data"]["node"]["connectionHistory"]
    assert [n["userName"] for n in history["nodes"]] == [world.users["user_b"].name]
    connection = (
        await gql(
            "query($id: ID!) { node(id: $id) { ... on RemoteConnection { user { email } userEmail } } }",
            {"id": made["connection"]["id"]},
            token=world.tokens["admin_a"],
        )
    )["data"]["node"]
    assert connection == {"user": None, "userEmail": "user@b.example"}
    assert (await disconnect(gql, world, token="admin_a", connectionId=made["connection"]["id"]))[
        "result"
    ] == "DISCONNECTED"
    assert (await connect(gql, world, token="admin_a", locationId=other))["result"] == "CONNECTED"


async def test_licence_limit(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    yard = await site(gql, world, runtime, "Yard", "R_A2", 2)
    await grant_location(runtime, world, "user_a", depot)
    # no licence row: no limit
    assert (await gql(LICENCE, token=world.tokens["admin_a"]))["data"]["connectionLicence"]["maxActive"] is None
    assert (await connect(gql, world, locationId=depot))["result"] == "CONNECTED"
    assert (await connect(gql, world, token="admin_a", locationId=yard))["result"] == "CONNECTED"

    # a limit below the connections in use ends none of them, and admits nobody until there is room
    assert (await set_licence(gql, world, "a", 1))["data"]["connectionLicenceSet"] == {
        "licence": {"maxActive": 1, "active": 2},
        "errors": [],
    }
    assert (await disconnect(gql, world, token="admin_a"))["result"] == "DISCONNECTED"
    refused = await connect(gql, world, token="admin_a", locationId=yard)
    assert refused["result"] == "LICENCE_LIMIT_REACHED"
    last = (await gql(LAST_ERROR, token=world.tokens["admin_a"]))["data"]["lastErrorDetails"]
    assert (last["result"], last["routerCommonName"]) == ("LICENCE_LIMIT_REACHED", "R_A2")
    assert (await disconnect(gql, world))["result"] == "DISCONNECTED"
    assert (await connect(gql, world, token="admin_a", locationId=yard))["result"] == "CONNECTED"

    # 0 admits none; null lifts the limit
    assert (await disconnect(gql, world, token="admin_a"))["result"] == "DISCONNECTED"
    assert (await set_licence(gql, world, "a", 0))["data"]["connectionLicenceSet"]["errors"] == []
    assert (await connect(gql, world, locationId=depot))["result"] == "LICENCE_LIMIT_REACHED"
    assert (await set_licence(gql, world, "a", None))["data"]["connectionLicenceSet"]["licence"] == {
        "maxActive": None,
        "active": 0,
    }
    assert (await connect(gql, world, locationId=depot))["result"] == "CONNECTED"


async def test_licence_set_is_for_platform_admins_and_validated(gql, world, runtime):
    before = await snapshot(runtime)
    forbidden = await set_licence(gql, world, "a", 5, token="admin_a")
    assert forbidden["data"] is None and forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for value in (-1, 100_001):
        answer = (await set_licence(gql, world, "a", value))["data"]["connectionLicenceSet"]
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID", ["maxActiveConnections"])]
    answer = await gql(
        LICENCE_SET,
        {"input": {"organisationId": to_global_id("Organisation", 999_999), "maxActiveConnections": 3}},
        token=world.tokens["platform"],
    )
    assert [e["code"] for e in answer["data"]["connectionLicenceSet"]["errors"]] == ["NOT_FOUND"]
    assert await snapshot(runtime) == before
    # reading: your subtree's organisations; others read like unknown ones (null)
    assert (await set_licence(gql, world, "b", 2))["data"]["connectionLicenceSet"]["errors"] == []
    for organisation in ("b", None):
        variables = {
            "id": world.id("Organisation", organisation) if organisation else to_global_id("Organisation", 999_999)
        }
        assert (await gql(LICENCE, variables, token=world.tokens["admin_a"]))["data"]["connectionLicence"] is None
    assert (await gql(LICENCE, {"id": world.id("Organisation", "b")}, token=world.tokens["admin_b"]))["data"][
        "connectionLicence"
    ]["maxActive"] == 2
    child = await gql(LICENCE, {"id": world.id("Organisation", "a1")}, token=world.tokens["admin_a"])
    assert child["data"]["connectionLicence"] == {
        "maxActive": None,
        "active": 0,
        "organisation": {"name": world.organisations["a1"].name},
    }
    plain = await gql(LICENCE, token=world.tokens["user_a"])
    assert plain["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_concurrent_connects_never_exceed_the_licence(gql, world, runtime):
    locations = [await site(gql, world, runtime, f"Site {n}", f"R_A{n}", n) for n in range(1, 5)]
    tokens = []
    async with runtime.session_factory() as session, session.begin():
        for n in range(4):
            user = await add_user(session, world.organisations["a"], f"engineer{n}@a.example", [m.Role.USER])
            session.add(r.LocationUserAccess(location_id=from_global_id(locations[n])[1], user_id=user.id))
            tokens.append(await issue_token(session, user))
    assert (await set_licence(gql, world, "a", 2))["data"]["connectionLicenceSet"]["errors"] == []

    for round_ in range(3):
        answers = await asyncio.gather(
            *(
                connect(gql, world, token=token, locationId=location)
                for token, location in zip(tokens, locations, strict=True)
            )
        )
        results = sorted(answer["result"] for answer in answers)
        assert results == ["CONNECTED", "CONNECTED", "LICENCE_LIMIT_REACHED", "LICENCE_LIMIT_REACHED"], (
            round_,
            answers,
        )
        assert len(await active_rows(runtime)) == 2
        for token, answer in zip(tokens, answers, strict=True):
            if answer["result"] == "CONNECTED":
                assert (await gql(DISCONNECT, {"input": None}, token=token))["data"]["routerDisconnect"][
                    "result"
                ] == "DISCONNECTED"


async def test_one_user_connecting_twice_at_once_holds_one_connection(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    yard = await site(gql, world, runtime, "Yard", "R_A2", 2)
    same = await asyncio.gather(*(connect(gql, world, token="admin_a", locationId=depot) for _ in range(3)))
    assert sorted(a["result"] for a in same) == ["ALREADY_CONNECTED", "ALREADY_CONNECTED", "CONNECTED"]
    assert len({a["connection"]["id"] for a in same}) == 1
    assert (await disconnect(gql, world, token="admin_a"))["result"] == "DISCONNECTED"
    apart = await asyncio.gather(
        connect(gql, world, token="admin_a", locationId=depot), connect(gql, world, token="admin_a", locationId=yard)
    )
    assert sorted(a["result"] for a in apart) == ["CONNECTED", "CONNECTED_ELSEWHERE"]
    assert len(await active_rows(runtime)) == 1


async def test_history_paging_and_who_sees_it(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    await grant_location(runtime, world, "user_a", depot)
    location_pk = from_global_id(depot)[1]
    start = utcnow() - timedelta(days=1)
    async with runtime.session_factory() as session, session.begin():
        router_id = await session.scalar(select(r.Router.id).where(r.Router.common_name == "R_A1"))
        for n in range(5):
            user = world.users["user_a" if n % 2 else "admin_a"]
            began = start + timedelta(hours=n)
            session.add(
                r.RouterConnection(
                    organisation_id=world.organisations["a"].id,
                    location_id=location_pk,
                    router_id=router_id,
                    router_common_name="R_A1",
                    user_id=user.id,
                    device_name=f"Device {n}",
                    started_at=began,
                    ended_at=began + timedelta(minutes=n + 1),
                    end_reason=r.ConnectionEnd.DISCONNECTED,
                )
            )
    seen, after = [], None
    while True:
        page = (await gql(HISTORY, {"id": depot, "first": 2, "after": after}, token=world.tokens["admin_a"]))["data"][
            "node"
        ]["connectionHistory"]
        assert page["totalCount"] == 5
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # newest first, with duration in seconds and the names kept
    assert [n["deviceName"] for n in seen] == [f"Device {n}" for n in (4, 3, 2, 1, 0)]
    assert [n["duration"] for n in seen] == [300, 240, 180, 120, 60]
    assert seen[0]["userName"] == world.users["admin_a"].name and seen[0]["endReason"] == "DISCONNECTED"
    # somebody who does not manage the location sees only their own connections there
    own = (await gql(HISTORY, {"id": depot}, token=world.tokens["user_a"]))["data"]["node"]["connectionHistory"]
    assert [n["deviceName"] for n in own["nodes"]] == ["Device 3", "Device 1"]


async def test_active_connections_for_managers(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    theirs = await site(gql, world, runtime, "Theirs", "R_B1", 2, organisation="b")
    await grant_location(runtime, world, "user_a", depot)
    assert (await connect(gql, world, locationId=depot))["result"] == "CONNECTED"
    assert (await connect(gql, world, token="admin_b", locationId=theirs))["result"] == "CONNECTED"
    listed = (await gql(ACTIVE, token=world.tokens["admin_a"]))["data"]["activeConnections"]
    assert listed == {
        "totalCount": 1,
        "nodes": [{"userName": world.users["user_a"].name, "routerCommonName": "R_A1", "location": {"name": "Depot"}}],
    }
    assert (await gql(ACTIVE, token=world.tokens["user_a"]))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_watchdog_ends_connections_of_offline_routers(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    yard = await site(gql, world, runtime, "Yard", "R_A2", 2)
    await grant_location(runtime, world, "user_a", depot)
    mine = (await connect(gql, world, locationId=depot))["connection"]
    kept = (await connect(gql, world, token="admin_a", locationId=yard))["connection"]
    # R_A1 falls silent; R_A2 keeps reporting
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(r.Router)
            .where(r.Router.common_name == "R_A1")
            .values(last_heartbeat_at=utcnow() - timedelta(hours=1))
        )
    await RouterWatchdog(runtime).run_round()

    status = (await gql(STATUS, token=world.tokens["user_a"]))["data"]["connectionStatus"]
    assert status is None
    history = (await gql(HISTORY, {"id": depot}, token=world.tokens["user_a"]))["data"]["node"]["connectionHistory"][
        "nodes"
    ]
    assert [n["endReason"] for n in history] == ["ROUTER_OFFLINE"] and history[0]["endedAt"] is not None
    assert (await gql(STATUS, token=world.tokens["admin_a"]))["data"]["connectionStatus"]["id"] == kept["id"]
    # a connect to the offline router is refused; and a second round ends nothing more, telling nothing
    assert (await connect(gql, world, locationId=depot))["result"] == "ROUTER_OFFLINE"
    position = await log_position(runtime)
    assert await end_connections_of_offline_routers(runtime, utcnow()) == []
    assert await logged_since(runtime, position) == []
    async with runtime.session_factory() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(r.RouterConnection).where(r.RouterConnection.ended_at.is_(None))
            )
            == 1
        )
    assert mine["id"] != kept["id"]


async def test_watchdog_tells_of_each_ended_connection(gql, world, runtime):
    depot = await site(gql, world, runtime, "Depot", "R_A1", 1)
    made = (await connect(gql, world, token="admin_a", locationId=depot))["connection"]
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(r.Router).where(r.Router.common_name == "R_A1").values(online=False))
    position = await log_position(runtime)
    now = utcnow()
    ended = await end_connections_of_offline_routers(runtime, now)
    published = await logged_since(runtime, position)
    assert [to_global_id("RemoteConnection", pk) for pk in ended] == [made["id"]]
    assert [
        (channel, payload["kind"], payload["locationId"], payload["connectionId"]) for channel, payload in published
    ] == [(channels.ROUTER_STATE, "DISCONNECTED", depot, made["id"])]
