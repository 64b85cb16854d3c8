"""Key downloads: the only way device keys leave the system.

Flow: the caller authenticates recently (login or sessionReauthenticate), `keyDownloadCreate` checks
the selection (visible, CLAIMED, with keys) and records a KeyDownload with its devices, and answers
with a one-time link. `GET /downloads/{token}` with the same user's bearer token consumes the link
atomically and streams the CSV page by page (one query read through a cursor, a chunk per page), so
that 100,000 keys never sit in memory at once.

Serving re-checks every device: one that is no longer visible to the caller or no longer CLAIMED
(it moved or was released since the link was made) is skipped, never refused midway, and the number
skipped is in the `X-Skipped-Devices` header and the audit event. Key bytes exist only between
open_device_key() and the CSV chunk; they never go into a log, an error or an audit record.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import strawberry
from sqlalchemy import case, func, insert, literal, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from strawberry.types import Info

from graph.auth import authenticate, bearer_token, hash_token
from graph.context import Context, Principal
from graph.errors import BadUserInput, DomainError, DomainErrors, problems_of
from graph.http import client_address
from graph.loaders import by_key
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.relay import (
    DEFAULT_PAGE_SIZE,
    Connection,
    Edge,
    Node,
    PageAfter,
    PageBefore,
    PageFirst,
    PageInfo,
    PageLast,
    SortKey,
    check_page_arguments,
    decode_cursor,
    decode_id,
    encode_cursor,
    node_loader,
    paginate,
    rows_beyond,
    to_global_id,
)
from graph.secrets import SecretError
from graph.tenancy import visible_organisation_ids
from models import catalogue as c
from models.base import utcnow
from models.identity import Permission
from models.identity import User as UserModel
from resolvers.audit.rules import record
from resolvers.catalogue import loaders
from resolvers.catalogue.errors import CatalogueError
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.keys import open_device_key
from resolvers.catalogue.queries import DeviceFilter, apply_filter
from resolvers.catalogue.types import Device
from resolvers.identity import loaders as identity_loaders
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.types import User

log = logging.getLogger("fleetgraph.downloads")

MAX_DEVICE_IDS = 1000
#: UNCLAIMED devices named one by one in the refusal; the rest are counted.
MAX_NAMED_UNCLAIMED = 100
#: Keys per cursor fetch and CSV chunk while streaming.
PAGE_SIZE = 500
#: The import format of the key file (resolvers/catalogue import), so that a download can be imported again.
CSV_HEADER = ("serial_number", "product_type", "key_kind", "algorithm", "key")


def _error_list(error: DomainError) -> list[CatalogueError]:
    return [CatalogueError(code=e.code, field=e.field, message=e.message) for e in problems_of(error)]


# --- creating a download ---------------------------------------------------------------------------------


@dataclass
class CreatedDownload:
    download: c.KeyDownload
    token: str


def _selection_by_ids(principal: Principal, device_ids: list[strawberry.ID]):
    """(statement of the selected devices' ids, {pk: input index}) or DomainErrors NOT_FOUND."""
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


def _filter_selection(principal: Principal, flt: DeviceFilter):
    try:
        return apply_filter(select(c.Device.id).where(loaders.device_visible(principal)), flt, principal)
    except BadUserInput as error:  # a malformed filter value is a payload error here, not a request error
        argument = str((error.extensions or {}).get("argument") or "filter")
        raise DomainError(Code.INVALID, error.message, argument.split(".")) from None


async def create_download(
    session: AsyncSession, context: Context, device_ids: list[strawberry.ID] | None, flt: DeviceFilter | None
) -> CreatedDownload:
    principal = context.principal
    settings = context.runtime.settings
    if device_ids is not None and flt is not None:
        raise DomainError(Code.INVALID, "give either deviceIds or filter, not both")
    if device_ids is None and flt is None:
        raise DomainError(Code.REQUIRED, "give deviceIds (one device or a selection) or filter ({} for all your keys)")
    now = utcnow()
    if principal.authenticated_at + timedelta(seconds=settings.key_download_reauth_seconds) < now:
        raise DomainError(
            Code.REAUTHENTICATION_REQUIRED,
            f"downloading keys needs an authentication within the last {settings.key_download_reauth_seconds} s: "
            "run sessionReauthenticate with your password or code first",
        )

    field: list[str] | None
    if device_ids is not None:
        positions, errors = _selection_by_ids(principal, device_ids)
        found = set()
        if positions:
            found = set(
                (
                    await session.scalars(
                        select(c.Device.id).where(c.Device.id.in_(positions), loaders.device_visible(principal))
                    )
                ).all()
            )
        # Another organisation's device gets exactly the answer of an unknown one.
        errors += [
            DomainError(Code.NOT_FOUND, "no such device", ["deviceIds", str(i)])
            for pk, i in positions.items()
            if pk not in found
        ]
        if errors:
            errors.sort(key=lambda e: int(e.field[1]))
            raise DomainErrors(errors)
        selected = select(c.Device.id).where(c.Device.id.in_(found))
        field = ["deviceIds"]
    else:
        selected = _filter_selection(principal, flt)
        field = ["filter"]

    # Used as a subquery, IN (SELECT …): never a parameter list, however many devices match.
    selected_ids = selected
    unclaimed = c.Device.claim_status == c.ClaimStatus.UNCLAIMED
    device_count, unclaimed_count = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(case((unclaimed, 1), else_=0)), 0))
            .select_from(c.Device)
            .where(c.Device.id.in_(selected_ids))
        )
    ).one()
    if device_count == 0:
        raise DomainError(Code.NOT_FOUND, "no device of yours matches the filter", field)
    if unclaimed_count:
        named = (
            await session.execute(
                select(c.Device.id, c.Device.serial_number)
                .where(c.Device.id.in_(selected_ids), unclaimed)
                .order_by(c.Device.serial_number, c.Device.id)
                .limit(MAX_NAMED_UNCLAIMED)
            )
        ).all()
        hint = (
            "" if device_ids is not None else " (add claimStatus: CLAIMED to the filter to download the claimed ones)"
        )
        errors = [
            DomainError(
                Code.UNCLAIMED,
                f"device {serial} is UNCLAIMED: keys of unclaimed devices are never downloaded{hint}",
                ["deviceIds", str(positions[pk])] if device_ids is not None else field,
            )
            for pk, serial in named
        ]
        if unclaimed_count > len(named):
            errors.append(
                DomainError(
                    Code.UNCLAIMED,
                    f"and {unclaimed_count - len(named)} more UNCLAIMED devices ({unclaimed_count} in all)",
                    field,
                )
            )
        raise DomainErrors(errors)
    key_count = await session.scalar(
        select(func.count())
        .select_from(c.DeviceKey)
        .where(c.DeviceKey.device_id.in_(selected_ids), c.DeviceKey.state == c.KeyState.ACTIVE)
    )
    if not key_count:
        raise DomainError(Code.NOT_FOUND, "the selected devices have no active keys", field)

    user_delimiter = await session.scalar(select(UserModel.csv_delimiter).where(UserModel.id == principal.user_id))
    token = secrets.token_urlsafe(32)
    download = c.KeyDownload(
        user_id=principal.user_id,
        organisation_id=principal.organisation_id,
        device_count=device_count,
        key_count=key_count,
        token_hash=hash_token(token),
        csv_delimiter=user_delimiter or ";",
        expires_at=now + timedelta(seconds=settings.key_download_ttl_seconds),
        created_at=now,
    )
    session.add(download)
    await session.flush()
    # One INSERT … SELECT, whatever the number of devices (no parameter list to outgrow).
    await session.execute(
        insert(c.KeyDownloadDevice).from_select(
            ["key_download_id", "device_id"],
            select(literal(download.id), c.Device.id).where(c.Device.id.in_(selected_ids)),
        )
    )
    await record(
        session,
        context,
        "keys.download_created",
        organisation_id=principal.organisation_id,
        target_type="KeyDownload",
        target_id=download.id,
        details={
            "deviceCount": device_count,
            "keyCount": key_count,
            "selection": field[0],
            "expiresAt": download.expires_at.isoformat(),
        },
    )
    return CreatedDownload(download=download, token=token)


