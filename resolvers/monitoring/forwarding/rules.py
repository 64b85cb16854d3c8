"""Forwarding targets: create, change, delete (MONITORING_MANAGE, locations of the caller's subtree).

A target belongs to one location. Its platform's settings are checked by resolvers.monitoring.forwarding.platforms;
secrets are sealed (sealing.py) and never returned, logged or written to the audit details.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import decode_id
from graph.rules import UNSET, clean_text
from graph.tenancy import visible_organisation_ids
from models import forwarding as fw
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.monitoring.delivery.queue import wake_after_commit
from resolvers.monitoring.errors import MonitoringErrorCode as Code
from resolvers.monitoring.forwarding import platforms
from resolvers.monitoring.forwarding.adapters import KINDS
from resolvers.monitoring.forwarding.sealing import seal_secret
from resolvers.remote.scope import visible_location

#: A week: longer than that, "smart" would mean "never".
MAX_INTERVAL = 7 * 24 * 3600


def target_visible(principal):
    """Targets of the caller's subtree (platform admins: all); only MONITORING_MANAGE holders get here."""
    return fw.ForwardingTarget.organisation_id.in_(visible_organisation_ids(principal))


async def visible_target(session: AsyncSession, context: Context, global_id: str, field: str) -> fw.ForwardingTarget:
    pk = decode_id(global_id, "ForwardingTarget")
    target = None
    if pk is not None:
        target = await session.scalar(
            select(fw.ForwardingTarget).where(fw.ForwardingTarget.id == pk, target_visible(context.principal))
        )
    if target is None:
        raise DomainError(Code.NOT_FOUND, "No such forwarding target.", field)
    return target


def clean_interval(value: int | None) -> int:
    value = value or 0
    if not 0 <= value <= MAX_INTERVAL:
        raise DomainError(
            Code.INVALID,
            f"Between 0 and {MAX_INTERVAL} seconds (0: never the same value twice).",
            "smartIntervalSeconds",
        )
    return value


def _platform_input(platform: fw.Platform, given: dict[str, Any], *, required: bool) -> dict[str, Any] | None:
    """The input object of the target's platform; another platform's settings are refused."""
    wanted = platforms.INPUT_FIELDS[platform]
    for name, value in given.items():
        if value is not None and name != wanted:
            raise DomainError(Code.INVALID, f"Settings of another platform than {platform.value}.", name)
    data = given.get(wanted)
    if data is None and required:
        raise DomainError(Code.REQUIRED, f"The {platform.value} settings are required.", wanted)
    return data


def _apply_secrets(context: Context, target: fw.ForwardingTarget, secrets: dict[str, str] | None) -> None:
    if secrets is None:
        return
    target.secret, target.secret_version, target.secret_fingerprint = seal_secret(
        context.runtime.sealer, target.id, secrets
    )


async def create_target(
    session: AsyncSession,
    context: Context,
    *,
    location_id: str,
    name: str,
    platform: fw.Platform,
    enabled: bool,
    smart: bool,
    smart_interval_seconds: int | None,
    values: list[dict[str, Any]],
    settings: dict[str, Any],
) -> fw.ForwardingTarget:
    location = await visible_location(session, context, location_id, "locationId", managed=True)
    name = clean_text(name, "name", max_length=200, single_line=True)
    data = _platform_input(platform, settings, required=True)
    assert data is not None
    clean, secrets = platforms.clean_settings(platform, data, {})
    target = fw.ForwardingTarget(
        organisation_id=location.organisation_id,
        location_id=location.id,
        name=name,
        platform=platform,
        enabled=enabled,
        smart=smart,
        smart_interval_seconds=clean_interval(smart_interval_seconds),
        values=platforms.clean_values(platform, values),
        settings=clean,
    )
    session.add(target)
    await session.flush()  # the id binds the sealed secret
    _apply_secrets(context, target, secrets)
    await record(
        session,
        context,
        "forwarding_target.created",
        organisation_id=target.organisation_id,
        target_type="ForwardingTarget",
        target_id=target.id,
        details={"name": name, "platform": platform.value, "locationId": location.id, "enabled": enabled},
        location_id=location.id,
    )
    return target


