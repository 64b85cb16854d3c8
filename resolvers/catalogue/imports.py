"""Importing devices with their keys from a CSV key file (the manufacturer's import).

The file format is the key download's, so a download re-imports elsewhere unchanged:

- UTF-8 (a byte order mark is tolerated), a header row, then one row per key; a device with
  several keys has several rows (same serial number, same product type).
- Columns (any order, named in the header): serial_number, product_type, key_kind, algorithm, key,
  and optionally labels (separated by `|`). The delimiter is whichever of `,` `;` tab `|` makes the
  header name the columns; fields may be quoted as in RFC 4180.
- product_type by name (the manufacturer comes from it), key_kind a KeyKind value
  (LORAWAN_APP_KEY), algorithm a KeyAlgorithm value (AES_128), key in hex (any case).

All or nothing: every row is checked, every problem is reported with its line number, and nothing
is stored while any row is bad. Messages name lines and columns but never repeat a cell: a shifted
column could put a key anywhere, and keys never go into an error, a log line or the audit history.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import strawberry
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.context import Context
from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.secrets import Sealer
from graph.uploads import UploadError, read_upload
from models import catalogue as c
from models.identity import Permission
from resolvers.audit.rules import record
from resolvers.catalogue.errors import CatalogueError, upload_refused
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.keys import check_key_length, seal_device_key
from resolvers.catalogue.services import MAX_SERIAL

COLUMNS = ("serial_number", "product_type", "key_kind", "algorithm", "key")
OPTIONAL_COLUMNS = ("labels",)
DELIMITERS = (",", ";", "\t", "|")
LABEL_SEPARATOR = "|"
MAX_LABEL = 100
MAX_ROWS = 200_000
#: Errors listed in the mutation's payload; the rest are counted ("… and N more").
MAX_REPORTED_ERRORS = 1000
#: Rows per INSERT and serial numbers per IN list (asyncpg allows 32767 parameters per statement).
CHUNK = 1000
SUFFIXES = (".csv", ".txt", ".tsv")
#: Core tables for the inserts: the ORM's bulk path costs more per row than the database does.
DEVICE = c.Device.__table__

_HEX = re.compile(r"[0-9A-Fa-f]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NOT_SERIAL = re.compile(r"[\s\x00]")
_KINDS = {kind.value: kind for kind in c.KeyKind}
_ALGORITHMS = {algorithm.value: algorithm for algorithm in c.KeyAlgorithm}


@dataclass(frozen=True)
class RowError:
    """A problem of the file; `line` is None for the whole file (then it is about its size)."""

    code: Code
    reason: str
    line: int | None = None
    column: str | None = None

    @property
    def message(self) -> str:
        return f"Line {self.line}: {self.reason}" if self.line is not None else self.reason

    @property
    def field(self) -> list[str]:
        path = ["file"]
        if self.line is not None:
            path.append(str(self.line))
            if self.column is not None:
                path.append(self.column)
        return path


class _Problems:
    """Errors in line order; beyond `cap` only counted, so a file of 200,000 bad rows stays cheap."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, code: Code, reason: str, line: int | None = None, column: str | None = None) -> None:
        self.count += 1
        if self.cap is None or len(self.kept) < self.cap:
            self.kept.append(RowError(code, reason, line, column))


@dataclass
class _Key:
    kind: c.KeyKind
    algorithm: c.KeyAlgorithm
    key: bytes = field(repr=False)  # never in a repr (tracebacks, debuggers, logs)


@dataclass
class _Device:
    serial_number: str
    product_type: c.ProductType | None
    product_type_cell: str
    line: int
    labels: dict[str, None] = field(default_factory=dict)
    keys: list[_Key] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did (or, as a dry run or refused, would have done)."""

    device_count: int
    key_count: int
    dry_run: bool
    #: The first MAX_REPORTED_ERRORS problems in line order (all of them for the CLI).
    errors: list[RowError]
    error_count: int

    @property
    def imported(self) -> bool:
        return not self.dry_run and self.error_count == 0


def _decode(data: bytes, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(Code.INVALID, "not UTF-8 text (the file must be UTF-8).", line)
        return None


def _header(line: str) -> tuple[str, dict[str, int]] | None:
    """(delimiter, column -> index) when one of DELIMITERS makes the header name every column."""
    for delimiter in DELIMITERS:
        try:
            names = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        names = [name.strip().lower() for name in names]
        if set(COLUMNS) <= set(names):
            return delimiter, {name: index for index, name in enumerate(names)}
    return None


def _serial_problem(serial: str) -> tuple[Code, str] | None:
    if not serial:
        return Code.REQUIRED, "the serial number is missing."
    if len(serial) > MAX_SERIAL or _NOT_SERIAL.search(serial):
        return Code.INVALID, f"not a serial number (at most {MAX_SERIAL} characters, no spaces)."
    return None


def _enum_value(values: dict, cell: str):
    """The enum member a cell names (AES_128; also aes-128), or None."""
    return values.get(cell) or values.get(cell.upper().replace("-", "_"))


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | None]]:
    """(line number, cells) of the data rows, blank lines skipped; (line, None) where the CSV breaks."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)  # the header
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield line + 1, None
            return
        start, line = line + 1, reader.line_num  # a quoted field may span lines: report the first
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        yield start, record


