"""Importing devices: the input, the payload and the mutation."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.context import Context
from graph.errors import DomainError, DomainErrors, refused
from graph.mutations import mutate
from graph.permissions import needs
from graph.uploads import UploadError, read_upload
from models.identity import Permission
from resolvers.catalogue.errors import CatalogueError, upload_refused
from resolvers.catalogue.imports.rules import MAX_REPORTED_ERRORS, ImportReport, import_devices

SUFFIXES = (".csv", ".txt", ".tsv")


@strawberry.input(description='A CSV key file to import (see the README, "Importing devices and keys").')
class DeviceImportInput:
    file: Upload = strawberry.field(
        description=(
            "The key file (GraphQL multipart request; name ending in .csv, .txt or .tsv): a header row naming "
            "serial_number, product_type, key_kind, algorithm, key and optionally labels, then one row per key."
        )
    )
    dry_run: bool = strawberry.field(default=False, description="Only check the file; nothing is stored.")


@strawberry.type(description="What an import stored (or, as a dry run, would store), or why it stored nothing.")
class DeviceImportPayload:
    device_count: int = strawberry.field(description="Devices imported (dry run: that would be); 0 when refused.")
    key_count: int = strawberry.field(description="Keys imported (dry run: that would be); 0 when refused.")
    dry_run: bool = strawberry.field(description="Whether this was a dry run.")
    error_count: int = strawberry.field(
        description="How many problems the file has, also those beyond the listed ones."
    )
    errors: list[CatalogueError] = strawberry.field(
        description=(
            f'Every problem, in line order (at most {MAX_REPORTED_ERRORS}, then one TOO_MANY entry "… and N more"). '
            'A row\'s problem has `field` ["file", "<line>", "<column>"] (no column when the whole row is at fault) '
            'and its message starts with "Line <n>:"; '
            'a problem of the whole file (empty, too large, wrong type) has `field` ["file"]. Messages never repeat '
            "a cell of the file. Any error means nothing was stored."
        )
    )


def _refused(error: DomainError, dry_run: bool, error_count: int) -> DeviceImportPayload:
    return refused(DeviceImportPayload, error, device_count=0, key_count=0, dry_run=dry_run, error_count=error_count)


def import_payload(report: ImportReport) -> DeviceImportPayload:
    """The report's counts, or every listed problem (then one TOO_MANY "… and N more") with zero counts."""
    if report.error_count:
        return _refused(DomainErrors(report.problems.errors()), report.dry_run, report.error_count)
    return DeviceImportPayload(
        device_count=report.device_count,
        key_count=report.key_count,
        dry_run=report.dry_run,
        error_count=0,
        errors=[],
    )


@strawberry.type
class DeviceImportMutation:
    @strawberry.mutation(
        description=(
            "Import devices with their keys from a CSV key file (the key download's format), all or nothing: every "
            "bad row is reported with its line number and nothing is stored unless every row is good. Devices come in "
            "UNCLAIMED, owned by nobody and in no batch; keys are sealed with the master key."
        ),
        permission_classes=[needs(Permission.DEVICES_IMPORT)],
    )
    async def device_import(self, info: Info, input: DeviceImportInput) -> DeviceImportPayload:
        context: Context = info.context
        try:
            upload = await read_upload(
                input.file, max_bytes=context.runtime.settings.max_upload_bytes, suffixes=SUFFIXES, allow_empty=True
            )
        except UploadError as error:
            return _refused(upload_refused(error), input.dry_run, 1)

        async def work(session: AsyncSession) -> ImportReport:
            return await import_devices(
                session,
                context,
                context.runtime.sealer,
                upload.content,
                dry_run=input.dry_run,
                filename=upload.filename,
            )

        return await mutate(context, DeviceImportPayload, work, import_payload)
