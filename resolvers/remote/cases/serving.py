"""The case list's export: `GET /cases/export.xlsx` and `GET /cases/export.csv` (the manual's Download button).

The bearer token authenticates as for GraphQL; the query string holds the case list's filter (`mine=true`,
`locationId`, `deviceId`, `statusId` (repeatable), `closed=true|false`) and the rows are exactly the ones the
`cases` list shows the caller, newest first. Rows are read through one cursor, a page at a time: the CSV
streams a chunk per page (in the caller's CSV delimiter); the workbook is written by openpyxl in write-only
mode (rows go to a temporary file, not memory) and then streamed from that file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import strawberry
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import Select, func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from graph.auth import authenticate, bearer_token
from graph.context import Principal
from graph.errors import BadUserInput
from graph.relay import to_global_id
from models import cases as cs
from models import identity as m
from models import remote as r
from models.identity import Permission
from resolvers.remote.cases.filters import CaseFilter, case_statement

#: Rows per cursor fetch (and CSV chunk).
PAGE_SIZE = 500
#: Bytes per chunk of the workbook's file.
FILE_CHUNK = 64 * 1024
HEADER = ("Case", "Location", "Device", "User", "Started (UTC)", "Minutes worked", "Status", "Closed", "Description")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A cell starting with one of these is a formula to a spreadsheet: the CSV quotes it as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _refusal(status: int, message: str, **headers: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers={"Cache-Control": "no-store", **headers})


async def _reader(request: Request, runtime: Any) -> Principal | Response:
    access_token = bearer_token(request.headers.get("authorization"))
    if access_token is None:
        return _refusal(401, "Send your access token: Authorization: Bearer <token>.", **{"WWW-Authenticate": "Bearer"})
    principal, problem = await authenticate(runtime.session_factory, access_token)
    if principal is None:
        return _refusal(
            401, problem or "The access token is invalid.", **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if Permission.LOCATIONS_READ not in principal.permissions or principal.needs_two_factor_enrolment:
        return _refusal(403, "This needs the LOCATIONS_READ permission.")
    return principal


def _flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise BadUserInput(f"`{name}` is true or false.", argument=name)
    return value == "true"


def _id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


def case_filter(request: Request) -> CaseFilter:
    """The list's filter from the query string (its IDs are checked when the statement is built)."""
    query = request.query_params
    return CaseFilter(
        mine=_flag(query.get("mine"), "mine"),
        location_id=_id(query.get("locationId")),
        device_id=_id(query.get("deviceId")),
        status_ids=[strawberry.ID(value) for value in query.getlist("statusId")] or None,
        closed=_flag(query.get("closed"), "closed"),
    )


def export_rows(principal: Principal, given: CaseFilter) -> Select[Any]:
    """The list's cases with what a row shows, newest first."""
    cases = case_statement(principal, given).subquery()
    minutes = (
        select(cs.CaseCall.case_id, func.sum(cs.CaseCall.duration_minutes).label("minutes"))
        .group_by(cs.CaseCall.case_id)
        .subquery()
    )
    return (
        select(
            cases.c.id,
            r.Location.name.label("location"),
            r.LocationDevice.name.label("device"),
            m.User.name.label("user"),
            cases.c.started_at,
            func.coalesce(minutes.c.minutes, 0).label("minutes"),
            cs.CaseStatus.name.label("status"),
            cs.CaseStatus.closes_case,
            cases.c.description,
        )
        .join(r.Location, r.Location.id == cases.c.location_id)
        .join(cs.CaseStatus, cs.CaseStatus.id == cases.c.status_id)
        .outerjoin(r.LocationDevice, r.LocationDevice.id == cases.c.device_id)
        .outerjoin(m.User, m.User.id == cases.c.user_id)
        .outerjoin(minutes, minutes.c.case_id == cases.c.id)
        .order_by(cases.c.started_at.desc(), cases.c.id.desc())
        .execution_options(yield_per=PAGE_SIZE)
    )


def row_values(row: Any) -> tuple[Any, ...]:
    started = row.started_at.astimezone(UTC).replace(tzinfo=None) if row.started_at else None
    return (
        to_global_id("Case", row.id),
        row.location,
        row.device or "",
        row.user or "",
        started,
        int(row.minutes),
        row.status,
        "yes" if row.closes_case else "no",
        row.description,
    )


async def _pages(runtime: Any, statement: Select[Any]) -> AsyncIterator[list[Any]]:
    async with runtime.session_factory() as session:
        result = await session.stream(statement)
        async for rows in result.partitions(PAGE_SIZE):
            yield list(rows)


def _csv_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


async def _csv_chunks(runtime: Any, statement: Select[Any], delimiter: str) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    out.writerow(HEADER)
    async for rows in _pages(runtime, statement):
        for row in rows:
            out.writerow([_csv_text(value) for value in row_values(row)])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _file_chunks(file: Any) -> Iterator[bytes]:
    with file:
        file.seek(0)
        while chunk := file.read(FILE_CHUNK):
            yield chunk


async def _workbook(runtime: Any, statement: Select[Any]) -> Any:
    """The workbook in a temporary file (write-only: rows go to disk as they come)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Cases")
    sheet.append(HEADER)
    async for rows in _pages(runtime, statement):
        for row in rows:
            cells = []
            for value in row_values(row):
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text stays text: a description starting with "=" is no formula
                cells.append(cell)
            sheet.append(cells)
    file = tempfile.TemporaryFile()  # noqa: SIM115  (closed by _file_chunks once streamed)
    await asyncio.to_thread(book.save, file)
    return file


async def export_cases(request: Request) -> Response:
    """GET /cases/export.{xlsx,csv}: the case list, as the caller sees it, with the list's filter."""
    if request.path_params["format"] not in ("xlsx", "csv"):
        return _refusal(404, "Export as cases/export.xlsx or cases/export.csv.")
    runtime = request.app.state.runtime
    principal = await _reader(request, runtime)
    if isinstance(principal, Response):
        return principal
    try:
        statement = export_rows(principal, case_filter(request))
    except BadUserInput as error:
        return _refusal(400, error.message)
    day = datetime.now(UTC).date().isoformat()
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if request.path_params["format"] == "csv":
        async with runtime.session_factory() as session:
            delimiter = await session.scalar(select(m.User.csv_delimiter).where(m.User.id == principal.user_id))
        headers["Content-Disposition"] = f'attachment; filename="cases-{day}.csv"'
        return StreamingResponse(
            _csv_chunks(runtime, statement, delimiter or ";"), media_type="text/csv; charset=utf-8", headers=headers
        )
    file = await _workbook(runtime, statement)
    headers["Content-Disposition"] = f'attachment; filename="cases-{day}.xlsx"'
    return StreamingResponse(_file_chunks(file), media_type=XLSX, headers=headers)


EXPORT_ROUTES = (Route("/cases/export.{format:str}", export_cases, methods=["GET"]),)
