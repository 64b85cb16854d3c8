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

import enum
import re
from dataclasses import dataclass, field

import strawberry
from sqlalchemy import exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.context import Context
from graph.errors import BadUserInput, DomainError, DomainErrors, problems_of
from graph.mutations import run_in_transaction
from graph.permissions import needs, require_permission
from graph.relay import (
    Connection,
    OrderDirection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    paginate,
    to_global_id,
)
from graph.tenancy import organisation_visible, visible_organisation_ids
from graph.uploads import UploadError, read_upload
from models import catalogue as c
from models import identity as m
from models.base import utcnow
from models.mail import TemplateType
from resolvers.audit.rules import record
from resolvers.catalogue.errors import CatalogueError, upload_refused
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.loaders import batch_visible, device_visible
from resolvers.catalogue.queries import clean_filter_text
from resolvers.catalogue.types import Batch, BatchStateEnum
from resolvers.mail.sending import enqueue

MAX_BATCH_SERIALS = 10_000
#: Serial numbers given (before duplicates are dropped): a bound on the work for repeated input.
MAX_SERIAL_TOKENS = 50_000
MAX_FILE_BYTES = 1_000_000  # 10,000 serials of 64 characters with separators fit comfortably
MAX_SERIAL = 64
MAX_REFERENCE = 100
MAX_LABEL = 100
FILE_SUFFIXES = (".txt", ".csv")
CHUNK = 1000  # serials per IN list (PostgreSQL/asyncpg allow at most 32767 parameters)
_SEPARATORS = re.compile(r"[,;\r\n]+")


# --- input ----------------------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    """Serial numbers separated by commas, semicolons or line breaks; blanks and CSV quotes dropped."""
    tokens = []
    for token in _SEPARATORS.split(text):
        token = token.strip()
        if len(token) >= 2 and token[0] == token[-1] == '"':
            token = token[1:-1].strip()
        if token:
            tokens.append(token)
    return tokens


def serial_numbers_from_file(data: bytes) -> list[str]:
    """The serial numbers of an uploaded .txt or .csv file (the manuals: comma-separated serials).

    Separators: commas, semicolons and line breaks. UTF-8, a byte-order mark is ignored. Raises
    DomainError (field "file") for text that is not UTF-8, NUL bytes, or no serial number at all;
    name and size are checked when the upload is read (graph.uploads.read_upload).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(Code.INVALID, f"The file is not UTF-8 text (byte {error.start + 1}).", "file") from error
    if "\x00" in text:
        raise DomainError(Code.INVALID, "The file contains NUL characters: it is not a text file.", "file")
    serials = _split(text)
    if not serials:
        raise DomainError(Code.REQUIRED, "The file contains no serial number.", "file")
    return serials


def _clean_text(value: str, field_name: str, limit: int, what: str) -> str:
    value = value.strip()
    if not value:
        raise DomainError(Code.REQUIRED, f"A {what} is required.", field_name)
    if len(value) > limit:
        raise DomainError(Code.TOO_LONG, f"The {what} has more than {limit} characters.", field_name)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise DomainError(Code.INVALID, f"The {what} cannot contain control characters.", field_name)
    return value


@dataclass
class _Serial:
    value: str
    field: list[str]


def _gather_serials(typed: list[str] | None, from_file: list[str] | None, problems: list[DomainError]) -> list[_Serial]:
    """Distinct serial numbers in input order (typed ones first), each with where it came from."""
    tokens: list[_Serial] = []
    for index, entry in enumerate(typed or []):
        # an entry may itself be a comma-separated list (the text field of the manuals)
        tokens.extend(_Serial(token, ["serialNumbers", str(index)]) for token in _split(entry))
    tokens.extend(_Serial(token, ["file"]) for token in from_file or [])
    if len(tokens) > MAX_SERIAL_TOKENS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BATCH_SERIALS:,} serial numbers per batch.", "serialNumbers")
    distinct: dict[str, _Serial] = {}
    for token in tokens:
        distinct.setdefault(token.value, token)
    if len(distinct) > MAX_BATCH_SERIALS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BATCH_SERIALS:,} serial numbers per batch.", "serialNumbers")
    if not distinct and from_file is None:
        problems.append(
            DomainError(Code.REQUIRED, "Give at least one serial number (typed in or in a file).", "serialNumbers")
        )
    good = []
    for serial in distinct.values():
        if len(serial.value) > MAX_SERIAL or any(ch.isspace() or ord(ch) < 32 for ch in serial.value):
            problems.append(
                DomainError(Code.INVALID, f"{serial.value[:MAX_SERIAL]!r} is not a serial number.", serial.field)
            )
        else:
            good.append(serial)
    return good


# --- rules ----------------------------------------------------------------------------------------------


async def _receiver(session: AsyncSession, context: Context, organisation_id: str) -> m.Organisation | None:
    """An organisation of the caller's subtree, or a partner of the caller's organisation."""
    pk = decode_id(organisation_id, "Organisation")
    if pk is None:
        return None
    principal = context.principal
    partner = exists().where(
        m.PartnerLink.organisation_id == principal.organisation_id, m.PartnerLink.partner_id == m.Organisation.id
    )
    return await session.scalar(
        select(m.Organisation).where(m.Organisation.id == pk, or_(organisation_visible(principal), partner))
    )


async def _receiver_consents(session: AsyncSession, context: Context, receiver: m.Organisation) -> bool:
    """Whether devices may move to the receiver without its confirmation: it is of the caller's subtree
    (platform admins: any, the manufacturer hands devices over), or it accepted the partnership by adding
    the caller's organisation as its partner too. A one-sided partner link (anyone who knows an
    organisation ID can add it) never pushes devices into another catalogue."""
    principal = context.principal
    if principal.is_platform_admin or receiver.path.startswith(principal.organisation_path):
        return True
    reciprocal = await session.scalar(
        select(m.PartnerLink.id).where(
            m.PartnerLink.organisation_id == receiver.id, m.PartnerLink.partner_id == principal.organisation_id
        )
    )
    return reciprocal is not None


async def _devices(
    session: AsyncSession,
    context: Context,
    serials: list[_Serial],
    manufacturer: str | None,
    problems: list[DomainError],
) -> list[c.Device]:
    """The caller's devices with these serial numbers; every unknown, ambiguous or pending one is a problem."""
    principal = context.principal
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
            joined += result.rowcount
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
    return result.rowcount


