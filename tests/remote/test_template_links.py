"""Device templates linked to a location (the manual, §6.2.2): the template's edits follow to the linked device
until the location copies it as its own setting (the device stays, no longer follows) or unlinks it (the device
goes); applying a template still makes a copy."""

from __future__ import annotations

from sqlalchemy import select

from models import remote as r
from models.audit import AuditEvent
from tests.factories import snapshot
from tests.remote.helpers import LOCATION_CREATE

ERRORS = "errors { code field message }"
DEVICE = "device { id name description ipAddress templateLinked services { type port path } template { name } }"
T_CREATE = f"""mutation($input: DeviceTemplateCreateInput!) {{
  deviceTemplateCreate(input: $input) {{ deviceTemplate {{ id }} {ERRORS} }} }}"""
T_UPDATE = f"""mutation($input: DeviceTemplateUpdateInput!) {{
  deviceTemplateUpdate(input: $input) {{ deviceTemplate {{ id }} {ERRORS} }} }}"""
T_DELETE = f"""mutation($input: DeviceTemplateDeleteInput!) {{
  deviceTemplateDelete(input: $input) {{ deletedId {ERRORS} }} }}"""
LINK = f"""mutation($input: LocationDeviceTemplateLinkInput!) {{
  locationDeviceTemplateLink(input: $input) {{ {DEVICE} {ERRORS} }} }}"""
APPLY = f"""mutation($input: LocationApplyDeviceTemplateInput!) {{
  locationApplyDeviceTemplate(input: $input) {{ {DEVICE} {ERRORS} }} }}"""
COPY = f"""mutation($input: LocationDeviceTemplateLinkEndInput!) {{
  locationDeviceTemplateCopy(input: $input) {{ {DEVICE} {ERRORS} }} }}"""
UNLINK = f"""mutation($input: LocationDeviceTemplateLinkEndInput!) {{
  locationDeviceTemplateUnlink(input: $input) {{ deletedId {ERRORS} }} }}"""
DEVICE_UPDATE = f"""mutation($input: LocationDeviceUpdateInput!) {{
  locationDeviceUpdate(input: $input) {{ {DEVICE} {ERRORS} }} }}"""
DEVICES = """query($id: ID!) { node(id: $id) { ... on Location {
  devices { name description ipAddress templateLinked services { type port path } template { name } } } } }"""

PLC = {
    "name": "Siemens S7",
    "description": "PLC",
    "ipAddress": "192.168.1.20",
    "services": [{"type": "TCP", "port": 102}],
}


async def call(gql, world, document: str, root: str, token: str = "admin_a", **given) -> dict:
    result = await gql(document, {"input": given}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"][root]


async def location(gql, world, name: str, token: str = "admin_a") -> str:
    made = await call(gql, world, LOCATION_CREATE, "locationCreate", token, name=name)
    assert made["errors"] == []
    return made["location"]["id"]


async def template(gql, world, token: str = "admin_a", **given) -> str:
    made = await call(gql, world, T_CREATE, "deviceTemplateCreate", token, **{**PLC, **given})
    assert made["errors"] == [], made
    return made["deviceTemplate"]["id"]


async def devices(gql, world, location_id: str) -> list[dict]:
    return (await gql(DEVICES, {"id": location_id}, token=world.tokens["admin_a"]))["data"]["node"]["devices"]


async def refused(gql, world, runtime, document: str, root: str, token: str = "admin_a", **given):
    before = await snapshot(runtime)
    payload = await call(gql, world, document, root, token, **given)
    assert await snapshot(runtime) == before
    assert all(value is None for key, value in payload.items() if key != "errors")
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def assert_audited(runtime) -> None:
    """Four links, a copy and an unlink recorded; the template's update names the one device it reached."""
    async with runtime.session_factory() as session:
        events = (await session.execute(select(AuditEvent.action, AuditEvent.details).order_by(AuditEvent.id))).all()
    actions = [a for a, _ in events if "device_template" in a]
    assert actions.count("location.device_template_linked") == 4
    assert "location.device_template_copied" in actions and "location.device_template_unlinked" in actions
    assert [d["linkedDevices"] for a, d in events if a == "device_template.updated"] == [1]


async def test_edits_reach_linked_locations_only_until_copied_or_unlinked(gql, world, runtime):
    plc = await template(gql, world)
    linked, copied, unlinked, applied = [
        await location(gql, world, n) for n in ("Linked", "Copied", "Unlinked", "Applied")
    ]
    made = {}
    for site in (linked, copied, unlinked):
        answer = await call(gql, world, LINK, "locationDeviceTemplateLink", locationId=site, templateId=plc)
        assert answer["errors"] == [] and answer["device"]["templateLinked"] is True
        made[site] = answer["device"]["id"]
    named = await call(
        gql,
        world,
        LINK,
        "locationDeviceTemplateLink",
        locationId=linked,
        templateId=await template(gql, world, name="HMI"),
        name="Panel",
    )
    assert named["device"]["name"] == "Panel"
    copy = await call(gql, world, APPLY, "locationApplyDeviceTemplate", locationId=applied, templateId=plc)
    assert copy["device"]["templateLinked"] is False

    kept = await call(gql, world, COPY, "locationDeviceTemplateCopy", deviceId=made[copied])
    assert kept["errors"] == [] and kept["device"]["templateLinked"] is False
    assert kept["device"]["template"] == {"name": "Siemens S7"}  # where it came from
    gone = await call(gql, world, UNLINK, "locationDeviceTemplateUnlink", deviceId=made[unlinked])
    assert gone == {"deletedId": made[unlinked], "errors": []}
    assert await devices(gql, world, unlinked) == []

    edited = await call(
        gql,
        world,
        T_UPDATE,
        "deviceTemplateUpdate",
        id=plc,
        name="Siemens S7-1500",
        description="PLC, line 2",
        ipAddress="192.168.1.21",
        services=[{"type": "HTTPS"}, {"type": "TCP", "port": 102}],
    )
    assert edited["errors"] == []
    following = {
        "name": "Siemens S7",  # the name is the location's own
        "description": "PLC, line 2",
        "ipAddress": "192.168.1.21",
        "templateLinked": True,
        "services": [{"type": "HTTPS", "port": 443, "path": "/"}, {"type": "TCP", "port": 102, "path": ""}],
        "template": {"name": "Siemens S7-1500"},
    }
    assert [d for d in await devices(gql, world, linked) if d["name"] == "Siemens S7"] == [following]
    as_before = {
        "description": "PLC",
        "ipAddress": "192.168.1.20",
        "services": [{"type": "TCP", "port": 102, "path": ""}],
    }
    for site in (copied, applied):
        [device] = await devices(gql, world, site)
        assert {k: device[k] for k in as_before} == as_before, site
    await assert_audited(runtime)


async def test_deleting_a_template_keeps_its_linked_devices_as_own_settings(gql, world, runtime):
    plc = await template(gql, world)
    site = await location(gql, world, "Depot")
    await call(gql, world, LINK, "locationDeviceTemplateLink", locationId=site, templateId=plc)
    assert (await call(gql, world, T_DELETE, "deviceTemplateDelete", id=plc))["errors"] == []
    [device] = await devices(gql, world, site)
    assert (device["templateLinked"], device["template"], device["ipAddress"]) == (False, None, "192.168.1.20")
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(r.LocationDevice.template_linked))).all() == [False]