def parse(data: bytes, product_types: list[c.ProductType], problems: _Problems) -> tuple[dict[str, _Device], int]:
    """The devices of the file by serial number and the number of key rows; problems go to `problems`."""
    devices: dict[str, _Device] = {}
    text = _decode(data, problems)
    if text is None:
        return devices, 0
    header_line = _LINE_BREAK.split(text, maxsplit=1)[0]
    if not text.strip():
        problems.add(Code.REQUIRED, "The file is empty: it needs a header row and a row per key.")
        return devices, 0
    header = _header(header_line)
    if header is None:
        problems.add(
            Code.INVALID,
            f"the header must name the columns {', '.join(COLUMNS)} (and optionally labels), "
            "separated by one of , ; tab |.",
            1,
        )
        return devices, 0
    delimiter, index = header
    unknown = [name for name in index if name not in COLUMNS + OPTIONAL_COLUMNS]
    if unknown or len(index) != len(next(csv.reader([header_line], delimiter=delimiter))):
        problems.add(
            Code.INVALID,
            f"the header names an unknown or repeated column; the columns are {', '.join(COLUMNS + OPTIONAL_COLUMNS)}.",
            1,
        )
        return devices, 0
    width = len(index)
    by_name = {pt.name.casefold(): pt for pt in product_types}
    first_line: dict[tuple[str, c.KeyKind], int] = {}
    rows = 0
    for line, fields in _records(text, delimiter):
        if fields is None:
            problems.add(
                Code.INVALID,
                f"unreadable CSV (a field over {csv.field_size_limit()} characters?); the rest was not read.",
                line,
            )
            break
        rows += 1
        if rows > MAX_ROWS:
            problems.add(Code.TOO_MANY, f"more than {MAX_ROWS} rows: split the file.", line)
            break
        if len(fields) != width:
            problems.add(Code.INVALID, f"{len(fields)} fields, but the header has {width}.", line)
            continue
        _check_row(line, {name: fields[i].strip() for name, i in index.items()}, by_name, devices, first_line, problems)
    if rows == 0 and problems.count == 0:
        problems.add(Code.REQUIRED, "The file has a header but no rows.")
    return devices, rows


def _check_row(
    line: int,
    cells: dict[str, str],
    by_name: dict[str, c.ProductType],
    devices: dict[str, _Device],
    first_line: dict[tuple[str, c.KeyKind], int],
    problems: _Problems,
) -> None:
    ok = True

    def bad(code: Code, reason: str, column: str) -> None:
        nonlocal ok
        ok = False
        problems.add(code, reason, line, column)

    serial = cells["serial_number"]
    serial_problem = _serial_problem(serial)
    if serial_problem:
        bad(*serial_problem, "serial_number")

    product_type = None
    if not cells["product_type"]:
        bad(Code.REQUIRED, "the product type is missing.", "product_type")
    else:
        product_type = by_name.get(cells["product_type"].casefold())
        if product_type is None:
            bad(
                Code.NOT_FOUND, "unknown product type (the names are listed by the productTypes query).", "product_type"
            )

    kind = _enum_value(_KINDS, cells["key_kind"])
    if kind is None:
        bad(Code.INVALID, f"unknown key kind; one of {', '.join(k.value for k in c.KeyKind)}.", "key_kind")
    elif product_type is not None and kind.value not in product_type.key_kinds:
        bad(
            Code.INVALID,
            f"this product type carries no {kind.value} key (it carries {', '.join(product_type.key_kinds) or 'none'}).",
            "key_kind",
        )

    algorithm = _enum_value(_ALGORITHMS, cells["algorithm"])
    if algorithm is None:
        bad(Code.INVALID, f"unknown algorithm; one of {', '.join(a.value for a in c.KeyAlgorithm)}.", "algorithm")

    key_hex = cells["key"]
    key: bytes | None = None
    if not key_hex:
        bad(Code.REQUIRED, "the key is missing.", "key")
    elif not _HEX.fullmatch(key_hex) or len(key_hex) % 2:
        bad(Code.INVALID, "the key is not hexadecimal (two hex digits per byte, nothing else).", "key")
    else:
        key = bytes.fromhex(key_hex)
        if algorithm is not None:
            try:
                check_key_length(algorithm, key)
            except DomainError as error:  # its message has lengths only
                bad(Code.INVALID, f"{error.message}.", "key")

    labels: list[str] = []
    for label in (cells.get("labels") or "").split(LABEL_SEPARATOR):
        label = label.strip()
        if len(label) > MAX_LABEL:
            bad(Code.TOO_LONG, f"a label has more than {MAX_LABEL} characters.", "labels")
        elif label:
            labels.append(label)

    if serial_problem is None:
        device = devices.get(serial)
        if device is None:
            device = devices[serial] = _Device(serial, product_type, cells["product_type"].casefold(), line)
        elif device.product_type_cell != cells["product_type"].casefold():
            bad(Code.INVALID, f"the serial number has another product type on line {device.line}.", "product_type")
        if kind is not None:
            earlier = first_line.setdefault((serial, kind), line)
            if earlier != line:
                bad(Code.DUPLICATE, f"the serial number already has a {kind.value} key on line {earlier}.", "key_kind")
        if ok:
            device.labels.update(dict.fromkeys(labels))
            device.keys.append(_Key(kind, algorithm, key))


