"""Creating a key download: check the selection (visible, CLAIMED, with keys), record it, make its link.

Flow: the caller authenticates recently (login or sessionReauthenticate), `keyDownloadCreate` checks
the selection and records a KeyDownload with its devices, and answers with a one-time link that
`GET /downloads/{token}` serves (downloads.serving).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import strawberry
from sqlalchemy import Select, case, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context, Principal
from graph.errors import BadUserInput, DomainError, DomainErrors
from graph.permissions import require_principal
from graph.relay import decode_id
from models import catalogue as c
from models.base import utcnow
from models.identity import User as UserModel
from resolvers.audit.rules import record
from resolvers.catalogue.devices.schema import DeviceFilter, apply_filter
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.scope import device_visible

MAX_DEVICE_IDS = 1000
#: UNCLAIMED devices named one by one in the refusal; the rest are counted.
MAX_NAMED_UNCLAIMED = 100


@dataclass
class CreatedDownload:
    download: c.KeyDownload
    token: str


@dataclass
class _Selection:
    """The selected devices' ids (a statement, used as IN (SELECT …): never a parameter list, however many
    devices match), the input field they came from, and each device's input position when given by ID."""

    ids: Select[Any]
    field: list[str]
    positions: dict[int, int] | None = None

    def problem_field(self, pk: int) -> list[str]:
        return ["deviceIds", str(self.positions[pk])] if self.positions is not None else self.field


def _check_request(context: Context, device_ids: list[strawberry.ID] | None, flt: DeviceFilter | None) -> None:
    if device_ids is not None and flt is not None:
        raise DomainError(Code.INVALID, "give either deviceIds or filter, not both")
    if device_ids is None and flt is None:
        raise DomainError(Code.REQUIRED, "give deviceIds (one device or a selection) or filter ({} for all your keys)")
    reauth_seconds = context.runtime.settings.key_download_reauth_seconds
    if require_principal(context).authenticated_at + timedelta(seconds=reauth_seconds) < utcnow():
        raise DomainError(
            Code.REAUTHENTICATION_REQUIRED,
            f"downloading keys needs an authentication within the last {reauth_seconds} s: "
            "run sessionReauthenticate with your password or code first",
        )


def _positions(device_ids: list[strawberry.ID]) -> tuple[dict[int, int], list[DomainError]]:
    """{pk: first input index} of the well-formed IDs, and a NOT_FOUND for each malformed one (every one at once,
    which graph.rules.decode_ids does not do: it stops at the first)."""
    if not device_ids:
        raise DomainError(Code.REQUIRED, "give at least one device ID", "deviceIds")
    if len(device_ids) > MAX_DEVICE_IDS:
        raise DomainError(Code.TOO_MANY, f"at most {MAX_DEVICE_IDS} device IDs; use a filter for more", "deviceIds")
    positions: dict[int, int] = {}
    unknown: list[DomainError] = []
    for index, global_id in enumerate(device_ids):
        pk = decode_id(global_id, "Device")
        if pk is None:
            unknown.append(DomainError(Code.NOT_FOUND, "no such device", ["deviceIds", str(index)]))
        else:
            positions.setdefault(pk, index)
    return positions, unknown


async def _selection_by_ids(session: AsyncSession, principal: Principal, device_ids: list[strawberry.ID]) -> _Selection:
    positions, errors = _positions(device_ids)
    found: set[int] = set()
    if positions:
        statement = select(c.Device.id).where(c.Device.id.in_(positions), device_visible(principal))
        found = set((await session.scalars(statement)).all())
    # Another organisation's device gets exactly the answer of an unknown one.
    errors += [
        DomainError(Code.NOT_FOUND, "no such device", ["deviceIds", str(i)])
        for pk, i in positions.items()
        if pk not in found
    ]
    if errors:
        errors.sort(key=lambda e: int((e.field or ["", "0"])[1]))
        raise DomainErrors(errors)
    return _Selection(select(c.Device.id).where(c.Device.id.in_(found)), ["deviceIds"], positions)


def _selection_by_filter(principal: Principal, flt: DeviceFilter) -> _Selection:
    try:
        ids = apply_filter(select(c.Device.id).where(device_visible(principal)), flt, principal)
    except BadUserInput as error:  # a malformed filter value is a payload error here, not a request error
        argument = str((error.extensions or {}).get("argument") or "filter")
        raise DomainError(Code.INVALID, error.message, argument.split(".")) from None
    return _Selection(ids, ["filter"])


