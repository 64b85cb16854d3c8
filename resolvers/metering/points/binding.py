"""Binding a meter (a catalogue device) to a metering point by its passport's serial number and PIN, or by the
QR payload on its sticker; unbinding it.

The QR payload is a URI, exactly `fleetgraph:meter?sn=<serial number>&pin=<PIN>` (e.g.
`fleetgraph:meter?sn=33100050&pin=482913`): those two parameters in that order, the serial number of letters,
digits, `.`, `_` and `-` (at most 64), the PIN 4 to 8 digits, no percent-encoding, nothing else.

What the caller learns: a malformed input is INVALID; an unknown serial number, a device without a PIN and a
wrong PIN all answer NOT_FOUND "No meter with this serial number and PIN." at the same field, in the same time
(a PIN hash is verified either way); ALREADY_BOUND ("at another metering point") only after the correct PIN.
Every attempt is counted before it is checked, per caller and per serial number, with the login throttle
(resolvers.identity.sessions.throttling: slowed down after FLEETGRAPH_LOGIN_SLOWDOWN_AFTER failures, locked
after FLEETGRAPH_LOGIN_LOCK_AFTER for FLEETGRAPH_LOGIN_LOCK_SECONDS); a binding gives its count back.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from graph.context import Context, Principal
from graph.db import lock_row
from graph.errors import DomainError
from graph.passwords import burn_verification_time, verify_password
from graph.permissions import require_principal
from models import catalogue as c
from models import metering as mt
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.sessions.throttling import count_attempt, give_back
from resolvers.metering.errors import MeteringErrorCode as Code
from resolvers.metering.scope import visible_metering_point

QR_PAYLOAD = re.compile(r"fleetgraph:meter\?sn=([A-Za-z0-9._-]{1,64})&pin=([0-9]{4,8})")
SERIAL = re.compile(r"[A-Za-z0-9._-]{1,64}")
PIN = re.compile(r"[0-9]{4,8}")
MAX_QR = 200


@dataclass(frozen=True)
class Credentials:
    serial_number: str
    pin: str = field(repr=False)  # never in a repr (tracebacks, logs)
    #: Where a refusal points: "pin" (typed in) or "qr".
    field: str


def credentials(serial_number: str | None, pin: str | None, qr: str | None) -> Credentials:
    """The serial number and PIN typed in, or read from the QR payload; INVALID or REQUIRED otherwise."""
    if qr is not None:
        if serial_number is not None or pin is not None:
            raise DomainError(Code.INVALID, "Give the QR payload or the serial number and PIN, not both.", "qr")
        match = QR_PAYLOAD.fullmatch(qr.strip()) if len(qr) <= MAX_QR else None
        if match is None:
            raise DomainError(Code.INVALID, "Not a meter's QR payload (fleetgraph:meter?sn=…&pin=…).", "qr")
        return Credentials(match.group(1), match.group(2), "qr")
    serial = (serial_number or "").strip()
    if not serial:
        raise DomainError(Code.REQUIRED, "Give the serial number and PIN, or the QR payload.", "serialNumber")
    if not SERIAL.fullmatch(serial):
        raise DomainError(Code.INVALID, "Not a serial number (letters, digits, . _ -).", "serialNumber")
    if not pin or not PIN.fullmatch(pin.strip()):
        raise DomainError(Code.INVALID, "The PIN is 4 to 8 digits (see the device passport).", "pin")
    return Credentials(serial, pin.strip(), "pin")


def throttle_keys(principal: Principal, serial_number: str) -> list[str]:
    return [f"meter-pin:user:{principal.user_id}", f"meter-pin:serial:{serial_number.casefold()}"]


async def _device_with_pin(session: AsyncSession, given: Credentials) -> c.Device | None:
    """The device with this serial number whose PIN matches; the same work when there is none."""
    candidates = (
        await session.scalars(
            select(c.Device).where(c.Device.serial_number == given.serial_number, c.Device.pin_hash.is_not(None))
        )
    ).all()
    if not candidates:
        await asyncio.to_thread(burn_verification_time, given.pin)
    for device in candidates:
        # Argon2 runs in a thread: the event loop keeps serving the other requests meanwhile.
        if await asyncio.to_thread(verify_password, device.pin_hash, given.pin):
            return device
    return None


async def bind_meter(
    session: AsyncSession, context: Context, point_id: str, given: Credentials
) -> mt.MeteringPoint | DomainError:
    """Bind the meter to the point; one conditional UPDATE decides between concurrent binds of the same meter.

    Returns (not raises) the refusals after the count so that the count is committed with them."""
    principal = require_principal(context)
    # counted before anything is checked, and before `session` is used (one connection at a time)
    attempt = await count_attempt(context, throttle_keys(principal, given.serial_number))
    if isinstance(attempt, DomainError):
        return DomainError(Code.TOO_MANY, "Too many wrong PINs: try again later.", given.field)
    point = await visible_metering_point(session, context, point_id, "meteringPointId", lock=True)
    device = await _device_with_pin(session, given)
    if device is None:  # already counted as a failure
        return DomainError(Code.NOT_FOUND, "No meter with this serial number and PIN.", given.field)
    await give_back(session, attempt, reset_account=False)
    if point.meter_id == device.id:
        return point
    if point.meter_id is not None:
        return DomainError(Code.NOT_ALLOWED, "The point has a meter: unbind it first.", "meteringPointId")
    # binders of the same meter wait for each other here (PostgreSQL: the device's row lock; SQLite: the write
    # lock, taken above), so the UPDATE's condition reads what the winner wrote
    await lock_row(session, c.Device, device.id)
    P, other = mt.MeteringPoint, aliased(mt.MeteringPoint)
    bound = await session.execute(
        update(P)
        .where(P.id == point.id, P.meter_id.is_(None), ~exists().where(other.meter_id == device.id))
        .values(meter_id=device.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], bound).rowcount != 1:
        return DomainError(Code.ALREADY_BOUND, "This meter is at another metering point.", given.field)
    await session.refresh(point)
    await record(
        session,
        context,
        "meter.bound",
        organisation_id=point.organisation_id,
        target_type="MeteringPoint",
        target_id=point.id,
        details={"serialNumber": device.serial_number},
    )
    return point


async def unbind_meter(session: AsyncSession, context: Context, point_id: str) -> mt.MeteringPoint:
    """Take the meter off the point (nothing to do when it has none); the meter may then be bound again."""
    point = await visible_metering_point(session, context, point_id, "meteringPointId", lock=True)
    if point.meter_id is None:
        return point
    device_id = point.meter_id
    point.meter_id = None
    point.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        context,
        "meter.unbound",
        organisation_id=point.organisation_id,
        target_type="MeteringPoint",
        target_id=point.id,
        details={"deviceId": device_id},
    )
    return point
