"""`POST /meters/readings`: a network server sends the readings of its organisation's meters with a meter gateway
token (`Authorization: Bearer fgm_…`, made by meterGatewayTokenCreate), naming each meter by serial number,
through the one readings rule (all or nothing).

Answers as POST /telemetry's: 200 `{"stored": n}`; otherwise `{"errors": [{"code", "field", "message"}]}` with 401
(no, an unknown or a revoked token), 413, 415 (not application/json), 400 (not the documented JSON) or 422 (bad
readings, e.g. a serial number that is no meter of the token's organisation: one error each, nothing stored).
Bodies and tokens are never logged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from graph.auth import bearer_token
from graph.errors import DomainError
from graph.workers import transaction
from resolvers.metering.readings.gateway import gateway_readings, token_organisation
from resolvers.metering.readings.ingest import store_readings
from resolvers.monitoring.telemetry.formats import BadBody
from resolvers.monitoring.telemetry.rules import late_window
from resolvers.monitoring.telemetry.serving import (
    MAX_BODY_BYTES,
    TooLarge,
    device_answer,
    read_body,
    refused_points,
)

UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


async def receive_readings(request: Request) -> Response:
    """POST /meters/readings: store the body's readings for meters of the token's organisation."""
    runtime = request.app.state.runtime
    secret = bearer_token(request.headers.get("authorization"))
    if secret is None:
        return device_answer(
            401, "UNAUTHENTICATED", "Send a meter gateway token: Authorization: Bearer <token>.", **UNAUTHENTICATED
        )
    try:
        body = await read_body(request)
    except TooLarge:
        return device_answer(413, "PAYLOAD_TOO_LARGE", f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        async with transaction(runtime) as session:
            organisation_id = await token_organisation(session, secret)
            if organisation_id is None:
                return device_answer(401, "UNAUTHENTICATED", "The token is unknown or revoked.", **UNAUTHENTICATED)
            # read only for a known token: a stranger's body costs no parsing
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return device_answer(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
            try:
                readings = gateway_readings(body)
            except BadBody as exc:
                return device_answer(400, "BAD_REQUEST", str(exc))
            stored = await store_readings(
                session, readings, organisation_id=organisation_id, late=late_window(runtime.settings)
            )
    except DomainError as error:
        return refused_points(error)
    return JSONResponse({"stored": len(stored)}, headers={"Cache-Control": "no-store"})