async def update_target(
    session: AsyncSession,
    context: Context,
    target_id: str,
    *,
    name: Any = UNSET,
    enabled: Any = UNSET,
    smart: Any = UNSET,
    smart_interval_seconds: Any = UNSET,
    values: Any = UNSET,
    settings: dict[str, Any],
) -> fw.ForwardingTarget:
    """Fields left out stay; platform settings given replace the old ones, except a secret left out (it stays)."""
    target = await visible_target(session, context, target_id, "id")
    changed: list[str] = []
    if name is not UNSET and name is not None:
        target.name = clean_text(name, "name", max_length=200, single_line=True)
        changed.append("name")
    for field, attribute, value in (("enabled", "enabled", enabled), ("smart", "smart", smart)):
        if value is not UNSET and value is not None:
            setattr(target, attribute, bool(value))
            changed.append(field)
    if smart_interval_seconds is not UNSET:
        target.smart_interval_seconds = clean_interval(smart_interval_seconds)
        changed.append("smartIntervalSeconds")
    if values is not UNSET:
        target.values = platforms.clean_values(target.platform, values or [])
        changed.append("values")
        # what was sent of keys no longer chosen no longer matters
        await session.execute(delete(fw.ForwardingState).where(fw.ForwardingState.target_id == target.id))
    data = _platform_input(target.platform, settings, required=False)
    if data is not None:
        target.settings, secrets = platforms.clean_settings(target.platform, data, target.settings)
        _apply_secrets(context, target, secrets)
        changed.append(platforms.INPUT_FIELDS[target.platform] + (" and secret" if secrets else ""))
    if changed:
        target.updated_at = utcnow()
        await record(
            session,
            context,
            "forwarding_target.updated",
            organisation_id=target.organisation_id,
            target_type="ForwardingTarget",
            target_id=target.id,
            details={"name": target.name, "fields": changed},
            location_id=target.location_id,
        )
    return target


async def delete_target(session: AsyncSession, context: Context, target_id: str) -> int:
    target = await visible_target(session, context, target_id, "id")
    pk, name, organisation_id, location_id = target.id, target.name, target.organisation_id, target.location_id
    # queued deliveries of it fail at their next attempt (the adapter finds no target): nothing is sent any more
    await session.delete(target)
    await session.flush()
    await record(
        session,
        context,
        "forwarding_target.deleted",
        organisation_id=organisation_id,
        target_type="ForwardingTarget",
        target_id=pk,
        details={"name": name},
        location_id=location_id,
    )
    return pk


async def retry_delivery(session: AsyncSession, context: Context, target_id: str, idempotency_key: str) -> Any:
    """Queue a FAILED delivery of the target again (after the operator fixed the target), with its attempts reset;
    one conditional UPDATE decides, so two retries at once queue it once."""
    target = await visible_target(session, context, target_id, "targetId")
    D = fw.OutboundDelivery
    row = (
        await session.execute(
            update(D)
            .where(
                D.kind == KINDS[fw.Platform(target.platform)],
                D.target_id == target.id,
                D.idempotency_key == idempotency_key,
                D.state == fw.DeliveryState.FAILED,
            )
            .values(state=fw.DeliveryState.QUEUED, attempts=0, next_attempt_at=utcnow(), lease_until=None)
            .returning(D)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        raise DomainError(Code.NOT_FOUND, "No failed delivery with this key for the target.", "idempotencyKey")
    wake_after_commit(session)
    await record(
        session,
        context,
        "forwarding_delivery.retried",
        organisation_id=target.organisation_id,
        target_type="ForwardingTarget",
        target_id=target.id,
        details={"name": target.name, "idempotencyKey": idempotency_key},
        location_id=target.location_id,
    )
    return row[0]
