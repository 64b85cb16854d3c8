"""`fleetgraph seal-oidc-secret`: a provider's client secret sealed for FLEETGRAPH_OIDC_PROVIDERS."""

from __future__ import annotations

import getpass
import sys

import typer

from graph.secrets import KeyringError, load_sealer
from graph.settings import Settings
from resolvers.identity.federation.providers import seal_client_secret


def seal_oidc_secret(
    provider: str = typer.Argument(..., help="The provider's name in FLEETGRAPH_OIDC_PROVIDERS."),
) -> None:
    """Seal a provider's client secret (asked, or read from standard input) with the master key, for
    `client_secret_sealed` in FLEETGRAPH_OIDC_PROVIDERS; it opens only for that provider's name. Seal it again after
    rotate-master-key, before --remove-version."""
    # asked without echo on a terminal, else read from standard input: only the sealed value goes to stdout
    secret = (getpass.getpass("client secret: ") if sys.stdin.isatty() else sys.stdin.read()).strip()
    if not secret:
        typer.echo("error: no client secret given", err=True)
        raise typer.Exit(code=1)
    try:
        sealed = seal_client_secret(load_sealer(Settings.from_env()), provider, secret)
    except KeyringError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(sealed)