def download_url(context: Context, token: str) -> str:
    settings = context.runtime.settings
    base = settings.download_base_url
    if not base:
        request = context.request
        base = str(request.base_url) if request is not None and hasattr(request, "base_url") else settings.public_url
    return f"{base.rstrip('/')}/downloads/{token}"


# --- visibility and loaders ------------------------------------------------------------------------------


def key_download_visible(principal: Principal):
    """Downloads made in the caller's organisation subtree (platform admins: all)."""
    if principal.is_platform_admin:
        return true()
    return c.KeyDownload.organisation_id.in_(visible_organisation_ids(principal))


async def visible_key_downloads(context, ids: Sequence[int]) -> list[c.KeyDownload | None]:
    async with context.session() as session:
        rows = (
            await session.scalars(
                select(c.KeyDownload).where(c.KeyDownload.id.in_(ids), key_download_visible(context.principal))
            )
        ).all()
    return by_key(rows, ids, lambda row: row.id)


def _device_sort_keys() -> list[SortKey]:
    return [SortKey(c.Device.serial_number), SortKey(c.Device.id)]


def _download_devices(principal: Principal):
    """Devices of downloads that the caller still sees (a device given away since is not listed)."""
    KDD = c.KeyDownloadDevice
    return (
        select(KDD.key_download_id, c.Device)
        .join(c.Device, c.Device.id == KDD.device_id)
        .where(loaders.device_visible(principal))
    )


