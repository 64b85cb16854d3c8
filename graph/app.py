"""The Starlette application: /graphql (HTTP and websockets), /health, GraphiQL's local assets."""

from __future__ import annotations

import contextlib
import gc
import logging
import secrets
from functools import partial
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLFormattedError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage as TransportErrorMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyErrorMessage
from strawberry.types.unset import UnsetType
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from graph.auth import authenticate, bearer_token
from graph.browser import BROWSER_PAGE_HEADERS
from graph.composition import DOMAINS, check_settings
from graph.context import Context
from graph.errors import with_request_id
from graph.http import PersistedQueries, RequestError, client_address, handle_graphql
from graph.logs import install_redaction, quiet_libraries
from graph.metrics import request_id_of
from graph.runtime import Runtime
from graph.settings import Settings
from subscriptions.delivery import CURRENT_SINK, Sink, frame_for

STATIC = Path(__file__).resolve().parent / "static" / "graphiql"
log = logging.getLogger("fleetgraph")


def _persisted_document(view: object, payload: dict[str, Any]) -> tuple[str | None, GraphQLFormattedError | None]:
    """The document a websocket operation runs, by the same persisted-query rules as HTTP: (document, error)."""
    assert isinstance(view, WebSocketGraphQL)
    try:
        document = view.persisted.resolve(payload.get("query"), payload.get("extensions"))
    except GraphQLError as error:
        return None, error.formatted
    except RequestError as error:
        return None, {"message": error.message, "extensions": {"code": "BAD_REQUEST"}}
    if not isinstance(document, str):
        return None, {"message": "`query` is required", "extensions": {"code": "BAD_REQUEST"}}
    return document, None


def _sink(handler, message_type: str, operation_id: str, query: str, operation_name, variables) -> Sink:
    """Where the operation's live events go (subscriptions.delivery): straight to the socket, each event's
    payload executed and encoded once for all operations that would get the same."""
    socket = handler.websocket.ws

    async def send_text(text: str) -> None:
        # A client that went away is not an error: the handler's read loop sees the disconnect and ends the
        # operation; until then its events are dropped here instead of being logged as failures.
        if socket.application_state is not WebSocketState.CONNECTED:  # closing (e.g. on SIGTERM)
            return
        with contextlib.suppress(WebSocketDisconnect, OSError):
            await socket.send_text(text)

    return Sink(
        send_text=send_text,
        prefix=frame_for(message_type, operation_id),
        schema=handler.schema._schema,
        executor_class=handler.schema.execution_context_class,
        query=query,
        operation_name=operation_name,
        variables=variables if isinstance(variables, dict) else None,
    )


def _stamped(message: Any, request_id: str) -> Any:
    """A websocket message with the connection's request ID in its GraphQL errors' extensions: an `error`
    message's payload is the errors (graphql-transport-ws) or one error (graphql-ws); `next` and `data`
    payloads have them under `errors`."""
    payload = message.get("payload") if isinstance(message, dict) else None
    if not request_id or payload is None or message.get("type") not in ("error", "next", "data"):
        return message
    if message["type"] == "error":
        errors = with_request_id(payload if isinstance(payload, list) else [payload], request_id)
        return {**message, "payload": errors if isinstance(payload, list) else errors[0]}
    if isinstance(payload, dict) and payload.get("errors"):
        return {**message, "payload": {**payload, "errors": with_request_id(payload["errors"], request_id)}}
    return message


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def send_message(self, message) -> None:
        await super().send_message(_stamped(message, self.context.request_id))

    async def handle_subscribe(self, message) -> None:
        document, error = _persisted_document(self.view, message["payload"])
        if error is not None:
            await self.send_message(TransportErrorMessage(id=message["id"], type="error", payload=[error]))
            return
        message["payload"]["query"] = document
        await super().handle_subscribe(message)

    async def run_operation(self, operation) -> None:
        CURRENT_SINK.set(
            _sink(self, "next", operation.id, operation.query, operation.operation_name, operation.variables)
        )
        await super().run_operation(operation)


class _LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def send_message(self, message) -> None:
        await super().send_message(_stamped(message, self.context.request_id))

    async def handle_start(self, message) -> None:
        document, error = _persisted_document(self.view, message["payload"])
        if error is not None:
            await self.send_message(LegacyErrorMessage(type="error", id=message["id"], payload=error))
            return
        message["payload"]["query"] = document
        await super().handle_start(message)

    async def handle_async_results(self, operation_id, query, operation_name, variables) -> None:
        CURRENT_SINK.set(_sink(self, "data", operation_id, query, operation_name, variables))
        await super().handle_async_results(operation_id, query, operation_name, variables)


