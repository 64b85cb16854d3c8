"""Everything a running server holds once: settings, engine, sessions, sealer, event bus, schema."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from graph.db import create_engine, create_session_factory, ensure_migrated, migrate
from graph.secrets import load_sealer
from graph.settings import Settings
from subscriptions.bus import EventBus


class Runtime:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings)
        #: Keyring of master key versions; re-reads the key file when rotate-master-key changes it.
        self.sealer = load_sealer(settings)
        self.session_factory = create_session_factory(self.engine, self.sealer)
        self.bus = EventBus(settings.broadcast_url)
        from graph.schema import build_schema

        self.schema = build_schema(settings)
        #: Started in start() when smtp_host is set (resolvers.mail.delivery.DeliveryWorker).
        self.delivery_worker = None
        #: Started in start() unless router_watchdog_seconds is 0 (resolvers.remote.watchdog.RouterWatchdog).
        self.router_watchdog = None
        #: Started in start() when mqtt_url is set (resolvers.remote.mqtt.HeartbeatSubscriber).
        self.mqtt = None

    async def start(self, *, auto_migrate: bool = False) -> None:
        if auto_migrate:
            await migrate(self.engine)
        else:
            await ensure_migrated(self.engine)
        await self.install_system_templates()
        await self.install_product_types()
        await self.bus.start()
        if self.settings.smtp_host:  # without SMTP, mails stay PENDING in the outbox
            from resolvers.mail.delivery import DeliveryWorker

            self.delivery_worker = DeliveryWorker(self)
            self.delivery_worker.start()
        if self.settings.router_watchdog_seconds > 0:
            from resolvers.remote.watchdog import RouterWatchdog

            self.router_watchdog = RouterWatchdog(self)
            self.router_watchdog.start()
        if self.settings.mqtt_url:
            from resolvers.remote.mqtt import HeartbeatSubscriber

            self.mqtt = HeartbeatSubscriber(self, self.settings.mqtt_url)
            self.mqtt.start()

    async def install_system_templates(self) -> None:
        """Add shipped default mail templates that the database lacks (idempotent, safe in parallel)."""
        from sqlalchemy.exc import IntegrityError

        from resolvers.mail.services import ensure_system_templates

        try:
            async with self.session_factory() as session, session.begin():
                await ensure_system_templates(session)
        except IntegrityError:
            pass  # another worker added them at the same moment

    async def install_product_types(self) -> None:
        """Add the shipped product types that the database lacks (idempotent, safe in parallel)."""
        from sqlalchemy.exc import IntegrityError

        from resolvers.catalogue.product_types import ensure_product_types

        try:
            async with self.session_factory() as session, session.begin():
                await ensure_product_types(session)
        except IntegrityError:
            pass  # another worker added them at the same moment

    async def stop(self) -> None:
        if self.mqtt is not None:
            await self.mqtt.stop()
            self.mqtt = None
        if self.router_watchdog is not None:
            await self.router_watchdog.stop()
            self.router_watchdog = None
        if self.delivery_worker is not None:
            await self.delivery_worker.stop()
            self.delivery_worker = None
        await self.bus.stop()
        await self.engine.dispose()
