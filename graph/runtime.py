"""Everything a running server holds once: settings, engine, sessions, sealer, event bus, schema."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.composition import DOMAINS
from graph.db import create_engine, create_session_factory, ensure_migrated, migrate
from graph.metrics import Metrics
from graph.secrets import load_sealer
from graph.settings import Settings
from graph.tracing import Tracing
from graph.workers import Worker
from subscriptions.bus import EventBus
from subscriptions.stream import EventStream


class Runtime:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        #: OpenTelemetry spans when FLEETGRAPH_TRACING=otlp; first, so that missing packages stop the start at once.
        self.tracing = Tracing(settings.tracing)
        self.engine = engine or create_engine(settings)
        #: Keyring of master key versions; re-reads the key file when rotate-master-key changes it.
        self.sealer = load_sealer(settings)
        # The bus's one subscriber is the event stream, which keeps up: it may queue many messages.
        self.bus = EventBus(settings.broadcast_url, max_queue=10_000)
        #: Live events of this process, read from the bus and the event log.
        self.events = EventStream(
            self.bus,
            poll_seconds=settings.event_poll_seconds,
            retention_hours=settings.event_retention_hours,
            max_queue=settings.subscriber_queue,
            max_per_user=settings.subscriptions_per_user,
            max_per_connection=settings.subscriptions_per_connection,
        )
        self.session_factory = create_session_factory(self.engine, self.sealer, self.events.publish_logged)
        from graph.schema import build_schema

        self.schema = build_schema(settings)
        #: The domains' background workers that the settings turn on, by name, from start() until stop().
        self.workers: dict[str, Worker] = {}
        #: The domains' Domain.prime_request, run for each authenticated HTTP request.
        self.request_primers = tuple(prime for domain in DOMAINS for prime in domain.prime_request)
        #: What /metrics reports.
        self.metrics = Metrics(self, [gauge for domain in DOMAINS for gauge in domain.gauges])

    async def start(self, *, auto_migrate: bool = False) -> None:
        if auto_migrate:
            await migrate(self.engine)
        else:
            await ensure_migrated(self.engine)
        await self.install_shipped_data()
        await self.bus.start()
        await self.events.start(self.session_factory)
        self.metrics.start()
        self.tracing.start(self.engine.sync_engine)
        for domain in DOMAINS:
            for make_worker in domain.workers:
                worker = make_worker(self)
                if worker is not None:
                    self.workers[worker.name] = worker
                    worker.start()

    def connection_states(self) -> dict[str, str]:
        """Each running worker that holds a connection (the MQTT workers: heartbeats, telemetry, the datalog
        link), by name: its state (connecting, connected, reconnecting)."""
        states = {name: getattr(worker, "state", None) for name, worker in self.workers.items()}
        return {name: state for name, state in states.items() if isinstance(state, str)}

    async def install_shipped_data(self) -> None:
        """Add the shipped data (mail templates, product types, …) the database lacks; idempotent, safe in parallel."""
        for domain in DOMAINS:
            for install in domain.startup:
                try:
                    async with self.session_factory() as session, session.begin():
                        await install(session)
                except IntegrityError:
                    pass  # another server process added it at the same moment

    async def stop(self) -> None:
        self.metrics.stop()
        for worker in reversed(list(self.workers.values())):
            await worker.stop()
        self.workers.clear()
        await self.events.stop()
        await self.bus.stop()
        await self.tracing.stop()
        await self.engine.dispose()
