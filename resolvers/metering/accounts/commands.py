"""`fleetgraph sms-gateway-credentials`: set (or clear) the SMS gateway's credentials, sealed with the master key."""

from __future__ import annotations

import asyncio
import sys

import typer
from sqlalchemy import delete

from graph.commands import database, refuse_unmigrated
from graph.secrets import load_sealer
from graph.settings import Settings
from models import identity as m
from models.base import utcnow
from resolvers.metering.accounts.sms import CREDENTIALS_ID, seal_credentials


def sms_gateway_credentials(
    username: str = typer.Option("", help="User name for HTTP Basic; without one the secret is a Bearer token."),
    clear: bool = typer.Option(False, "--clear", help="Remove the credentials (the gateway is called without)."),
) -> None:
    """Set the SMS gateway's credentials: the secret (password or token) is read from standard input, never from
    the command line (it would show in the process list and shell history)."""
    settings = Settings.from_env()
    refuse_unmigrated(settings)
    secret = "" if clear else (typer.prompt("Secret", hide_input=True) if sys.stdin.isatty() else sys.stdin.read())
    secret = secret.strip()
    if not clear and not secret:
        raise typer.BadParameter("the secret is empty")
    asyncio.run(_store(settings, username.strip(), secret, clear))
    typer.echo("SMS gateway credentials removed" if clear else "SMS gateway credentials stored (sealed)")


async def _store(settings: Settings, username: str, secret: str, clear: bool) -> None:
    G = m.SmsGatewayCredential
    async with database(settings) as factory, factory() as session, session.begin():
        await session.execute(delete(G).where(G.id == CREDENTIALS_ID))
        if not clear:
            sealed = seal_credentials(load_sealer(settings), {"username": username, "secret": secret})
            session.add(G(id=CREDENTIALS_ID, secret=sealed, updated_at=utcnow()))
