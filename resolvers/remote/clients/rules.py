"""Remote clients: the desktop client announces itself, a user pairs it by the key it shows, and its
heartbeats say whether it is connected to the servers.

- `clientRegister` (no login): a new pending client. The answer holds the client secret (kept by the
  client, stored only as its SHA-256) and a pairing key to show (8 characters of an alphabet without
  look-alikes, valid for FLEETGRAPH_CLIENT_PAIRING_MINUTES, stored only as its SHA-256). Registrations are
  counted per client address with the login throttle (slowed, then locked like failed logins), and at most
  FLEETGRAPH_CLIENT_MAX_PENDING clients may wait unpaired; expired pending ones are deleted on the way.
- `clientPair` (CLIENTS_USE): one conditional UPDATE claims the pending client whose unexpired key this is;
  its row count decides between concurrent pairings. Attempts are counted per user before the key is
  checked (a wrong key is a failure), so keys cannot be guessed.
- `clientHeartbeat` (no login, the secret): stamps the client's last heartbeat. A client is connected while
  its last heartbeat is younger than FLEETGRAPH_CLIENT_OFFLINE_AFTER_SECONDS: derived when read, nothing to
  flip. An unknown secret counts a failure on the client address; the answer says only NOT_FOUND.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.auth import hash_token
from graph.context import Context
from graph.errors import DomainError
from graph.permissions import require_principal
from graph.relay import decode_id
from graph.rules import clean_text
from models import clients as cl
from models.base import utcnow
from resolvers.audit.rules import record
from resolvers.identity.sessions.throttling import count_attempt, give_back
from resolvers.remote.errors import RemoteErrorCode as Code

#: No 0/O, 1/I/L or U: a key read off a screen and typed stays right.
KEY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
KEY_LENGTH = 8
SECRET_PREFIX = "fgc_"
MAX_NAME = 200
MAX_VERSION = 100
MAX_SECRET = 200


@dataclass(frozen=True)
class Registered:
    client: cl.RemoteClient
    secret: str
    pairing_key: str


def new_pairing_key() -> str:
    """Shown as XXXX-XXXX; 30^8 keys, of which only the unexpired pending ones mean anything."""
    raw = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_key(value: str | None) -> str:
    """Any case, with or without the dash and spaces; INVALID when it cannot be a key (not counted)."""
    raw = "".join(ch for ch in (value or "").upper() if ch not in " -\t")
    if not raw:
        raise DomainError(Code.REQUIRED, "The key the client shows is required.", "key")
    if len(raw) != KEY_LENGTH or any(ch not in KEY_ALPHABET for ch in raw):
        raise DomainError(Code.INVALID, "A key is 8 letters and digits as the client shows it (K7QM-2XHD).", "key")
    return raw


def key_hash(normalised: str) -> str:
    return hash_token(f"pairing:{normalised}")


def connected(last: datetime | None, now: datetime, offline_after_seconds: int) -> bool:
    """Connected to the servers: a heartbeat within the last offline_after_seconds."""
    return last is not None and last > now - timedelta(seconds=offline_after_seconds)


async def register_client(session: AsyncSession, context: Context, version: str | None) -> Registered | DomainError:
    """A new pending client (see the module). Returns (not raises) a refusal so that the count stays."""
    settings = context.runtime.settings
    # counted before anything else, and before `session` is used (one connection at a time); never given
    # back: every registration counts, so one address cannot flood the table
    attempt = await count_attempt(context, [f"client-register:address:{context.client_address}"])
    if isinstance(attempt, DomainError):
        return DomainError(Code.TOO_MANY, "Too many client registrations from this address: try again later.")
    cleaned = clean_text(version, "version", max_length=MAX_VERSION, required=False)
    now = utcnow()
    await session.execute(
        delete(cl.RemoteClient).where(cl.RemoteClient.user_id.is_(None), cl.RemoteClient.pairing_expires_at < now)
    )
    pending = await session.scalar(select(func.count()).where(cl.RemoteClient.user_id.is_(None)))
    if (pending or 0) >= settings.client_max_pending:
        return DomainError(Code.TOO_MANY, "Too many clients wait to be paired: try again later.")
    secret, key = SECRET_PREFIX + secrets.token_urlsafe(32), new_pairing_key()
    client = cl.RemoteClient(
        secret_hash=hash_token(secret),
        pairing_key_hash=key_hash(normalise_key(key)),
        pairing_expires_at=now + timedelta(minutes=settings.client_pairing_minutes),
        version=cleaned,
        registered_at=now,
    )
    session.add(client)
    await session.flush()
    # no organisation yet (the platform's history); the secret and the key stay out of it
    await record(
        session, context, "client.registered", organisation_id=None, target_type="RemoteClient", target_id=client.id,
        details={"version": cleaned},
    )  # fmt: skip
    return Registered(client, secret, key)


async def pair_client(session: AsyncSession, context: Context, key: str, name: str) -> cl.RemoteClient | DomainError:
    """Claim the pending client showing `key` for the caller, by one conditional UPDATE (see the module)."""
    principal = require_principal(context)
    normalised = normalise_key(key)
    cleaned = clean_text(name, "name", max_length=MAX_NAME, required=True)
    attempt = await count_attempt(context, [f"client-pair:user:{principal.user_id}"])
    if isinstance(attempt, DomainError):
        return DomainError(Code.TOO_MANY, "Too many wrong keys: try again later.", "key")
    now = utcnow()
    RC = cl.RemoteClient
    claimed = (
        await session.execute(
            update(RC)
            .where(RC.pairing_key_hash == key_hash(normalised), RC.user_id.is_(None), RC.pairing_expires_at > now)
            .values(
                user_id=principal.user_id, name=cleaned, paired_at=now, pairing_key_hash=None, pairing_expires_at=None
            )
            .returning(RC.id)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if claimed is None:  # already counted as a failure
        return DomainError(Code.NOT_FOUND, "No client shows this key (or it expired: restart the client).", "key")
    await give_back(session, attempt, reset_account=True)
    client = await session.get(RC, claimed.id)
    assert client is not None  # just claimed in this transaction
    await record(
        session,
        context,
        "client.paired",
        organisation_id=principal.organisation_id,
        target_type="RemoteClient",
        target_id=client.id,
        details={"name": cleaned},
    )
    return client


async def own_client(session: AsyncSession, context: Context, global_id: str, field: str) -> cl.RemoteClient:
    """One of the caller's own clients; anybody else's reads like an unknown one."""
    principal = require_principal(context)
    pk = decode_id(global_id, "RemoteClient")
    client = None
    if pk is not None:
        client = await session.scalar(
            select(cl.RemoteClient).where(cl.RemoteClient.id == pk, cl.RemoteClient.user_id == principal.user_id)
        )
    if client is None:
        raise DomainError(Code.NOT_FOUND, "No such client.", field)
    return client


async def rename_client(session: AsyncSession, context: Context, client_id: str, name: str) -> cl.RemoteClient:
    client = await own_client(session, context, client_id, "id")
    cleaned = clean_text(name, "name", max_length=MAX_NAME, required=True)
    if cleaned != client.name:
        previous, client.name = client.name, cleaned
        await session.flush()
        await record(
            session,
            context,
            "client.renamed",
            organisation_id=require_principal(context).organisation_id,
            target_type="RemoteClient",
            target_id=client.id,
            details={"name": cleaned, "previousName": previous},
        )
    return client


async def remove_client(session: AsyncSession, context: Context, client_id: str) -> int:
    """Forget the client: its secret stops working at once (it must be registered and paired again)."""
    client = await own_client(session, context, client_id, "id")
    pk, name = client.id, client.name
    await session.delete(client)
    await session.flush()
    await record(
        session,
        context,
        "client.removed",
        organisation_id=require_principal(context).organisation_id,
        target_type="RemoteClient",
        target_id=pk,
        details={"name": name},
    )
    return pk


async def client_heartbeat(session: AsyncSession, secret: str, now: datetime) -> cl.RemoteClient | None:
    """Stamp the heartbeat of the client holding `secret` (paired or pending); None when nobody holds it.
    The demo simulator's clients go through here too."""
    if not secret or len(secret) > MAX_SECRET:
        return None
    RC = cl.RemoteClient
    stamped = await session.execute(
        update(RC)
        .where(RC.secret_hash == hash_token(secret))
        .values(last_heartbeat_at=now)
        .returning(RC.id)
        .execution_options(synchronize_session=False)
    )
    row = stamped.first()
    if row is None:
        return None
    client = await session.get(RC, row.id, populate_existing=True)
    return client


async def count_unknown_secret(context: Context) -> DomainError:
    """After a heartbeat with an unknown secret (its transaction is over): a failure on the client address."""
    attempt = await count_attempt(context, [f"client-secret:address:{context.client_address}"])
    if isinstance(attempt, DomainError):
        return DomainError(Code.TOO_MANY, "Too many unknown client secrets from this address: try again later.")
    return DomainError(Code.NOT_FOUND, "No such client.", "secret")
