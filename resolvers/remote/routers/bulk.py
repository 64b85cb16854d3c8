"""Registering many routers at once from CSV (text or an uploaded file), all or nothing.

A header row names the columns (any order, any case; `common_name` or `commonName`): common_name,
mac_address, serial_number, and optionally model and firmware. The delimiter is whichever of `;`,
`,` or tab makes the header name the columns. Every row is checked (format, repeats within the
file, routers already registered) and every problem is reported with its line number; nothing is
stored while any row is bad.
"""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload

from graph.context import Context
from graph.errors import DomainError, RowProblems
from graph.permissions import require_principal
from graph.rules import clean_text
from graph.tenancy import visible_organisation
from graph.uploads import UploadError, read_upload
from models import identity as m
from models import remote as r
from resolvers.audit.rules import record
from resolvers.remote.errors import RemoteErrorCode as Code
from resolvers.remote.routers.rules import RouterFields
from resolvers.remote.scope import MAX_TEXT, clean_common_name, clean_mac, clean_serial

REQUIRED = ("common_name", "mac_address", "serial_number")
OPTIONAL = ("model", "firmware")
DELIMITERS = (";", ",", "\t")
MAX_ROWS = 5000
MAX_REPORTED_ERRORS = 500
#: Values per IN list (asyncpg allows 32767 parameters per statement).
CHUNK = 1000
#: CSV given as text (larger lists are uploaded as a file).
MAX_TEXT_BYTES = 2 * 1024 * 1024
HEADER_HELP = (
    "The first line must name the columns common_name, mac_address and serial_number "
    "(optionally model, firmware), separated by ; or , or tabs."
)


@dataclass
class BulkResult:
    """The routers (stored, or checked in a dry run), or the problems of the list (then nothing was stored)."""

    problems: RowProblems
    routers: list[r.Router] = field(default_factory=list)


def _code(error: DomainError) -> enum.Enum:
    # the cleaners raise with a member of an error-code enum; DomainError types its code as `object`
    return cast(enum.Enum, error.code)


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


async def csv_source(text: str | None, upload: Upload | None, max_upload_bytes: int) -> tuple[str, str]:
    """("csv" or "file", the CSV text) of the input, which gives exactly one of the two."""
    if (text is None) == (upload is None):
        raise DomainError(Code.REQUIRED, "Give either csv or file.", "csv")
    if text is not None:
        if len(text.encode()) > MAX_TEXT_BYTES:
            raise DomainError(Code.TOO_LONG, f"At most {MAX_TEXT_BYTES} bytes: upload a file.", "csv")
        return "csv", text
    try:
        content = (await read_upload(upload, max_bytes=max_upload_bytes, suffixes=(".csv", ".txt"))).content
    except UploadError as error:
        raise DomainError(Code.INVALID, error.message, "file") from error
    try:
        return "file", content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(Code.INVALID, "The file must be UTF-8 text.", "file") from error


def _check_row(
    values: dict[str, str], line: int, first_line: dict[tuple[str, str], int], problems: RowProblems
) -> RouterFields | None:
    """The row's fields, or None after adding its problems (also values repeated from an earlier line)."""
    checked: dict[str, str] = {}
    for name, clean in (
        ("common_name", clean_common_name),
        ("mac_address", clean_mac),
        ("serial_number", clean_serial),
    ):
        try:
            checked[name] = clean(values[name], name)
        except DomainError as error:
            problems.add(_code(error), error.message, line, name)
            continue
        earlier = first_line.setdefault((name, checked[name]), line)
        if earlier != line:
            problems.add(Code.DUPLICATE, f"the same {name} as line {earlier}.", line, name)
    for name in OPTIONAL:
        try:
            checked[name] = clean_text(values.get(name), name, max_length=MAX_TEXT, required=False)
        except DomainError as error:
            problems.add(_code(error), error.message, line, name)
    if len(checked) < len(REQUIRED) + len(OPTIONAL):
        return None
    return RouterFields(
        checked["common_name"], checked["mac_address"], checked["serial_number"], checked["model"], checked["firmware"]
    )


def parse_rows(text: str, source: str, problems: RowProblems) -> list[tuple[int, RouterFields]]:
    """(line, fields) of every good row; the bad ones end up in `problems`."""
    lines = text.splitlines()
    header = _header(lines[0]) if lines else None
    if header is None:
        raise DomainError(Code.INVALID, HEADER_HELP, source)
    delimiter, index = header
    rows: list[tuple[int, RouterFields]] = []
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
        fields = _check_row(values, line, first_line, problems)
        if fields is not None:
            rows.append((line, fields))
    return rows


async def check_registered(session: AsyncSession, rows: list[tuple[int, RouterFields]], problems: RowProblems) -> None:
    """A problem per value already registered (any tenant's: the platform registers them all)."""
    for name in REQUIRED:
        column = getattr(r.Router, name)
        wanted = {getattr(fields, name): line for line, fields in rows}
        values = list(wanted)
        taken: set[str] = set()
        for start in range(0, len(values), CHUNK):
            taken.update((await session.scalars(select(column).where(column.in_(values[start : start + CHUNK])))).all())
        for value in sorted(taken, key=lambda v: wanted[v]):
            problems.add(Code.DUPLICATE, f"a router with this {name} is already registered.", wanted[value], name)


async def store_routers(
    session: AsyncSession, context: Context, routers: list[r.Router], organisation: m.Organisation | None, source: str
) -> None:
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


async def register_bulk(
    session: AsyncSession, context: Context, text: str, source: str, organisation_id: str | None, dry_run: bool
) -> BulkResult:
    """Check every row, then store all of them, or none when any row has a problem (or in a dry run)."""
    problems = RowProblems(source, MAX_REPORTED_ERRORS)
    organisation = None
    if organisation_id is not None:
        organisation = await visible_organisation(
            session, require_principal(context), organisation_id, "organisationId"
        )
    rows = parse_rows(text, source, problems)
    if not rows and not problems.count:
        raise DomainError(Code.REQUIRED, "The list names no router.", source)
    await check_registered(session, rows, problems)
    if problems.count:
        problems.kept.sort(key=lambda problem: problem.line or 0)  # the registered ones were found last
        return BulkResult(problems)
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
    if not dry_run:
        await store_routers(session, context, routers, organisation, source)
    return BulkResult(problems, routers)
