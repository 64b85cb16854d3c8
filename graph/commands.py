"""What `fleetgraph` commands share: those of graph.cli and those the domains declare (Domain.commands)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.settings import Settings


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the configured database for one command; the engine is disposed of afterwards."""
    from graph.db import create_engine, create_session_factory

    engine = create_engine(settings)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def refuse_unmigrated(settings: Settings) -> None:
    """Stop the command (exit 1) when the database schema is not up to date."""
    from graph.db import DatabaseNotMigrated, create_engine, ensure_migrated

    async def check() -> None:
        engine = create_engine(settings)
        try:
            await ensure_migrated(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except DatabaseNotMigrated as error:
        fail(str(error))


def fail(message: str) -> NoReturn:
    """Print `error: <message>` to stderr and exit 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)
