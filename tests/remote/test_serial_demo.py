"""The demo has the issue 18 (serial) pieces: serial devices at both demo locations (one made from IntegraDemo's
serial device template), a configuration group with the two placed routers, and a device template linked to a
location, whose edit reaches the linked camera."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import identity as m
from tests.factories import issue_token

DEMO_VIEW = """{
  serialDeviceTemplates { nodes { id name baudRate parity serialMode } }
  locations { nodes { name devices { name ipAddress templateLinked template { id name } } } }
  configurationGroups { nodes { id name } }
}"""
SERIAL = """query($id: ID!) { locationSerialDevices(locationId: $id) {
  nodes { name protocol baudRate template { name } } } }"""
LOCATIONS = "{ locations { nodes { id name } } }"
ROUTERS = """query($id: ID!) { configurationGroupRouters(configurationGroupId: $id) { nodes { commonName } } }"""
EDIT = """mutation($input: DeviceTemplateUpdateInput!) { deviceTemplateUpdate(input: $input) { errors { code } } }"""


async def test_the_demo_has_serial_devices_a_configuration_group_and_a_linked_template(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    async with runtime.session_factory() as session, session.begin():
        admin = await session.scalar(select(m.User).where(m.User.email == "demo@integra-metering.com"))
        token = await issue_token(session, admin)
    data = (await gql(DEMO_VIEW, token=token))["data"]
    assert [
        (t["name"], t["baudRate"], t["parity"], t["serialMode"]) for t in data["serialDeviceTemplates"]["nodes"]
    ] == [("Wärmezähler M-Bus/Modbus", 9600, "EVEN", "RS485")]
    # IntegraDemo's own two locations (its customer's shop is in the admin's subtree too, without serial devices)
    sites = {
        n["name"]: n["id"]
        for n in (await gql(LOCATIONS, token=token))["data"]["locations"]["nodes"]
        if n["name"] in ("Pumpstation Nord", "Wasserwerk Süd")
    }
    serial = {
        name: (await gql(SERIAL, {"id": pk}, token=token))["data"]["locationSerialDevices"]["nodes"]
        for name, pk in sites.items()
    }
    assert serial == {
        "Pumpstation Nord": [
            {
                "name": "Wärmezähler M-Bus/Modbus",
                "protocol": "MODBUS_RTU",
                "baudRate": 9600,
                "template": {"name": "Wärmezähler M-Bus/Modbus"},
            }
        ],
        "Wasserwerk Süd": [
            {"name": "Durchflussmesser", "protocol": "TRANSPARENT", "baudRate": 115200, "template": None}
        ],
    }
    [group] = data["configurationGroups"]["nodes"]
    routers = (await gql(ROUTERS, {"id": group["id"]}, token=token))["data"]["configurationGroupRouters"]["nodes"]
    assert (group["name"], [n["commonName"] for n in routers]) == (
        "RUT241 Wasserwerke",
        ["R_M26118014A81B88FB", "R_M26118014A81B8900"],
    )
    linked = [
        device for location in data["locations"]["nodes"] for device in location["devices"] if device["templateLinked"]
    ]
    assert [(d["name"], d["ipAddress"], d["template"]["name"]) for d in linked] == [
        ("Axis Kamera", "192.168.1.30", "Axis Kamera")
    ]
    # the link is live: an edit of the template reaches the camera
    edited = await gql(EDIT, {"input": {"id": linked[0]["template"]["id"], "ipAddress": "192.168.1.31"}}, token=token)
    assert edited["data"]["deviceTemplateUpdate"]["errors"] == []
    again = (await gql(DEMO_VIEW, token=token))["data"]["locations"]["nodes"]
    assert [d["ipAddress"] for n in again for d in n["devices"] if d["templateLinked"]] == ["192.168.1.31"]
