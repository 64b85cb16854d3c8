"""Claiming devices (the manuals' "Claim device").

A device can be claimed by the organisation that owns it (it was handed over with a batch) or by an
ancestor of that organisation. A device owned by anyone else reads exactly like an unknown serial
number: the caller learns nothing about other tenants' devices.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.permissions import require_principal
from models import catalogue as c
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.scope import device_visible
from resolvers.catalogue.serial_numbers import is_serial_number

MAX_BULK = 1000


class BulkClaimOutcome(enum.Enum):
    CLAIMABLE = "CLAIMABLE"
    CLAIMED = "CLAIMED"
    UNKNOWN = "UNKNOWN"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    AMBIGUOUS = "AMBIGUOUS"


@dataclass
class BulkClaimLine:
    serial_number: str
    outcome: BulkClaimOutcome
    device: c.Device | None


def _clean_serial(value: str, field: list[str] | str) -> str:
    value = value.strip()
    if not value:
        raise DomainError(Code.REQUIRED, "A serial number is required.", field)
    if not is_serial_number(value):
        raise DomainError(Code.INVALID, "Not a serial number.", field)
    return value


def _claimable_scope(context: Context) -> list[ColumnElement[bool]]:
    # owned devices only: one the manufacturer has not handed over belongs to nobody who could claim it
    principal: Principal = require_principal(context)
    return [device_visible(principal), c.Device.organisation_id.is_not(None)]


async def _set_claimed(session: AsyncSession, device_ids: list[int]) -> set[int]:
    """Claim the still unclaimed ones among `device_ids`; the guard in WHERE settles a race with another claim.

    The ORM-enabled UPDATE also brings the loaded Device objects up to date (synchronize_session).
    """
    now = utcnow()
    claimed: set[int] = set()
    for start in range(0, len(device_ids), 500):
        chunk = device_ids[start : start + 500]
        result = await session.execute(
            update(c.Device)
            .where(c.Device.id.in_(chunk), c.Device.claim_status == c.ClaimStatus.UNCLAIMED)
            .values(claim_status=c.ClaimStatus.CLAIMED, claimed_at=now)
            .returning(c.Device.id)
        )
        claimed.update(result.scalars().all())
    return claimed


async def claim(session: AsyncSession, context: Context, serial_number: str, manufacturer: str | None) -> c.Device:
    serial = _clean_serial(serial_number, "serialNumber")
    statement = select(c.Device).where(c.Device.serial_number == serial, *_claimable_scope(context))
    if manufacturer is not None and manufacturer.strip():
        statement = statement.where(c.Device.manufacturer == manufacturer.strip())
    devices = (await session.scalars(statement.limit(2))).all()
    if not devices:
        raise DomainError(Code.NOT_FOUND, "No device with this serial number.", "serialNumber")
    if len(devices) > 1:
        raise DomainError(
            Code.INVALID, "Several manufacturers use this serial number: give the manufacturer.", "manufacturer"
        )
    device = devices[0]
    if device.claim_status == c.ClaimStatus.CLAIMED or not await _set_claimed(session, [device.id]):
        raise DomainError(Code.ALREADY_CLAIMED, "The device is already claimed.", "serialNumber")
    await record(
        session,
        context,
        "device.claimed",
        organisation_id=device.organisation_id,
        target_type="Device",
        target_id=device.id,
        details={"serialNumber": device.serial_number, "manufacturer": device.manufacturer},
    )
    return device


def bulk_serials(serial_numbers: list[str]) -> list[str]:
    """The distinct serial numbers of a bulk claim, in the order given; invalid input (too many, blank or
    malformed serials) refuses the whole request."""
    if len(serial_numbers) > MAX_BULK:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BULK} serial numbers at once.", "serialNumbers")
    if not serial_numbers:
        raise DomainError(Code.REQUIRED, "Give at least one serial number.", "serialNumbers")
    return list(dict.fromkeys(_clean_serial(s, ["serialNumbers", str(i)]) for i, s in enumerate(serial_numbers)))


async def claim_bulk(
    session: AsyncSession, context: Context, serials: list[str], manufacturer: str | None, dry_run: bool
) -> list[BulkClaimLine]:
    """One line per serial number of `bulk_serials`, in that order.

    A real run claims every claimable device and reports the others (unknown, already claimed,
    ambiguous) without failing: the dry run shows beforehand what will happen, and repeating a run
    is harmless.
    """
    statement = select(c.Device).where(c.Device.serial_number.in_(serials), *_claimable_scope(context))
    if manufacturer is not None and manufacturer.strip():
        statement = statement.where(c.Device.manufacturer == manufacturer.strip())
    found: dict[str, list[c.Device]] = {}
    for device in (await session.scalars(statement.order_by(c.Device.id))).all():
        found.setdefault(device.serial_number, []).append(device)

    lines = []
    for serial in serials:
        devices = found.get(serial, [])
        if not devices:
            lines.append(BulkClaimLine(serial, BulkClaimOutcome.UNKNOWN, None))
        elif len(devices) > 1:
            lines.append(BulkClaimLine(serial, BulkClaimOutcome.AMBIGUOUS, None))
        elif devices[0].claim_status == c.ClaimStatus.CLAIMED:
            lines.append(BulkClaimLine(serial, BulkClaimOutcome.ALREADY_CLAIMED, devices[0]))
        else:
            lines.append(BulkClaimLine(serial, BulkClaimOutcome.CLAIMABLE, devices[0]))
    if dry_run:
        return lines

    claimable = [
        (line, line.device) for line in lines if line.outcome == BulkClaimOutcome.CLAIMABLE and line.device is not None
    ]
    claimed = await _set_claimed(session, [device.id for _, device in claimable])
    by_organisation: dict[int | None, list[str]] = {}
    for line, device in claimable:
        # claimed meanwhile by someone else: report it as it now is
        line.outcome = BulkClaimOutcome.CLAIMED if device.id in claimed else BulkClaimOutcome.ALREADY_CLAIMED
        if line.outcome == BulkClaimOutcome.CLAIMED:
            by_organisation.setdefault(device.organisation_id, []).append(line.serial_number)
    for organisation_id, claimed_serials in by_organisation.items():
        await record(
            session,
            context,
            "device.claimed_bulk",
            organisation_id=organisation_id,
            target_type="Device",
            details={"count": len(claimed_serials), "serialNumbers": claimed_serials},
        )
    return lines
