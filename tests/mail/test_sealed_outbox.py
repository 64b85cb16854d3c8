"""Links in queued mails are no use to a database reader: bodies are sealed with the master key until
delivered, opened for SMTP, cleared once sent, and re-sealed by a master key rotation (issue 11)."""

from __future__ import annotations

import re

from sqlalchemy import select, text, update

from graph.auth import hash_token
from graph.composition import SEALED
from graph.db import create_session_factory
from graph.secrets import Sealer, add_key_file_version, reseal_all
from graph.settings import Settings
from models import identity as m
from models.mail import EmailTemplate, OutboxMessage, OutboxStatus, TemplateType
from resolvers.mail.rendering import SAMPLE_VARIABLES
from resolvers.mail.sending import enqueue
from resolvers.mail.workers.delivery import deliver_due
from tests.factories import add_organisation
from tests.identity.email_change_helpers import change
from tests.identity.password_reset_helpers import RESET, request
from tests.mail.opened import opened
from tests.smtp import smtp_server, smtp_settings

OTHER_MASTER_KEY = bytes(range(32))


async def raw_rows(runtime) -> list[dict]:
    """The outbox as a database reader sees it: plain SQL, no ORM, no key."""
    async with runtime.engine.connect() as connection:
        return [
            dict(row) for row in (await connection.execute(text("SELECT * FROM outbox_message ORDER BY id"))).mappings()
        ]


async def test_a_reset_link_is_sealed_in_the_outbox_delivered_intact_and_then_cleared(gql, world, runtime):
    assert (await request(gql, "user@a.example")).status_code == 200
    assert (await change(gql, world, "new.address@a.example"))["errors"] == []  # a CONFIRM_EMAIL mail too
    rows = await raw_rows(runtime)
    assert len(rows) == 2
    for row in rows:
        stored = " ".join(str(value) for value in row.values())
        assert "token=" not in stored and "/reset?" not in stored and "confirm-email" not in stored
        assert row["body_text"].startswith("sealed:") and row["body_html"].startswith("sealed:")
    assert rows[0]["subject"]  # the subject stays readable for outboxMessages

    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 2
    received = {message["To"]: message for message in collector.messages}
    body = received["user@a.example"].get_body(("plain",)).get_content()
    token = re.search(r"/reset\?token=([A-Za-z0-9_\-]+)", body).group(1)
    html = received["user@a.example"].get_body(("html",)).get_content()
    assert f"/reset?token={token}" in html
    async with runtime.session_factory() as session:
        stored_hash = await session.scalar(
            select(m.OneTimeToken.token_hash).where(m.OneTimeToken.purpose == m.OneTimePurpose.PASSWORD_RESET)
        )
    assert stored_hash == hash_token(token)  # the very link that was issued
    assert "/confirm-email?token=" in received["new.address@a.example"].get_body(("plain",)).get_content()

    # delivered: the bodies are gone from the database, the rest of the record stays
    for row in await raw_rows(runtime):
        assert (row["status"], row["body_text"], row["body_html"]) == (OutboxStatus.SENT.value, "", "")
        assert row["subject"] and row["to_address"]
    reset = await gql(RESET, {"input": {"token": token, "newPassword": "Violet-Kayak#Lantern7"}})
    assert reset["data"]["passwordReset"] == {"success": True, "errors": []}


async def test_a_sealed_body_copied_to_another_mail_does_not_open(runtime):
    async with runtime.session_factory() as session, session.begin():
        first, second = [
            await enqueue(
                session,
                to_address=to,
                template_type=TemplateType.PASSWORD_RESET,
                language="en",
                organisation_id=None,
                variables=SAMPLE_VARIABLES[TemplateType.PASSWORD_RESET],
            )
            for to in ("first@example.org", "second@example.org")
        ]
        first_id, second_id, first_text = first.id, second.id, first.body_text
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == second_id).values(body_text=first_text))
    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 1
    assert [message["To"] for message in collector.messages] == ["first@example.org"]
    async with runtime.session_factory() as session:
        refused = await session.get(OutboxMessage, second_id)
        assert (await session.get(OutboxMessage, first_id)).status == OutboxStatus.SENT
    # a failed attempt (retried, then FAILED), with a reason that names no secret
    assert refused.status == OutboxStatus.PENDING and refused.last_error.startswith("SecretError")
    assert refused.body_text == first_text  # left as it was, for an operator to look at


