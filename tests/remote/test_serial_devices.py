"""Serial devices at a location and serial device templates (the manual, §9-10): create, update, delete, list,
a template pre-filling a device (a copy: later template edits do not reach it), each refusal typed and changing
nothing."""

from __future__ import annotations

from sqlalchemy import select

from graph.relay import to_global_id
from models import remote as r
from models.audit import AuditEvent
from tests.factories import add_location, snapshot
from tests.remote.helpers import grant_location

SETTINGS = "name description protocol baudRate dataBits stopBits parity serialMode"
DEVICE = f"serialDevice {{ id {SETTINGS} location {{ name }} template {{ name }} }}"
TEMPLATE = f"serialDeviceTemplate {{ id {SETTINGS} organisation {{ name }} }}"
ERRORS = "errors { code field message }"
CREATE = f"""mutation($input: LocationSerialDeviceCreateInput!) {{
  locationSerialDeviceCreate(input: $input) {{ {DEVICE} {ERRORS} }} }}"""
UPDATE = f"""mutation($input: LocationSerialDeviceUpdateInput!) {{
  locationSerialDeviceUpdate(input: $input) {{ {DEVICE} {ERRORS} }} }}"""
DELETE = f"""mutation($input: LocationSerialDeviceDeleteInput!) {{
  locationSerialDeviceDelete(input: $input) {{ deletedId {ERRORS} }} }}"""
T_CREATE = f"""mutation($input: SerialDeviceTemplateCreateInput!) {{
  serialDeviceTemplateCreate(input: $input) {{ {TEMPLATE} {ERRORS} }} }}"""
T_UPDATE = f"""mutation($input: SerialDeviceTemplateUpdateInput!) {{
  serialDeviceTemplateUpdate(input: $input) {{ {TEMPLATE} {ERRORS} }} }}"""
T_DELETE = f"""mutation($input: SerialDeviceTemplateDeleteInput!) {{
  serialDeviceTemplateDelete(input: $input) {{ deletedId {ERRORS} }} }}"""
LIST = f"""query($id: ID!, $first: Int, $after: String) {{
  locationSerialDevices(locationId: $id, first: $first, after: $after) {{
    totalCount nodes {{ {SETTINGS} location {{ name }} template {{ name }} }} pageInfo {{ hasNextPage endCursor }}
  }} }}"""
T_LIST = """query($filter: SerialDeviceTemplateFilter, $first: Int) {
  serialDeviceTemplates(filter: $filter, first: $first) {
  totalCount nodes { name baudRate organisation { name } } } }"""

METER = {
    "name": "Heat meter",
    "description": "M-Bus converter",
    "protocol": "MODBUS_RTU",
    "baudRate": 9600,
    "dataBits": 8,
    "stopBits": "ONE",
    "parity": "EVEN",
    "serialMode": "RS485",
}


async def locations(runtime, world) -> dict[str, str]:
    async with runtime.session_factory() as session, session.begin():
        made = {
            "depot": await add_location(session, world.organisations["a"].id, "Depot"),
            "child": await add_location(session, world.organisations["a1"].id, "Child site"),
            "b": await add_location(session, world.organisations["b"].id, "B site"),
        }
    return {key: to_global_id("Location", location.id) for key, location in made.items()}


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def refused(gql, world, runtime, document: str, root: str, token: str = "admin_a", **given):
    """The call's typed errors; it changed nothing."""
    before = await snapshot(runtime)
    payload = await call(gql, world, document, root, token, **given)
    assert await snapshot(runtime) == before
    assert all(value is None for key, value in payload.items() if key != "errors")
    return codes(payload)


