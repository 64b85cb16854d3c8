"""Uploading a location's datalog configuration to its router and the router's acknowledgement.

The upload is committed as PENDING with a fresh request ID before the message leaves (an acknowledgement can
never overtake its own upload), then sent through the router link (link.py). The acknowledgement applies with
one conditional UPDATE: its request ID must be the location's current one and the state still PENDING, and the
router must be the one at the location; so a duplicate, a late or a forged acknowledgement changes nothing.
The timer (workers/datalog_timer.py) moves an unanswered PENDING to TIMED_OUT the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError
from graph.relay import to_global_id
from models import datalog as dl
from models import remote as r
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.monitoring.datalog.loaders import applying_to_location
from resolvers.monitoring.datalog.rules import monitored, open_secrets, record_at_location
from resolvers.monitoring.errors import MonitoringErrorCode as Code

ML = dl.MonitoredLocation
MAX_REASON = 500


@dataclass(frozen=True, repr=False)
class Upload:
    """What goes to the router after the commit. `document` holds opened secrets: it lives only in memory,
    until the message is sent, and is never logged."""

    location_id: int
    common_name: str
    request_id: str
    document: dict

    def __repr__(self) -> str:  # never show the document (secrets)
        return f"Upload(location_id={self.location_id}, common_name={self.common_name!r})"


async def router_at(session: AsyncSession, location: r.Location) -> r.Router:
    router = await session.get(r.Router, location.router_id) if location.router_id is not None else None
    if router is None:
        raise DomainError(Code.ROUTER_OFFLINE, "The location has no router.", "locationId")
    if not router.online:
        raise DomainError(Code.ROUTER_OFFLINE, "The location's router is offline.", "locationId")
    return router


async def configuration(session: AsyncSession, sealer: Any, location_id: int) -> list[dict]:
    """The datalog devices that apply at the location, with their secrets opened, for the message."""
    rows = (
        await session.execute(
            applying_to_location(r.LocationDevice.location_id == location_id)
            .add_columns(r.LocationDevice.id, r.LocationDevice.name, r.LocationDevice.ip_address)
            .order_by(r.LocationDevice.id, dl.DatalogDevice.id)
        )
    ).all()
    devices = []
    for _, device, device_pk, device_name, ip_address in rows:
        settings = {k: v for k, v in device.settings.items() if k != "secretsSet"}
        devices.append(
            {
                "locationDeviceId": to_global_id("LocationDevice", device_pk),
                "locationDevice": device_name,
                "ipAddress": ip_address,
                "datalogDeviceId": to_global_id("DatalogDevice", device.id),
                "name": device.name,
                "protocol": device.protocol.value,
                "settings": settings,
                "secrets": open_secrets(sealer, device),
                "variables": device.variables,
            }
        )
    return devices


async def upload_location(session: AsyncSession, context: Context, location_id: str) -> tuple[Any, Upload]:
    location, row = await monitored(session, context, location_id)
    return row, await prepare_upload(session, context, location, row)


async def upload_saved(session: AsyncSession, context: Context, location: r.Location) -> tuple[Any, Upload]:
    """Save and upload: the location of the datalog device just saved."""
    row = await session.get(ML, location.id, with_for_update=True)
    if row is None:
        raise DomainError(Code.NOT_FOUND, "Activate data monitoring at the location before uploading.", "upload")
    return row, await prepare_upload(session, context, location, row)


async def prepare_upload(session: AsyncSession, context: Context, location: r.Location, row: Any) -> Upload:
    """Mark the upload PENDING under a fresh request ID and build its message (sent after the commit; the link
    adds where the acknowledgement goes)."""
    router = await router_at(session, location)
    request_id = uuid.uuid4().hex
    row.config_state, row.config_request_id = dl.ConfigState.PENDING, request_id
    row.config_sent_at, row.config_reason = utcnow(), ""
    devices = await configuration(session, context.runtime.sealer, location.id)
    await record_at_location(
        session, context, "datalog.uploaded", location, {"requestId": request_id, "devices": len(devices)}
    )
    document = {
        "requestId": request_id,
        "locationId": to_global_id("Location", location.id),
        "sendFrequencySeconds": row.send_frequency_seconds,
        "cloudHost": row.cloud_host.value,
        "devices": devices,
    }
    return Upload(location.id, router.common_name, request_id, document)


@dataclass(frozen=True)
class _System:
    """The audit context of what routers and timers do: no user, no client address."""

    principal: Any = None
    client_address: str = ""


async def apply_ack(session: AsyncSession, common_name: str, request_id: str, ok: bool, reason: str) -> bool:
    """Apply a router's acknowledgement; False when it changed nothing (duplicate, late, unknown, not this
    router's)."""
    at_router = select(r.Location.id).join(r.Router, r.Router.id == r.Location.router_id)
    values: dict[str, Any] = {"config_state": dl.ConfigState.APPLIED if ok else dl.ConfigState.FAILED}
    values["config_reason"] = "" if ok else (reason[:MAX_REASON] or "The router refused the configuration.")
    if ok:
        values["config_applied_at"] = utcnow()
    result = await session.execute(
        update(ML)
        .where(
            ML.config_request_id == request_id,
            ML.config_state == dl.ConfigState.PENDING,
            ML.location_id.in_(at_router.where(r.Router.common_name == common_name)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        return False
    location = await session.scalar(
        select(r.Location).join(ML, ML.location_id == r.Location.id).where(ML.config_request_id == request_id)
    )
    if location is not None:
        action = "datalog.applied" if ok else "datalog.failed"
        await _system_record(session, action, location, {"requestId": request_id}, common_name)
    return True


async def _system_record(session, action: str, location: r.Location, details: dict, actor: str) -> None:
    await record(
        session,
        _System(),  # type: ignore[arg-type]
        action,
        organisation_id=location.organisation_id,
        target_type="Location",
        target_id=location.id,
        details={"location": location.name, **details},
        actor_label=actor,
        location_id=location.id,
    )


async def fail_upload(session: AsyncSession, request_id: str, reason: str) -> bool:
    """The message could not be sent: the upload failed (only if still pending)."""
    result = await session.execute(
        update(ML)
        .where(ML.config_request_id == request_id, ML.config_state == dl.ConfigState.PENDING)
        .values(config_state=dl.ConfigState.FAILED, config_reason=reason[:MAX_REASON])
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def time_out_uploads(session: AsyncSession, timeout_seconds: int) -> int:
    """Move uploads unanswered for longer than the timeout to TIMED_OUT, each with an audit event."""
    cutoff = utcnow() - timedelta(seconds=timeout_seconds)
    rows = (
        await session.execute(
            select(ML.location_id, ML.config_request_id).where(
                ML.config_state == dl.ConfigState.PENDING, ML.config_sent_at < cutoff
            )
        )
    ).all()
    done = 0
    for location_id, request_id in rows:
        result = await session.execute(
            update(ML)
            .where(
                ML.location_id == location_id,
                ML.config_request_id == request_id,
                ML.config_state == dl.ConfigState.PENDING,
            )
            .values(
                config_state=dl.ConfigState.TIMED_OUT, config_reason=f"No acknowledgement within {timeout_seconds} s."
            )
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], result).rowcount == 1:
            done += 1
            location = await session.get(r.Location, location_id)
            if location is not None:
                await _system_record(session, "datalog.timed_out", location, {"requestId": request_id}, "system")
    return done
