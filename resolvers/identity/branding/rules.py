"""Theme and login domain rules (manual §14), each needing PORTAL_MANAGE for an organisation the caller sees.

A theme is saved whole or in part (`themeSet`); its images come with it as uploads, checked by content
(images.py). A login domain is registered PENDING with a token, and verified once the token is in DNS; the
unique `verified_domain` decides between organisations verifying the same domain at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_permission
from graph.relay import decode_id
from graph.rules import UNSET, clean_text
from graph.tenancy import organisation_visible, target_organisation
from graph.uploads import UploadError, UploadProblem, read_upload
from models import branding as br
from models import identity as m
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.branding.dns import TxtLookup, published
from resolvers.identity.branding.images import BadImage, ImageTooLarge, checked_image
from resolvers.identity.errors import IdentityErrorCode as Code

COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
IMAGE_FIELDS = {
    br.ThemeImageKind.LOGO: "logo",
    br.ThemeImageKind.LOGO_DARK: "logoDark",
    br.ThemeImageKind.FAVICON: "favicon",
}


@dataclass
class ThemeChanges:
    """A partial update: UNSET stays; for images an upload replaces, and `remove` deletes."""

    enabled: bool = UNSET
    main_colour: str | None = UNSET
    name: str | None = UNSET
    font: br.ThemeFont = UNSET
    website: str | None = UNSET
    images: dict[br.ThemeImageKind, Any] = field(default_factory=dict)
    remove: list[br.ThemeImageKind] = field(default_factory=list)


def _colour(value: str | None) -> str:
    colour = (value or "").strip()
    if colour and not COLOUR.fullmatch(colour):
        raise DomainError(Code.INVALID, "a colour is #RRGGBB", "mainColour")
    return colour.upper()


def _website(value: str | None) -> str:
    url = clean_text(value or "", "website", max_length=500, required=False, single_line=True)
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            raise DomainError(Code.INVALID, "the website link is an https:// address", "website")
    return url


async def _checked_images(context: Context, changes: ThemeChanges) -> dict[br.ThemeImageKind, tuple[str, bytes]]:
    """Every upload read and checked before anything is written: one bad image refuses the whole change."""
    limit = context.runtime.settings.theme_image_max_bytes
    checked = {}
    for kind, upload in changes.images.items():
        name = IMAGE_FIELDS[kind]
        try:
            content = (await read_upload(upload, max_bytes=limit)).content
            checked[kind] = checked_image(content, limit)
        except UploadError as error:
            code = Code.TOO_LARGE if error.problem is UploadProblem.TOO_LARGE else Code.INVALID
            raise DomainError(code, error.message, name) from None
        except BadImage as error:
            code = Code.TOO_LARGE if isinstance(error, ImageTooLarge) else Code.INVALID
            raise DomainError(code, str(error), name) from None
    return checked


async def _theme_of(session: AsyncSession, organisation: m.Organisation) -> br.Theme:
    theme = await session.get(br.Theme, organisation.id, with_for_update=True)
    if theme is None:
        theme = br.Theme(organisation_id=organisation.id)
        session.add(theme)
    return theme


def _apply(theme: br.Theme, changes: ThemeChanges) -> list[str]:
    changed = []
    values = {
        "enabled": changes.enabled,
        "main_colour": changes.main_colour if changes.main_colour is UNSET else _colour(changes.main_colour),
        "name": changes.name
        if changes.name is UNSET
        else clean_text(changes.name or "", "name", max_length=100, required=False, single_line=True),
        "font": changes.font,
        "website": changes.website if changes.website is UNSET else _website(changes.website),
    }
    for attribute, value in values.items():
        if value is not UNSET and getattr(theme, attribute) != value:
            setattr(theme, attribute, value)
            changed.append(attribute)
    return changed


async def _store_images(
    session: AsyncSession, organisation: m.Organisation, checked: dict, remove: list[br.ThemeImageKind]
) -> list[str]:
    rows = {
        row.kind: row
        for row in (
            await session.scalars(select(br.ThemeImage).where(br.ThemeImage.organisation_id == organisation.id))
        ).all()
    }
    changed = []
    for kind in dict.fromkeys(remove):
        if kind in rows and kind not in checked:
            await session.delete(rows[kind])
            changed.append(IMAGE_FIELDS[kind])
    for kind, (content_type, content) in checked.items():
        row = rows.get(kind) or br.ThemeImage(organisation_id=organisation.id, kind=kind)
        row.content_type, row.content = content_type, content
        row.sha256 = hashlib.sha256(content).hexdigest()
        row.created_at = utcnow()
        session.add(row)
        changed.append(IMAGE_FIELDS[kind])
    return changed


async def set_theme(
    session: AsyncSession, context: Context, organisation_id: str | None, changes: ThemeChanges
) -> m.Organisation:
    principal = require_permission(context, m.Permission.PORTAL_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    checked = await _checked_images(context, changes)
    theme = await _theme_of(session, organisation)
    changed = _apply(theme, changes) + await _store_images(session, organisation, checked, changes.remove)
    theme.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        context,
        "theme.updated",
        organisation_id=organisation.id,
        target_type="Organisation",
        target_id=organisation.id,
        details={"changed": sorted(changed)},
    )
    return organisation


# --- login domains ------------------------------------------------------------------------------------------


def _domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not DOMAIN.fullmatch(domain):
        raise DomainError(Code.INVALID, "enter a domain name such as portal.example.com", "domain")
    return domain


async def add_login_domain(
    session: AsyncSession, context: Context, organisation_id: str | None, domain: str
) -> br.LoginDomain:
    principal = require_permission(context, m.Permission.PORTAL_MANAGE)
    organisation = await target_organisation(session, principal, organisation_id, "organisationId")
    name = _domain(domain)
    duplicate = DomainError(Code.DUPLICATE, "the organisation has this domain already", "domain")
    if await session.scalar(
        select(br.LoginDomain.id).where(
            br.LoginDomain.organisation_id == organisation.id, br.LoginDomain.domain == name
        )
    ):
        raise duplicate
    row = br.LoginDomain(organisation_id=organisation.id, domain=name, token=secrets.token_hex(16))
    session.add(row)
    try:
        async with session.begin_nested():  # the same domain added at the same moment
            await session.flush()
    except IntegrityError:
        raise duplicate from None
    await record(
        session,
        context,
        "login_domain.added",
        organisation_id=organisation.id,
        target_type="LoginDomain",
        target_id=row.id,
        details={"domain": name},
    )
    return row


async def visible_login_domain(session: AsyncSession, context: Context, global_id: str) -> br.LoginDomain:
    principal = require_permission(context, m.Permission.PORTAL_MANAGE)
    pk = decode_id(global_id, "LoginDomain")
    row = (
        await session.scalar(
            select(br.LoginDomain)
            .join(m.Organisation, m.Organisation.id == br.LoginDomain.organisation_id)
            .where(br.LoginDomain.id == pk, organisation_visible(principal))
        )
        if pk is not None
        else None
    )
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No such login domain.", "id")
    return row


async def verify_login_domain(
    session: AsyncSession, context: Context, global_id: str, lookup: TxtLookup
) -> br.LoginDomain:
    """PENDING -> VERIFIED when the TXT record holds the token; an already verified domain stays so."""
    row = await visible_login_domain(session, context, global_id)
    if row.state is br.LoginDomainState.VERIFIED:
        return row
    taken = DomainError(Code.DUPLICATE, "another organisation uses this domain", "id")
    if await session.scalar(select(br.LoginDomain.id).where(br.LoginDomain.verified_domain == row.domain)):
        raise taken
    if not await published(lookup, row.domain, row.token):
        raise DomainError(Code.NOT_VERIFIED, "the TXT record with the token was not found (yet)", "id")
    try:
        async with session.begin_nested():  # the unique verified_domain decides between organisations
            verified = await session.execute(
                update(br.LoginDomain)
                .where(br.LoginDomain.id == row.id, br.LoginDomain.state == br.LoginDomainState.PENDING)
                .values(state=br.LoginDomainState.VERIFIED, verified_domain=row.domain, verified_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        raise taken from None
    await session.refresh(row)
    if cast(CursorResult[Any], verified).rowcount == 1:
        await record(
            session,
            context,
            "login_domain.verified",
            organisation_id=row.organisation_id,
            target_type="LoginDomain",
            target_id=row.id,
            details={"domain": row.domain},
        )
    return row


async def delete_login_domain(session: AsyncSession, context: Context, global_id: str) -> str:
    row = await visible_login_domain(session, context, global_id)
    await session.delete(row)
    await session.flush()
    await record(
        session,
        context,
        "login_domain.deleted",
        organisation_id=row.organisation_id,
        target_type="LoginDomain",
        target_id=row.id,
        details={"domain": row.domain},
    )
    return global_id
