"""Device templates: create, update, delete, list, apply to a location (a copy), copy a device into one."""

from __future__ import annotations

from sqlalchemy import select

from graph.relay import from_global_id
from models import identity as m
from models import remote as r
from models.audit import AuditEvent
from tests.factories import add_user, issue_token, snapshot
from tests.remote.helpers import LOCATION_CREATE, grant_location

TEMPLATE = (
    "deviceTemplate { id name description ipAddress inactive organisation { name } services { type "
    "port path username } }"
)
CREATE = f"""mutation($input: DeviceTemplateCreateInput!) {{
  deviceTemplateCreate(input: $input) {{ {TEMPLATE} errors {{ code field message }} }}
}}"""
UPDATE = f"""mutation($input: DeviceTemplateUpdateInput!) {{
  deviceTemplateUpdate(input: $input) {{ {TEMPLATE} errors {{ code field message }} }}
}}"""
DELETE = """mutation($input: DeviceTemplateDeleteInput!) { deviceTemplateDelete(input: $input) { deletedId
  errors { code field } } }"""
APPLY = """mutation($input: LocationApplyDeviceTemplateInput!) { locationApplyDeviceTemplate(input: $input) {
  device { id name description ipAddress services { type port path username } template { id name } }
  errors { code field message }
} }"""
LIST = """query($filter: DeviceTemplateFilter, $first: Int, $after: String) {
  deviceTemplates(filter: $filter, first: $first, after: $after) {
    totalCount nodes { name inactive organisation { name } } pageInfo { hasNextPage endCursor }
  }
}"""
DEVICES = """query($id: ID!) { node(id: $id) { ... on Location {
  devices { name description ipAddress services { type port path username } template { name } }
} } }"""
DEVICE_CREATE = """mutation($input: LocationDeviceCreateInput!) { locationDeviceCreate(input: $input) { device {
  id } errors { code } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename ... on DeviceTemplate { name } } }"

S7 = {
    "name": "Siemens S7",
    "description": "PLC",
    "ipAddress": "192.168.1.20",
    "services": [{"type": "TCP", "port": 102}, {"type": "HTTP", "path": "/portal"}],
}


async def location(gql, world, name: str = "Depot", **given) -> str:
    result = await gql(LOCATION_CREATE, {"input": {"name": name, **given}}, token=world.tokens["admin_a"])
    assert result["data"]["locationCreate"]["errors"] == [], result
    return result["data"]["locationCreate"]["location"]["id"]


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


async def create(gql, world, token: str = "admin_a", **given) -> dict:
    return await call(gql, world, CREATE, "deviceTemplateCreate", token, **given)


async def apply(gql, world, token: str = "admin_a", **given) -> dict:
    return await call(gql, world, APPLY, "locationApplyDeviceTemplate", token, **given)


async def admin_of(runtime, world, organisation: str) -> str:
    async with runtime.session_factory() as session, session.begin():
        user = await add_user(
            session, world.organisations[organisation], f"admin@{organisation}.example", [m.Role.ORGANISATION_ADMIN]
        )
        return await issue_token(session, user)


def codes(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def create_two_s7_and_a_camera(gql, world) -> tuple[dict, dict]:
    """Siemens S7 of A and of A1, and an inactive Axis camera of A: A's S7 and the camera's payload."""
    made = await create(gql, world, **{**S7, "name": " Siemens S7 "})
    assert made["errors"] == []
    template = made["deviceTemplate"]
    assert (template["name"], template["ipAddress"], template["inactive"]) == ("Siemens S7", "192.168.1.20", False)
    assert template["organisation"] == {"name": "Tenant A"}
    assert template["services"] == [
        {"type": "TCP", "port": 102, "path": "", "username": ""},
        {"type": "HTTP", "port": 80, "path": "/portal", "username": ""},
    ]
    child = await create(
        gql, world, name="Siemens S7", ipAddress="fd00::1", organisationId=world.id("Organisation", "a1")
    )
    assert child["errors"] == [] and child["deviceTemplate"]["organisation"] == {"name": "Tenant A1"}
    camera = await create(gql, world, name="Axis camera", ipAddress="10.0.0.7", inactive=True)
    assert camera["deviceTemplate"]["inactive"] is True
    return template, camera


async def assert_listing_filters_and_pages(gql, world):
    """Active ones by default, then with inactive ones, by name, by organisation, and in pages."""
    listed = (await gql(LIST, token=world.tokens["admin_a"]))["data"]["deviceTemplates"]
    assert [(n["name"], n["organisation"]["name"]) for n in listed["nodes"]] == [
        ("Siemens S7", "Tenant A"),
        ("Siemens S7", "Tenant A1"),
    ]
    everything = (await gql(LIST, {"filter": {"includeInactive": True}}, token=world.tokens["admin_a"]))["data"][
        "deviceTemplates"
    ]
    assert [n["name"] for n in everything["nodes"]] == ["Axis camera", "Siemens S7", "Siemens S7"]
    by_name = await gql(
        LIST, {"filter": {"includeInactive": True, "nameContains": "CAM"}}, token=world.tokens["admin_a"]
    )
    assert [n["name"] for n in by_name["data"]["deviceTemplates"]["nodes"]] == ["Axis camera"]
    of_child = await gql(
        LIST, {"filter": {"organisationId": world.id("Organisation", "a1")}}, token=world.tokens["admin_a"]
    )
    assert [n["organisation"]["name"] for n in of_child["data"]["deviceTemplates"]["nodes"]] == ["Tenant A1"]
    # paging
    first = (await gql(LIST, {"filter": {"includeInactive": True}, "first": 2}, token=world.tokens["admin_a"]))["data"][
        "deviceTemplates"
    ]
    assert len(first["nodes"]) == 2 and first["pageInfo"]["hasNextPage"] is True and first["totalCount"] == 3
    rest = await gql(
        LIST,
        {"filter": {"includeInactive": True}, "first": 2, "after": first["pageInfo"]["endCursor"]},
        token=world.tokens["admin_a"],
    )
    assert [n["organisation"]["name"] for n in rest["data"]["deviceTemplates"]["nodes"]] == ["Tenant A1"]


async def test_create_update_delete_and_list(gql, world, runtime):
    template, camera = await create_two_s7_and_a_camera(gql, world)

    # fields left out stay, services given replace the list
    changed = await call(
        gql,
        world,
        UPDATE,
        "deviceTemplateUpdate",
        id=template["id"],
        description="S7-1500",
        services=[{"type": "SSH", "username": "maint"}],
    )
    assert changed["errors"] == []
    assert (changed["deviceTemplate"]["name"], changed["deviceTemplate"]["description"]) == ("Siemens S7", "S7-1500")
    assert changed["deviceTemplate"]["services"] == [{"type": "SSH", "port": 22, "path": "", "username": "maint"}]
    activated = await call(
        gql, world, UPDATE, "deviceTemplateUpdate", id=camera["deviceTemplate"]["id"], inactive=False
    )
    assert activated["deviceTemplate"]["inactive"] is False
    await call(gql, world, UPDATE, "deviceTemplateUpdate", id=camera["deviceTemplate"]["id"], inactive=True)

    await assert_listing_filters_and_pages(gql, world)
    # the child organisation's admin sees its own templates, not its parent's
    child_admin = await admin_of(runtime, world, "a1")
    of_child_admin = (await gql(LIST, {"filter": {"includeInactive": True}}, token=child_admin))["data"][
        "deviceTemplates"
    ]
    assert [n["organisation"]["name"] for n in of_child_admin["nodes"]] == ["Tenant A1"]
    assert (await gql(NODE, {"id": template["id"]}, token=child_admin))["data"]["node"] is None
    assert (await gql(NODE, {"id": template["id"]}, token=world.tokens["admin_a"]))["data"]["node"] == {
        "__typename": "DeviceTemplate",
        "name": "Siemens S7",
    }

    deleted = await call(gql, world, DELETE, "deviceTemplateDelete", id=template["id"])
    assert deleted == {"deletedId": template["id"], "errors": []}
    assert (await gql(NODE, {"id": template["id"]}, token=world.tokens["admin_a"]))["data"]["node"] is None
    async with runtime.session_factory() as session:
        gone = from_global_id(template["id"])[1]
        assert (
            await session.scalars(select(r.DeviceTemplateService).where(r.DeviceTemplateService.template_id == gone))
        ).all() == []
        assert await session.get(r.DeviceTemplate, gone) is None
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "DeviceTemplate").order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["device_template.created"] * 3 + ["device_template.updated"] * 3 + ["device_template.deleted"]


async def test_apply_copies_and_later_edits_do_not_reach_the_copy(gql, world, runtime):
    depot = await location(gql, world)
    template = (await create(gql, world, **S7))["deviceTemplate"]
    applied = await apply(gql, world, locationId=depot, templateId=template["id"])
    assert applied["errors"] == []
    device = applied["device"]
    assert (device["name"], device["description"], device["ipAddress"]) == ("Siemens S7", "PLC", "192.168.1.20")
    assert device["services"] == template["services"]
    assert device["template"] == {"id": template["id"], "name": "Siemens S7"}
    # a second copy at the same location needs another name
    again = await apply(gql, world, locationId=depot, templateId=template["id"])
    assert codes(again) == [("DUPLICATE", ["name"])]
    second = await apply(gql, world, locationId=depot, templateId=template["id"], name=" PLC line 2 ")
    assert second["errors"] == [] and second["device"]["name"] == "PLC line 2"

    edited = await call(
        gql,
        world,
        UPDATE,
        "deviceTemplateUpdate",
        id=template["id"],
        name="Siemens S7-1500",
        description="new",
        ipAddress="10.9.9.9",
        services=[{"type": "RDP"}],
    )
    assert edited["errors"] == []
    devices = (await gql(DEVICES, {"id": depot}, token=world.tokens["admin_a"]))["data"]["node"]["devices"]
    assert [(d["name"], d["description"], d["ipAddress"], d["services"]) for d in devices] == [
        ("PLC line 2", "PLC", "192.168.1.20", template["services"]),
        ("Siemens S7", "PLC", "192.168.1.20", template["services"]),
    ]
    # the template's new name shows where they came from
    assert {d["template"]["name"] for d in devices} == {"Siemens S7-1500"}

    # deleting the template leaves the copies, without their provenance
    assert (await call(gql, world, DELETE, "deviceTemplateDelete", id=template["id"]))["errors"] == []
    devices = (await gql(DEVICES, {"id": depot}, token=world.tokens["admin_a"]))["data"]["node"]["devices"]
    assert [(d["name"], d["template"], len(d["services"])) for d in devices] == [
        ("PLC line 2", None, 2),
        ("Siemens S7", None, 2),
    ]
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.LocationDevice.template_id))).all() == [None, None]
        applied_events = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action == "location.device_template_applied")
            )
        ).all()
    assert len(applied_events) == 2


async def test_templates_reach_down_not_up_or_sideways(gql, world, runtime):
    """A template serves its organisation's locations and its descendants', no others."""
    a1 = world.id("Organisation", "a1")
    depot = await location(gql, world)
    child_depot = await location(gql, world, "Child depot", organisationId=a1)
    of_a = (await create(gql, world, name="Of A", ipAddress="10.0.0.1"))["deviceTemplate"]["id"]
    of_a1 = (await create(gql, world, name="Of A1", ipAddress="10.0.0.2", organisationId=a1))["deviceTemplate"]["id"]
    assert (await apply(gql, world, locationId=child_depot, templateId=of_a))["errors"] == []
    assert (await apply(gql, world, locationId=child_depot, templateId=of_a1))["errors"] == []
    before = await snapshot(runtime)
    refused = await apply(gql, world, locationId=depot, templateId=of_a1)
    assert codes(refused) == [("WRONG_ORGANISATION", ["templateId"])]
    assert await snapshot(runtime) == before


async def test_apply_refusals_change_nothing(gql, world, runtime):
    depot = await location(gql, world)
    active = (await create(gql, world, **S7))["deviceTemplate"]["id"]
    inactive = (await create(gql, world, name="Old PLC", ipAddress="10.0.0.1", inactive=True))["deviceTemplate"]["id"]
    assert (await apply(gql, world, locationId=depot, templateId=active))["errors"] == []
    before = await snapshot(runtime)
    for given, expected in (
        ({"templateId": inactive}, [("TEMPLATE_INACTIVE", ["templateId"])]),
        ({"templateId": active}, [("DUPLICATE", ["name"])]),
        ({"templateId": active, "name": "  "}, [("REQUIRED", ["name"])]),
        ({"templateId": active, "name": "x" * 201}, [("TOO_LONG", ["name"])]),
        ({"templateId": depot}, [("NOT_FOUND", ["templateId"])]),
        ({"templateId": active, "locationId": active}, [("NOT_FOUND", ["locationId"])]),
    ):
        payload = await apply(gql, world, **{"locationId": depot, **given})
        assert payload["device"] is None and codes(payload) == expected, given
    assert await snapshot(runtime) == before


async def test_create_and_update_refusals_change_nothing(gql, world, runtime):
    await create(gql, world, **S7)
    other = (await create(gql, world, name="Panel", ipAddress="10.0.0.3"))["deviceTemplate"]["id"]
    before = await snapshot(runtime)
    for given, expected in (
        ({"name": "Siemens S7", "ipAddress": "10.0.0.1"}, [("DUPLICATE", ["name"])]),
        ({"ipAddress": "10.0.0.1"}, [("REQUIRED", ["name"])]),
        ({"name": "New"}, [("REQUIRED", ["ipAddress"])]),
        ({"name": "New", "ipAddress": "10.0.0.0/24"}, [("INVALID", ["ipAddress"])]),
        ({"name": "New", "ipAddress": "camera.local"}, [("INVALID", ["ipAddress"])]),
        ({"name": "New", "ipAddress": "10.0.0.1", "description": "d" * 1001}, [("TOO_LONG", ["description"])]),
        (
            {"name": "New", "ipAddress": "10.0.0.1", "services": [{"type": "TCP"}]},
            [("REQUIRED", ["services", "0", "port"])],
        ),
        (
            {"name": "New", "ipAddress": "10.0.0.1", "services": [{"type": "VNC", "path": "/"}]},
            [("INVALID", ["services", "0", "path"])],
        ),
        (
            {"name": "New", "ipAddress": "10.0.0.1", "organisationId": world.id("Organisation", "b")},
            [("NOT_FOUND", ["organisationId"])],
        ),
    ):
        payload = await create(gql, world, **given)
        assert payload["deviceTemplate"] is None and codes(payload) == expected, given
    for given, expected in (
        ({"name": "Siemens S7"}, [("DUPLICATE", ["name"])]),
        ({"name": None}, [("REQUIRED", ["name"])]),
        ({"inactive": None}, [("REQUIRED", ["inactive"])]),
        ({"description": "fine", "ipAddress": "::"}, [("INVALID", ["ipAddress"])]),
        (
            {"name": "Fine", "services": [{"type": "HTTPS", "port": 443, "username": "x"}]},
            [("INVALID", ["services", "0", "username"])],
        ),
    ):
        payload = await call(gql, world, UPDATE, "deviceTemplateUpdate", id=other, **given)
        assert payload["deviceTemplate"] is None and codes(payload) == expected, given
    assert await snapshot(runtime) == before
    # names are unique per organisation only
    same_name = await create(
        gql, world, name="Siemens S7", ipAddress="10.0.0.1", organisationId=world.id("Organisation", "a1")
    )
    assert same_name["errors"] == []


async def test_copy_a_device_into_a_template(gql, world, runtime):
    depot = await location(gql, world)
    result = await gql(
        DEVICE_CREATE,
        {
            "input": {
                "locationId": depot,
                "name": "HMI",
                "description": "Panel",
                "ipAddress": "10.1.1.1",
                "services": [{"type": "VNC", "username": "op"}, {"type": "HTTP"}],
            }
        },
        token=world.tokens["admin_a"],
    )
    device = result["data"]["locationDeviceCreate"]["device"]["id"]
    copied = await create(gql, world, fromDeviceId=device)
    assert copied["errors"] == []
    template = copied["deviceTemplate"]
    assert (template["name"], template["description"], template["ipAddress"]) == ("HMI", "Panel", "10.1.1.1")
    assert template["services"] == [
        {"type": "VNC", "port": 5900, "path": "", "username": "op"},
        {"type": "HTTP", "port": 80, "path": "/", "username": ""},
    ]
    # given fields override the device's
    renamed = await create(gql, world, fromDeviceId=device, name="HMI (no web)", services=[{"type": "VNC"}])
    assert renamed["deviceTemplate"]["name"] == "HMI (no web)" and renamed["deviceTemplate"]["ipAddress"] == "10.1.1.1"
    assert renamed["deviceTemplate"]["services"] == [{"type": "VNC", "port": 5900, "path": "", "username": ""}]
    before = await snapshot(runtime)
    assert codes(await create(gql, world, fromDeviceId=device)) == [("DUPLICATE", ["name"])]
    assert codes(await create(gql, world, fromDeviceId=depot)) == [("NOT_FOUND", ["fromDeviceId"])]
    assert await snapshot(runtime) == before


async def test_tenancy_and_permissions(gql, world, runtime):
    depot = await location(gql, world)
    template = (await create(gql, world, **S7))["deviceTemplate"]["id"]
    copy = (await apply(gql, world, locationId=depot, templateId=template))["device"]["id"]
    unknown = "RGV2aWNlVGVtcGxhdGU6OTk5OTk5"  # DeviceTemplate:999999
    # B's admin: A's template reads like an unknown one, in lists, node and every mutation
    assert (await gql(LIST, {"filter": {"includeInactive": True}}, token=world.tokens["admin_b"]))["data"][
        "deviceTemplates"
    ]["totalCount"] == 0
    assert (await gql(NODE, {"id": template}, token=world.tokens["admin_b"]))["data"]["node"] is None
    b_depot = (await gql(LOCATION_CREATE, {"input": {"name": "B depot"}}, token=world.tokens["admin_b"]))["data"][
        "locationCreate"
    ]["location"]["id"]
    before = await snapshot(runtime)
    for document, root, given in (
        (UPDATE, "deviceTemplateUpdate", {"name": "Spy"}),
        (DELETE, "deviceTemplateDelete", {}),
    ):
        other = await call(gql, world, document, root, "admin_b", id=template, **given)
        missing = await call(gql, world, document, root, "admin_b", id=unknown, **given)
        assert codes(other) == codes(missing) == [("NOT_FOUND", ["id"])]
    other = await apply(gql, world, "admin_b", locationId=b_depot, templateId=template)
    missing = await apply(gql, world, "admin_b", locationId=b_depot, templateId=unknown)
    assert codes(other) == codes(missing) == [("NOT_FOUND", ["templateId"])]
    assert codes(await create(gql, world, "admin_b", fromDeviceId=copy)) == [("NOT_FOUND", ["fromDeviceId"])]
    # a user without LOCATIONS_MANAGE: FORBIDDEN for templates, even at a location given to them
    await grant_location(runtime, world, "user_a", depot)
    before = await snapshot(runtime)
    for document, given in (
        (CREATE, {"name": "Mine", "ipAddress": "10.0.0.1"}),
        (UPDATE, {"id": template, "name": "Mine"}),
        (DELETE, {"id": template}),
        (APPLY, {"locationId": depot, "templateId": template, "name": "Mine"}),
    ):
        result = await gql(document, {"input": given}, token=world.tokens["user_a"])
        assert result["data"] is None and result["errors"][0]["extensions"]["code"] == "FORBIDDEN", document
    listed = await gql(LIST, token=world.tokens["user_a"])
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    node = await gql(NODE, {"id": template}, token=world.tokens["user_a"])
    assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # they see the copied device, not the template behind it
    devices = (await gql(DEVICES, {"id": depot}, token=world.tokens["user_a"]))["data"]["node"]["devices"]
    assert [(d["name"], d["template"]) for d in devices] == [("Siemens S7", None)]
    assert await snapshot(runtime) == before
