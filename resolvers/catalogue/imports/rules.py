"""Importing devices with their keys from a CSV key file (the file format: imports.parsing).

All or nothing: every row is checked, every problem is reported with its line number, and nothing
is stored while any row is bad.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.errors import DomainError, RowProblem, RowProblems
from graph.passwords import hash_password
from graph.secrets import Sealer
from models import catalogue as c
from resolvers.audit.rules import record
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.imports.parsing import ParsedDevice, parse
from resolvers.catalogue.keys import seal_device_key

#: Errors listed in the mutation's payload; the rest are counted ("… and N more").
MAX_REPORTED_ERRORS = 1000
#: Rows per INSERT and serial numbers per IN list (asyncpg allows 32767 parameters per statement).
CHUNK = 1000
#: Core tables for the inserts: the ORM's bulk path costs more per row than the database does.
DEVICE = cast(Table, c.Device.__table__)
DEVICE_LABEL = cast(Table, c.DeviceLabel.__table__)
DEVICE_KEY = cast(Table, c.DeviceKey.__table__)
#: Where an import's problems point: the uploaded file (["file", line, column]).
SOURCE = "file"


@dataclass
class ImportReport:
    """What an import did (or, as a dry run or refused, would have done)."""

    device_count: int
    key_count: int
    dry_run: bool
    #: The problems in line order: the first MAX_REPORTED_ERRORS (all of them for the CLI) and their count.
    problems: RowProblems

    @property
    def errors(self) -> list[RowProblem]:
        return self.problems.kept

    @property
    def error_count(self) -> int:
        return self.problems.count

    @property
    def imported(self) -> bool:
        return not self.dry_run and self.error_count == 0

    @classmethod
    def refused(cls, dry_run: bool, error: DomainError) -> ImportReport:
        """The report of an import refused as a whole (e.g. a serial number added meanwhile)."""
        assert isinstance(error.code, Enum)  # a member of the domain's (or graph's) error-code enum
        problems = RowProblems(SOURCE, None)
        problems.add(error.code, error.message)
        return cls(0, 0, dry_run, problems)


def _in_line_order(cap: int | None, *checks: RowProblems) -> RowProblems:
    """The problems of several checks of the file as one list in line order (kept up to `cap`, all counted)."""
    merged = RowProblems(SOURCE, cap)
    for problem in sorted((p for check in checks for p in check.kept), key=lambda p: p.line or 0):
        merged.add(problem.code, problem.reason, problem.line, problem.column)
    merged.count = sum(check.count for check in checks)
    return merged


async def _check_catalogue(session: AsyncSession, devices: dict[str, ParsedDevice], problems: RowProblems) -> None:
    """Serial numbers already in the catalogue (same manufacturer), in chunked IN lists."""
    by_manufacturer: dict[str, list[ParsedDevice]] = {}
    for device in devices.values():
        if device.product_type is not None:
            by_manufacturer.setdefault(device.product_type.manufacturer, []).append(device)
    found: list[ParsedDevice] = []
    for manufacturer, candidates in by_manufacturer.items():
        for start in range(0, len(candidates), CHUNK):
            chunk = {device.serial_number: device for device in candidates[start : start + CHUNK]}
            existing = await session.scalars(
                select(c.Device.serial_number).where(
                    c.Device.manufacturer == manufacturer, c.Device.serial_number.in_(list(chunk))
                )
            )
            found.extend(chunk[serial] for serial in existing)
    for device in sorted(found, key=lambda d: d.line):
        problems.add(Code.DUPLICATE, "the serial number is already in the catalogue.", device.line, "serial_number")


def _device_row(device: ParsedDevice, pin_hash: str | None) -> dict[str, Any]:
    assert device.product_type is not None  # a file with an unknown product type is never stored
    return {
        "pin_hash": pin_hash,
        "manufacturer": device.product_type.manufacturer,
        "serial_number": device.serial_number,
        "product_type_id": device.product_type.id,
        "organisation_id": None,
        "claim_status": c.ClaimStatus.UNCLAIMED,
        "batch_id": None,
    }


def _pin_hashes(devices: list[ParsedDevice]) -> list[str | None]:
    return [hash_password(device.pin) if device.pin else None for device in devices]


async def _store(session: AsyncSession, sealer: Sealer, devices: list[ParsedDevice]) -> None:
    """Devices first (their ids bind the keys' sealing), then labels and sealed keys, in chunks."""
    for start in range(0, len(devices), CHUNK):
        chunk = devices[start : start + CHUNK]
        # Argon2 takes a tenth of a second a PIN: in a thread, so that the event loop keeps serving meanwhile.
        pin_hashes = await asyncio.to_thread(_pin_hashes, chunk)
        rows = [_device_row(device, pin_hash) for device, pin_hash in zip(chunk, pin_hashes, strict=True)]
        result = await session.execute(insert(DEVICE).returning(DEVICE.c.id, DEVICE.c.serial_number), rows)
        ids = {serial: device_id for device_id, serial in result.all()}
        labels = [{"device_id": ids[d.serial_number], "label": label} for d in chunk for label in d.labels]
        if labels:
            await session.execute(insert(DEVICE_LABEL), labels)
        keys = []
        for device in chunk:
            device_id = ids[device.serial_number]
            for key in device.keys:
                sealed, version = seal_device_key(sealer, device_id, key.kind, key.algorithm, key.key)
                keys.append(
                    {
                        "device_id": device_id,
                        "kind": key.kind,
                        "algorithm": key.algorithm,
                        "sealed": sealed,
                        "master_key_version": version,
                        "state": c.KeyState.ACTIVE,
                    }
                )
        if keys:
            await session.execute(insert(DEVICE_KEY), keys)


async def _record_import(
    session: AsyncSession,
    context: Context,
    devices: list[ParsedDevice],
    key_rows: int,
    *,
    source: str,
    filename: str,
    actor_label: str | None,
) -> None:
    await record(
        session,
        context,
        "devices.imported",
        organisation_id=None,
        target_type="Device",
        actor_label=actor_label,
        details={
            "deviceCount": len(devices),
            "keyCount": key_rows,
            "source": source,
            "filename": filename[:200],
            "productTypes": dict(Counter(d.product_type.name for d in devices if d.product_type is not None)),
        },
    )


async def import_devices(
    session: AsyncSession,
    context: Context,
    sealer: Sealer,
    data: bytes,
    *,
    dry_run: bool = False,
    source: str = "api",
    filename: str = "",
    actor_label: str | None = None,
    max_reported: int | None = MAX_REPORTED_ERRORS,
) -> ImportReport:
    """Check the whole file; store its devices and sealed keys only when every row is good.

    Imported devices are UNCLAIMED, owned by nobody and in no batch, until the manufacturer hands
    them over. A serial number added by somebody else between the check and the insert refuses the
    import: the inserts roll back to their savepoint and the report has that one problem.
    """
    product_types = list((await session.scalars(select(c.ProductType))).all())
    parse_problems = RowProblems(SOURCE, max_reported)
    devices, key_rows = parse(data, product_types, parse_problems)
    catalogue_problems = RowProblems(SOURCE, max_reported)
    await _check_catalogue(session, devices, catalogue_problems)
    problems = _in_line_order(max_reported, parse_problems, catalogue_problems)
    if problems.count:
        return ImportReport(0, 0, dry_run, problems)
    device_list = sorted(devices.values(), key=lambda d: d.line)
    if not dry_run:
        try:
            async with session.begin_nested():
                await _store(session, sealer, device_list)
        except IntegrityError:
            message = "A serial number of the file was added to the catalogue meanwhile: nothing was imported."
            return ImportReport.refused(dry_run, DomainError(Code.DUPLICATE, message, SOURCE))
        await _record_import(
            session, context, device_list, key_rows, source=source, filename=filename, actor_label=actor_label
        )
    return ImportReport(len(device_list), key_rows, dry_run, problems)