async def test_link_refusals_are_typed_and_change_nothing(gql, world, runtime):
    plc = await template(gql, world)
    inactive = await template(gql, world, name="Old", inactive=True)
    child = await template(gql, world, name="Child", organisationId=world.id("Organisation", "a1"))
    b_template = await template(gql, world, token="admin_b", name="B")
    site = await location(gql, world, "Depot")
    b_site = await location(gql, world, "B depot", token="admin_b")
    device = (await call(gql, world, LINK, "locationDeviceTemplateLink", locationId=site, templateId=plc))["device"][
        "id"
    ]
    link = ("locationDeviceTemplateLink", LINK)
    for given, expected in (
        ({"locationId": site, "templateId": plc, "name": "Again"}, ("DUPLICATE", ["templateId"])),
        ({"locationId": site, "templateId": inactive}, ("TEMPLATE_INACTIVE", ["templateId"])),
        ({"locationId": site, "templateId": child}, ("WRONG_ORGANISATION", ["templateId"])),
        ({"locationId": site, "templateId": b_template}, ("NOT_FOUND", ["templateId"])),
        ({"locationId": b_site, "templateId": plc}, ("NOT_FOUND", ["locationId"])),
    ):
        assert await refused(gql, world, runtime, link[1], link[0], **given) == [expected], given
    # a linked device's followed settings are the template's
    for given in ({"ipAddress": "10.0.0.1"}, {"description": "mine"}, {"services": []}):
        field = next(iter(given))
        assert await refused(gql, world, runtime, DEVICE_UPDATE, "locationDeviceUpdate", id=device, **given) == [
            ("TEMPLATE_LINKED", [field])
        ]
    renamed = await call(gql, world, DEVICE_UPDATE, "locationDeviceUpdate", id=device, name="PLC 1")
    assert renamed["errors"] == [] and renamed["device"]["name"] == "PLC 1"
    own = await call(gql, world, APPLY, "locationApplyDeviceTemplate", locationId=site, templateId=plc, name="Copy")
    for document, root in ((COPY, "locationDeviceTemplateCopy"), (UNLINK, "locationDeviceTemplateUnlink")):
        assert await refused(gql, world, runtime, document, root, deviceId=own["device"]["id"]) == [
            ("TEMPLATE_NOT_LINKED", ["deviceId"])
        ]
        assert await refused(gql, world, runtime, document, root, token="admin_b", deviceId=device) == [
            ("NOT_FOUND", ["deviceId"])
        ]
    forbidden = await gql(COPY, {"input": {"deviceId": device}}, token=world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # after copying, the device is the location's own: its settings may change
    await call(gql, world, COPY, "locationDeviceTemplateCopy", deviceId=device)
    changed = await call(gql, world, DEVICE_UPDATE, "locationDeviceUpdate", id=device, ipAddress="10.0.0.1")
    assert changed["errors"] == [] and changed["device"]["ipAddress"] == "10.0.0.1"
    # and the template may be linked to the location again
    again = await call(gql, world, LINK, "locationDeviceTemplateLink", locationId=site, templateId=plc, name="Again")
    assert again["errors"] == []
