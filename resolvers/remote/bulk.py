"""Registering many routers at once from CSV (text or an uploaded file), all or nothing.

A header row names the columns (any order, any case; `common_name` or `commonName`): common_name,
mac_address, serial_number, and optionally model and firmware. The delimiter is whichever of `;`,
`,` or tab makes the header name the columns. Every row is checked (format, repeats within the
file, routers already registered) and every problem is reported with its line number; nothing is
stored while any row is bad.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.context import Context
from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from graph.uploads import UploadError, read_upload
from models import remote as r
from models.identity import Permission
from resolvers.audit.rules import record
from resolvers.remote import services
from resolvers.remote.errors import RemoteError, as_errors
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.types import Router

REQUIRED = ("common_name", "mac_address", "serial_number")
OPTIONAL = ("model", "firmware")
DELIMITERS = (";", ",", "\t")
MAX_ROWS = 5000
MAX_REPORTED_ERRORS = 500
#: Values per IN list (asyncpg allows 32767 parameters per statement).
CHUNK = 1000
MAX_TEXT_BYTES = 2 * 1024 * 1024


@dataclass
class BulkResult:
    routers: list[r.Router] = field(default_factory=list)
    errors: list[RemoteError] = field(default_factory=list)
    error_count: int = 0


def _column_key(name: str) -> str:
    return name.strip().lower().replace("_", "").replace(" ", "")


_KNOWN = {_column_key(name): name for name in REQUIRED + OPTIONAL}


def _header(line: str) -> tuple[str, dict[str, int]] | None:
    for delimiter in DELIMITERS:
        names = next(csv.reader([line], delimiter=delimiter))
        index = {_KNOWN[_column_key(n)]: i for i, n in enumerate(names) if _column_key(n) in _KNOWN}
        if all(name in index for name in REQUIRED):
            return delimiter, index
    return None


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.kept: list[RemoteError] = []
        self.count = 0

    def add(self, code: Code, reason: str, line: int | None = None, column: str | None = None) -> None:
        self.count += 1
        if len(self.kept) < MAX_REPORTED_ERRORS:
            path = [self.source] + ([str(line)] if line is not None else []) + ([column] if column and line else [])
            message = f"Line {line}: {reason}" if line is not None else reason
            self.kept.append(RemoteError(code=code, field=path, message=message))


async def register_bulk(
    session: AsyncSession, context: Context, text: str, source: str, organisation_id: str | None, dry_run: bool
) -> BulkResult:
    problems = _Problems(source)
    organisation = None
    if organisation_id is not None:
        organisation = await services.visible_organisation(session, context, organisation_id, "organisationId")
    lines = text.splitlines()
    header = _header(lines[0]) if lines else None
    if header is None:
        raise DomainError(
            Code.INVALID,
            "The first line must name the columns common_name, mac_address and serial_number "
            "(optionally model, firmware), separated by ; or , or tabs.",
            source,
        )
    delimiter, index = header
    rows: list[tuple[int, services.RouterFields]] = []
    first_line: dict[tuple[str, str], int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.add(Code.INVALID, "unreadable CSV; the rest was not read.", line)
            break
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            problems.add(Code.TOO_LONG, f"more than {MAX_ROWS} routers: split the list.", line)
            break
        values = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
        checked: dict[str, str] = {}
        for name, clean in (
            ("common_name", services.clean_common_name),
            ("mac_address", services.clean_mac),
            ("serial_number", services.clean_serial),
        ):
            try:
                checked[name] = clean(values[name], name)
            except DomainError as error:
                problems.add(error.code, error.message, line, name)
                continue
            earlier = first_line.setdefault((name, checked[name]), line)
            if earlier != line:
                problems.add(Code.DUPLICATE, f"the same {name} as line {earlier}.", line, name)
        for name in OPTIONAL:
            try:
                checked[name] = services.clean_text(values.get(name), name)
            except DomainError as error:
                problems.add(error.code, error.message, line, name)
        if len(checked) == len(REQUIRED) + len(OPTIONAL):
            rows.append(
                (
                    line,
                    services.RouterFields(
                        checked["common_name"],
                        checked["mac_address"],
                        checked["serial_number"],
                        checked["model"],
                        checked["firmware"],
                    ),
                )
            )
    if not rows and not problems.count:
        raise DomainError(Code.REQUIRED, "The list names no router.", source)

    # routers already registered (any tenant's: the platform registers them all)
    for name, column, attribute in (
        ("common_name", r.Router.common_name, "common_name"),
        ("mac_address", r.Router.mac_address, "mac_address"),
        ("serial_number", r.Router.serial_number, "serial_number"),
    ):
        wanted = {getattr(fields, attribute): line for line, fields in rows}
        values = list(wanted)
        taken: set[str] = set()
        for start in range(0, len(values), CHUNK):
            taken.update((await session.scalars(select(column).where(column.in_(values[start : start + CHUNK])))).all())
        for value in sorted(taken, key=lambda v: wanted[v]):
            problems.add(Code.DUPLICATE, f"a router with this {name} is already registered.", wanted[value], name)

    if problems.count:
        errors = sorted(problems.kept, key=lambda e: int(e.field[1]) if len(e.field) > 1 else 0)
        if problems.count > len(errors):
            errors.append(
                RemoteError(
                    code=Code.TOO_LONG, field=[source], message=f"… and {problems.count - len(errors)} more problems."
                )
            )
        return BulkResult(errors=errors, error_count=problems.count)
    routers = [
        r.Router(
            common_name=f.common_name,
            mac_address=f.mac_address,
            serial_number=f.serial_number,
            model=f.model,
            firmware=f.firmware,
            organisation_id=organisation.id if organisation else None,
        )
        for _, f in rows
    ]
    if dry_run:
        return BulkResult(routers=routers)
    session.add_all(routers)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # registered at the same moment by someone else
        raise DomainError(
            Code.DUPLICATE, "Some of these routers were registered meanwhile: check the list again.", source
        ) from exc
    await record(
        session,
        context,
        "router.registered_bulk",
        organisation_id=organisation.id if organisation else None,
        target_type="Router",
        details={"count": len(routers), "commonNames": [x.common_name for x in routers[:100]]},
    )
    return BulkResult(routers=routers)


@strawberry.input(description="Many routers to register, as CSV text or an uploaded CSV file (give exactly one).")
class RouterRegisterBulkInput:
    csv: str | None = strawberry.field(
        default=None,
        description="CSV text: a header naming common_name, mac_address, serial_number (optionally model, firmware), then one router per line.",
    )
    file: Upload | None = strawberry.field(
        default=None, description="The same as a file (GraphQL multipart request; .csv or .txt)."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Assign them all to this organisation."
    )
    dry_run: bool = strawberry.field(default=False, description="Only check the list; nothing is stored.")


@strawberry.type(description="The routers registered (dry run: that would be), or every problem of the list.")
class RouterRegisterBulkPayload:
    routers: list[Router] = strawberry.field(description="The routers, in list order; empty when refused.")
    registered_count: int = strawberry.field(description="How many were (dry run: would be) registered.")
    dry_run: bool = strawberry.field(description="Whether this was a dry run.")
    error_count: int = strawberry.field(
        description="How many problems the list has, also those beyond the listed ones."
    )
    errors: list[RemoteError] = strawberry.field(
        description=(
            f'Every problem in line order (at most {MAX_REPORTED_ERRORS}): `field` is ["csv" or "file", "<line>", '
            '"<column>"] and the message starts with "Line <n>:". Any error means nothing was stored.'
        )
    )


def _refused(dry_run: bool, error: DomainError) -> RouterRegisterBulkPayload:
    return RouterRegisterBulkPayload(
        routers=[], registered_count=0, dry_run=dry_run, error_count=1, errors=as_errors(error)
    )


@strawberry.type
class RemoteBulkMutation:
    @strawberry.mutation(
        description="Register many routers from CSV (platform admins), all or nothing, with every bad row reported by line.",
        permission_classes=[needs(Permission.ROUTERS_REGISTER)],
    )
    async def router_register_bulk(self, info: Info, input: RouterRegisterBulkInput) -> RouterRegisterBulkPayload:
        context: Context = info.context
        if (input.csv is None) == (input.file is None):
            return _refused(input.dry_run, DomainError(Code.REQUIRED, "Give either csv or file.", "csv"))
        if input.file is not None:
            source = "file"
            try:
                upload = await read_upload(
                    input.file, max_bytes=context.runtime.settings.max_upload_bytes, suffixes=(".csv", ".txt")
                )
            except UploadError as error:
                return _refused(input.dry_run, DomainError(Code.INVALID, error.message, "file"))
            try:
                text = upload.content.decode("utf-8-sig")
            except UnicodeDecodeError:
                return _refused(input.dry_run, DomainError(Code.INVALID, "The file must be UTF-8 text.", "file"))
        else:
            source, text = "csv", input.csv
            if len(text.encode()) > MAX_TEXT_BYTES:
                return _refused(
                    input.dry_run, DomainError(Code.TOO_LONG, f"At most {MAX_TEXT_BYTES} bytes: upload a file.", "csv")
                )
        result = await run_in_transaction(
            context, lambda s: register_bulk(s, context, text, source, input.organisation_id, input.dry_run)
        )
        if isinstance(result, DomainError):
            return _refused(input.dry_run, result)
        stored = not result.errors and not input.dry_run  # a dry run's routers have no ID to show
        return RouterRegisterBulkPayload(
            routers=[Router.from_model(x) for x in result.routers] if stored else [],
            registered_count=0 if result.errors else len(result.routers),
            dry_run=input.dry_run,
            error_count=result.error_count,
            errors=result.errors,
        )