async def device_counts_by_download(context, ids: Sequence[int]) -> list[int]:
    KDD = c.KeyDownloadDevice
    statement = (
        select(KDD.key_download_id, func.count())
        .join(c.Device, c.Device.id == KDD.device_id)
        .where(KDD.key_download_id.in_(ids), loaders.device_visible(context.principal))
        .group_by(KDD.key_download_id)
    )
    async with context.session() as session:
        counts = dict((await session.execute(statement)).all())
    return [counts.get(pk, 0) for pk in ids]


PageKey = tuple[int, int | None, str | None, int | None, str | None]  # (download pk, first, after, last, before)


async def device_pages(context, keys: Sequence[PageKey]) -> list[Connection[Device]]:
    """One page of devices per download; downloads asking for the same page arguments share one statement
    (ROW_NUMBER() per download), so a list of downloads with their devices is not N+1."""
    groups: dict[tuple, list[int]] = {}
    for pk, *arguments in keys:
        groups.setdefault(tuple(arguments), []).append(pk)
    pages: dict[PageKey, Connection[Device]] = {}
    sort_keys = _device_sort_keys()
    KDD = c.KeyDownloadDevice
    for (first, after, last, before), pks in groups.items():
        check_page_arguments(first, last)
        backward = last is not None
        size = last if backward else (first if first is not None else DEFAULT_PAGE_SIZE)
        conditions = [KDD.key_download_id.in_(pks), loaders.device_visible(context.principal)]
        if after is not None:
            conditions.append(rows_beyond(sort_keys, decode_cursor(after, sort_keys), forward=True))
        if before is not None:
            conditions.append(rows_beyond(sort_keys, decode_cursor(before, sort_keys), forward=False))
        ordering = [key.column.desc() if backward else key.column.asc() for key in sort_keys]
        numbered = (
            select(
                KDD.key_download_id.label("download_id"),
                KDD.device_id.label("device_id"),
                func.row_number().over(partition_by=KDD.key_download_id, order_by=ordering).label("position"),
            )
            .join(c.Device, c.Device.id == KDD.device_id)
            .where(*conditions)
            .subquery()
        )
        statement = (
            select(numbered.c.download_id, c.Device)
            .join(c.Device, c.Device.id == numbered.c.device_id)
            .where(numbered.c.position <= size + 1)
            .order_by(numbered.c.download_id, numbered.c.position)
        )
        async with context.session() as session:
            rows = (await session.execute(statement)).all()
        per_download: dict[int, list[c.Device]] = {pk: [] for pk in pks}
        for download_id, device in rows:
            per_download[download_id].append(device)
        for pk, devices in per_download.items():
            has_more = len(devices) > size
            devices = devices[:size]
            if backward:
                devices.reverse()
            edges = [Edge(cursor=encode_cursor([d.serial_number, d.id]), node=Device.from_model(d)) for d in devices]
            page_info = PageInfo(
                has_next_page=has_more if not backward else before is not None,
                has_previous_page=has_more if backward else after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            )

            async def count(pk: int = pk) -> int:
                return await context.loaders(device_counts_by_download).load(pk)

            pages[(pk, first, after, last, before)] = Connection(
                edges=edges, nodes=[e.node for e in edges], page_info=page_info, count=count
            )
    return [pages[tuple(key)] for key in keys]


