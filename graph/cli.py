"""The `fleetgraph` command: serve, migrate, create-admin, export-schema."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import typer

from graph.settings import Settings

app = typer.Typer(help="fleetgraph: one GraphQL API for fleets of field devices.", no_args_is_help=True)


async def _prepare(settings: Settings, *, demo: bool) -> None:
    from graph.db import create_engine, create_session_factory, migrate

    engine = create_engine(settings)
    try:
        await migrate(engine)
        if demo:
            from graph.demo import seed_demo

            if await seed_demo(create_session_factory(engine)):
                typer.echo("demo data created (credentials: see README)")
    finally:
        await engine.dispose()


def _refuse_unmigrated(settings: Settings) -> None:
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
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (use PostgreSQL and Redis for more than one)."),
    demo: bool = typer.Option(False, "--demo", help="Migrate the database and load demo data first."),
) -> None:
    """Run the API server."""
    import uvicorn

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if demo:
        asyncio.run(_prepare(settings, demo=True))
    else:
        _refuse_unmigrated(settings)
    if workers > 1 and settings.is_sqlite:
        typer.echo("note: several workers on SQLite share one file; use PostgreSQL and Redis to scale out", err=True)
    typer.echo(f"fleetgraph serving GraphQL at http://{host}:{port}/graphql (GraphiQL in a browser)")
    uvicorn.run("graph.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=settings.log_level.lower())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade head)."""
    asyncio.run(_prepare(Settings.from_env(), demo=False))
    typer.echo("database is up to date")


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., prompt=True, help="E-mail address (login name)."),
    name: str = typer.Option("Platform Admin", help="Full name."),
    organisation: str = typer.Option("fleetgraph Platform", help="Organisation to create the admin in (made if missing)."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, envvar="FLEETGRAPH_ADMIN_PASSWORD",
        help="Password (prompted; or FLEETGRAPH_ADMIN_PASSWORD).",
    ),
) -> None:
    """Create a platform admin (migrates first)."""
    from graph.admin import AdminError, create_platform_admin

    settings = Settings.from_env()
    asyncio.run(_prepare(settings, demo=False))
    try:
        asyncio.run(create_platform_admin(settings, email=email, name=name, organisation_name=organisation, password=password))
    except AdminError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(f"platform admin {email.strip().lower()} created")


@app.command("export-schema")
def export_schema(output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")) -> None:
    """Print the GraphQL schema (SDL)."""
    from graph.schema import export_sdl

    sdl = export_sdl()
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