class WebSocketGraphQL(GraphQL[Context, None]):
    """strawberry's websocket handling (graphql-transport-ws and graphql-ws), our context and auth.

    Operations over websockets follow the same persisted-query rules (and allow-list) as HTTP.
    """

    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler

    def __init__(self, runtime: Runtime, persisted: PersistedQueries) -> None:
        super().__init__(
            runtime.schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.runtime = runtime
        self.persisted = persisted

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # one ID per websocket, the upgrade request's X-Request-ID when it is sane
        return Context(
            self.runtime, client_address=client_address(request), request=request, request_id=request_id_of(request)
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = params.get("authorization") or params.get("Authorization") or params.get("token")
        # "Bearer <token>" as in HTTP, or the bare token
        token = (bearer_token(raw) or raw.strip() or None) if isinstance(raw, str) else None
        if token is None:
            return await super().on_ws_connect(context)  # anonymous: fields that need a login refuse
        # Taken before the token is read: a rights change committed after that read moves the count on, so the
        # first event after it checks the token again (graph.auth.reauthenticate); earlier ones are in the read.
        rights_epoch = self.runtime.events.rights_epoch
        principal, problem = await authenticate(self.runtime.session_factory, token)
        if principal is None:
            raise ConnectionRejectionError({"message": problem})
        context.principal = principal
        context.access_token = token
        context.rights_epoch = rights_epoch
        return {"user": principal.email}


async def home(request: Request) -> Response:
    return RedirectResponse("/graphql")  # an API server: its home is the IDE


def _persisted_queries(settings: Settings) -> PersistedQueries:
    own_documents = [document for domain in DOMAINS for document in domain.documents]
    return PersistedQueries(
        settings.persisted_queries_file, settings.persisted_queries_only, own_documents=own_documents
    )


async def health(runtime: Runtime, request: Request) -> Response:
    # Without the bus, live events come from the event log (slower, nothing lost): degraded, still serving.
    checks = {"database": "ok", "eventBus": "ok" if runtime.bus.healthy else "degraded"}
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        checks["database"] = f"failed: {type(exc).__name__}"
    ready = checks["database"] == "ok"
    status = ("ok" if runtime.bus.healthy else "degraded") if ready else "unavailable"
    # reported beside the checks, not one of them: without the broker the API still serves (the mutation)
    mqtt = getattr(runtime.workers.get("mqtt"), "state", "off")
    body = {"status": status, "checks": checks, "mqtt": mqtt, "mqttConnections": runtime.connection_states()}
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(runtime: Runtime, expected: str, request: Request) -> Response:
    if expected and not secrets.compare_digest(bearer_token(request.headers.get("authorization")) or "", expected):
        return Response("The metrics need FLEETGRAPH_METRICS_TOKEN as a bearer token.", status_code=401)
    return await runtime.metrics.response()


def collect_garbage_less_often() -> None:
    """A server holds many long-lived objects (its schema and mappers; per websocket a handler, a context and
    the subscription's coroutines). With CPython's default thresholds (700, 10, 10) the collector then ran so
    often that a full collection stalled the event loop for about 200 ms every few events at 1,000
    subscribers (bench/README.md). What startup built is frozen out of collections, the young generation is
    collected every 50,000 allocations, the oldest a hundred times less often than the middle one: cycles
    made by requests still die young, and reference counting frees everything else at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, auto_migrate: bool = False
) -> Starlette:
    settings = settings or Settings.from_env()
    check_settings(settings)  # a wrong setting stops every worker process here, not at its first request
    # Every server process builds its app here (also uvicorn's worker processes, which do not inherit
    # the filters `fleetgraph serve` installed): keep download tokens out of uvicorn's access log.
    install_redaction()
    quiet_libraries()
    runtime = runtime or Runtime(settings)
    persisted = _persisted_queries(settings)

    def render_ide() -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=BROWSER_PAGE_HEADERS)

    async def graphql_http(request: Request) -> Response:
        return await handle_graphql(request, runtime, persisted, render_ide)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await runtime.start(auto_migrate=auto_migrate)
        collect_garbage_less_often()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/graphql", graphql_http, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            WebSocketRoute("/graphql", WebSocketGraphQL(runtime, persisted)),
            Route("/health", partial(health, runtime)),
            Route("/metrics", partial(metrics, runtime, settings.metrics_token)),
            *(route for domain in DOMAINS for route in domain.routes),
            Mount("/graphiql", StaticFiles(directory=STATIC), name="graphiql"),
        ],
        lifespan=lifespan,
        # The client address (login throttle, audit, sessions) comes from X-Forwarded-For only when a
        # configured proxy sends it. Done here, not by the server, so that it holds under any server;
        # `fleetgraph serve` turns uvicorn's own handling (which trusts 127.0.0.1) off.
        middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)]
        if settings.trusted_proxy_list
        else [],
    )
    app.state.runtime = runtime
    return app