async def _check_catalogue(session: AsyncSession, devices: dict[str, _Device], problems: _Problems) -> None:
    """Serial numbers already in the catalogue (same manufacturer), in chunked IN lists."""
    by_manufacturer: dict[str, list[_Device]] = {}
    for device in devices.values():
        if device.product_type is not None:
            by_manufacturer.setdefault(device.product_type.manufacturer, []).append(device)
    found: list[_Device] = []
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


async def _store(session: AsyncSession, sealer: Sealer, devices: list[_Device]) -> None:
    """Devices first (their ids bind the keys' sealing), then labels and sealed keys, in chunks."""
    for start in range(0, len(devices), CHUNK):
        chunk = devices[start : start + CHUNK]
        rows = [
            {
                "manufacturer": device.product_type.manufacturer,
                "serial_number": device.serial_number,
                "product_type_id": device.product_type.id,
                "organisation_id": None,
                "claim_status": c.ClaimStatus.UNCLAIMED,
                "batch_id": None,
            }
            for device in chunk
        ]
        result = await session.execute(insert(DEVICE).returning(DEVICE.c.id, DEVICE.c.serial_number), rows)
        ids = {serial: device_id for device_id, serial in result.all()}
        labels = [{"device_id": ids[d.serial_number], "label": label} for d in chunk for label in d.labels]
        if labels:
            await session.execute(insert(c.DeviceLabel.__table__), labels)
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
            await session.execute(insert(c.DeviceKey.__table__), keys)


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
    import (DomainError, the transaction rolls back).
    """
    product_types = list((await session.scalars(select(c.ProductType))).all())
    parse_problems = _Problems(max_reported)
    devices, key_rows = parse(data, product_types, parse_problems)
    catalogue_problems = _Problems(max_reported)
    await _check_catalogue(session, devices, catalogue_problems)
    count = parse_problems.count + catalogue_problems.count
    if count:
        errors = sorted(parse_problems.kept + catalogue_problems.kept, key=lambda e: e.line or 0)
        if max_reported is not None:
            errors = errors[:max_reported]
        return ImportReport(0, 0, dry_run, errors, count)
    device_list = sorted(devices.values(), key=lambda d: d.line)
    if not dry_run:
        try:
            await _store(session, sealer, device_list)
        except IntegrityError:
            raise DomainError(
                Code.DUPLICATE,
                "A serial number of the file was added to the catalogue meanwhile: nothing was imported.",
                "file",
            ) from None
        await record(
            session,
            context,
            "devices.imported",
            organisation_id=None,
            target_type="Device",
            actor_label=actor_label,
            details={
                "deviceCount": len(device_list),
                "keyCount": key_rows,
                "source": source,
                "filename": filename[:200],
                "productTypes": dict(Counter(d.product_type.name for d in device_list)),
            },
        )
    return ImportReport(len(device_list), key_rows, dry_run, [], 0)


# --- GraphQL ---------------------------------------------------------------------------------------


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


def _payload_errors(report: ImportReport) -> list[CatalogueError]:
    errors = [CatalogueError(code=e.code, field=e.field, message=e.message) for e in report.errors]
    if report.error_count > len(report.errors):
        errors.append(
            CatalogueError(
                code=Code.TOO_MANY,
                field=["file"],
                message=f"… and {report.error_count - len(report.errors)} more problems.",
            )
        )
    return errors


def _refused(dry_run: bool, code: Code, message: str, field_path: list[str] | None) -> DeviceImportPayload:
    return DeviceImportPayload(
        device_count=0,
        key_count=0,
        dry_run=dry_run,
        error_count=1,
        errors=[CatalogueError(code=code, field=field_path, message=message)],
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
            refusal = upload_refused(error)
            return _refused(input.dry_run, refusal.code, refusal.message, refusal.field)

        async def work(session: AsyncSession) -> ImportReport:
            return await import_devices(
                session,
                context,
                context.runtime.sealer,
                upload.content,
                dry_run=input.dry_run,
                filename=upload.filename,
            )

        result = await run_in_transaction(context, work)
        if isinstance(result, DomainError):
            return _refused(input.dry_run, result.code, result.message, result.field)
        return DeviceImportPayload(
            device_count=result.device_count,
            key_count=result.key_count,
            dry_run=result.dry_run,
            error_count=result.error_count,
            errors=_payload_errors(result),
        )