async def _mail_receiver_admins(
    session: AsyncSession, context: Context, batch: c.Batch, receiver: m.Organisation, device_count: int
) -> int:
    """The "new batch" mail to each active admin of the receiving organisation, in their language."""
    sender = await session.get(m.Organisation, batch.sender_organisation_id)
    admins = (
        await session.scalars(
            select(m.User)
            .join(m.UserRole, m.UserRole.user_id == m.User.id)
            .where(
                m.User.organisation_id == receiver.id,
                m.User.is_active.is_(True),
                m.UserRole.role == m.Role.ORGANISATION_ADMIN,
            )
            .order_by(m.User.id)
        )
    ).all()
    link = f"{context.runtime.settings.public_url.rstrip('/')}/batches/{to_global_id('Batch', batch.id)}"
    for admin in admins:
        await enqueue(
            session,
            to_address=admin.email,
            template_type=TemplateType.NEW_BATCH,
            language=admin.language,
            organisation_id=receiver.id,
            variables={
                "recipient_name": admin.name,
                "organisation_name": receiver.name,
                "batch_reference": batch.reference,
                "device_count": device_count,
                "sender_organisation_name": sender.name if sender else "",
                "link": link,
            },
        )
    return len(admins)


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


async def create_batch(session: AsyncSession, context: Context, data: BatchCreation) -> c.Batch:
    """Create a batch from the caller's organisation; all-or-nothing, every problem reported."""
    principal = require_permission(context, m.Permission.BATCHES_MANAGE)
    problems = list(data.problems)
    reference = label = None
    try:
        reference = _clean_text(data.reference, "reference", MAX_REFERENCE, "batch reference")
    except DomainError as error:
        problems.append(error)
    try:
        label = _clean_text(data.label, "label", MAX_LABEL, "label")
    except DomainError as error:
        problems.append(error)
    manufacturer = (data.manufacturer or "").strip() or None
    if manufacturer is not None and (len(manufacturer) > 100 or "\x00" in manufacturer):
        problems.append(DomainError(Code.INVALID, "Not a manufacturer.", "manufacturer"))
        manufacturer = None

    receiver = await _receiver(session, context, data.organisation_id)
    if receiver is None:
        problems.append(DomainError(Code.NOT_FOUND, "No such organisation (yours or a partner).", "organisationId"))
    elif not data.confirmation_required and not await _receiver_consents(session, context, receiver):
        problems.append(
            DomainError(
                Code.NOT_ALLOWED,
                "Without confirmation only to your own organisations or to a partner that has added your organisation as "
                "its partner too; otherwise the receiver takes ownership itself.",
                "confirmationRequired",
            )
        )
    if reference is not None:
        taken = await session.scalar(
            select(c.Batch.id).where(
                c.Batch.sender_organisation_id == principal.organisation_id, c.Batch.reference == reference
            )
        )
        if taken is not None:
            problems.append(
                DomainError(Code.DUPLICATE, f"Your organisation already has a batch {reference}.", "reference")
            )
    serials = _gather_serials(data.serial_numbers, data.file_serial_numbers, problems)
    devices = await _devices(session, context, serials, manufacturer, problems)
    if problems:
        raise DomainErrors(problems)

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
    device_ids = [device.id for device in devices]
    await session.execute(insert(c.BatchDevice), [{"batch_id": batch.id, "device_id": pk} for pk in device_ids])
    # the devices join this batch (pending: they stay with the sender, and no other batch can take them)
    await _join_batch(session, batch, devices)
    if not data.confirmation_required:
        await _move_devices(session, batch)
    mailed = await _mail_receiver_admins(session, context, batch, receiver, len(device_ids))
    details = {
        "reference": batch.reference,
        "label": batch.label,
        "receiver": receiver.public_id,
        "deviceCount": len(device_ids),
        "confirmationRequired": batch.confirmation_required,
        "mailed": mailed,
    }
    await record(
        session,
        context,
        "batch.created",
        organisation_id=batch.sender_organisation_id,
        target_type="Batch",
        target_id=batch.id,
        details=details,
    )
    if receiver.id != batch.sender_organisation_id:
        await record(
            session,
            context,
            "batch.received",
            organisation_id=receiver.id,
            target_type="Batch",
            target_id=batch.id,
            details=details,
        )
    return batch


