"""The `fleetgraph` command: serve, migrate, create-admin, rotate-master-key, import-devices, export-schema."""

from __future__ import annotations

import asyncio
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
            from graph.secrets import load_sealer

            if await seed_demo(create_session_factory(engine), load_sealer(settings)):
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

    from graph.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)  # graph.logs: also keeps secrets out of uvicorn's access log
    if demo:
        asyncio.run(_prepare(settings, demo=True))
    else:
        _refuse_unmigrated(settings)
    if workers > 1 and settings.is_sqlite:
        typer.echo("note: several workers on SQLite share one file; use PostgreSQL and Redis to scale out", err=True)
    typer.echo(f"fleetgraph serving GraphQL at http://{host}:{port}/graphql (GraphiQL in a browser)")
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides (FLEETGRAPH_TRUSTED_PROXIES)
    uvicorn.run(
        "graph.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade head)."""
    asyncio.run(_prepare(Settings.from_env(), demo=False))
    typer.echo("database is up to date")


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., prompt=True, help="E-mail address (login name)."),
    name: str = typer.Option("Platform Admin", help="Full name."),
    organisation: str = typer.Option(
        "fleetgraph Platform", help="Organisation to create the admin in (made if missing)."
    ),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="FLEETGRAPH_ADMIN_PASSWORD",
        help="Password (prompted; or FLEETGRAPH_ADMIN_PASSWORD).",
    ),
) -> None:
    """Create a platform admin (migrates first)."""
    from graph.admin import AdminError, create_platform_admin

    settings = Settings.from_env()
    asyncio.run(_prepare(settings, demo=False))
    try:
        asyncio.run(
            create_platform_admin(settings, email=email, name=name, organisation_name=organisation, password=password)
        )
    except AdminError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(f"platform admin {email.strip().lower()} created")


@app.command("rotate-master-key")
def rotate_master_key(
    reseal_only: bool = typer.Option(
        False, "--reseal-only", help="Add no version; re-seal values on older versions with the current one."
    ),
    report_only: bool = typer.Option(
        False, "--report", help="Only show how many values each master key version seals."
    ),
    remove_version: int | None = typer.Option(
        None, "--remove-version", help="Remove an old version from the key file (refused while a value uses it)."
    ),
    batch_size: int = typer.Option(200, min=1, help="Rows re-sealed per transaction."),
) -> None:
    """Add a new master key version and re-seal every device key, TOTP secret and queued mail body with it (servers keep serving)."""
    from graph import secrets as s

    settings = Settings.from_env()
    _refuse_unmigrated(settings)
    from_env = bool(settings.master_key)
    try:
        if report_only or remove_version is not None:
            keyring = s.load_keyring(settings)
            report = asyncio.run(_reseal(settings, s.Sealer(keyring), batch_size=batch_size, reseal=False))
            if remove_version is not None:
                _remove_version(settings, keyring, report, remove_version)
                return
        elif from_env and not reseal_only:
            _print_env_rotation(s.load_keyring(settings))
            return
        else:
            if not from_env and not reseal_only:
                keyring = s.add_key_file_version(settings)
                typer.echo(f"master key version {keyring.current} added to {s.key_file_path(settings)}")
            report = asyncio.run(_reseal(settings, s.load_sealer(settings), batch_size=batch_size, reseal=True))
    except s.KeyringError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    _print_report(report, s.load_keyring(settings))
    if report.failed:
        typer.echo(
            f"error: {len(report.failed)} values do not open with any master key: {', '.join(report.failed)}", err=True
        )
        raise typer.Exit(code=1)


async def _reseal(settings: Settings, sealer, *, batch_size: int, reseal: bool):
    from graph.db import create_engine, create_session_factory
    from graph.secrets import RotationReport, outbox_version_counts, reseal_all, version_counts

    engine = create_engine(settings)
    try:
        factory = create_session_factory(engine)
        if reseal:
            return await reseal_all(factory, sealer, batch_size=batch_size)
        report = RotationReport(current=sealer.version)
        report.device_keys, report.totp_secrets = await version_counts(factory)
        report.outbox_messages = await outbox_version_counts(factory)
        return report
    finally:
        await engine.dispose()


