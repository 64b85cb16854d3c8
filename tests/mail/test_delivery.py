"""Outbox delivery against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from graph.runtime import Runtime
from models.base import utcnow
from models.mail import DeliveryAttempt, OutboxMessage, OutboxStatus, TemplateType
from resolvers.mail import gauges
from resolvers.mail.rendering import SAMPLE_VARIABLES
from resolvers.mail.sending import enqueue
from resolvers.mail.workers import delivery
from resolvers.mail.workers.delivery import deliver_due
from tests.environment import free_port
from tests.mail.opened import opened
from tests.smtp import SMTP_PASSWORD, SMTP_USER, Collector, smtp_authenticator, smtp_server, smtp_settings


async def queue(runtime: Runtime, to: str = "erika@example.com") -> int:
    async with runtime.session_factory() as session, session.begin():
        message = await enqueue(
            session,
            to_address=to,
            template_type=TemplateType.INVITE_USER,
            language="en",
            organisation_id=None,
            variables=SAMPLE_VARIABLES[TemplateType.INVITE_USER],
        )
        return message.id


async def load(runtime: Runtime, pk: int) -> tuple[OutboxMessage, list[DeliveryAttempt]]:
    async with runtime.session_factory() as session:
        message = await session.get(OutboxMessage, pk)
        attempts = (
            await session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.message_id == pk).order_by(DeliveryAttempt.id)
            )
        ).all()
        return message, list(attempts)


async def make_due(runtime: Runtime, pk: int) -> None:
    """Instead of sleeping through the backoff: move the next attempt into the past."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == pk).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def lines(text: str) -> list[str]:
    """SMTP transports lines with CRLF; compare the lines themselves."""
    return [line.rstrip() for line in text.strip().splitlines()]


async def test_a_queued_mail_is_delivered_with_both_parts(runtime):
    pk = await queue(runtime)
    queued = opened(runtime, (await load(runtime, pk))[0])
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port, mail_from="Fleet <mail@fleet.example>")
        assert await deliver_due(runtime, settings=settings) == 1
        assert await deliver_due(runtime, settings=settings) == 0  # nothing left

    message, attempts = await load(runtime, pk)
    assert message.status == OutboxStatus.SENT and message.sent_at is not None and message.attempts == 1
    assert [(a.outcome, a.error) for a in attempts] == [("sent", "")] and attempts[0].finished_at is not None

    [received] = collector.messages
    assert received["Subject"] == message.subject and "Erika Muster" in queued.body_text
    assert received["From"] == "Fleet <mail@fleet.example>"
    assert received["To"] == "erika@example.com"
    assert received["Message-ID"] == message.message_id
    assert lines(received.get_body(("plain",)).get_content()) == lines(queued.body_text)
    assert lines(received.get_body(("html",)).get_content()) == lines(queued.body_html)
    assert "<" in queued.body_html
    assert (message.body_text, message.body_html) == ("", "")  # delivered: nothing of it stays


async def test_retry_after_the_smtp_server_was_down(runtime):
    pk = await queue(runtime)
    port = free_port()  # nothing listens here yet
    settings = smtp_settings(runtime, port, mail_retry_seconds=40)

    before = utcnow()
    assert await deliver_due(runtime, settings=settings) == 0
    message, attempts = await load(runtime, pk)
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert message.last_error and message.next_attempt_at >= before + timedelta(seconds=40)
    assert [a.outcome for a in attempts] == ["failed"] and attempts[0].error == message.last_error

    with smtp_server(port) as (_, collector):
        assert await deliver_due(runtime, settings=settings) == 0  # not due yet: backoff is respected
        assert collector.messages == []
        await make_due(runtime, pk)
        assert await deliver_due(runtime, settings=settings) == 1
    message, attempts = await load(runtime, pk)
    assert message.status == OutboxStatus.SENT and message.attempts == 2 and message.last_error == ""
    assert [a.outcome for a in attempts] == ["failed", "sent"]
    assert len(collector.messages) == 1


async def test_backoff_doubles_and_the_last_attempt_fails_the_mail(runtime):
    pk = await queue(runtime)
    settings = smtp_settings(runtime, free_port(), mail_max_attempts=3, mail_retry_seconds=10)
    waits = []
    for _ in range(3):
        started = utcnow()
        await deliver_due(runtime, settings=settings)
        message, _ = await load(runtime, pk)
        waits.append(message.next_attempt_at - started)
        await make_due(runtime, pk)
    message, attempts = await load(runtime, pk)
    assert message.status == OutboxStatus.FAILED and message.attempts == 3
    assert [a.outcome for a in attempts] == ["failed"] * 3
    # 10 s, then 20 s (the third attempt failed the mail, so no third wait)
    assert timedelta(seconds=10) <= waits[0] < timedelta(seconds=20) <= waits[1] < timedelta(seconds=40)
    # a failed mail is not tried again
    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=replace(settings, smtp_port=controller.port)) == 0
    assert collector.messages == []


class Crash(Exception):
    pass


