"""Batch references (the manuals' 10.5–10.7): hand devices to an organisation, which takes ownership.

A batch is created by an organisation admin (or a platform admin: the manufacturer) from serial
numbers typed in or read from a .txt/.csv file, with a reference, a label and the receiving
organisation: one of the caller's subtree or a partner of the caller's organisation. Creation is
all-or-nothing: every bad serial number is reported and nothing is stored.

With confirmation required (the default: "ownership request must be confirmed") the batch is
PENDING and the devices stay with the sender until an admin of the receiving organisation takes
ownership with the batch reference and label; then all devices move in one transaction. Without
it the devices move at creation. The receiving side may reject a pending batch instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, Result, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from graph.context import Context, Principal
from graph.errors import DomainError, DomainErrors
from graph.permissions import require_permission, require_principal
from graph.relay import decode_id
from graph.rules import clean_text
from graph.tenancy import visible_organisation_ids
from models import catalogue as c
from models import identity as m
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.catalogue.batches import receivers
from resolvers.catalogue.batches.serials import Serial, gather_serials
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.scope import batch_visible, device_visible

MAX_REFERENCE = 100
MAX_LABEL = 100
MAX_MANUFACTURER = 100
CHUNK = 1000  # serials per IN list (PostgreSQL/asyncpg allow at most 32767 parameters)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (what `session.execute` returns for one is a CursorResult)."""
    return cast("CursorResult[Any]", result).rowcount


async def _devices(
    session: AsyncSession,
    context: Context,
    serials: list[Serial],
    manufacturer: str | None,
    problems: list[DomainError],
) -> list[c.Device]:
    """The caller's devices with these serial numbers; every unknown, ambiguous or pending one is a problem."""
    principal: Principal = require_principal(context)
    found: dict[str, list[tuple[c.Device, c.BatchState | None]]] = {}
    values = [serial.value for serial in serials]
    for start in range(0, len(values), CHUNK):
        statement = (
            select(c.Device, c.Batch.state)
            .outerjoin(c.Batch, c.Batch.id == c.Device.batch_id)
            .where(c.Device.serial_number.in_(values[start : start + CHUNK]), device_visible(principal))
            .order_by(c.Device.id)
        )
        if manufacturer:
            statement = statement.where(c.Device.manufacturer == manufacturer)
        for device, state in (await session.execute(statement)).all():
            found.setdefault(device.serial_number, []).append((device, state))
    devices = []
    for serial in serials:
        matches = found.get(serial.value, [])
        if not matches:
            # another tenant's device reads exactly like one that does not exist
            problems.append(DomainError(Code.NOT_FOUND, f"No device with serial number {serial.value}.", serial.field))
        elif len(matches) > 1:
            problems.append(
                DomainError(
                    Code.INVALID,
                    f"Several manufacturers use serial number {serial.value}: give the manufacturer.",
                    serial.field,
                )
            )
        elif matches[0][1] == c.BatchState.PENDING:
            problems.append(
                DomainError(Code.INVALID_STATE, f"Device {serial.value} is already in a pending batch.", serial.field)
            )
        else:
            devices.append(matches[0][0])
    return devices


async def _join_batch(session: AsyncSession, batch: c.Batch, devices: list[c.Device]) -> None:
    """Point the devices at the new batch, guarded by the batch each was in when it was checked.

    A concurrent batchCreate with the same device changes that value first; this UPDATE then skips
    the row (PostgreSQL re-checks the WHERE clause on the newest row version) and the whole creation
    is refused, so a device is never in two pending batches.
    """
    by_previous: dict[int | None, list[int]] = {}
    for device in devices:
        by_previous.setdefault(device.batch_id, []).append(device.id)
    joined = 0
    for previous, device_ids in by_previous.items():
        unchanged = c.Device.batch_id.is_(None) if previous is None else c.Device.batch_id == previous
        for start in range(0, len(device_ids), CHUNK):
            result = await session.execute(
                update(c.Device)
                .where(c.Device.id.in_(device_ids[start : start + CHUNK]), unchanged)
                .values(batch_id=batch.id)
                .execution_options(synchronize_session=False)
            )
            joined += rowcount(result)
    if joined != len(devices):
        raise DomainError(
            Code.INVALID_STATE, "A device was put into another batch meanwhile: try again.", "serialNumbers"
        )


