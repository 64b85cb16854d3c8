"""The `fleetgraph` command: serve, migrate, create-admin, rotate-master-key, export-schema, and the commands
the domains declare (Domain.commands, e.g. the catalogue's import-devices)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import typer

from graph.commands import database, refuse_unmigrated
from graph.composition import DEMO, DOMAINS, SEALED, check_settings
from graph.secrets import Keyring, RotationReport, Sealer
from graph.settings import Settings, SettingsError
from graph.tracing import require_packages

app = typer.Typer(help="fleetgraph: one GraphQL API for fleets of field devices.", no_args_is_help=True)


async def _prepare(settings: Settings, *, demo: bool) -> None:
    from graph.db import create_engine, create_session_factory, migrate

    engine = create_engine(settings)
    try:
        await migrate(engine)
        if demo:
            from graph.demo import seed_demo
            from graph.secrets import load_sealer

            if await seed_demo(create_session_factory(engine), load_sealer(settings), DEMO):
                typer.echo("demo data created (credentials: see README)")
            else:
                typer.echo("demo data present (the database already has organisations; nothing loaded)")
    finally:
        await engine.dispose()


def own_url(host: str, port: int) -> str:
    """This server's base URL as a browser elsewhere would open it: a wildcard address names the machine."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (use PostgreSQL and Redis for more than one)."),
    demo: bool = typer.Option(
        False, "--demo", help="Migrate, load demo data when the database is empty, and run the demo simulator."
    ),
) -> None:
    """Run the API server."""
    import uvicorn

    from graph.logs import configure_logging

    # Settings for this process and uvicorn's worker processes (they read the environment): demo mode, and
    # links in mails pointing at this server unless FLEETGRAPH_PUBLIC_URL says otherwise.
    if demo:
        os.environ["FLEETGRAPH_DEMO"] = "true"
    if not os.environ.get("FLEETGRAPH_PUBLIC_URL"):
        os.environ["FLEETGRAPH_PUBLIC_URL"] = own_url(host, port)
    settings = Settings.from_env()
    try:
        require_packages(settings.tracing)
        check_settings(settings)
    except SettingsError as error:  # before uvicorn, whose workers would each fail with a traceback
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    # graph.logs: also keeps secrets out of uvicorn's access log
    configure_logging(settings.log_level, settings.log_format)
    if demo:
        asyncio.run(_prepare(settings, demo=True))
    else:
        refuse_unmigrated(settings)
    if workers > 1 and settings.is_sqlite:
        typer.echo("note: several workers on SQLite share one file; use PostgreSQL and Redis to scale out", err=True)
    typer.echo(f"fleetgraph serving GraphQL at http://{host}:{port}/graphql (GraphiQL in a browser)")
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app decides
    # (FLEETGRAPH_TRUSTED_PROXIES)
    uvicorn.run(
        "graph.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        # On SIGTERM uvicorn stops accepting, closes websockets with 1012 (clients reconnect and resume
        # with `after`) and lets requests finish for this long before the runtime stops.
        timeout_graceful_shutdown=settings.shutdown_seconds,
        ws="websockets-sansio",
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
    """Add a new master key version and re-seal every value sealed with the master key (servers keep serving).

    The domains declare what they seal (graph.domain.Domain.sealed): TOTP secrets, queued mail bodies,
    device keys.
    """
    from graph import secrets as s

    settings = Settings.from_env()
    refuse_unmigrated(settings)
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


async def _reseal(settings: Settings, sealer: Sealer, *, batch_size: int, reseal: bool) -> RotationReport:
    from graph.secrets import reseal_all, version_counts

    async with database(settings) as factory:
        if reseal:
            return await reseal_all(factory, sealer, SEALED, batch_size=batch_size)
        return RotationReport(current=sealer.version, versions=await version_counts(factory, SEALED))


def _print_report(report: RotationReport, keyring: Keyring) -> None:
    typer.echo(f"current master key version: {report.current}; keyring: {', '.join(map(str, keyring.versions))}")
    if any(report.resealed.values()):
        typer.echo("re-sealed: " + ", ".join(f"{count} {name}" for name, count in report.resealed.items()))
    for version in sorted(set(keyring.versions) | report.in_use(), reverse=True):
        state = "" if version in keyring.keys else " (NOT IN THE KEYRING)"
        typer.echo(f"  version {version}{state}: {report.sealed_by(version)}")
    unused = [v for v in keyring.versions if v != keyring.current and v not in report.in_use()]
    if unused:
        typer.echo(
            f"unused old versions (safe to remove once no backup you restore needs them): {', '.join(map(str, unused))}"
        )


def _print_env_rotation(keyring: Keyring) -> None:
    rotated = keyring.with_new_version()
    learn = Keyring(keys=rotated.keys, current=keyring.current)
    # The key comes from the environment, so only the operator can deploy it: print it, change nothing.
    typer.echo("FLEETGRAPH_MASTER_KEY is set: nothing was changed. Deploy the new master key yourself:")
    typer.echo(f"  1. every server (it learns version {rotated.current} and still seals with {keyring.current}):")
    typer.echo(f"     FLEETGRAPH_MASTER_KEY={learn.dump()}")
    typer.echo(f"  2. then every server (version {rotated.current} seals new values):")
    typer.echo(f"     FLEETGRAPH_MASTER_KEY={rotated.dump()}")
    typer.echo("  3. then, with that value set: fleetgraph rotate-master-key --reseal-only")


def _remove_version(settings: Settings, keyring: Keyring, report: RotationReport, version: int) -> None:
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
            f"error: version {version} still seals {report.sealed_by(version, ' and ')}; "
            "run fleetgraph rotate-master-key --reseal-only first",
            err=True,
        )
        raise typer.Exit(code=1)
    remove_key_file_version(settings, version)
    typer.echo(f"master key version {version} removed")


# The domains' commands (Domain.commands).
for _domain in DOMAINS:
    for _name, _command in _domain.commands.items():
        app.command(_name)(_command)


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
