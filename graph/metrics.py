"""Production metrics at /metrics (Prometheus text format, prometheus-client) and the per-request record
that feeds them and the request log line.

Each runtime has its own registry (tests run several in one process). Request metrics are counted as
requests finish; gauges (pool, subscribers, MQTT) are read when Prometheus scrapes, and so are the domains'
database gauges (graph.domain.Gauge, e.g. the mail outbox's depth): the scrape awaits their statements
before it renders, because a Prometheus collector cannot wait for the database itself. Operation names come
from clients: only GraphQL names are used as label values, and past MAX_OPERATION_NAMES distinct ones the
rest count as "other", so a client cannot blow up the number of series.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    from sqlalchemy.ext.asyncio import AsyncSession

    from graph.domain import Gauge
    from graph.runtime import Runtime

log = logging.getLogger("fleetgraph.metrics")

MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
#: A request ID a client or proxy may send (X-Request-ID) and have echoed: short, no spaces or quotes.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-ID"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: How long a scrape waits for the database gauges; past it they are left out of that scrape.
GAUGE_READ_SECONDS = 5.0


@dataclass
class RequestRecord:
    """What one HTTP request did: its ID, operation name and SQL statements (counted on every connection the
    request's tasks use, through a context variable)."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    operation: str = ""
    #: query or mutation, once the document is parsed (for the trace's span name).
    operation_type: str = ""
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
            with contextlib.suppress(RuntimeError):  # no operation of that name: execution refuses it anyway
                record.operation_type = self.execution_context.operation_type.value
        yield


def _count_statement(*_: Any) -> None:
    record = CURRENT_REQUEST.get()
    if record is not None:
        record.statements += 1


class Metrics:
    def __init__(self, runtime: Runtime, gauges: Sequence[Gauge] = ()) -> None:
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
        self.database = DatabaseGauges(gauges, runtime.session_factory)
        self.registry.register(self.database)
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

    async def response(self) -> Response:
        # rendering is synchronous: no other scrape can set the database values before it has read them
        self.database.current = await self.database.read()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)


class DatabaseGauges(Collector):
    """The domains' database gauges. A scrape reads them all in one session, one statement each; scrapes that
    arrive meanwhile share that read. A gauge whose statement fails, or all when the read takes longer than
    GAUGE_READ_SECONDS, is left out of the scrape (Prometheus then sees it as absent, not as a stale value)."""

    def __init__(self, gauges: Sequence[Gauge], session_factory: Callable[[], AsyncSession]) -> None:
        self.gauges = tuple(gauges)
        self._session_factory = session_factory
        self._reading: asyncio.Future[dict[str, Any]] | None = None
        #: What the scrape being rendered read: values by gauge name.
        self.current: dict[str, Any] = {}

    async def read(self) -> dict[str, Any]:
        if not self.gauges:
            return {}
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(self._read_done)
        try:
            # shielded: a scrape that gives up does not cancel the read the others share
            return await asyncio.wait_for(asyncio.shield(self._reading), GAUGE_READ_SECONDS)
        except TimeoutError:
            log.warning("database gauges took longer than %s s; left out of this scrape", GAUGE_READ_SECONDS)
            return {}
        except Exception:  # e.g. the database went away while closing the session: the rest still answers
            log.warning("database gauges could not be read", exc_info=True)
            return {}

    def _read_done(self, reading: asyncio.Future[dict[str, Any]]) -> None:
        self._reading = None
        if not reading.cancelled():
            reading.exception()  # retrieved, also when every scrape waiting for it gave up (read() logs it)

    async def _read(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        async with self._session_factory() as session:
            for gauge in self.gauges:
                try:
                    values[gauge.name] = await gauge.read(session)
                except Exception:
                    log.warning("database gauge %s could not be read", gauge.name, exc_info=True)
                    await session.rollback()  # PostgreSQL refuses further statements in a failed transaction
        return values

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges:
            value = self.current.get(gauge.name)
            if value is None:
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels or None)
            if isinstance(value, Mapping):
                for label_values, number in value.items():
                    family.add_metric(list(label_values), number)
            else:
                family.add_metric([], value)
            yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # what collect() yields depends on the last read: nothing to check at registration


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
        connections = self.runtime.connection_states()
        if connections:
            family = GaugeMetricFamily(
                "fleetgraph_mqtt_state", "Each MQTT worker's state (1: current).", labels=["worker", "state"]
            )
            for name, state in connections.items():
                family.add_metric([name, state], 1)
            yield family