async def _move_devices(session: AsyncSession, batch: c.Batch) -> int:
    """Hand every device of the batch to the receiver: it becomes the owner and claims them itself.

    One UPDATE over the batch's membership (a subquery, no parameter list), in the caller's transaction.
    """
    result = await session.execute(
        update(c.Device)
        .where(
            c.Device.id.in_(select(c.BatchDevice.device_id).where(c.BatchDevice.batch_id == batch.id)),
            c.Device.batch_id == batch.id,
        )
        .values(
            organisation_id=batch.organisation_id,
            batch_id=batch.id,
            claim_status=c.ClaimStatus.UNCLAIMED,
            claimed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


@dataclass
class BatchCreation:
    reference: str
    label: str
    organisation_id: str
    serial_numbers: list[str] | None = None
    #: Serial numbers read from an uploaded file (serial_numbers_from_file), or None without a file.
    file_serial_numbers: list[str] | None = None
    confirmation_required: bool = True
    manufacturer: str | None = None
    problems: list[DomainError] = field(default_factory=list)


def _checked(check: Any, problems: list[DomainError]) -> Any:
    """The value of `check()`, or None with its problem added to `problems`."""
    try:
        return check()
    except DomainError as error:
        problems.append(error)
        return None


def _manufacturer(value: str | None, problems: list[DomainError]) -> str | None:
    manufacturer = (value or "").strip() or None
    if manufacturer is not None and (len(manufacturer) > MAX_MANUFACTURER or "\x00" in manufacturer):
        problems.append(DomainError(Code.INVALID, "Not a manufacturer.", "manufacturer"))
        return None
    return manufacturer


async def _checked_receiver(
    session: AsyncSession, context: Context, data: BatchCreation, problems: list[DomainError]
) -> m.Organisation | None:
    receiver = await receivers.receiver(session, context, data.organisation_id)
    if receiver is None:
        problems.append(DomainError(Code.NOT_FOUND, "No such organisation (yours or a partner).", "organisationId"))
    elif not data.confirmation_required and not await receivers.receiver_consents(session, context, receiver):
        problems.append(
            DomainError(
                Code.NOT_ALLOWED,
                "Without confirmation only to your own organisations or to a partner that has added your "
                "organisation as its partner too; otherwise the receiver takes ownership itself.",
                "confirmationRequired",
            )
        )
    return receiver


async def _check_reference_free(
    session: AsyncSession, context: Context, reference: str, problems: list[DomainError]
) -> None:
    taken = await session.scalar(
        select(c.Batch.id).where(
            c.Batch.sender_organisation_id == require_principal(context).organisation_id, c.Batch.reference == reference
        )
    )
    if taken is not None:
        problems.append(DomainError(Code.DUPLICATE, f"Your organisation already has a batch {reference}.", "reference"))


async def _insert_batch(
    session: AsyncSession, context: Context, data: BatchCreation, reference: str, label: str, receiver: m.Organisation
) -> c.Batch:
    principal: Principal = require_principal(context)
    now = utcnow()
    batch = c.Batch(
        reference=reference,
        label=label,
        sender_organisation_id=principal.organisation_id,
        organisation_id=receiver.id,
        state=c.BatchState.PENDING if data.confirmation_required else c.BatchState.ACCEPTED,
        confirmation_required=data.confirmation_required,
        created_by_id=principal.user_id,
        created_at=now,
        decided_at=None if data.confirmation_required else now,
    )
    session.add(batch)
    try:
        await session.flush()
    except IntegrityError as error:  # the same reference created at the same moment
        raise DomainError(Code.DUPLICATE, f"Your organisation already has a batch {reference}.", "reference") from error
    return batch


async def _record_creation(
    session: AsyncSession, context: Context, batch: c.Batch, receiver: m.Organisation, device_count: int, mailed: int
) -> None:
    """batch.created for the sender, batch.received for the receiver (when it is another organisation)."""
    details = {
        "reference": batch.reference,
        "label": batch.label,
        "receiver": receiver.public_id,
        "deviceCount": device_count,
        "confirmationRequired": batch.confirmation_required,
        "mailed": mailed,
    }
    sides = [("batch.created", batch.sender_organisation_id)]
    if receiver.id != batch.sender_organisation_id:
        sides.append(("batch.received", receiver.id))
    for action, organisation_id in sides:
        await record(
            session,
            context,
            action,
            organisation_id=organisation_id,
            target_type="Batch",
            target_id=batch.id,
            details=details,
        )


async def create_batch(session: AsyncSession, context: Context, data: BatchCreation) -> c.Batch:
    """Create a batch from the caller's organisation; all-or-nothing, every problem reported."""
    require_permission(context, m.Permission.BATCHES_MANAGE)
    problems = list(data.problems)
    reference = _checked(
        lambda: clean_text(data.reference, "reference", max_length=MAX_REFERENCE, single_line=True), problems
    )
    label = _checked(lambda: clean_text(data.label, "label", max_length=MAX_LABEL, single_line=True), problems)
    manufacturer = _manufacturer(data.manufacturer, problems)
    receiver = await _checked_receiver(session, context, data, problems)
    if reference is not None:
        await _check_reference_free(session, context, reference, problems)
    serials = gather_serials(data.serial_numbers, data.file_serial_numbers, problems)
    devices = await _devices(session, context, serials, manufacturer, problems)
    if problems:
        raise DomainErrors(problems)
    assert receiver is not None and reference is not None and label is not None  # each missing one is a problem

    batch = await _insert_batch(session, context, data, reference, label, receiver)
    await session.execute(insert(c.BatchDevice), [{"batch_id": batch.id, "device_id": d.id} for d in devices])
    # the devices join this batch (pending: they stay with the sender, and no other batch can take them)
    await _join_batch(session, batch, devices)
    if not data.confirmation_required:
        await _move_devices(session, batch)
    mailed = await receivers.mail_receiver_admins(session, context, batch, receiver, len(devices))
    await _record_creation(session, context, batch, receiver, len(devices), mailed)
    return batch


def _addressed_to_caller(context: Context) -> ColumnElement[bool]:
    """Batches the caller decides on: addressed to the caller's subtree (platform admins: any)."""
    principal: Principal = require_principal(context)
    if principal.is_platform_admin:
        return c.Batch.id.is_not(None)
    return c.Batch.organisation_id.in_(visible_organisation_ids(principal))


async def _decide(session: AsyncSession, batch: c.Batch, state: c.BatchState) -> bool:
    """PENDING → state, guarded in the WHERE clause so that of two racing decisions one wins."""
    result = await session.execute(
        update(c.Batch)
        .where(c.Batch.id == batch.id, c.Batch.state == c.BatchState.PENDING)
        .values(state=state, decided_at=utcnow())
        .returning(c.Batch.id)
        .execution_options(synchronize_session=False)
    )
    if result.scalar() is None:
        return False
    await session.refresh(batch)
    return True


async def _record_decision(
    session: AsyncSession, context: Context, action: str, batch: c.Batch, details: dict[str, Any]
) -> None:
    for organisation_id in dict.fromkeys((batch.organisation_id, batch.sender_organisation_id)):
        await record(
            session,
            context,
            action,
            organisation_id=organisation_id,
            target_type="Batch",
            target_id=batch.id,
            details={"reference": batch.reference, **details},
        )


async def take_ownership(session: AsyncSession, context: Context, reference: str, label: str) -> c.Batch:
    """Accept the pending batch with this reference and label addressed to the caller's subtree.

    The label works as the confirmation: a wrong one reads exactly like an unknown reference. All
    devices move to the receiver in this one transaction.
    """
    require_permission(context, m.Permission.BATCHES_MANAGE)
    not_found = DomainError(
        Code.NOT_FOUND, "No batch with this reference and label for your organisation.", "reference"
    )
    reference, label = reference.strip(), label.strip()
    if not reference or not label or "\x00" in reference or "\x00" in label:
        raise not_found
    candidates = (
        await session.scalars(
            select(c.Batch)
            .where(c.Batch.reference == reference, c.Batch.label == label, _addressed_to_caller(context))
            .order_by(c.Batch.id)
        )
    ).all()
    if not candidates:
        raise not_found
    pending = [batch for batch in candidates if batch.state == c.BatchState.PENDING]
    if not pending:
        raise DomainError(Code.INVALID_STATE, f"The batch was already {candidates[0].state.lower()}.", "reference")
    if len(pending) > 1:
        raise DomainError(
            Code.INVALID, "Several senders have a pending batch with this reference and label.", "reference"
        )
    batch = pending[0]
    if not await _decide(session, batch, c.BatchState.ACCEPTED):
        # A parallel decision won: answered like a late request, with the state it left.
        await session.refresh(batch)
        raise DomainError(Code.INVALID_STATE, f"The batch was already {batch.state.lower()}.", "reference")
    moved = await _move_devices(session, batch)
    await _record_decision(session, context, "batch.accepted", batch, {"deviceCount": moved})
    return batch


async def reject(session: AsyncSession, context: Context, batch_id: str) -> c.Batch:
    """The receiving side refuses a pending batch: the devices stay with the sender, out of the batch."""
    require_permission(context, m.Permission.BATCHES_MANAGE)
    not_found = DomainError(Code.NOT_FOUND, "No such batch.", "id")
    pk = decode_id(batch_id, "Batch")
    if pk is None:
        raise not_found
    batch = await session.scalar(select(c.Batch).where(c.Batch.id == pk, batch_visible(require_principal(context))))
    if batch is None:
        raise not_found
    addressed = await session.scalar(select(c.Batch.id).where(c.Batch.id == pk, _addressed_to_caller(context)))
    if addressed is None:
        raise DomainError(Code.NOT_ALLOWED, "Only the receiving organisation can reject a batch.", "id")
    if batch.state != c.BatchState.PENDING or not await _decide(session, batch, c.BatchState.REJECTED):
        raise DomainError(Code.INVALID_STATE, "Only a pending batch can be rejected.", "id")
    released = await session.execute(
        update(c.Device)
        .where(c.Device.batch_id == batch.id)
        .values(batch_id=None)
        .execution_options(synchronize_session=False)
    )
    await _record_decision(session, context, "batch.rejected", batch, {"deviceCount": rowcount(released)})
    return batch
