"""The catalogue's `fleetgraph` commands (declared in its Domain.commands): import-devices."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from graph.commands import database, refuse_unmigrated
from graph.context import Context
from graph.errors import DomainError
from graph.secrets import load_sealer
from graph.settings import Settings
from resolvers.catalogue.imports.rules import ImportReport
from resolvers.catalogue.imports.rules import import_devices as run_import
from resolvers.catalogue.product_types.rules import ensure_product_types


def import_devices(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV key file (README: Importing devices and keys)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only check the file; nothing is stored."),
) -> None:
    """Import devices with their keys from a CSV key file, all or nothing (every bad row is printed)."""
    settings = Settings.from_env()
    refuse_unmigrated(settings)
    report = asyncio.run(_import(settings, file.read_bytes(), file.name, dry_run))
    if report.error_count:
        for error in report.errors:  # all of them: the CLI lists no fewer than the file has
            typer.echo(f"{file}: {error.message}", err=True)
        typer.echo(f"error: {report.error_count} problems; nothing was imported", err=True)
        raise typer.Exit(code=1)
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb} {report.device_count} devices with {report.key_count} keys"
        + (" (dry run: nothing stored)" if dry_run else "")
    )


async def _import(settings: Settings, data: bytes, filename: str, dry_run: bool) -> ImportReport:
    async with database(settings) as factory:
        async with factory() as session, session.begin():
            await ensure_product_types(session)  # what a server start installs; the CLI may run first
        # No principal and no runtime: the audit event's actor is "cli" (whoever may run this holds the database).
        context = Context(None, client_address="")  # type: ignore[arg-type]
        try:
            async with factory() as session, session.begin():
                return await run_import(
                    session,
                    context,
                    load_sealer(settings),
                    data,
                    dry_run=dry_run,
                    source="cli",
                    filename=filename,
                    actor_label="cli",
                    max_reported=None,
                )
        except DomainError as error:  # the file as a whole (its size, its encoding)
            return ImportReport.refused(dry_run, error)