async def test_a_crash_between_send_and_mark_makes_the_mail_uncertain_and_it_is_never_resent(runtime):
    pk = await queue(runtime)
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)

        async def crash(message_pk: int) -> None:
            raise Crash(message_pk)

        with pytest.raises(Crash):
            await deliver_due(runtime, settings=settings, after_send=crash)
        assert len(collector.messages) == 1
        message, attempts = await load(runtime, pk)
        assert message.status == OutboxStatus.SENDING and [a.outcome for a in attempts] == [""]

        # within the lease a SENDING row is left alone (its worker may still record the outcome)
        assert await deliver_due(runtime, settings=settings) == 0
        assert (await load(runtime, pk))[0].status == OutboxStatus.SENDING
        # after the lease: UNCERTAIN, and not sent again, however often the worker polls
        async with runtime.session_factory() as session, session.begin():
            await session.execute(
                update(DeliveryAttempt)
                .where(DeliveryAttempt.message_id == pk)
                .values(started_at=utcnow() - delivery.SENDING_LEASE - timedelta(seconds=1))
            )
        for _ in range(3):
            assert await deliver_due(runtime, settings=settings) == 0
        message, attempts = await load(runtime, pk)
        assert message.status == OutboxStatus.UNCERTAIN and message.last_error == delivery.UNCERTAIN_ERROR
        assert [a.outcome for a in attempts] == ["uncertain"] and attempts[0].finished_at is not None
        assert len(collector.messages) == 1


async def test_concurrent_rounds_never_send_a_mail_twice(runtime):
    pks = [await queue(runtime, f"user{i}@example.com") for i in range(12)]
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)
        counts = await asyncio.gather(*(deliver_due(runtime, settings=settings) for _ in range(4)))
    assert sum(counts) == 12
    received = sorted(m["To"] for m in collector.messages)
    assert received == sorted(f"user{i}@example.com" for i in range(12))
    for pk in pks:
        message, attempts = await load(runtime, pk)
        assert message.status == OutboxStatus.SENT and message.attempts == 1 and len(attempts) == 1


