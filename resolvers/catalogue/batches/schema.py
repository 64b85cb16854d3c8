"""Batch references: inputs, payloads, the list's filter and order, the Query and Mutation roots."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from sqlalchemy import Select, or_, select
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.context import Principal
from graph.errors import BadUserInput, DomainError
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import (
    Connection,
    OrderDirection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from graph.tenancy import organisation_visible, visible_organisation_ids
from graph.uploads import UploadError, read_upload
from models import catalogue as c
from models import identity as m
from resolvers.catalogue.batches import loaders, rules
from resolvers.catalogue.batches.rules import MAX_LABEL, MAX_REFERENCE, BatchCreation
from resolvers.catalogue.batches.serials import MAX_BATCH_SERIALS, serial_numbers_from_file
from resolvers.catalogue.batches.types import Batch, BatchStateEnum
from resolvers.catalogue.devices.schema import clean_filter_text
from resolvers.catalogue.errors import CatalogueError, upload_refused
from resolvers.catalogue.scope import batch_visible

MAX_FILE_BYTES = 1_000_000  # 10,000 serials of 64 characters with separators fit comfortably
FILE_SUFFIXES = (".txt", ".csv")


@strawberry.input(description="Create a batch reference: hand devices of yours to an organisation.")
class BatchCreateInput:
    reference: str = strawberry.field(
        description=f"Batch reference, unique for your organisation (at most {MAX_REFERENCE} characters)."
    )
    label: str = strawberry.field(
        description=f"Label (at most {MAX_LABEL} characters); "
        "the receiver gives it with the reference to take ownership."
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
        context = info.context
        data = await _creation(input)
        return await mutate(
            context,
            BatchCreatePayload,
            lambda session: rules.create_batch(session, context, data),
            lambda batch: BatchCreatePayload(batch=Batch.from_model(batch), errors=[]),
        )

    @strawberry.mutation(
        description="Take ownership of a pending batch (reference and label): all its devices become yours, unclaimed.",
        permission_classes=[needs(m.Permission.BATCHES_MANAGE)],
    )
    async def batch_take_ownership(self, info: Info, input: BatchTakeOwnershipInput) -> BatchTakeOwnershipPayload:
        context = info.context
        return await mutate(
            context,
            BatchTakeOwnershipPayload,
            lambda session: rules.take_ownership(session, context, input.reference, input.label),
            lambda batch: BatchTakeOwnershipPayload(batch=Batch.from_model(batch), errors=[]),
        )

    @strawberry.mutation(
        description="Reject a pending batch addressed to your organisation; its devices stay with the sender.",
        permission_classes=[needs(m.Permission.BATCHES_MANAGE)],
    )
    async def batch_reject(self, info: Info, input: BatchRejectInput) -> BatchRejectPayload:
        context = info.context
        return await mutate(
            context,
            BatchRejectPayload,
            lambda session: rules.reject(session, context, input.id),
            lambda batch: BatchRejectPayload(batch=Batch.from_model(batch), errors=[]),
        )


async def _creation(input: BatchCreateInput) -> BatchCreation:
    """The rule's input; a problem of the uploaded file is one of the problems the rule reports."""
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
    return data


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


def apply_batch_filter(statement: Select[Any], principal: Principal, flt: BatchFilter | None) -> Select[Any]:
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
        sides: Select[Any] = select(m.Organisation.id).where(m.Organisation.id == pk, organisation_visible(principal))
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
            info.context,
            statement,
            keys,
            Batch.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Batch),
        )


NODE_RESOLVERS = {
    "Batch": (m.Permission.DEVICES_READ, node_loader(loaders.visible_batches, Batch.from_model)),
}
