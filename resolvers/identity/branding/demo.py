"""Demo data of login identity (issue 18): fixed customer numbers and usernames for the demo users (README:
log in with customer number + username), IntegraDemo's theme with its logos, and a verified login domain."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.demo import DemoTenants
from models import branding as br
from models import identity as m
from models.base import utcnow

#: Customer numbers of the demo organisations (random elsewhere; fixed here so that the README can show them).
DEMO_CUSTOMER_NUMBERS = {"platform": "10000001", "integra": "20184711", "service": "20184712", "partner": "30187733"}
#: Usernames of the demo users, by e-mail address.
DEMO_USERNAMES = {
    "platform@fleetgraph.example": "admin",
    "demo@integra-metering.com": "demo",
    "erika@integra-metering.com": "erika",
    "max@service.integra-metering.com": "max",
    "api@integra-metering.com": "api",
    "paula@partner-metering.example": "paula",
}
DEMO_COLOUR = "#0A7F3C"
DEMO_LOGIN_DOMAIN = "portal.integra-metering.example"
DARK_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 32"><rect width="120" height="32" rx="6" fill="#12241a"/>'
    '<circle cx="16" cy="16" r="9" fill="#0A7F3C"/><text x="32" y="21" font-family="sans-serif" font-size="13" '
    'fill="#ffffff">IntegraDemo</text></svg>'
)


def demo_logo() -> bytes:
    """A small PNG: a green badge with a white drop (drawn, so the demo needs no binary file)."""
    image = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 95, 95), radius=18, fill=(10, 127, 60, 255))
    draw.ellipse((30, 40, 66, 76), fill=(255, 255, 255, 255))
    draw.polygon([(48, 14), (32, 52), (64, 52)], fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _image(organisation_id: int, kind: br.ThemeImageKind, content_type: str, content: bytes) -> br.ThemeImage:
    return br.ThemeImage(
        organisation_id=organisation_id,
        kind=kind,
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


async def seed_demo_branding(session: AsyncSession, tenants: DemoTenants) -> None:
    for key, number in DEMO_CUSTOMER_NUMBERS.items():
        tenants.organisations[key].customer_number = number
    for email, username in DEMO_USERNAMES.items():
        await session.execute(update(m.User).where(m.User.id == tenants.users[email]).values(username=username))
    integra = tenants.organisations["integra"].id
    session.add(
        br.Theme(
            organisation_id=integra,
            enabled=True,
            main_colour=DEMO_COLOUR,
            name="IntegraDemo Portal",
            font=br.ThemeFont.OPEN_SANS,
            website="https://integra-metering.com/",
        )
    )
    logo = demo_logo()
    session.add_all(
        [
            _image(integra, br.ThemeImageKind.LOGO, "image/png", logo),
            _image(integra, br.ThemeImageKind.FAVICON, "image/png", logo),
            _image(integra, br.ThemeImageKind.LOGO_DARK, "image/svg+xml", DARK_LOGO.encode()),
        ]
    )
    session.add(
        br.LoginDomain(
            organisation_id=integra,
            domain=DEMO_LOGIN_DOMAIN,
            token=hashlib.sha256(DEMO_LOGIN_DOMAIN.encode()).hexdigest()[:32],
            state=br.LoginDomainState.VERIFIED,
            verified_domain=DEMO_LOGIN_DOMAIN,
            verified_at=utcnow(),
        )
    )
    await session.flush()
