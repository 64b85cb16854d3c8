"""Personalised themes (issue 18, manual §14): saved with PORTAL_MANAGE, images checked by their content and
served under their hash with the right headers, readable before login by customer number."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

from PIL import Image
from sqlalchemy import select

from models import branding as br
from models import identity as m
from tests.factories import add_organisation, add_user, issue_token, snapshot

THEME_SET = """mutation($input: ThemeSetInput!) {
  themeSet(input: $input) {
    organisation { name theme { enabled mainColour name font website updatedAt
      logo { url contentType } logoDark { url contentType } favicon { url contentType } } }
    errors { code field message }
  }
}"""
LOGIN_THEME = """query($number: String) {
  loginTheme(customerNumber: $number) { enabled name mainColour font website logo { url contentType } } }"""
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0A7"/></svg>'
)
SCRIPTED_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script><rect width="1"/></svg>'
EVENT_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" onclick="steal()"/></svg>'
EXTERNAL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    b'<image xlink:href="https://evil.example/track.png" width="1" height="1"/></svg>'
)


def raster(format: str, size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 170, 119)).save(buffer, format=format)
    return buffer.getvalue()


async def theme_set(
    client, token: str, variables: dict, files: dict[str, tuple[str, bytes, str]] | None = None
) -> dict:
    """themeSet as a GraphQL multipart request (`files`: input field -> (file name, bytes, declared type))."""
    files = files or {}
    variables = {**variables, **{name: None for name in files}}
    if not files:
        response = await client.post(
            "/graphql",
            json={"query": THEME_SET, "variables": {"input": variables}},
            headers={"Authorization": f"Bearer {token}"},
        )
    else:
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": THEME_SET, "variables": {"input": variables}}),
                "map": json.dumps({str(i): [f"variables.input.{name}"] for i, name in enumerate(files)}),
            },
            files={str(i): file for i, file in enumerate(files.values())},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["themeSet"]


def problems(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


async def test_a_theme_with_its_images_is_saved_and_served(client, gql, world, runtime):
    png, ico = raster("PNG"), raster("ICO")
    saved = await theme_set(
        client,
        world.tokens["admin_a"],
        {
            "enabled": True,
            "mainColour": "#0a7f3c",
            "name": "Acme Portal",
            "font": "ROBOTO",
            "website": "https://acme.example/",
        },
        {
            "logo": ("logo.png", png, "image/png"),
            "logoDark": ("dark.svg", LOGO_SVG, "image/svg+xml"),
            # the declared type and name say nothing: the content decides
            "favicon": ("favicon.txt", ico, "text/plain"),
        },
    )
    assert saved["errors"] == []
    theme = saved["organisation"]["theme"]
    assert {key: theme[key] for key in ("enabled", "mainColour", "name", "font", "website")} == {
        "enabled": True,
        "mainColour": "#0A7F3C",
        "name": "Acme Portal",
        "font": "ROBOTO",
        "website": "https://acme.example/",
    }
    assert theme["logo"] == {"url": f"/theme-images/{hashlib.sha256(png).hexdigest()}", "contentType": "image/png"}
    assert theme["logoDark"]["contentType"] == "image/svg+xml"
    assert theme["favicon"]["contentType"] == "image/x-icon"

    served = await client.get(theme["logo"]["url"])
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = served.headers["etag"]
    again = await client.get(theme["logo"]["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    svg = await client.get(theme["logoDark"]["url"])
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "default-src 'none'" in svg.headers["content-security-policy"]
    assert "sandbox" in svg.headers["content-security-policy"]
    assert b"<rect" in svg.content

    favicon = await client.get(theme["favicon"]["url"])
    assert favicon.headers["content-type"] == "image/x-icon"

    unknown = await client.get("/theme-images/" + "0" * 64)
    assert unknown.status_code == 404
    assert (await client.get("/theme-images/not-a-hash")).status_code == 404


async def test_images_that_are_not_acceptable_are_refused_and_change_nothing(client, world, runtime, monkeypatch):
    token = world.tokens["admin_a"]
    first = await theme_set(client, token, {"name": "Before"}, {"logo": ("logo.png", raster("PNG"), "image/png")})
    assert first["errors"] == []
    before = await snapshot(runtime)
    refused = {
        "a script": ("logo.svg", SCRIPTED_SVG, "image/svg+xml"),
        "an event attribute": ("logo.svg", EVENT_SVG, "image/svg+xml"),
        "an external reference": ("logo.svg", EXTERNAL_SVG, "image/svg+xml"),
        "text named and declared as PNG": ("logo.png", b"this is not an image at all", "image/png"),
        "a truncated PNG": ("logo.png", raster("PNG", (64, 64))[:60], "image/png"),
        "a GIF (not on the list)": ("logo.gif", raster("GIF"), "image/gif"),
        "a PDF declared as JPEG": ("logo.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "image/jpeg"),
    }
    for label, file in refused.items():
        payload = await theme_set(client, token, {"name": "After"}, {"logo": file})
        assert payload["organisation"] is None, label
        assert problems(payload) == [("INVALID", ["logo"])], (label, payload)
    script = await theme_set(client, token, {}, {"logo": ("logo.svg", SCRIPTED_SVG, "image/svg+xml")})
    assert "script" in script["errors"][0]["message"]

    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, theme_image_max_bytes=1024))
    too_large = await theme_set(client, token, {}, {"favicon": ("big.png", raster("PNG", (400, 400)), "image/png")})
    assert problems(too_large) == [("TOO_LARGE", ["favicon"])]
    assert "1024" in too_large["errors"][0]["message"]
    assert await snapshot(runtime) == before


async def test_bad_fields_are_refused(client, world, runtime):
    token = world.tokens["admin_a"]
    before = await snapshot(runtime)
    for variables, field in (
        ({"mainColour": "green"}, "mainColour"),
        ({"mainColour": "#12345"}, "mainColour"),
        ({"website": "http://acme.example"}, "website"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"website": "https://user:pw@acme.example"}, "website"),
        ({"name": "x" * 101}, "name"),
    ):
        payload = await theme_set(client, token, variables)
        assert [error["field"] for error in payload["errors"]] == [[field]], (variables, payload)
    assert await snapshot(runtime) == before


async def test_images_are_replaced_and_removed(client, world, runtime):
    token = world.tokens["admin_a"]
    old = raster("PNG")
    await theme_set(client, token, {}, {"logo": ("a.png", old, "image/png")})
    new = raster("WEBP")
    replaced = await theme_set(client, token, {}, {"logo": ("b.webp", new, "image/webp")})
    assert replaced["organisation"]["theme"]["logo"]["contentType"] == "image/webp"
    assert (await client.get(f"/theme-images/{hashlib.sha256(old).hexdigest()}")).status_code == 404
    removed = await theme_set(client, token, {"removeImages": ["LOGO"]})
    assert removed["errors"] == [] and removed["organisation"]["theme"]["logo"] is None
    async with runtime.session_factory() as session:
        assert (await session.scalars(select(br.ThemeImage))).all() == []


async def test_a_user_without_portal_manage_cannot_set_the_theme(client, world, runtime):
    before = await snapshot(runtime)
    response = await client.post(
        "/graphql",
        json={"query": THEME_SET, "variables": {"input": {"name": "Mine"}}},
        headers={"Authorization": f"Bearer {world.tokens['user_a']}"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before


async def test_the_login_page_reads_an_enabled_theme_by_customer_number(client, gql, world, runtime):
    async with runtime.session_factory() as session:
        number = await session.scalar(
            select(m.Organisation.customer_number).where(m.Organisation.id == world.organisations["a"].id)
        )
    token = world.tokens["admin_a"]
    await theme_set(client, token, {"name": "Acme", "mainColour": "#112233"}, {"logo": ("l.png", raster("PNG"), "x")})
    # saved but off: the login page shows the platform's look, as for an unknown number
    assert (await gql(LOGIN_THEME, {"number": number}))["data"]["loginTheme"] is None
    assert (await gql(LOGIN_THEME, {"number": "00000000"}))["data"]["loginTheme"] is None
    await theme_set(client, token, {"enabled": True})
    shown = (await gql(LOGIN_THEME, {"number": f" {number} "}))["data"]["loginTheme"]  # no token: before login
    assert shown["name"] == "Acme" and shown["mainColour"] == "#112233" and shown["enabled"] is True
    assert shown["logo"]["contentType"] == "image/png"
    # no customer number and no login domain: nothing
    assert (await gql(LOGIN_THEME, {}))["data"]["loginTheme"] is None


async def test_organisations_with_themes_load_in_a_fixed_number_of_statements(client, gql, world, runtime, count_sql):
    async def statements() -> int:
        with count_sql() as counter:
            result = await gql(
                "{ organisations(first: 100) { nodes { name theme { name logo { url } favicon { url } } } } }",
                token=world.tokens["platform"],
            )
        assert "errors" not in result, result
        return counter.count

    async with runtime.session_factory() as session, session.begin():
        platform = await session.get(m.Organisation, world.organisations["platform"].id)
        for i in range(3):
            organisation = await add_organisation(session, f"Themed {i}", platform)
            session.add(br.Theme(organisation_id=organisation.id, name=f"T{i}"))
            session.add(
                br.ThemeImage(
                    organisation_id=organisation.id,
                    kind=br.ThemeImageKind.LOGO,
                    content_type="image/png",
                    content=b"x",
                    sha256=f"{i:064d}",
                )
            )
    few = await statements()
    async with runtime.session_factory() as session, session.begin():
        platform = await session.get(m.Organisation, world.organisations["platform"].id)
        for i in range(3, 12):
            organisation = await add_organisation(session, f"Themed {i}", platform)
            session.add(br.Theme(organisation_id=organisation.id, name=f"T{i}"))
            session.add(
                br.ThemeImage(
                    organisation_id=organisation.id,
                    kind=br.ThemeImageKind.LOGO,
                    content_type="image/png",
                    content=b"x",
                    sha256=f"{i:064d}",
                )
            )
    # authentication 1 + page 1 + themes 1 + images 1
    assert few == await statements() == 4


async def test_an_admin_sets_the_theme_of_a_child_organisation(client, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        a1 = await session.get(m.Organisation, world.organisations["a1"].id)
        manager = await add_user(session, a1, "manager@a1.example", [m.Role.ORGANISATION_ADMIN])
        manager_token = await issue_token(session, manager)
    child = await theme_set(
        client, world.tokens["admin_a"], {"organisationId": world.id("Organisation", "a1"), "name": "A1 look"}
    )
    assert child["errors"] == [] and child["organisation"]["name"] == "Tenant A1"
    # the child's own admin may not reach the parent's
    parent = await theme_set(client, manager_token, {"organisationId": world.id("Organisation", "a"), "name": "x"})
    assert problems(parent) == [("NOT_FOUND", ["organisationId"])]
