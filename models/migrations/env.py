"""Alembic environment: runs on the async engine that graph.db hands over (or the URL in settings)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    from graph.db import ENGINE_OPTIONS

    engine = create_async_engine(url, **ENGINE_OPTIONS)  # no bound parameters in error messages
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from graph.settings import Settings

    asyncio.run(_run_async(config.get_main_option("sqlalchemy.url") or Settings.from_env().effective_database_url))