async def test_a_template_is_created_listed_changed_and_deleted(gql, world, runtime):
    made = await call(gql, world, T_CREATE, "serialDeviceTemplateCreate", **{**METER, "name": " Heat meter "})
    assert made["errors"] == []
    template = made["serialDeviceTemplate"]
    assert {k: template[k] for k in METER} == METER and template["organisation"] == {"name": "Tenant A"}
    child = await call(
        gql,
        world,
        T_CREATE,
        "serialDeviceTemplateCreate",
        **{**METER, "organisationId": world.id("Organisation", "a1")},
    )
    assert child["serialDeviceTemplate"]["organisation"] == {"name": "Tenant A1"}
    await call(gql, world, T_CREATE, "serialDeviceTemplateCreate", token="admin_b", **{**METER, "name": "B meter"})

    listed = (await gql(T_LIST, token=world.tokens["admin_a"]))["data"]["serialDeviceTemplates"]
    assert [(n["name"], n["organisation"]["name"]) for n in listed["nodes"]] == [
        ("Heat meter", "Tenant A"),
        ("Heat meter", "Tenant A1"),
    ]
    narrowed = await gql(
        T_LIST, {"filter": {"organisationId": world.id("Organisation", "a1")}}, token=world.tokens["admin_a"]
    )
    assert narrowed["data"]["serialDeviceTemplates"]["totalCount"] == 1
    # plain users do not manage templates
    forbidden = await gql(T_LIST, token=world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    changed = await call(
        gql, world, T_UPDATE, "serialDeviceTemplateUpdate", id=template["id"], baudRate=19200, description=None
    )
    assert changed["errors"] == []
    assert (changed["serialDeviceTemplate"]["baudRate"], changed["serialDeviceTemplate"]["description"]) == (19200, "")
    assert changed["serialDeviceTemplate"]["parity"] == "EVEN"  # left out: stays

    deleted = await call(gql, world, T_DELETE, "serialDeviceTemplateDelete", id=template["id"])
    assert deleted == {"deletedId": template["id"], "errors": []}
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("serial_device_template.")] == [
        "serial_device_template.created",
        "serial_device_template.created",
        "serial_device_template.created",
        "serial_device_template.updated",
        "serial_device_template.deleted",
    ]


async def test_template_refusals_are_typed_and_change_nothing(gql, world, runtime):
    made = await call(gql, world, T_CREATE, "serialDeviceTemplateCreate", **METER)
    template = made["serialDeviceTemplate"]["id"]
    create = ("serialDeviceTemplateCreate", T_CREATE)
    for given, expected in (
        ({"baudRate": 9601}, ("INVALID", ["baudRate"])),
        ({"baudRate": 0}, ("INVALID", ["baudRate"])),
        ({"baudRate": 1843200}, ("INVALID", ["baudRate"])),
        ({"dataBits": 9}, ("INVALID", ["dataBits"])),
        ({"dataBits": 4}, ("INVALID", ["dataBits"])),
        ({"stopBits": "ONE_AND_A_HALF"}, ("INVALID", ["stopBits"])),  # with 8 data bits
        ({"name": "  "}, ("REQUIRED", ["name"])),
        ({"name": "x" * 201}, ("TOO_LONG", ["name"])),
        ({"description": "x" * 1001}, ("TOO_LONG", ["description"])),
        ({}, ("DUPLICATE", ["name"])),
    ):
        assert await refused(gql, world, runtime, create[1], create[0], **{**METER, **given}) == [expected], given
    for given, expected in (
        ({"dataBits": 7, "stopBits": "ONE_AND_A_HALF"}, ("INVALID", ["stopBits"])),
        ({"baudRate": 128000}, ("INVALID", ["baudRate"])),
        ({"id": world.id("Organisation", "a")}, ("NOT_FOUND", ["id"])),
    ):
        assert await refused(
            gql, world, runtime, T_UPDATE, "serialDeviceTemplateUpdate", **{"id": template, **given}
        ) == [expected], given
    # 1.5 stop bits with 5 data bits is a valid pair
    fine = await call(
        gql, world, T_UPDATE, "serialDeviceTemplateUpdate", id=template, dataBits=5, stopBits="ONE_AND_A_HALF"
    )
    assert fine["errors"] == [] and fine["serialDeviceTemplate"]["stopBits"] == "ONE_AND_A_HALF"
    # an enum value outside the set never reaches the rule
    before = await snapshot(runtime)
    wrong = await gql.raw(T_CREATE, {"input": {**METER, "name": "X", "parity": "SOMETIMES"}}, world.tokens["admin_a"])
    assert wrong.status_code == 400 and "SerialParityEnum" in wrong.json()["errors"][0]["message"]
    assert await snapshot(runtime) == before


