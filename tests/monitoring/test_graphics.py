"""Graphical configurations (§21.6): an SVG is sanitised (hostile SVGs lose scripts, handlers and external
references, or are refused for a DOCTYPE/entities, size or form), its elements are bound to telemetry keys with
conditions, actions and animations, stored and returned as structured data."""

from __future__ import annotations

from sqlalchemy import select

from graph.svg import MAX_BYTES, sanitise
from models.audit import AuditEvent
from tests.factories import snapshot
from tests.monitoring.datalog_helpers import ACTIVATE, call, codes, seed_site

GRAPHIC = """graphic { id name svg elementIds bindings { elementId key conditions { operator value }
  actions { kind value } animations } }"""
CREATE = f"""mutation($input: GraphicCreateInput!) {{ graphicCreate(input: $input) {{ {GRAPHIC}
  errors {{ code field message }} }} }}"""
UPDATE = f"""mutation($input: GraphicUpdateInput!) {{ graphicUpdate(input: $input) {{ {GRAPHIC}
  errors {{ code field message }} }} }}"""
DELETE = """mutation($input: GraphicDeleteInput!) { graphicDelete(input: $input) { deletedId errors { code } } }"""
LIST = """{ monitoredLocations(first: 5) { nodes { graphics { name elementIds bindings { elementId } } } } }"""

PLANT = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 100 50">
  <defs><linearGradient id="steel"><stop offset="0" stop-color="#999"/></linearGradient></defs>
  <rect id="tank" x="5" y="5" width="30" height="40" fill="url(#steel)"/>
  <use id="tank2" xlink:href="#tank" x="40"/>
  <text id="temperature" x="80" y="25">00</text>
  <circle id="pump" cx="70" cy="40" r="5"/>
