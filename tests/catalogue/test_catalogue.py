"""The device catalogue: product types, the devices query with its filters and paging, node lookup."""

from __future__ import annotations

import csv
import dataclasses
import io
from urllib.parse import urlsplit

from sqlalchemy import func, select

from graph.relay import to_global_id
from graph.schema import build_schema
from models import catalogue as c
from resolvers.catalogue.product_types.rules import MANUFACTURER, PRODUCT_TYPES
from tests.factories import add_batch, add_devices, product_type_ids

#: The manuals' device table.
MANUAL_DEVICES = [
    ("21N001052", "TOPAS Lora W8", True, ["north"]),
    ("21N001064", "TOPAS Lora W8", False, ["north", "roof"]),
    ("9999990", "CalecST III LoRa Module", True, []),
    ("9999991", "CalecST III WM-Bus", False, ["roof"]),
    ("9999992", "aquastream LoRa", False, []),
    ("9999993", "Aquastream WM-Bus", True, []),
    ("Y20TA010056", "TOPAS Mbus", False, []),
    ("Y20TA010057", "TOPAS Mbus", False, []),
]

DEVICES = """query($filter: DeviceFilter, $first: Int, $after: String, $last: Int, $before: String, $orderBy:
  DeviceOrder) {
  devices(filter: $filter, first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    nodes { id serialNumber manufacturer claimStatus labels claimedAt productType { name radioTechnology keyKinds }
            organisation { name } batch { reference label } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def seed(runtime, world) -> dict[str, int]:
    async with runtime.session_factory() as session, session.begin():
        a, platform = world.organisations["a"].id, world.organisations["platform"].id
        batch = (await add_batch(session, "B-2024-01", a, platform, "spring")).id
    ids = await add_devices(runtime, world.organisations["a"].id, MANUAL_DEVICES[:4], batch_id=batch)
    ids |= await add_devices(runtime, world.organisations["a1"].id, MANUAL_DEVICES[4:])
    # tenant B has devices with serials of the same shape, one of them with A's prefix
    ids |= await add_devices(runtime, world.organisations["b"].id, [("21N009999", "TOPAS Lora W8", False, ["north"])])
    return ids


async def serials(gql, token, **variables) -> list[str]:
    result = await gql(DEVICES, variables, token=token)
    assert "errors" not in result, result
    connection = result["data"]["devices"]
    assert connection["totalCount"] >= len(connection["nodes"])
    return [n["serialNumber"] for n in connection["nodes"]]


async def test_product_types_are_installed_once(gql, world, runtime):
    await runtime.install_shipped_data()  # again: idempotent
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(c.ProductType)) == len(PRODUCT_TYPES)
    result = await gql(
        "{ productTypes { id name manufacturer radioTechnology keyKinds } }", token=world.tokens["user_a"]
    )
    types = {t["name"]: t for t in result["data"]["productTypes"]}
    assert set(types) == set(PRODUCT_TYPES)
    assert {
        "TOPAS SONIC",
        "RUBIN SONIC",
        "aquastream LoRa",
        "aquaradio MultiCom",
        "AMTRON SONIC D",
        "CALEC ST III LoRa",
        "TOPAS Lora W8",
        "TOPAS Mbus",
        "CalecST III WM-Bus",
        "Aquastream WM-Bus",
        "aquastream Radio L8",
    } <= set(types)
    assert types["TOPAS Lora W8"]["radioTechnology"] == "LORAWAN" and types["TOPAS Lora W8"]["keyKinds"] == [
        "LORAWAN_APP_KEY"
    ]
    assert types["Aquastream WM-Bus"]["keyKinds"] == ["OMS_KEY"]
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on ProductType { name } } }",
        {"id": types["TOPAS Mbus"]["id"]},
        token=world.tokens["user_b"],
    )
    assert node["data"]["node"] == {"name": "TOPAS Mbus"}


async def test_catalogue_lists_own_subtree_with_relations(gql, world, runtime):
    await seed(runtime, world)
    result = await gql(DEVICES, {}, token=world.tokens["user_a"])
    connection = result["data"]["devices"]
    assert connection["totalCount"] == 8
    assert [n["serialNumber"] for n in connection["nodes"]] == sorted(d[0] for d in MANUAL_DEVICES)
    first = next(n for n in connection["nodes"] if n["serialNumber"] == "21N001064")
    assert first["productType"] == {
        "name": "TOPAS Lora W8",
        "radioTechnology": "LORAWAN",
        "keyKinds": ["LORAWAN_APP_KEY"],
    }
    assert first["labels"] == ["north", "roof"] and first["claimStatus"] == "UNCLAIMED"
    assert first["organisation"] == {"name": "Tenant A"} and first["manufacturer"] == MANUFACTURER
    assert first["batch"] == {"reference": "B-2024-01", "label": "spring"}
    child_device = next(n for n in connection["nodes"] if n["serialNumber"] == "9999992")
    assert child_device["batch"] is None and child_device["organisation"] == {"name": "Tenant A1"}

    # the child organisation sees only its own; B sees only B's; the platform admin sees all
    assert await serials(gql, world.tokens["user_a1"]) == ["9999992", "9999993", "Y20TA010056", "Y20TA010057"]
    assert await serials(gql, world.tokens["user_b"]) == ["21N009999"]
    assert len(await serials(gql, world.tokens["platform"])) == 9


async def test_no_key_material_in_device_types(runtime):
    """Keys leave only through the key download: no catalogue type has a key-valued field."""
    from graphql import GraphQLEnumType, get_named_type

    schema = build_schema()._schema
    for type_name in ("Device", "ProductType", "Batch"):
        for name, definition in schema.type_map[type_name].fields.items():
            if "key" in name.lower():
                # the kinds of keys a type carries, and the keys' metadata: never a key value
                assert (name, get_named_type(definition.type).name) in {
                    ("keyKinds", "KeyKind"),
                    ("keys", "DeviceKeyInfo"),
                }, (type_name, name)
    metadata = schema.type_map["DeviceKeyInfo"].fields
    assert set(metadata) == {"kind", "algorithm", "state", "validFrom", "validUntil", "createdAt"}
    # enums and timestamps only: no field could carry the key's value
    assert all(
        isinstance(get_named_type(f.type), GraphQLEnumType) or get_named_type(f.type).name == "DateTime"
        for f in metadata.values()
    )


async def test_filters(gql, world, runtime):
    ids = await seed(runtime, world)
    token = world.tokens["user_a"]
    types = await product_type_ids(runtime)
    assert await serials(gql, token, filter={"serialNumber": "9999991"}) == ["9999991"]
    assert await serials(gql, token, filter={"serialNumber": "999999"}) == []  # exact, not prefix
    assert await serials(gql, token, filter={"serialNumberPrefix": "21N"}) == [
        "21N001052",
        "21N001064",
    ]  # not B's 21N009999
    assert await serials(gql, token, filter={"serialNumberPrefix": "%"}) == []  # wildcards are literal
    assert await serials(gql, token, filter={"serialNumbers": ["9999990", "Y20TA010057", "21N009999", "nope"]}) == [
        "9999990",
        "Y20TA010057",
    ]
    assert await serials(gql, token, filter={"productTypeId": to_global_id("ProductType", types["TOPAS Mbus"])}) == [
        "Y20TA010056",
        "Y20TA010057",
    ]
    assert await serials(gql, token, filter={"claimStatus": "CLAIMED"}) == ["21N001052", "9999990", "9999993"]
    assert await serials(gql, token, filter={"labels": ["north"]}) == ["21N001052", "21N001064"]
    assert await serials(gql, token, filter={"labels": ["north", "roof"]}) == ["21N001064"]  # all of them
    assert await serials(gql, token, filter={"batchReference": "B-2024-01"}) == [
        "21N001052",
        "21N001064",
        "9999990",
        "9999991",
    ]
    batch_id = to_global_id("Batch", (await _batch_pk(runtime, "B-2024-01")))
    assert await serials(gql, token, filter={"batchId": batch_id, "claimStatus": "UNCLAIMED", "labels": ["roof"]}) == [
        "21N001064",
        "9999991",
    ]
    assert await serials(gql, token, filter={"batchReference": "nope"}) == []
    # combined: the node of a device is the same object the list gave
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on Device { serialNumber } } }",
        {"id": to_global_id("Device", ids["9999990"])},
        token=token,
    )
    assert node["data"]["node"] == {"serialNumber": "9999990"}


async def _batch_pk(runtime, reference: str) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(c.Batch.id).where(c.Batch.reference == reference))


async def test_paging_forward_and_backward(gql, world, runtime):
    await seed(runtime, world)
    token = world.tokens["user_a"]
    every = sorted(d[0] for d in MANUAL_DEVICES)
    seen, after = [], None
    for _ in range(5):  # bounded: 8 devices in pages of 3
        result = (await gql(DEVICES, {"first": 3, "after": after}, token=token))["data"]["devices"]
        seen += [n["serialNumber"] for n in result["nodes"]]
        assert result["totalCount"] == 8
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert seen == every
    last = (await gql(DEVICES, {"last": 2}, token=token))["data"]["devices"]
    assert [n["serialNumber"] for n in last["nodes"]] == every[-2:] and last["pageInfo"]["hasPreviousPage"]
    before = (await gql(DEVICES, {"last": 2, "before": last["pageInfo"]["startCursor"]}, token=token))["data"][
        "devices"
    ]
    assert [n["serialNumber"] for n in before["nodes"]] == every[-4:-2]
    desc = await serials(gql, token, orderBy={"field": "SERIAL_NUMBER", "direction": "DESC"}, first=2)
    assert desc == every[::-1][:2]
    by_creation = await serials(gql, token, orderBy={"field": "CREATED_AT"})
    assert sorted(by_creation) == every
    # keyset paging on a timestamp (ties broken by ID) gives the same order page by page
    order = {"field": "CREATED_AT", "direction": "DESC"}
    newest_first = await serials(gql, token, orderBy=order)
    paged, after = [], None
    for _ in range(5):
        result = (await gql(DEVICES, {"first": 3, "after": after, "orderBy": order}, token=token))["data"]["devices"]
        paged += [n["serialNumber"] for n in result["nodes"]]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert paged == newest_first and sorted(paged) == every


async def test_bad_filter_input_gets_typed_errors(gql, world, runtime, monkeypatch):
    await seed(runtime, world)
    # A cost limit that would let 5,001 rows through: the page size limit itself refuses them.
    monkeypatch.setattr(runtime, "schema", build_schema(dataclasses.replace(runtime.settings, max_cost=1_000_000)))
    token = world.tokens["user_a"]
    bad = [
        {"filter": {"serialNumbers": [str(i) for i in range(1001)]}},
        {"filter": {"productTypeId": "!!!"}},
        {"filter": {"productTypeId": world.id("Organisation", "a")}},  # an ID of another type
        {"filter": {"batchId": to_global_id("Device", 1)}},
        {"filter": {"serialNumber": "a\x00b"}},
        {"filter": {"serialNumberPrefix": "x" * 101}},
        {"filter": {"labels": [f"l{i}" for i in range(21)]}},
        {"first": 5001},
        {"first": 1, "last": 1},
        {"after": "garbage"},
    ]
    for variables in bad:
        response = await gql.raw(DEVICES, variables, token=token)
        body = response.json()
        assert body.get("data") is None or body["data"]["devices"] is None, variables  # NUL: refused before execution
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (variables, body)


async def test_permissions(gql, world, runtime):
    response = await gql.raw(DEVICES, {})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await gql.raw("{ productTypes { name } }", {})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_other_tenants_devices_are_unreachable_by_node(gql, world, runtime):
    ids = await seed(runtime, world)
    b_device = to_global_id("Device", ids["21N009999"])
    unknown = to_global_id("Device", 999_999)
    for token in ("user_a", "admin_a", "user_a1"):
        for global_id in (b_device, unknown):
            result = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, token=world.tokens[token])
            assert result["data"] == {"node": None} and "errors" not in result
    # A1 cannot see its parent's devices either
    result = await gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("Device", ids["21N001052"])},
        token=world.tokens["user_a1"],
    )
    assert result["data"]["node"] is None
    result = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": b_device}, token=world.tokens["user_b"])
    assert result["data"]["node"] == {"id": b_device}


async def test_demo_catalogue(gql, client, runtime):
    """The demo data holds the manuals' device table, owned by IntegraDemo; its admin can claim 21N001064 and
    download the keys of the claimed devices."""
    from graph.composition import DEMO
    from graph.demo import seed_demo
    from models import identity as m
    from tests.factories import issue_token

    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session, session.begin():
        admin = await session.scalar(select(m.User).where(m.User.email == "demo@integra-metering.com"))
        token = await issue_token(session, admin)
    result = (await gql(DEVICES, {}, token=token))["data"]["devices"]
    table = [(n["serialNumber"], n["productType"]["name"], n["claimStatus"]) for n in result["nodes"]]
    assert result["totalCount"] == 8 and ("21N001052", "TOPAS Lora W8", "CLAIMED") in table
    assert ("Y20TA010057", "TOPAS Mbus", "UNCLAIMED") in table
    assert {n["organisation"]["name"] for n in result["nodes"]} == {"IntegraDemo"}
    claim = await gql(
        'mutation { deviceClaim(input: {serialNumber: "21N001064"}) { device { claimStatus } errors { code } } }',
        token=token,
    )
    assert claim["data"]["deviceClaim"] == {"device": {"claimStatus": "CLAIMED"}, "errors": []}

    created = (
        await gql(
            """mutation { keyDownloadCreate(input: {filter: {claimStatus: CLAIMED}}) {
        url keyDownload { deviceCount keyCount } errors { code message } } }""",
            token=token,
        )
    )["data"]["keyDownloadCreate"]
    assert created["errors"] == [] and created["keyDownload"]["deviceCount"] == 4
    response = await client.get(urlsplit(created["url"]).path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text), delimiter=";"))
    assert rows[0] == ["serial_number", "product_type", "key_kind", "algorithm", "key"]
    assert len(rows) - 1 == created["keyDownload"]["keyCount"] > 0
    assert {row[0] for row in rows[1:]} == {"21N001052", "21N001064", "9999990", "9999993"}