async def test_rotation_reseals_queued_bodies_and_seals_clear_ones(runtime, tmp_path):
    key_file = tmp_path / "master.key"
    key_file.write_text(OTHER_MASTER_KEY.hex())  # version 1
    key_file.chmod(0o600)
    sealer = Sealer.from_file(key_file)
    factory = create_session_factory(runtime.engine, sealer)  # mails sealed under this keyring
    variables = SAMPLE_VARIABLES[TemplateType.INVITE_USER]
    async with factory() as session, session.begin():
        ids = [
            (
                await enqueue(
                    session,
                    to_address=f"r{n}@example.org",
                    template_type=TemplateType.INVITE_USER,
                    language="en",
                    organisation_id=None,
                    variables=variables,
                )
            ).id
            for n in range(4)
        ]
    originals = {}
    async with factory() as session:
        for row in (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all():
            originals[row.id] = opened(sealer, row).body_text
    legacy_text = "Hello, register at https://x.example/register?token=legacy-clear-token"
    async with factory() as session, session.begin():
        # a mail an earlier release queued in clear, and one delivered (no body any more)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == ids[2])
            .values(body_text=legacy_text, body_html=f"<p>{legacy_text}</p>")
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == ids[3])
            .values(status=OutboxStatus.SENT, body_text="", body_html="")
        )
    originals[ids[2]] = legacy_text

    keyring = add_key_file_version(Settings(data_dir=tmp_path))
    report = await reseal_all(factory, sealer, SEALED, batch_size=1)
    assert sealer.version == 2
    assert report.resealed["queued mails"] == 3 and report.versions["queued mails"] == {2: 3}
    assert report.failed == [] and report.remaining == 0 and report.in_use() == {2}

    rows = {row["id"]: row for row in await raw_rows(runtime)}
    assert "legacy-clear-token" not in str(rows)
    assert (rows[ids[3]]["body_text"], rows[ids[3]]["body_html"]) == ("", "")  # the delivered one stays empty
    only_new = Sealer(keyring.keys[2], version=2)
    async with runtime.session_factory() as session:
        for pk in ids[:3]:
            row = await session.get(OutboxMessage, pk)
            assert row.body_text.startswith("sealed:2:") and row.body_html.startswith("sealed:2:")
            assert opened(only_new, row).body_text == originals[pk]  # version 2 alone opens every queued mail

    again = await reseal_all(factory, sealer, SEALED, batch_size=1)
    assert again.resealed["queued mails"] == 0 and again.versions["queued mails"] == {2: 3}


async def test_a_link_in_a_custom_subject_is_not_stored_in_clear(runtime):
    """Subjects stay readable (outboxMessages lists them): a template that puts the link there gets [link]."""
    link = "https://x.example/register?token=subject-secret-token"
    async with runtime.session_factory() as session, session.begin():
        organisation = await add_organisation(session, "Tenant")
        session.add(
            EmailTemplate(
                organisation_id=organisation.id,
                name="with link",
                type=TemplateType.INVITE_USER,
                language="en",
                is_active=True,
                subject="Join via {{ link }} now",
                body_html="<p>{{ link }}</p>",
                body_text="{{ link }}",
            )
        )
        await session.flush()
        message = await enqueue(
            session,
            to_address="ida@example.org",
            template_type=TemplateType.INVITE_USER,
            language="en",
            organisation_id=organisation.id,
            variables={**SAMPLE_VARIABLES[TemplateType.INVITE_USER], "link": link},
        )
        assert message.subject == "Join via [link] now"
        assert opened(runtime, message).body_text == link  # the body still carries it, sealed
    assert "subject-secret-token" not in str(await raw_rows(runtime))