def _addressed_to_caller(context: Context):
    """Batches the caller decides on: addressed to the caller's subtree (platform admins: any)."""
    principal = context.principal
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


async def _record_decision(session: AsyncSession, context: Context, action: str, batch: c.Batch, details: dict) -> None:
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
    batch = await session.scalar(select(c.Batch).where(c.Batch.id == pk, batch_visible(context.principal)))
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
    await _record_decision(session, context, "batch.rejected", batch, {"deviceCount": released.rowcount})
    return batch


# --- GraphQL: inputs, payloads, roots -------------------------------------------------------------------


def _errors(error: DomainError) -> list[CatalogueError]:
    return [
        CatalogueError(code=problem.code, field=problem.field, message=problem.message)
        for problem in problems_of(error)
    ]


@strawberry.input(description="Create a batch reference: hand devices of yours to an organisation.")
class BatchCreateInput:
    reference: str = strawberry.field(
        description=f"Batch reference, unique for your organisation (at most {MAX_REFERENCE} characters)."
    )
    label: str = strawberry.field(
        description=f"Label (at most {MAX_LABEL} characters); the receiver gives it with the reference to take ownership."
    )
    organisation_id: strawberry.ID = strawberry.field(
        description="The receiving organisation: one of your organisation's subtree or a partner of your organisation."
    )
    serial_numbers: list[str] | None = strawberry.field(
        default=None,
        description=(
            f"Serial numbers (each entry may itself be comma-separated); with the file's at most {MAX_BATCH_SERIALS:,} "
            "distinct ones, repeated ones count once."
        ),
    )
    file: Upload | None = strawberry.field(
        default=None,
        description=(
            f"A .txt or .csv file of serial numbers separated by commas, semicolons or line breaks (UTF-8, at most "
            f"{MAX_FILE_BYTES:,} bytes), as a GraphQL multipart upload."
        ),
    )
    confirmation_required: bool = strawberry.field(
        default=True,
        description=(
            "The receiver must take ownership (default); false moves the devices to it at once, allowed only to your "
            "own organisations and to partners that added your organisation as partner too (NOT_ALLOWED otherwise)."
        ),
    )
    manufacturer: str | None = strawberry.field(
        default=None, description="Only devices of this manufacturer (needed when several use a serial number)."
    )