async def test_postgres_two_sessions_skip_each_others_locked_rows(runtime):
    """On PostgreSQL a row claimed (locked) by one worker is skipped by another, not waited for."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    first, second = await queue(runtime, "one@example.com"), await queue(runtime, "two@example.com")
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    async with runtime.session_factory() as one, one.begin():
        assert (await one.scalars(due)).first() == first
        async with runtime.session_factory() as two, two.begin():
            assert (await two.scalars(due)).first() == second
    with smtp_server() as (controller, collector):
        settings = smtp_settings(runtime, controller.port)
        assert (
            sum(await asyncio.gather(deliver_due(runtime, settings=settings), deliver_due(runtime, settings=settings)))
            == 2
        )
    assert sorted(m["To"] for m in collector.messages) == ["one@example.com", "two@example.com"]


async def test_without_smtp_nothing_is_sent_and_mails_stay_pending(runtime):
    pk = await queue(runtime)
    assert runtime.settings.smtp_host == "" and "mail delivery worker" not in runtime.workers
    with smtp_server() as (_, collector):
        assert await deliver_due(runtime) == 0
    message, attempts = await load(runtime, pk)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0 and attempts == []
    assert collector.messages == []


async def test_the_smtp_password_never_appears_in_logs_or_last_error(runtime, caplog):
    caplog.set_level(logging.DEBUG)
    pk = await queue(runtime)
    with smtp_server(auth=True) as (controller, collector):
        wrong = smtp_settings(runtime, controller.port, smtp_username=SMTP_USER, smtp_password="Wrong-" + SMTP_PASSWORD)
        assert await deliver_due(runtime, settings=wrong) == 0
        message, _ = await load(runtime, pk)
        assert message.status == OutboxStatus.PENDING and message.last_error  # refused by the server
        assert "535" in message.last_error or "uthentication" in message.last_error
        await make_due(runtime, pk)
        right = replace(wrong, smtp_password=SMTP_PASSWORD)
        assert await deliver_due(runtime, settings=right) == 1  # the credentials do reach the server
    assert len(collector.messages) == 1
    message, attempts = await load(runtime, pk)
    stored = " ".join([message.last_error, *(a.error for a in attempts)])
    for secret in (SMTP_PASSWORD, "Wrong-" + SMTP_PASSWORD):
        assert secret not in caplog.text and secret not in stored
        assert secret not in repr(right) and secret not in repr(wrong)


def test_scrub_removes_the_password_and_its_base64_forms():
    import base64

    from graph.settings import Settings

    settings = Settings(smtp_username="u", smtp_password="hunter2-long")
    plain = base64.b64encode(b"\0u\0hunter2-long").decode()
    raw = f"AUTH PLAIN {plain} / {base64.b64encode(b'hunter2-long').decode()} / hunter2-long"
    cleaned = delivery.scrub(settings, raw)
    assert "hunter2" not in cleaned and "aHVudGVy" not in cleaned and cleaned.count("***") == 3


async def test_the_runtime_runs_the_worker_only_with_smtp(runtime):
    with smtp_server() as (controller, collector):
        pk = await queue(runtime)
        # a second server process on the same database, with SMTP configured
        other = Runtime(smtp_settings(runtime, controller.port, mail_poll_seconds=0.05))
        await other.start()
        try:
            assert "mail delivery worker" in other.workers
            for _ in range(200):  # bounded: the worker polls every 50 ms
                if (await load(runtime, pk))[0].status == OutboxStatus.SENT:
                    break
                await asyncio.sleep(0.05)
        finally:
            await other.stop()
        assert other.workers == {}
        assert len(collector.messages) == 1
        assert (await load(runtime, pk))[0].status == OutboxStatus.SENT


def self_signed(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_starttls_and_implicit_tls_verify_the_server_certificate(runtime, tmp_path, monkeypatch, security):
    import ssl

    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    collector = Collector()
    port = free_port()
    # aiosmtpd does not count implicit TLS as TLS for AUTH (it only knows STARTTLS), hence auth_require_tls=False there
    tls = (
        dict(tls_context=server_context, require_starttls=True)
        if security == "starttls"
        else dict(ssl_context=server_context, auth_require_tls=False)
    )
    controller = Controller(
        collector, hostname="127.0.0.1", port=port, authenticator=smtp_authenticator, auth_required=True, **tls
    )
    controller.start()
    try:
        pk = await queue(runtime)
        settings = smtp_settings(
            runtime, port, smtp_security=security, smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD
        )
        # the certificate is not trusted yet: refused, nothing sent
        assert await deliver_due(runtime, settings=settings) == 0
        message, _ = await load(runtime, pk)
        assert message.status == OutboxStatus.PENDING and "certificate" in message.last_error.lower()
        assert collector.messages == []
        # trusted (as an operator would with SSL_CERT_FILE for a private CA): delivered over TLS
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        await make_due(runtime, pk)
        assert await deliver_due(runtime, settings=settings) == 1
    finally:
        controller.stop()
    assert len(collector.messages) == 1
    assert (await load(runtime, pk))[0].status == OutboxStatus.SENT


async def test_a_german_mail_arrives_in_german_with_its_umlauts_intact(runtime):
    from resolvers.mail.defaults import DEFAULTS

    async with runtime.session_factory() as session, session.begin():
        message = await enqueue(
            session,
            to_address="joerg@example.com",
            template_type=TemplateType.PASSWORD_RESET,
            language="de",
            organisation_id=None,
            variables={**SAMPLE_VARIABLES[TemplateType.PASSWORD_RESET], "recipient_name": "Jörg Müßig"},
        )
        pk = message.id
    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 1
    stored, _ = await load(runtime, pk)
    [received] = collector.messages
    assert stored.language == "de" and received["Subject"] == stored.subject
    assert stored.subject != DEFAULTS[TemplateType.PASSWORD_RESET]["en"][0]  # really the German text
    assert "Jörg Müßig" in received.get_body(("plain",)).get_content()
    assert "Jörg Müßig" in received.get_body(("html",)).get_content()


async def test_the_outbox_gauges_follow_a_mail_from_queued_to_sent_or_failed(runtime, client):
    """/metrics reads the outbox when scraped: a queued mail is pending, a failed attempt makes it retrying
    (and, once due again, overdue), the last failed attempt failed, a delivered one leaves the queue."""

    async def outbox() -> tuple[dict[str, float], float]:
        response = await client.get("/metrics")
        samples = {
            (sample.name, sample.labels.get("state")): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }
        depth = {state: samples[("fleetgraph_mail_outbox_messages", state)] for state in gauges.STATES}
        return {state: value for state, value in depth.items() if value}, samples[
            ("fleetgraph_mail_outbox_overdue_seconds", None)
        ]

    assert await outbox() == ({}, 0.0)
    sent_pk, failed_pk = await queue(runtime), await queue(runtime, "other@example.com")
    depth, overdue = await outbox()
    assert depth == {"pending": 2} and overdue >= 0

    settings = smtp_settings(runtime, free_port(), mail_max_attempts=2)  # nothing listens: both attempts fail
    assert await deliver_due(runtime, settings=settings) == 0
    assert await outbox() == ({"retrying": 2}, 0.0)  # waiting for their backoff: nothing is due
    await make_due(runtime, failed_pk)
    await make_due(runtime, sent_pk)
    depth, overdue = await outbox()
    assert depth == {"retrying": 2} and overdue >= 1

    with smtp_server() as (controller, _):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port), limit=1) == 1
    assert await deliver_due(runtime, settings=settings) == 0  # the other one's last attempt
    statuses = {pk: (await load(runtime, pk))[0].status for pk in (sent_pk, failed_pk)}
    assert sorted(statuses.values()) == [OutboxStatus.FAILED, OutboxStatus.SENT]
    assert await outbox() == ({"failed": 1}, 0.0)
