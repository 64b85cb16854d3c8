"""Production metrics at /metrics (Prometheus text format, prometheus-client) and the per-request record
that feeds them and the request log line.

Each runtime has its own registry (tests run several in one process). Request metrics are counted as
requests finish; gauges (pool, subscribers, MQTT) are read when Prometheus scrapes. Operation names come
from clients: only GraphQL names are used as label values, and past MAX_OPERATION_NAMES distinct ones the
rest count as "other", so a client cannot blow up the number of series.
"""

from __future__ import annotations

import contextvars
import gc
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from starlette.requests import HTTPConnection
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from graph.runtime import Runtime

MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
#: A request ID a client or proxy may send (X-Request-ID) and have echoed: short, no spaces or quotes.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-ID"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class RequestRecord:
    """What one HTTP request did: its ID, operation name and SQL statements (counted on every connection the
    request's tasks use, through a context variable)."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    operation: str = ""
    statements: int = 0
    #: ok, errors (a result with errors) or refused (no result: a bad request); empty for the IDE page.
    outcome: str = ""


CURRENT_REQUEST: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "fleetgraph_request", default=None
)


def request_id_of(request: HTTPConnection) -> str:
    """The caller's X-Request-ID (of a request or a websocket's upgrade) when it is a sane token, else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


class RecordOperation(SchemaExtension):
    """Puts the operation's name (given, or the document's only operation's) on the request's record."""

    def on_execute(self) -> Iterator[None]:
        record = CURRENT_REQUEST.get()
        if record is not None:
            record.operation = self.execution_context.operation_name or ""
        yield


def _count_statement(*_: Any) -> None:
    record = CURRENT_REQUEST.get()
    if record is not None:
        record.statements += 1


class Metrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._names: set[str] = set()
        self.requests = Counter(
            "fleetgraph_requests",
            "GraphQL requests over HTTP by operation name and outcome (ok, errors, refused).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fleetgraph_request_seconds",
            "Time to answer a GraphQL request over HTTP.",
            ["operation"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.statements = Histogram(
            "fleetgraph_request_sql_statements",
            "SQL statements per GraphQL request over HTTP.",
            registry=self.registry,
            buckets=(1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144),
        )
        self.gc_pauses = Histogram(
            "fleetgraph_gc_pause_seconds",
            "Garbage collector pauses of this process, by generation.",
            ["generation"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
        )
        self.registry.register(_LiveState(runtime))
        self._gc_started = 0.0
        self._engine = runtime.engine.sync_engine

    def start(self) -> None:
        event.listen(self._engine, "before_cursor_execute", _count_statement)
        gc.callbacks.append(self._gc_callback)

    def stop(self) -> None:
        if event.contains(self._engine, "before_cursor_execute", _count_statement):
            event.remove(self._engine, "before_cursor_execute", _count_statement)
        if self._gc_callback in gc.callbacks:
            gc.callbacks.remove(self._gc_callback)

    def _gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self.gc_pauses.labels(str(info.get("generation", ""))).observe(time.perf_counter() - self._gc_started)

    def operation_label(self, name: str | None) -> str:
        if not name or not _NAME.match(name):
            return "anonymous" if not name else "other"
        if name in self._names:
            return name
        if len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    def observe(self, record: RequestRecord, outcome: str) -> float:
        """Count a finished request; returns its duration in seconds."""
        seconds = time.perf_counter() - record.started
        operation = self.operation_label(record.operation)
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(seconds)
        self.statements.observe(record.statements)
        return seconds

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)


class _LiveState(Collector):
    """Gauges read at scrape time from the runtime: database pool, live subscribers, events, MQTT."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        pool = self.runtime.engine.sync_engine.pool
        checked_out = getattr(pool, "checkedout", None)
        if callable(checked_out):
            yield GaugeMetricFamily(
                "fleetgraph_db_connections_in_use", "Database connections checked out of the pool.", checked_out()
            )
        events = self.runtime.events
        yield GaugeMetricFamily(
            "fleetgraph_subscribers", "Live subscriptions in this process.", events.subscriber_count
        )
        yield CounterMetricFamily(
            "fleetgraph_events_handed_out", "Events handed to live subscribers.", events.handed_out
        )
        yield CounterMetricFamily(
            "fleetgraph_slow_subscribers_dropped", "Subscribers ended with SLOW_SUBSCRIBER.", events.slow_dropped
        )
        yield GaugeMetricFamily(
            "fleetgraph_event_bus_up", "1 while the event bus is up.", int(self.runtime.bus.healthy)
        )
        mqtt = getattr(self.runtime.workers.get("mqtt"), "state", None)
        if mqtt is not None:
            family = GaugeMetricFamily(
                "fleetgraph_mqtt_state", "The MQTT subscriber's state (1: current).", labels=["state"]
            )
            family.add_metric([str(mqtt)], 1)
            yield family