@strawberry.type(description="The new batch, or why none was created (every problem at once; nothing stored).")
class BatchCreatePayload:
    batch: Batch | None = strawberry.field(description="The batch; null when refused.")
    errors: list[CatalogueError] = strawberry.field(
        description=(
            "Why it was refused: NOT_FOUND (an unknown serial number, also another organisation's device, or an "
            "organisation that is neither yours nor a partner), INVALID_STATE (a device already in a pending batch), "
            "DUPLICATE (reference), TOO_MANY, REQUIRED, TOO_LONG, INVALID."
        )
    )


@strawberry.input(description="Take ownership of a batch addressed to your organisation, confirming it with its label.")
class BatchTakeOwnershipInput:
    reference: str = strawberry.field(description="The batch reference (from the new batch e-mail).")
    label: str = strawberry.field(description="The batch's label, as the sender gave it.")


@strawberry.type(description="The accepted batch, or why ownership was not taken.")
class BatchTakeOwnershipPayload:
    batch: Batch | None = strawberry.field(description="The batch, now ACCEPTED, its devices yours; null when refused.")
    errors: list[CatalogueError] = strawberry.field(
        description="NOT_FOUND (no pending batch with this reference and label for you), INVALID_STATE, INVALID."
    )


@strawberry.input(description="Reject a pending batch addressed to your organisation.")
class BatchRejectInput:
    id: strawberry.ID = strawberry.field(description="The batch.")


@strawberry.type(description="The rejected batch, or why it was not rejected.")
class BatchRejectPayload:
    batch: Batch | None = strawberry.field(description="The batch, now REJECTED; null when refused.")
    errors: list[CatalogueError] = strawberry.field(
        description="NOT_FOUND, NOT_ALLOWED (you sent it: only the receiver rejects), INVALID_STATE (not pending)."
    )


@strawberry.type
class BatchMutation:
    @strawberry.mutation(
        description=(
            "Create a batch reference from serial numbers typed in and/or a .txt/.csv file. With confirmationRequired "
            "the batch is PENDING until the receiver takes ownership; the receiver's admins get the new batch e-mail."
        ),
        permission_classes=[needs(m.Permission.BATCHES_MANAGE)],
    )
    async def batch_create(self, info: Info, input: BatchCreateInput) -> BatchCreatePayload:
        data = BatchCreation(
            reference=input.reference,
            label=input.label,
            organisation_id=input.organisation_id,
            serial_numbers=input.serial_numbers,
            confirmation_required=input.confirmation_required,
            manufacturer=input.manufacturer,
        )
        if input.file is not None:
            try:
                upload = await read_upload(input.file, max_bytes=MAX_FILE_BYTES, suffixes=FILE_SUFFIXES)
                data.file_serial_numbers = serial_numbers_from_file(upload.content)
            except UploadError as error:
                data.problems.append(upload_refused(error))
                data.file_serial_numbers = []  # a file was given: its problem is reported, not "no serials"
            except DomainError as error:
                data.problems.append(error)
                data.file_serial_numbers = []  # a file was given: its problem is reported, not "no serials"
        result = await run_in_transaction(info.context, lambda session: create_batch(session, info.context, data))
        if isinstance(result, DomainError):
            return BatchCreatePayload(batch=None, errors=_errors(result))
        return BatchCreatePayload(batch=Batch.from_model(result), errors=[])

    @strawberry.mutation(
        description="Take ownership of a pending batch (reference and label): all its devices become yours, unclaimed.",
        permission_classes=[needs(m.Permission.BATCHES_MANAGE)],
    )
    async def batch_take_ownership(self, info: Info, input: BatchTakeOwnershipInput) -> BatchTakeOwnershipPayload:
        result = await run_in_transaction(
            info.context, lambda session: take_ownership(session, info.context, input.reference, input.label)
        )
        if isinstance(result, DomainError):
            return BatchTakeOwnershipPayload(batch=None, errors=_errors(result))
        return BatchTakeOwnershipPayload(batch=Batch.from_model(result), errors=[])

    @strawberry.mutation(
        description="Reject a pending batch addressed to your organisation; its devices stay with the sender.",
        permission_classes=[needs(m.Permission.BATCHES_MANAGE)],
    )
    async def batch_reject(self, info: Info, input: BatchRejectInput) -> BatchRejectPayload:
        result = await run_in_transaction(info.context, lambda session: reject(session, info.context, input.id))
        if isinstance(result, DomainError):
            return BatchRejectPayload(batch=None, errors=_errors(result))
        return BatchRejectPayload(batch=Batch.from_model(result), errors=[])