# --- GraphQL types ---------------------------------------------------------------------------------------


@strawberry.type(description="A key download: who, when, how many devices and keys; its link works once, briefly.")
class KeyDownload(Node):
    created_at: datetime = strawberry.field(description="When the download was created.")
    expires_at: datetime = strawberry.field(description="Until when its link could be used.")
    downloaded_at: datetime | None = strawberry.field(description="When the link was used (once), or null.")
    device_count: int = strawberry.field(description="Devices selected when it was created.")
    key_count: int = strawberry.field(description="Active keys of those devices when it was created.")
    csv_delimiter: str = strawberry.field(description="Column delimiter of the CSV (the creator's setting).")
    pk: strawberry.Private[int]
    user_pk: strawberry.Private[int | None]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: c.KeyDownload) -> KeyDownload:
        return cls(
            id=strawberry.ID(to_global_id("KeyDownload", row.id)),
            created_at=row.created_at,
            expires_at=row.expires_at,
            downloaded_at=row.downloaded_at,
            device_count=row.device_count,
            key_count=row.key_count,
            csv_delimiter=row.csv_delimiter,
            pk=row.id,
            user_pk=row.user_id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="Who created it; null if that user was deleted.")
    async def user(self, info: Info) -> User | None:
        if self.user_pk is None:
            return None
        row = await info.context.loaders(identity_loaders.visible_users).load(self.user_pk)
        return User.from_model(row) if row else None

    @strawberry.field(description="The organisation of its creator.")
    async def organisation(self, info: Info) -> Organisation:
        row = await info.context.loaders(identity_loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row)

    @strawberry.field(description="Its devices that you still see, by serial number (never their keys).")
    async def devices(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Device]:
        return await info.context.loaders(device_pages).load((self.pk, first, after, last, before))


@strawberry.input(description="What to download: exactly one of deviceIds and filter.")
class KeyDownloadCreateInput:
    device_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"One device or a selection (at most {MAX_DEVICE_IDS})."
    )
    filter: DeviceFilter | None = strawberry.field(
        default=None, description="All your devices matching the catalogue filter; {} for all your keys."
    )


@strawberry.type(description="The new key download and its one-time link, or why there is none.")
class KeyDownloadCreatePayload:
    key_download: KeyDownload | None = strawberry.field(description="The record of the download; null when refused.")
    url: str | None = strawberry.field(
        description=(
            "One-time link to the CSV, valid until expiresAt: GET it with `Authorization: Bearer <your access "
            "token>`. Shown only here."
        )
    )
    errors: list[CatalogueError] = strawberry.field(
        description=(
            "REAUTHENTICATION_REQUIRED (run sessionReauthenticate first), UNCLAIMED (each unclaimed device by serial "
            "number, the whole request refused), NOT_FOUND (unknown device ID, also another organisation's; no "
            "device matches; no active keys), REQUIRED/INVALID (neither or both of deviceIds and filter, bad "
            "filter), TOO_MANY."
        )
    )


