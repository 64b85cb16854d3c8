"""The mail domain's `fleetgraph` commands (declared in its Domain.commands): mail-preview."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy import select

from graph.commands import database, refuse_unmigrated
from graph.secrets import load_sealer
from graph.settings import Settings
from models.mail import OutboxMessage
from resolvers.mail.sealing import open_bodies


def mail_preview(
    limit: int = typer.Option(5, min=1, max=100, help="How many mails, newest first."),
    to: str = typer.Option("", help="Only mails whose recipient contains this (case-insensitive)."),
) -> None:
    """Print the newest mails of the outbox with their text bodies, so their links can be followed without SMTP."""
    settings = Settings.from_env()
    refuse_unmigrated(settings)
    asyncio.run(_preview(settings, limit, to.strip().lower()))


async def _preview(settings: Settings, limit: int, to: str) -> None:
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if to:
        statement = statement.where(OutboxMessage.to_address.contains(to, autoescape=True))
    async with database(settings) as factory, factory() as session:
        rows = (await session.scalars(statement)).all()
    if not rows:
        typer.echo("the outbox is empty" + (f" for recipients containing {to!r}" if to else ""))
        return
    sealer = load_sealer(settings)
    for row in rows:
        text, _ = open_bodies(sealer, row)
        typer.echo(f"── {row.created_at:%Y-%m-%d %H:%M:%S} UTC · {row.status.value} · to {row.to_address}")
        typer.echo(f"Subject: {row.subject}\n")
        typer.echo(text.rstrip() if text else "(body cleared: the mail was delivered)")
        typer.echo("")
