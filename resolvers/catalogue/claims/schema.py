"""Claiming devices: inputs, payloads and the mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.errors import DomainError, refused
from graph.mutations import mutate
from graph.permissions import needs
from models.identity import Permission
from resolvers.catalogue.claims import rules
from resolvers.catalogue.claims.rules import BulkClaimLine
from resolvers.catalogue.devices.types import Device
from resolvers.catalogue.errors import CatalogueError

BulkClaimOutcomeEnum = strawberry.enum(
    rules.BulkClaimOutcome,
    description=(
        "What happens (dry run) or happened to a serial number of a bulk claim: CLAIMABLE (dry run), CLAIMED, "
        "UNKNOWN (no such device of yours: another organisation's device reads the same), ALREADY_CLAIMED, "
        "AMBIGUOUS (several manufacturers use the serial number: give the manufacturer)."
    ),
)


@strawberry.input(description="Claim one device of your organisation by its serial number.")
class DeviceClaimInput:
    serial_number: str = strawberry.field(description="Serial number of the device.")
    manufacturer: str | None = strawberry.field(
        default=None, description="Manufacturer; needed only when several manufacturers use the serial number."
    )


@strawberry.type(description="The claimed device, or why it was not claimed.")
class DeviceClaimPayload:
    device: Device | None = strawberry.field(description="The device, now CLAIMED; null when refused.")
    errors: list[CatalogueError] = strawberry.field(
        description="Why it was refused: NOT_FOUND (also for other organisations' devices), ALREADY_CLAIMED, "
        "INVALID, REQUIRED."
    )


@strawberry.input(description="Claim many devices by serial number, or see first what would happen.")
class DeviceClaimBulkInput:
    serial_numbers: list[str] = strawberry.field(
        description=f"Serial numbers (at most {rules.MAX_BULK}; repeated ones count once)."
    )
    manufacturer: str | None = strawberry.field(default=None, description="Only devices of this manufacturer.")
    dry_run: bool = strawberry.field(default=False, description="Only report what would happen; nothing changes.")


@strawberry.type(description="What happened to one serial number of a bulk claim.")
class DeviceClaimBulkLine:
    serial_number: str = strawberry.field(description="The serial number as given (trimmed).")
    outcome: BulkClaimOutcomeEnum = strawberry.field(  # type: ignore[valid-type]
        description="Claimable, claimed, unknown, already claimed or ambiguous."
    )
    device: Device | None = strawberry.field(
        description="The device, when it is yours; null for UNKNOWN and AMBIGUOUS."
    )


@strawberry.type(description="Per serial number, what a bulk claim did (or, as a dry run, would do).")
class DeviceClaimBulkPayload:
    results: list[DeviceClaimBulkLine] = strawberry.field(
        description="One line per distinct serial number, in input order."
    )
    claimed_count: int = strawberry.field(description="Devices claimed by this call (0 for a dry run).")
    dry_run: bool = strawberry.field(description="Whether this was a dry run.")
    errors: list[CatalogueError] = strawberry.field(
        description="Why the whole request was refused (TOO_MANY, INVALID, REQUIRED)."
    )


@strawberry.type
class ClaimMutation:
    @strawberry.mutation(
        description="Claim a device owned by your organisation (or a descendant) that is UNCLAIMED.",
        permission_classes=[needs(Permission.DEVICES_CLAIM)],
    )
    async def device_claim(self, info: Info, input: DeviceClaimInput) -> DeviceClaimPayload:
        context = info.context
        return await mutate(
            context,
            DeviceClaimPayload,
            lambda session: rules.claim(session, context, input.serial_number, input.manufacturer),
            lambda device: DeviceClaimPayload(device=Device.from_model(device), errors=[]),
        )

    @strawberry.mutation(
        description=(
            "Claim many devices at once. A real run claims every claimable device and reports the rest per serial "
            "number (it does not fail as a whole for unknown or already claimed ones); run it with dryRun first to see."
        ),
        permission_classes=[needs(Permission.DEVICES_CLAIM)],
    )
    async def device_claim_bulk(self, info: Info, input: DeviceClaimBulkInput) -> DeviceClaimBulkPayload:
        context = info.context
        try:
            serials = rules.bulk_serials(input.serial_numbers)
        except DomainError as error:  # the whole request refused: its counters stay 0, not null
            return refused(DeviceClaimBulkPayload, error, results=[], claimed_count=0, dry_run=input.dry_run)
        return await mutate(
            context,
            DeviceClaimBulkPayload,
            lambda session: rules.claim_bulk(session, context, serials, input.manufacturer, input.dry_run),
            lambda lines: _bulk_payload(lines, input.dry_run),
        )


def _bulk_payload(lines: list[BulkClaimLine], dry_run: bool) -> DeviceClaimBulkPayload:
    return DeviceClaimBulkPayload(
        results=[
            DeviceClaimBulkLine(
                serial_number=line.serial_number,
                outcome=line.outcome,
                device=Device.from_model(line.device) if line.device is not None else None,
            )
            for line in lines
        ],
        claimed_count=sum(1 for line in lines if line.outcome == rules.BulkClaimOutcome.CLAIMED),
        dry_run=dry_run,
        errors=[],
    )
