"""Optional OpenTelemetry tracing: FLEETGRAPH_TRACING=otlp (off by default) exports spans over OTLP/HTTP.

The exporter and the resource are configured by the SDK's own variables (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, …); the service is called
"fleetgraph" unless OTEL_SERVICE_NAME says otherwise. The packages come with `pip install 'fleetgraph[otel]'`;
without them a server with tracing on stops at start.

Spans: one per GraphQL request over HTTP (graph.http; joining the caller's trace when it sends a W3C
`traceparent`), one per DataLoader batch and look-ahead batch of a request (graph.loaders, graph.lookahead),
and one per SQL statement run inside those. They carry names, counts, the request ID and the statement's text
with its placeholders, never a document, variables, a token or a bound parameter (graph.logs has the same
rules). Statements outside a request (workers, the event stream's polling) are not traced: they run all the
time and would drown the requests' traces.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from graph.settings import SettingsError

MODES = ("off", "otlp")
#: Statements longer than this are cut in `db.query.text` (a bulk insert's VALUES list).
MAX_STATEMENT_CHARS = 2000
MISSING_PACKAGES = (
    "FLEETGRAPH_TRACING=otlp needs the OpenTelemetry packages, which are not installed: "
    "pip install 'fleetgraph[otel]' (or set FLEETGRAPH_TRACING=off)"
)


def require_packages(mode: str) -> None:
    """Raise SettingsError when `mode` needs the OpenTelemetry packages and they are not installed."""
    if mode != "otlp":
        return
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise SettingsError(MISSING_PACKAGES) from exc


class Tracing:
    """A runtime's tracer. With tracing off every method is a no-op and OpenTelemetry is not imported."""

    def __init__(self, mode: str) -> None:
        self.enabled = mode == "otlp"
        self._engines: list[Any] = []
        if not self.enabled:
            return
        try:
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        except ImportError as exc:
            raise SettingsError(MISSING_PACKAGES) from exc
        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; given attributes win, so the
        # default name is only given when the operator named none.
        named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
        self._provider = TracerProvider(resource=Resource.create({} if named else {SERVICE_NAME: "fleetgraph"}))
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # OTEL_EXPORTER_OTLP_* env
        # not the global provider: tests run several runtimes in one process, each with its own
        self.tracer = self._provider.get_tracer("fleetgraph")
        self._trace = trace
        self._propagator = TraceContextTextMapPropagator()

    # --- lifetime ----------------------------------------------------------------------------------------

    def start(self, engine: Any) -> None:
        if not self.enabled:
            return
        event.listen(engine, "before_cursor_execute", self._statement_started)
        event.listen(engine, "after_cursor_execute", self._statement_ended)
        event.listen(engine, "handle_error", self._statement_failed)
        self._engines.append(engine)

    async def stop(self) -> None:
        """Export what is left (the exporter posts over HTTP: in a thread, not on the event loop)."""
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._statement_started)
            event.remove(engine, "after_cursor_execute", self._statement_ended)
            event.remove(engine, "handle_error", self._statement_failed)
        self._engines.clear()
        if self.enabled:
            await asyncio.to_thread(self._provider.shutdown)

    # --- spans -------------------------------------------------------------------------------------------

    @contextmanager
    def request(self, headers: Mapping[str, str], request_id: str) -> Iterator[Any]:
        """The span of one GraphQL request over HTTP (None when tracing is off); the caller names it and sets
        its outcome with `finish_request` once it knows them."""
        if not self.enabled:
            yield None
            return
        parent = self._propagator.extract({"traceparent": headers.get("traceparent", "")})
        with self.tracer.start_as_current_span(
            "graphql",
            context=parent,
            kind=self._trace.SpanKind.SERVER,
            attributes={"fleetgraph.request_id": request_id},
            # an exception's text and traceback may hold values: only its type is recorded
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_status(self._trace.StatusCode.ERROR, type(exc).__name__)
                raise

    def finish_request(self, span: Any, *, operation: str, operation_type: str, outcome: str, status: int) -> None:
        if span is None:
            return
        span.update_name(f"{operation_type or 'graphql'} {operation or 'anonymous'}")
        span.set_attributes(
            {
                "graphql.operation.name": operation,
                "graphql.operation.type": operation_type,
                "fleetgraph.outcome": outcome,
                "http.response.status_code": status,
            }
        )
        if status >= 500:
            span.set_status(self._trace.StatusCode.ERROR)

    @contextmanager
    def batch(self, name: str, size: int) -> Iterator[None]:
        """The span of a batch of a request (a DataLoader's or a look-ahead's): its statements are its children."""
        if not self.enabled or not self._trace.get_current_span().is_recording():
            yield
            return
        with self.tracer.start_as_current_span(f"batch {name}", attributes={"fleetgraph.batch.size": size}):
            yield

    def traced_batch(self, load: Callable[[Any], Awaitable[Any]], name: str) -> Callable[[Any], Awaitable[Any]]:
        """`load(keys)` in a batch span (`load` itself when tracing is off)."""
        if not self.enabled:
            return load

        async def traced(keys: Any) -> Any:
            with self.batch(name, len(keys)):
                return await load(keys)

        return traced

    # SQLAlchemy's engine events, run inside the statement's greenlet, which shares the request's context.

    def _statement_started(self, _conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, *_: Any):
        if context is None or not self._trace.get_current_span().is_recording():
            return
        text = statement.strip()
        context._fleetgraph_span = self.tracer.start_span(
            text.split(None, 1)[0].upper() if text else "SQL",
            kind=self._trace.SpanKind.CLIENT,
            attributes={
                "db.system.name": context.dialect.name,
                "db.query.text": text[:MAX_STATEMENT_CHARS],  # placeholders only: parameters are never set
            },
        )

    def _statement_ended(self, _conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, *_: Any):
        span = getattr(context, "_fleetgraph_span", None)
        if span is not None:
            span.end()
            context._fleetgraph_span = None

    def _statement_failed(self, exception_context: Any) -> None:
        context = exception_context.execution_context
        span = getattr(context, "_fleetgraph_span", None)
        if span is not None:
            # the type only: a database error's text may quote values
            span.set_status(self._trace.StatusCode.ERROR, type(exception_context.original_exception).__name__)
            span.end()
            context._fleetgraph_span = None