</svg>"""

HOSTILE = """<?xml-stylesheet type="text/css" href="https://evil.example/s.css"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example"/></foreignObject>
  <style>@import url(https://evil.example/x.css);</style>
  <rect id="a" onclick="steal()" fill="url(https://evil.example/p.svg#x)" style="background:url(//evil.example)"/>
  <use id="b" xlink:href="https://evil.example/sprite.svg#icon"/>
  <a href="javascript:alert(1)"><circle id="c" r="1"/></a>
  <image id="d" href="https://evil.example/track.png"/>
  <image id="e" href="data:image/png;base64,iVBORw0KGgo="/>
  <animate attributeName="href" to="javascript:alert(1)"/>
  <set attributeName="onclick" to="alert(1)"/>
  <g id="f" style="-moz-binding:url(#x)" fill="red"/>
</svg>"""


async def monitored(gql, world, runtime) -> dict:
    site = await seed_site(runtime, world)
    await call(gql, ACTIVATE, "dataMonitoringActivate", {"locationId": site["location"]}, world.tokens["admin_a"])
    return site


def test_hostile_svg_keeps_nothing_that_runs_or_fetches():
    clean, ids = sanitise(HOSTILE)
    for gone in ("script", "alert", "foreignObject", "iframe", "evil.example", "onload", "onclick", "style", "animate",
                 "<set", "javascript", "@import", "binding", "xml-stylesheet"):  # fmt: skip
        assert gone not in clean, gone
    assert ids == ["a", "b", "d", "e", "f"]  # the <a> went with its circle; the images stay, only e with its data
    assert 'href="data:image/png;base64,iVBORw0KGgo="' in clean
    assert sanitise(clean)[0] == clean  # stable


def test_doctype_entities_size_and_form_are_refused():
    import pytest

    from graph.svg import BadSvg

    billion_laughs = """<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>"""
    xxe = """<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>"""
    doctype = """<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg"/>"""
    for text in (billion_laughs, xxe, doctype):
        with pytest.raises(BadSvg, match="DOCTYPE"):
            sanitise(text)
    with pytest.raises(BadSvg, match="KiB"):
        sanitise(PLANT + " " * MAX_BYTES)
    with pytest.raises(BadSvg, match="root"):
        sanitise("<html/>")
    with pytest.raises(BadSvg, match="well-formed"):
        sanitise("<svg")
    with pytest.raises(BadSvg, match="unique"):
        sanitise('<svg xmlns="http://www.w3.org/2000/svg"><g id="x"/><g id="x"/></svg>')


async def test_create_bind_update_delete(gql, world, runtime):
    site = await monitored(gql, world, runtime)
    bindings = [
        {"elementId": "temperature", "key": "temperature", "actions": [{"kind": "TEXT", "value": "{value} °C"}]},
        {
            "elementId": "pump",
            "key": "flow",
            "conditions": [{"operator": "GT", "value": 0}],
            "actions": [{"kind": "COLOUR", "value": "#0a0"}, {"kind": "ROTATION", "value": "90"}],
            "animations": ["ROTATE", "BLINK"],
        },
        {"elementId": "tank", "key": "level", "conditions": [{"operator": "EQ", "value": 0}],
         "actions": [{"kind": "REMOVE"}, {"kind": "SIZE", "value": "0.5"}]},
    ]  # fmt: skip
    made = await call(
        gql, CREATE, "graphicCreate",
        {"locationId": site["location"], "name": " Production line ", "svg": PLANT, "bindings": bindings},
        world.tokens["admin_a"],
    )  # fmt: skip
    assert made["errors"] == []
    graphic = made["graphic"]
    assert graphic["name"] == "Production line"
    assert graphic["elementIds"] == ["steel", "tank", "tank2", "temperature", "pump"]
    assert graphic["bindings"][1] == {
        "elementId": "pump",
        "key": "flow",
        "conditions": [{"operator": "GT", "value": 0.0}],
        "actions": [{"kind": "COLOUR", "value": "#0a0"}, {"kind": "ROTATION", "value": "90"}],
        "animations": ["BLINK", "ROTATE"],
    }
    assert 'xlink:href="#tank"' in graphic["svg"] and 'fill="url(#steel)"' in graphic["svg"]
    # a new SVG without the pump: its binding goes, the others stay
    smaller = PLANT.replace('<circle id="pump" cx="70" cy="40" r="5"/>', "")
    changed = await call(gql, UPDATE, "graphicUpdate", {"id": graphic["id"], "svg": smaller}, world.tokens["admin_a"])
    assert [b["elementId"] for b in changed["graphic"]["bindings"]] == ["temperature", "tank"]
    listed = await gql(LIST, token=world.tokens["admin_a"])
    assert listed["data"]["monitoredLocations"]["nodes"][0]["graphics"][0]["name"] == "Production line"
    deleted = await call(gql, DELETE, "graphicDelete", {"id": graphic["id"]}, world.tokens["admin_a"])
    assert deleted == {"deletedId": graphic["id"], "errors": []}
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.location_id == site["location_pk"], AuditEvent.action.like("datalog.graphic%"))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["datalog.graphic_created", "datalog.graphic_updated", "datalog.graphic_deleted"]


async def test_bad_graphics_are_refused_with_nothing_changed(gql, world, runtime):
    site = await monitored(gql, world, runtime)
    before = await snapshot(runtime)
    doctype = '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>'
    cases = [
        ({"svg": doctype}, [("INVALID", ["svg"])]),
        ({"svg": "<svg"}, [("INVALID", ["svg"])]),
        ({"bindings": [{"elementId": "nothing", "key": "t", "actions": [{"kind": "TEXT"}]}]},
         [("NOT_FOUND", ["bindings", "0", "elementId"])]),
        ({"bindings": [{"elementId": "pump", "key": "t"}]}, [("REQUIRED", ["bindings", "0", "actions"])]),
        ({"bindings": [{"elementId": "pump", "key": "t", "actions": [{"kind": "COLOUR", "value": "red;x:url(y)"}]}]},
         [("INVALID", ["bindings", "0", "actions", "0", "value"])]),
        ({"bindings": [{"elementId": "pump", "key": "t", "actions": [{"kind": "SIZE", "value": "-1"}]}]},
         [("INVALID", ["bindings", "0", "actions", "0", "value"])]),
        ({"bindings": [{"elementId": "pump", "key": "bad key", "animations": ["SHAKE"]}]},
         [("INVALID", ["bindings", "0", "key"])]),
        ({"name": " "}, [("REQUIRED", ["name"])]),
    ]  # fmt: skip
    for given, expected in cases:
        payload = await call(
            gql, CREATE, "graphicCreate", {"locationId": site["location"], "name": "X", "svg": PLANT, **given},
            world.tokens["admin_a"],
        )  # fmt: skip
        assert codes(payload) == expected, given
    assert await snapshot(runtime) == before