async def test_a_device_is_made_from_scratch_or_from_a_template_and_keeps_its_values(gql, world, runtime):
    sites = await locations(runtime, world)
    template = (await call(gql, world, T_CREATE, "serialDeviceTemplateCreate", **METER))["serialDeviceTemplate"]
    own = await call(
        gql,
        world,
        CREATE,
        "locationSerialDeviceCreate",
        locationId=sites["depot"],
        **{**METER, "name": "Gas meter", "protocol": "MODBUS_ASCII", "dataBits": 7, "serialMode": "RS232"},
    )
    assert own["errors"] == [] and own["serialDevice"]["template"] is None
    assert own["serialDevice"]["location"] == {"name": "Depot"}

    # a template pre-fills everything; given fields override
    copied = await call(
        gql, world, CREATE, "locationSerialDeviceCreate", locationId=sites["depot"], templateId=template["id"]
    )
    assert copied["errors"] == []
    assert {k: copied["serialDevice"][k] for k in METER} == METER
    assert copied["serialDevice"]["template"] == {"name": "Heat meter"}
    overridden = await call(
        gql,
        world,
        CREATE,
        "locationSerialDeviceCreate",
        locationId=sites["child"],
        templateId=template["id"],
        name="Heat meter 2",
        baudRate=115200,
    )
    assert (overridden["serialDevice"]["name"], overridden["serialDevice"]["baudRate"]) == ("Heat meter 2", 115200)
    assert overridden["serialDevice"]["parity"] == "EVEN"

    # later template edits do not reach the devices made from it
    await call(
        gql, world, T_UPDATE, "serialDeviceTemplateUpdate", id=template["id"], baudRate=38400, parity="NONE", name="New"
    )
    listed = (await gql(LIST, {"id": sites["depot"]}, token=world.tokens["admin_a"]))["data"]["locationSerialDevices"]
    assert [(n["name"], n["baudRate"], n["parity"], n["template"]) for n in listed["nodes"]] == [
        ("Gas meter", 9600, "EVEN", None),
        ("Heat meter", 9600, "EVEN", {"name": "New"}),
    ]
    # deleting it leaves them, without a template
    await call(gql, world, T_DELETE, "serialDeviceTemplateDelete", id=template["id"])
    listed = (await gql(LIST, {"id": sites["depot"]}, token=world.tokens["admin_a"]))["data"]["locationSerialDevices"]
    assert [(n["name"], n["baudRate"], n["template"]) for n in listed["nodes"]] == [
        ("Gas meter", 9600, None),
        ("Heat meter", 9600, None),
    ]


async def test_device_creation_refusals(gql, world, runtime):
    sites = await locations(runtime, world)
    made = await call(gql, world, CREATE, "locationSerialDeviceCreate", locationId=sites["depot"], **METER)
    assert made["errors"] == []
    create = ("locationSerialDeviceCreate", CREATE)
    no_protocol = {k: v for k, v in METER.items() if k != "protocol"}
    b_template = (
        await call(gql, world, T_CREATE, "serialDeviceTemplateCreate", token="admin_b", **{**METER, "name": "B"})
    )["serialDeviceTemplate"]["id"]
    child_template = (
        await call(
            gql,
            world,
            T_CREATE,
            "serialDeviceTemplateCreate",
            **{**METER, "name": "Child", "organisationId": world.id("Organisation", "a1")},
        )
    )["serialDeviceTemplate"]["id"]
    for given, expected in (
        ({"locationId": sites["depot"], **METER}, ("DUPLICATE", ["name"])),
        ({"locationId": sites["depot"], **no_protocol, "name": "Other"}, ("REQUIRED", ["protocol"])),
        ({"locationId": sites["depot"], "name": "Other"}, ("REQUIRED", ["protocol"])),
        ({"locationId": sites["depot"], **METER, "name": "Other", "baudRate": 14400}, ("INVALID", ["baudRate"])),
        ({"locationId": sites["b"], **METER}, ("NOT_FOUND", ["locationId"])),
        ({"locationId": sites["depot"], "templateId": b_template}, ("NOT_FOUND", ["templateId"])),
        # a template of a child organisation is not for its parent's locations
        ({"locationId": sites["depot"], "templateId": child_template}, ("WRONG_ORGANISATION", ["templateId"])),
    ):
        assert await refused(gql, world, runtime, create[1], create[0], **given) == [expected], given
    # a user without LOCATIONS_MANAGE may not add one
    forbidden = await gql(CREATE, {"input": {"locationId": sites["depot"], **METER}}, token=world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_device_updates_and_deletes(gql, world, runtime):
    sites = await locations(runtime, world)
    device = (await call(gql, world, CREATE, "locationSerialDeviceCreate", locationId=sites["depot"], **METER))[
        "serialDevice"
    ]

    # partial update, checked together with the stored settings
    assert await refused(
        gql, world, runtime, UPDATE, "locationSerialDeviceUpdate", id=device["id"], stopBits="ONE_AND_A_HALF"
    ) == [("INVALID", ["stopBits"])]
    assert await refused(gql, world, runtime, UPDATE, "locationSerialDeviceUpdate", id=device["id"], dataBits=3) == [
        ("INVALID", ["dataBits"])
    ]
    assert await refused(
        gql, world, runtime, UPDATE, "locationSerialDeviceUpdate", token="admin_b", id=device["id"], name="Mine"
    ) == [("NOT_FOUND", ["id"])]
    changed = await call(
        gql, world, UPDATE, "locationSerialDeviceUpdate", id=device["id"], serialMode="RS422", parity="MARK", name=None
    )
    assert changed["errors"] == []
    assert (
        changed["serialDevice"]["name"],
        changed["serialDevice"]["serialMode"],
        changed["serialDevice"]["parity"],
    ) == (
        "Heat meter",
        "RS422",
        "MARK",
    )
    assert await refused(
        gql, world, runtime, DELETE, "locationSerialDeviceDelete", token="admin_b", id=device["id"]
    ) == [("NOT_FOUND", ["id"])]
    deleted = await call(gql, world, DELETE, "locationSerialDeviceDelete", id=device["id"])
    assert deleted == {"deletedId": device["id"], "errors": []}
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.LocationSerialDevice))).all() == []
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert [a for a in actions if a.startswith("location.serial_device")] == [
        "location.serial_device_created",
        "location.serial_device_updated",
        "location.serial_device_deleted",
    ]