async def _refuse_unclaimed(session: AsyncSession, selection: _Selection, unclaimed_count: int) -> None:
    """Refuse the whole request, naming the first MAX_NAMED_UNCLAIMED unclaimed devices and counting the rest."""
    named = (
        await session.execute(
            select(c.Device.id, c.Device.serial_number)
            .where(c.Device.id.in_(selection.ids), c.Device.claim_status == c.ClaimStatus.UNCLAIMED)
            .order_by(c.Device.serial_number, c.Device.id)
            .limit(MAX_NAMED_UNCLAIMED)
        )
    ).all()
    hint = (
        ""
        if selection.positions is not None
        else " (add claimStatus: CLAIMED to the filter to download the claimed ones)"
    )
    errors = [
        DomainError(
            Code.UNCLAIMED,
            f"device {serial} is UNCLAIMED: keys of unclaimed devices are never downloaded{hint}",
            selection.problem_field(pk),
        )
        for pk, serial in named
    ]
    if unclaimed_count > len(named):
        errors.append(
            DomainError(
                Code.UNCLAIMED,
                f"and {unclaimed_count - len(named)} more UNCLAIMED devices ({unclaimed_count} in all)",
                selection.field,
            )
        )
    raise DomainErrors(errors)


async def _counts(session: AsyncSession, selection: _Selection) -> tuple[int, int]:
    """(devices, active keys) of the selection; refused when it has none, or an UNCLAIMED device."""
    unclaimed = c.Device.claim_status == c.ClaimStatus.UNCLAIMED
    device_count, unclaimed_count = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(case((unclaimed, 1), else_=0)), 0))
            .select_from(c.Device)
            .where(c.Device.id.in_(selection.ids))
        )
    ).one()
    if device_count == 0:
        raise DomainError(Code.NOT_FOUND, "no device of yours matches the filter", selection.field)
    if unclaimed_count:
        await _refuse_unclaimed(session, selection, unclaimed_count)
    key_count = await session.scalar(
        select(func.count())
        .select_from(c.DeviceKey)
        .where(c.DeviceKey.device_id.in_(selection.ids), c.DeviceKey.state == c.KeyState.ACTIVE)
    )
    if not key_count:
        raise DomainError(Code.NOT_FOUND, "the selected devices have no active keys", selection.field)
    return device_count, key_count


async def _store(
    session: AsyncSession, context: Context, selection: _Selection, counts: tuple[int, int], now: datetime
) -> CreatedDownload:
    principal: Principal = require_principal(context)
    device_count, key_count = counts
    user_delimiter = await session.scalar(select(UserModel.csv_delimiter).where(UserModel.id == principal.user_id))
    token = secrets.token_urlsafe(32)
    download = c.KeyDownload(
        user_id=principal.user_id,
        organisation_id=principal.organisation_id,
        device_count=device_count,
        key_count=key_count,
        token_hash=hash_token(token),
        csv_delimiter=user_delimiter or ";",
        expires_at=now + timedelta(seconds=context.runtime.settings.key_download_ttl_seconds),
        created_at=now,
    )
    session.add(download)
    await session.flush()
    # One INSERT … SELECT, whatever the number of devices (no parameter list to outgrow).
    await session.execute(
        insert(c.KeyDownloadDevice).from_select(
            ["key_download_id", "device_id"],
            select(literal(download.id), c.Device.id).where(c.Device.id.in_(selection.ids)),
        )
    )
    return CreatedDownload(download=download, token=token)


async def create_download(
    session: AsyncSession, context: Context, device_ids: list[strawberry.ID] | None, flt: DeviceFilter | None
) -> CreatedDownload:
    """Record a download of the selected devices' active keys: exactly one of `device_ids` and `flt`."""
    _check_request(context, device_ids, flt)
    now = utcnow()
    principal: Principal = require_principal(context)
    if device_ids is not None:
        selection = await _selection_by_ids(session, principal, device_ids)
    else:
        assert flt is not None  # _check_request refuses neither
        selection = _selection_by_filter(principal, flt)
    counts = await _counts(session, selection)
    created = await _store(session, context, selection, counts, now)
    await record(
        session,
        context,
        "keys.download_created",
        organisation_id=principal.organisation_id,
        target_type="KeyDownload",
        target_id=created.download.id,
        details={
            "deviceCount": counts[0],
            "keyCount": counts[1],
            "selection": selection.field[0],
            "expiresAt": created.download.expires_at.isoformat(),
        },
    )
    return created


def download_url(context: Context, token: str) -> str:
    settings = context.runtime.settings
    base = settings.download_base_url
    if not base:
        request = context.request
        base = str(request.base_url) if request is not None and hasattr(request, "base_url") else settings.link_base_url
    return f"{base.rstrip('/')}/downloads/{token}"