@strawberry.enum(description="Which side of a batch: SENT by, or RECEIVED by, your organisations.")
class BatchDirection(enum.Enum):
    SENT = "SENT"
    RECEIVED = "RECEIVED"


@strawberry.input(description="Narrow the batch list; all given conditions must hold.")
class BatchFilter:
    reference: str | None = strawberry.field(default=None, description="Exactly this reference.")
    reference_prefix: str | None = strawberry.field(default=None, description="Reference starts with this.")
    label: str | None = strawberry.field(default=None, description="Exactly this label.")
    state: BatchStateEnum | None = strawberry.field(default=None, description="PENDING, ACCEPTED or REJECTED.")  # type: ignore[valid-type]
    direction: BatchDirection | None = strawberry.field(
        default=None, description="Only batches sent (or only received) by your organisations, or by organisationId."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only batches this organisation (one of yours) sent or received (see direction)."
    )


@strawberry.enum(description="Fields to sort batches by.")
class BatchOrderField(enum.Enum):
    CREATED_AT = "created_at"
    REFERENCE = "reference"


@strawberry.input(description="Sort order of the batch list.")
class BatchOrder:
    field: BatchOrderField = strawberry.field(default=BatchOrderField.CREATED_AT, description="Sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.DESC, description="Direction.")


def apply_batch_filter(statement, principal, flt: BatchFilter | None):
    if flt is None:
        return statement
    B = c.Batch
    if flt.reference is not None:
        statement = statement.where(B.reference == clean_filter_text(flt.reference, "filter.reference"))
    if flt.reference_prefix:
        prefix = clean_filter_text(flt.reference_prefix, "filter.referencePrefix")
        statement = statement.where(B.reference.startswith(prefix, autoescape=True))
    if flt.label is not None:
        statement = statement.where(B.label == clean_filter_text(flt.label, "filter.label"))
    if flt.state is not None:
        statement = statement.where(B.state == c.BatchState(flt.state))
    if flt.organisation_id is not None:
        pk = decode_id(flt.organisation_id, "Organisation")
        if pk is None:
            raise BadUserInput("Not an Organisation ID.", argument="filter.organisationId")
        # one of the caller's organisations: another tenant's reads like an unknown one (no batches)
        sides = select(m.Organisation.id).where(m.Organisation.id == pk, organisation_visible(principal))
    else:
        sides = visible_organisation_ids(principal)
    if flt.direction == BatchDirection.SENT:
        statement = statement.where(B.sender_organisation_id.in_(sides))
    elif flt.direction == BatchDirection.RECEIVED:
        statement = statement.where(B.organisation_id.in_(sides))
    elif flt.organisation_id is not None:
        statement = statement.where(or_(B.sender_organisation_id.in_(sides), B.organisation_id.in_(sides)))
    return statement


@strawberry.type
class BatchQuery:
    @strawberry.field(
        description=(
            "Batch references your organisations sent or received (platform admins: all), newest first by default."
        ),
        permission_classes=[needs(m.Permission.DEVICES_READ)],
    )
    async def batches(
        self,
        info: Info,
        filter: BatchFilter | None = None,
        order_by: BatchOrder | None = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Batch]:
        principal = info.context.principal
        statement = apply_batch_filter(select(c.Batch).where(batch_visible(principal)), principal, filter)
        order = order_by or BatchOrder()
        descending = order.direction == OrderDirection.DESC
        keys = [SortKey(getattr(c.Batch, order.field.value), descending), SortKey(c.Batch.id, descending)]
        return await paginate(
            info.context, statement, keys, Batch.from_model, first=first, after=after, last=last, before=before
        )