async def test_reading_follows_location_visibility(gql, world, runtime):
    sites = await locations(runtime, world)
    await call(gql, world, CREATE, "locationSerialDeviceCreate", locationId=sites["depot"], **METER)
    # a plain user sees a location's serial devices once the location is granted to them
    before = (await gql(LIST, {"id": sites["depot"]}, token=world.tokens["user_a"]))["data"]["locationSerialDevices"]
    assert before["totalCount"] == 0
    await grant_location(runtime, world, "user_a", sites["depot"])
    after = (await gql(LIST, {"id": sites["depot"]}, token=world.tokens["user_a"]))["data"]["locationSerialDevices"]
    assert [n["name"] for n in after["nodes"]] == ["Heat meter"]
    assert after["nodes"][0]["template"] is None  # templates are for managers
    other = (await gql(LIST, {"id": sites["depot"]}, token=world.tokens["admin_b"]))["data"]["locationSerialDevices"]
    assert other["totalCount"] == 0


async def test_the_list_pages_and_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    sites = await locations(runtime, world)
    template = (await call(gql, world, T_CREATE, "serialDeviceTemplateCreate", **METER))["serialDeviceTemplate"]["id"]
    counts = []
    for size, site in ((3, "depot"), (30, "child")):
        for i in range(size):
            made = await call(
                gql,
                world,
                CREATE,
                "locationSerialDeviceCreate",
                locationId=sites[site],
                templateId=template,
                name=f"Meter {i:02d}",
            )
            assert made["errors"] == []
        with count_sql() as counter:
            result = await gql(LIST, {"id": sites[site], "first": 50}, token=world.tokens["admin_a"])
        listed = result["data"]["locationSerialDevices"]
        assert listed["totalCount"] == len(listed["nodes"]) == size
        assert {n["template"]["name"] for n in listed["nodes"]} == {"Heat meter"}
        counts.append(counter.count)
    # authentication 1 + page 1 + totalCount 1 + locations 1 + templates 1
    assert counts == [5, 5]
    first = (await gql(LIST, {"id": sites["child"], "first": 20}, token=world.tokens["admin_a"]))["data"]
    page = first["locationSerialDevices"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        LIST, {"id": sites["child"], "first": 20, "after": page["pageInfo"]["endCursor"]}, token=world.tokens["admin_a"]
    )
    names = [n["name"] for n in page["nodes"]] + [n["name"] for n in rest["data"]["locationSerialDevices"]["nodes"]]
    assert names == [f"Meter {i:02d}" for i in range(30)]


async def test_the_template_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    """Templates of A and of its child A1 (whose organisation is not the caller's own: loaded once per page)."""
    counts = []
    for size in (3, 30):
        for i in range(size):
            organisation = world.id("Organisation", "a1" if i % 2 else "a")
            made = await call(
                gql,
                world,
                T_CREATE,
                "serialDeviceTemplateCreate",
                **{**METER, "name": f"Meter {size}-{i:02d}", "organisationId": organisation},
            )
            assert made["errors"] == []
        with count_sql() as counter:
            result = await gql(
                T_LIST, {"filter": {"nameContains": f"Meter {size}-"}, "first": 50}, token=world.tokens["admin_a"]
            )
        listed = result["data"]["serialDeviceTemplates"]
        assert listed["totalCount"] == len(listed["nodes"]) == size
        assert {n["organisation"]["name"] for n in listed["nodes"]} == {"Tenant A", "Tenant A1"}
        counts.append(counter.count)
    # authentication 1 + page 1 + totalCount 1 + organisations 1
    assert counts == [4, 4]