@strawberry.type
class KeyDownloadMutation:
    @strawberry.mutation(
        description=(
            "Prepare a key download of CLAIMED devices you see: one, a selection, or all matching a filter. Needs the "
            "KEYS_DOWNLOAD permission and an authentication within the last minutes (sessionReauthenticate)."
        ),
        permission_classes=[needs(Permission.KEYS_DOWNLOAD)],
    )
    async def key_download_create(self, info: Info, input: KeyDownloadCreateInput) -> KeyDownloadCreatePayload:
        result = await run_in_transaction(
            info.context, lambda session: create_download(session, info.context, input.device_ids, input.filter)
        )
        if isinstance(result, DomainError):
            return KeyDownloadCreatePayload(key_download=None, url=None, errors=_error_list(result))
        return KeyDownloadCreatePayload(
            key_download=KeyDownload.from_model(result.download),
            url=download_url(info.context, result.token),
            errors=[],
        )


@strawberry.type
class KeyDownloadQuery:
    @strawberry.field(
        description="Key downloads made in your organisation and its descendants (platform admins: all), newest first.",
        permission_classes=[needs(Permission.KEYS_DOWNLOAD)],
    )
    async def key_downloads(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[KeyDownload]:
        statement = select(c.KeyDownload).where(key_download_visible(info.context.principal))
        keys = [SortKey(c.KeyDownload.created_at, True), SortKey(c.KeyDownload.id, True)]
        return await paginate(
            info.context, statement, keys, KeyDownload.from_model, first=first, after=after, last=last, before=before
        )


NODE_RESOLVERS = {"KeyDownload": (Permission.KEYS_DOWNLOAD, node_loader(visible_key_downloads, KeyDownload.from_model))}


# --- serving the link: GET /downloads/{token} ------------------------------------------------------------


def _refusal(status: int, message: str, **headers: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers={"Cache-Control": "no-store", **headers})


def _served_devices(download_id: int, principal: Principal):
    """The download's devices that may still be served: visible to the caller and CLAIMED."""
    KDD = c.KeyDownloadDevice
    return (
        select(c.Device.id)
        .join(KDD, KDD.device_id == c.Device.id)
        .where(
            KDD.key_download_id == download_id,
            c.Device.claim_status == c.ClaimStatus.CLAIMED,
            loaders.device_visible(principal),
        )
    )


async def _csv_chunks(runtime, download_id: int, principal: Principal, delimiter: str) -> AsyncIterator[bytes]:
    def writer() -> tuple[io.StringIO, Any]:
        buffer = io.StringIO()
        return buffer, csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")

    buffer, out = writer()
    out.writerow(CSV_HEADER)
    yield buffer.getvalue().encode()
    K, D, KDD = c.DeviceKey, c.Device, c.KeyDownloadDevice
    statement = (
        select(
            D.serial_number,
            c.ProductType.name.label("product_type"),
            K.id.label("key_id"),
            K.device_id,
            K.kind,
            K.algorithm,
            K.sealed,
        )
        .select_from(KDD)
        .join(D, D.id == KDD.device_id)
        .join(K, K.device_id == D.id)
        .join(c.ProductType, c.ProductType.id == D.product_type_id)
        .where(
            KDD.key_download_id == download_id,
            K.state == c.KeyState.ACTIVE,
            D.claim_status == c.ClaimStatus.CLAIMED,
            loaders.device_visible(principal),
        )
        .order_by(D.serial_number, K.id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    # One query, sorted once, read through a cursor PAGE_SIZE rows at a time (a server-side cursor on
    # PostgreSQL). Keyset pages would re-scan and re-sort the download's devices for every page: quadratic,
    # 10 s of SQL for 100,000 keys on SQLite against 1.3 s. The price is one connection held while the
    # client reads; the link is one-time and per user, so few are open at once.
    async with runtime.session_factory() as session:
        result = await session.stream(statement)
        async for rows in result.partitions(PAGE_SIZE):
            buffer, out = writer()
            for row in rows:
                try:
                    key = open_device_key(runtime.sealer, row)
                except SecretError:
                    log.error(
                        "key download %s: device key %s did not open; the download is aborted", download_id, row.key_id
                    )
                    raise RuntimeError("key download aborted") from None
                out.writerow(
                    (
                        row.serial_number,
                        row.product_type,
                        c.KeyKind(row.kind).value,
                        c.KeyAlgorithm(row.algorithm).value,
                        key.hex().upper(),
                    )
                )
            # Nothing of this page stays referenced while the client takes the chunk and the next page loads.
            del rows, row, key
            chunk = buffer.getvalue().encode()
            del buffer, out
            yield chunk
            del chunk


async def serve_download(request: Request) -> Response:
    """GET /downloads/{token}: the CSV, once, for the user who created the download."""
    runtime = request.app.state.runtime
    access_token = bearer_token(request.headers.get("authorization"))
    if access_token is None:
        return _refusal(401, "Send your access token: Authorization: Bearer <token>.", **{"WWW-Authenticate": "Bearer"})
    principal, problem = await authenticate(runtime.session_factory, access_token)
    if principal is None:
        return _refusal(
            401, problem or "The access token is invalid.", **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if Permission.KEYS_DOWNLOAD not in principal.permissions or principal.needs_two_factor_enrolment:
        return _refusal(403, "This needs the KEYS_DOWNLOAD permission.")
    token = request.path_params["token"]
    not_found = _refusal(404, "No such download.")
    if len(token) > 200:
        return not_found
    context = Context(runtime, principal=principal, client_address=client_address(request), request=request)
    async with context.transaction() as session:
        download = await session.scalar(select(c.KeyDownload).where(c.KeyDownload.token_hash == hash_token(token)))
        # Someone else's link reads like an unknown one.
        if download is None or download.user_id != principal.user_id:
            return not_found
        now = utcnow()
        consumed = await session.execute(
            update(c.KeyDownload)
            .where(
                c.KeyDownload.id == download.id, c.KeyDownload.downloaded_at.is_(None), c.KeyDownload.expires_at > now
            )
            .values(downloaded_at=now)
            .execution_options(synchronize_session=False)
        )
        if consumed.rowcount != 1:
            # Not expired, so spent: also when a parallel fetch won after this one read the row (the same
            # answer as a later fetch).
            expired = download.downloaded_at is None and download.expires_at <= now
            return _refusal(
                410, "This download link has expired." if expired else "This download link was used already."
            )
        served = _served_devices(download.id, principal).subquery()
        device_count = await session.scalar(select(func.count()).select_from(served))
        key_count = await session.scalar(
            select(func.count())
            .select_from(c.DeviceKey)
            .where(c.DeviceKey.device_id.in_(select(served.c.id)), c.DeviceKey.state == c.KeyState.ACTIVE)
        )
        skipped = download.device_count - device_count
        await record(
            session,
            context,
            "keys.downloaded",
            organisation_id=download.organisation_id,
            target_type="KeyDownload",
            target_id=download.id,
            details={"deviceCount": device_count, "keyCount": key_count, "skippedDevices": max(skipped, 0)},
        )
        download_id, delimiter = download.id, download.csv_delimiter
    headers = {
        "Content-Disposition": f'attachment; filename="keys-{now.date().isoformat()}.csv"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Key-Count": str(key_count),
        "X-Skipped-Devices": str(max(skipped, 0)),
    }
    return StreamingResponse(
        _csv_chunks(runtime, download_id, principal, delimiter), media_type="text/csv; charset=utf-8", headers=headers
    )
