"""`POST /telemetry`: devices send a location's telemetry with the location's device token
(`Authorization: Bearer fgt_…`, made by telemetryTokenCreate), as JSON or InfluxDB line protocol (formats.py),
through the same rule as the batch mutation (all or nothing).

Answers are JSON: 200 `{"stored": n}`; otherwise `{"errors": [{"code", "field", "message"}]}` with 401 (no, an
unknown or a revoked token), 413 (body over MAX_BODY_BYTES), 415 (another content type), 400 (a body that is not
the format it says) or 422 (bad points: one error per bad point, nothing stored). Bodies and tokens are never
logged; a device's mistake is not a server error."""

from __future__ import annotations

import enum
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graph.auth import bearer_token
from graph.errors import DomainError, problems_of
from graph.workers import transaction
from resolvers.monitoring.telemetry.formats import BadBody, json_points, line_protocol_points
from resolvers.monitoring.telemetry.management import token_location
from resolvers.monitoring.telemetry.rules import late_window, store_points

#: 10,000 points as JSON with device IDs and times are about 1 MB.
MAX_BODY_BYTES = 2_000_000


class TooLarge(Exception):
    pass


def device_answer(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    body = {"errors": [{"code": code, "field": None, "message": message}]}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **headers})


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:  # also without (or with a false) Content-Length
            raise TooLarge
    return bytes(body)


def _points(request: Request, body: bytes) -> list[Any] | Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media == "application/json":
            return json_points(body)
        if media == "text/plain":
            return line_protocol_points(body, request.query_params.get("precision", "ns"))
    except BadBody as exc:
        return device_answer(400, "BAD_REQUEST", str(exc))
    return device_answer(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json or text/plain (InfluxDB line protocol).")


def refused_points(error: DomainError) -> JSONResponse:
    problems = [
        {"code": cast(enum.Enum, problem.code).name, "field": problem.field, "message": problem.message}
        for problem in problems_of(error)
    ]
    return JSONResponse({"errors": problems}, status_code=422, headers={"Cache-Control": "no-store"})


async def receive_telemetry(request: Request) -> Response:
    """POST /telemetry: store the body's points for the token's location."""
    runtime = request.app.state.runtime
    secret = bearer_token(request.headers.get("authorization"))
    if secret is None:
        return device_answer(
            401,
            "UNAUTHENTICATED",
            "Send the location's token: Authorization: Bearer <token>.",
            **{"WWW-Authenticate": "Bearer"},
        )
    try:
        body = await read_body(request)
    except TooLarge:
        return device_answer(413, "PAYLOAD_TOO_LARGE", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        async with transaction(runtime) as session:
            location = await token_location(session, secret)
            if location is None:
                return device_answer(
                    401,
                    "UNAUTHENTICATED",
                    "The token is unknown or revoked.",
                    **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            # read only for a known token: a stranger's body costs no parsing
            points = _points(request, body)
            if isinstance(points, Response):
                return points
            stored = await store_points(session, None, location, points, late=late_window(runtime.settings))
    except DomainError as error:
        return refused_points(error)
    return JSONResponse({"stored": len(stored)}, headers={"Cache-Control": "no-store"})