def _print_report(report, keyring) -> None:
    typer.echo(f"current master key version: {report.current}; keyring: {', '.join(map(str, keyring.versions))}")
    if report.resealed_device_keys or report.resealed_totp_secrets or report.resealed_outbox_messages:
        typer.echo(
            f"re-sealed: {report.resealed_device_keys} device keys, {report.resealed_totp_secrets} TOTP secrets, "
            f"{report.resealed_outbox_messages} queued mails"
        )
    for version in sorted(set(keyring.versions) | report.in_use(), reverse=True):
        keys, totp = report.device_keys.get(version, 0), report.totp_secrets.get(version, 0)
        mails = report.outbox_messages.get(version, 0)
        state = "" if version in keyring.keys else " (NOT IN THE KEYRING)"
        typer.echo(f"  version {version}{state}: {keys} device keys, {totp} TOTP secrets, {mails} queued mails")
    unused = [v for v in keyring.versions if v != keyring.current and v not in report.in_use()]
    if unused:
        typer.echo(
            f"unused old versions (safe to remove once no backup you restore needs them): {', '.join(map(str, unused))}"
        )


def _print_env_rotation(keyring) -> None:
    rotated = keyring.with_new_version()
    from graph.secrets import Keyring

    learn = Keyring(keys=rotated.keys, current=keyring.current)
    # The key comes from the environment, so only the operator can deploy it: print it, change nothing.
    typer.echo("FLEETGRAPH_MASTER_KEY is set: nothing was changed. Deploy the new master key yourself:")
    typer.echo(f"  1. every server (it learns version {rotated.current} and still seals with {keyring.current}):")
    typer.echo(f"     FLEETGRAPH_MASTER_KEY={learn.dump()}")
    typer.echo(f"  2. then every server (version {rotated.current} seals new values):")
    typer.echo(f"     FLEETGRAPH_MASTER_KEY={rotated.dump()}")
    typer.echo("  3. then, with that value set: fleetgraph rotate-master-key --reseal-only")


def _remove_version(settings: Settings, keyring, report, version: int) -> None:
    from graph.secrets import remove_key_file_version

    if settings.master_key:
        typer.echo("error: FLEETGRAPH_MASTER_KEY is set: remove the version from its value yourself", err=True)
        raise typer.Exit(code=1)
    if version not in keyring.keys:
        typer.echo(f"error: version {version} is not in the keyring", err=True)
        raise typer.Exit(code=1)
    if version == keyring.current:
        typer.echo(f"error: version {version} is the current one and cannot be removed", err=True)
        raise typer.Exit(code=1)
    if version in report.in_use():
        typer.echo(
            f"error: version {version} still seals {report.device_keys.get(version, 0)} device keys and "
            f"{report.totp_secrets.get(version, 0)} TOTP secrets and {report.outbox_messages.get(version, 0)} queued mails; run fleetgraph rotate-master-key --reseal-only first",
            err=True,
        )
        raise typer.Exit(code=1)
    remove_key_file_version(settings, version)
    typer.echo(f"master key version {version} removed")


@app.command("import-devices")
def import_devices(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV key file (README: Importing devices and keys)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only check the file; nothing is stored."),
) -> None:
    """Import devices with their keys from a CSV key file, all or nothing (every bad row is printed)."""
    settings = Settings.from_env()
    _refuse_unmigrated(settings)
    report = asyncio.run(_import_devices(settings, file.read_bytes(), file.name, dry_run))
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


async def _import_devices(settings: Settings, data: bytes, filename: str, dry_run: bool):
    from graph.context import Context
    from graph.db import create_engine, create_session_factory
    from graph.errors import DomainError
    from graph.secrets import load_sealer
    from resolvers.catalogue.imports.rules import ImportReport
    from resolvers.catalogue.imports.rules import import_devices as run_import
    from resolvers.catalogue.product_types.rules import ensure_product_types

    engine = create_engine(settings)
    try:
        factory = create_session_factory(engine)
        async with factory() as session, session.begin():
            await ensure_product_types(session)  # what a server start installs; the CLI may run first
        # No principal: the audit event's actor is "cli" (whoever may run this command holds the database).
        context = Context(None, client_address="")
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
        except DomainError as error:
            return ImportReport.refused(dry_run, error)
    finally:
        await engine.dispose()


@app.command("export-schema")
def export_schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
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
