"""Delivering the transactional outbox through SMTP.

Protocol per message (so that no mail is ever sent twice):

1. Claim: one short transaction picks a due PENDING row, marks it SENDING (attempts + 1) and adds a
   DeliveryAttempt with an empty outcome; commit.
2. Send through SMTP, outside any transaction.
3. Mark: a second transaction records SENT, or PENDING again with an exponential backoff, or FAILED
   after `mail_max_attempts`.

Bodies wait in the outbox sealed with the master key (resolvers.mail.sealing): the worker opens them
between 1 and 2 and clears them when it records SENT in 3.

A worker that dies between 2 and 3 leaves a SENDING row. Whether the mail went out is then unknown,
so after `SENDING_LEASE` such a row becomes UNCERTAIN and is never resent automatically; a platform
admin may resend it explicitly (outboxMessageRetry).

Several server processes may run workers. The claim is a single `UPDATE … WHERE id = (SELECT … LIMIT 1)
… AND status = 'PENDING' RETURNING …`: on PostgreSQL the inner SELECT takes the row with
`FOR UPDATE SKIP LOCKED`, so concurrent workers claim different rows without waiting; on SQLite
there is a single writer, the UPDATE takes the write lock first and concurrent claims simply run one
after the other (each sees the other's SENDING and skips the row).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
from sqlalchemy import and_, exists, select, update

from graph.settings import Settings
from graph.workers import PeriodicTask
from models.base import utcnow
from models.mail import DeliveryAttempt, OutboxMessage, OutboxStatus
from resolvers.mail import sealing

log = logging.getLogger("fleetgraph.mail.delivery")

#: How long a SENDING row may stay unrecorded before it is declared UNCERTAIN. Far longer than
#: SMTP_TIMEOUT, so a live worker always records its outcome first.
SENDING_LEASE = timedelta(minutes=10)
SMTP_TIMEOUT = 60.0
SECURITY_MODES = ("starttls", "tls", "none")
UNCERTAIN_ERROR = (
    "The worker stopped after handing the mail to SMTP and before recording the outcome; not resent automatically."
)

#: Called after a successful SMTP send and before the outcome is recorded (message row id). Tests use
#: it to simulate a crash at exactly that moment.
AfterSend = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempt_id: int
    attempts: int
    to_address: str
    subject: str
    body_html: str
    body_text: str
    message_id: str
    created_at: Any


def build_email(settings: Settings, claimed: _Claimed) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = claimed.to_address
    email["Subject"] = claimed.subject
    email["Message-ID"] = claimed.message_id  # fixed at enqueue: a resend is recognisably the same mail
    email["Date"] = format_datetime(claimed.created_at)
    email.set_content(claimed.body_text)
    email.add_alternative(claimed.body_html, subtype="html")
    return email


def scrub(settings: Settings, text: str) -> str:
    """An error text safe to store and log: the SMTP password (also base64-encoded, as in AUTH) removed."""
    password = settings.smtp_password
    if password:
        secrets = {password}
        for raw in (password, f"\0{settings.smtp_username}\0{password}"):
            secrets.add(base64.b64encode(raw.encode()).decode())
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
    return text[:1000]


async def send_email(settings: Settings, email: EmailMessage) -> None:
    security = settings.smtp_security.lower()
    if security not in SECURITY_MODES:
        raise ValueError(f"smtp_security must be one of {', '.join(SECURITY_MODES)}")
    await aiosmtplib.send(
        email,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        use_tls=security == "tls",
        start_tls=security == "starttls",
        timeout=SMTP_TIMEOUT,
    )


def backoff(settings: Settings, attempts: int) -> timedelta:
    return timedelta(seconds=settings.mail_retry_seconds * 2 ** max(attempts - 1, 0))


async def mark_uncertain(session_factory, *, lease: timedelta = SENDING_LEASE) -> int:
    """SENDING rows whose open attempt is older than `lease` become UNCERTAIN; returns how many."""
    now = utcnow()
    stale = and_(
        DeliveryAttempt.message_id == OutboxMessage.id,
        DeliveryAttempt.outcome == "",
        DeliveryAttempt.started_at < now - lease,
    )
    async with session_factory() as session, session.begin():
        ids = (
            await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING, exists().where(stale))
                .values(status=OutboxStatus.UNCERTAIN, last_error=UNCERTAIN_ERROR)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        if ids:
            await session.execute(
                update(DeliveryAttempt)
                .where(DeliveryAttempt.message_id.in_(ids), DeliveryAttempt.outcome == "")
                .values(outcome="uncertain", finished_at=now, error=UNCERTAIN_ERROR)
                .execution_options(synchronize_session=False)
            )
    for message_pk in ids:
        log.warning("outbox message %s is UNCERTAIN: its worker stopped mid-send; not resent automatically", message_pk)
    return len(ids)


async def _claim(session_factory, is_postgres: bool) -> _Claimed | None:
    now = utcnow()
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
    )
    if is_postgres:
        due = due.with_for_update(skip_locked=True)
    async with session_factory() as session, session.begin():
        row = (
            await session.execute(
                update(OutboxMessage)
                # the status check again: on PostgreSQL it is re-evaluated on the locked row
                .where(OutboxMessage.id == due.scalar_subquery(), OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1)
                .returning(
                    OutboxMessage.id,
                    OutboxMessage.attempts,
                    OutboxMessage.to_address,
                    OutboxMessage.subject,
                    OutboxMessage.body_html,
                    OutboxMessage.body_text,
                    OutboxMessage.message_id,
                    OutboxMessage.created_at,
                )
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row is None:
            return None
        attempt = DeliveryAttempt(message_id=row.id, started_at=now, outcome="")
        session.add(attempt)
        await session.flush()
        return _Claimed(
            id=row.id,
            attempt_id=attempt.id,
            attempts=row.attempts,
            to_address=row.to_address,
            subject=row.subject,
            body_html=row.body_html,
            body_text=row.body_text,
            message_id=row.message_id,
            created_at=row.created_at,
        )


async def _record(session_factory, settings: Settings, claimed: _Claimed, error: str | None) -> OutboxStatus:
    now = utcnow()
    async with session_factory() as session, session.begin():
        message = await session.get(OutboxMessage, claimed.id)
        attempt = await session.get(DeliveryAttempt, claimed.attempt_id)
        if message is None:  # deleted meanwhile (e.g. its organisation was removed)
            return OutboxStatus.SENT if error is None else OutboxStatus.FAILED
        if attempt is not None:
            attempt.finished_at = now
            attempt.outcome = "sent" if error is None else "failed"
            attempt.error = error or ""
        if error is None:
            # even if declared UNCERTAIN meanwhile: it did go out, and that is the truth to record
            message.status = OutboxStatus.SENT
            message.sent_at = now
            message.last_error = ""
            # Delivered: the links in it are the recipient's now; nothing of them stays in the database.
            message.body_text = ""
            message.body_html = ""
        else:
            message.last_error = error
            if message.attempts >= settings.mail_max_attempts:
                message.status = OutboxStatus.FAILED
            else:
                message.status = OutboxStatus.PENDING
                message.next_attempt_at = now + backoff(settings, message.attempts)
        return message.status


async def deliver_due(
    runtime: Any,
    *,
    limit: int = 100,
    settings: Settings | None = None,
    after_send: AfterSend | None = None,
    lease: timedelta = SENDING_LEASE,
) -> int:
    """One delivery round: stale SENDING rows become UNCERTAIN, then up to `limit` due mails are sent.

    Returns how many were sent. `settings` overrides the runtime's (tests point it at their SMTP
    server). Does nothing without smtp_host: the mails stay PENDING in the outbox.
    """
    settings = settings or runtime.settings
    if not settings.smtp_host:
        return 0
    session_factory = runtime.session_factory
    is_postgres = runtime.engine.dialect.name == "postgresql"
    await mark_uncertain(session_factory, lease=lease)
    sent = 0
    for _ in range(limit):
        claimed = await _claim(session_factory, is_postgres)
        if claimed is None:
            break
        try:
            # Bodies wait sealed in the outbox (resolvers.mail.sealing); opened only for SMTP. A body that
            # does not open (a master key version this process lacks) is a failed attempt like any other.
            body_text, body_html = sealing.open_bodies(runtime.sealer, claimed)
            await send_email(
                settings, build_email(settings, replace(claimed, body_text=body_text, body_html=body_html))
            )
        except Exception as exc:
            error = scrub(settings, f"{type(exc).__name__}: {exc}")
            status = await _record(session_factory, settings, claimed, error)
            log.warning(
                "outbox message %s: attempt %s failed (%s), now %s", claimed.id, claimed.attempts, error, status.value
            )
            continue
        if after_send is not None:
            await after_send(claimed.id)
        await _record(session_factory, settings, claimed, None)
        log.info("outbox message %s sent to SMTP", claimed.id)
        sent += 1
    return sent


class DeliveryWorker(PeriodicTask):
    """Delivers due outbox messages every mail_poll_seconds."""

    name = "mail delivery worker"
    stop_timeout = SMTP_TIMEOUT + 5  # a round in progress finishes its current message; a hung SMTP call is cancelled
    log = log

    def interval(self) -> float:
        return self.runtime.settings.mail_poll_seconds

    async def run_round(self) -> None:
        await deliver_due(self.runtime, limit=100)
