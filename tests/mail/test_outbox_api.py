"""The outbox over GraphQL: listing for platform admins, attempts via a DataLoader, explicit resend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from graph.relay import to_global_id
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import DeliveryAttempt, OutboxMessage, OutboxStatus, TemplateType
from resolvers.mail.rendering import SAMPLE_VARIABLES
from resolvers.mail.sending import enqueue
from resolvers.mail.workers.delivery import deliver_due
from tests.factories import issue_token
from tests.smtp import smtp_server

LIST = """
query($filter: OutboxMessageFilter, $first: Int, $after: String) {
  outboxMessages(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id toAddress subject status attempts nextAttemptAt lastError createdAt sentAt templateType language
            deliveryAttempts { startedAt finishedAt outcome error } }
  }
}"""

RETRY = """
mutation($id: ID!) {
  outboxMessageRetry(input: {id: $id}) { outboxMessage { id status attempts lastError } errors { code field message } }
}"""


async def add_message(
    runtime, to: str, organisation_id: int | None = None, status=OutboxStatus.PENDING, attempts: int = 0
) -> int:
    async with runtime.session_factory() as session, session.begin():
        message = await enqueue(
            session,
            to_address=to,
            template_type=TemplateType.INVITE_USER,
            language="en",
            organisation_id=organisation_id,
            variables=SAMPLE_VARIABLES[TemplateType.INVITE_USER],
        )
        message.status, message.attempts = status, attempts
        for i in range(attempts):
            outcome = "failed" if status != OutboxStatus.UNCERTAIN or i < attempts - 1 else "uncertain"
            session.add(
                DeliveryAttempt(
                    message_id=message.id,
                    started_at=utcnow() - timedelta(minutes=30 - i),
                    finished_at=utcnow(),
                    outcome=outcome,
                    error="boom" if outcome == "failed" else "",
                )
            )
        if status == OutboxStatus.FAILED:
            message.last_error = "boom"
        return message.id


def gid(pk: int) -> str:
    return to_global_id("OutboxMessage", pk)


async def test_platform_admins_list_the_outbox_with_filters_and_attempts(gql, world, runtime):
    a, b = world.organisations["a"].id, world.organisations["b"].id
    pending = await add_message(runtime, "one@a.example", a)
    failed = await add_message(runtime, "two@b.example", b, OutboxStatus.FAILED, attempts=2)
    await add_message(runtime, "three@example.org")
    token = world.tokens["platform"]

    everything = (await gql(LIST, token=token))["data"]["outboxMessages"]
    assert everything["totalCount"] == 3
    assert [n["toAddress"] for n in everything["nodes"]] == ["three@example.org", "two@b.example", "one@a.example"]
    two = everything["nodes"][1]
    assert (
        two["id"] == gid(failed) and two["status"] == "FAILED" and two["attempts"] == 2 and two["lastError"] == "boom"
    )
    assert [x["outcome"] for x in two["deliveryAttempts"]] == ["failed", "failed"]
    assert two["templateType"] == "INVITE_USER" and two["language"] == "en" and two["sentAt"] is None
    assert everything["nodes"][0]["deliveryAttempts"] == []

    async def only(filter: dict) -> list[str]:
        data = (await gql(LIST, {"filter": filter}, token=token))["data"]["outboxMessages"]
        assert data["totalCount"] == len(data["nodes"])
        return [n["toAddress"] for n in data["nodes"]]

    assert await only({"status": "FAILED"}) == ["two@b.example"]
    assert await only({"status": "SENT"}) == []
    assert await only({"toAddress": "A.EXAMPLE"}) == ["one@a.example"]
    assert await only({"organisationId": world.id("Organisation", "b")}) == ["two@b.example"]
    assert await only({"status": "PENDING", "organisationId": world.id("Organisation", "a")}) == ["one@a.example"]

    # paging
    page = (await gql(LIST, {"first": 2}, token=token))["data"]["outboxMessages"]
    assert len(page["nodes"]) == 2 and page["pageInfo"]["hasNextPage"]
    rest = (await gql(LIST, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=token))["data"][
        "outboxMessages"
    ]
    assert [n["id"] for n in rest["nodes"]] == [gid(pending)] and not rest["pageInfo"]["hasNextPage"]

    # node lookup
    node = await gql(
        "query($id: ID!) { node(id: $id) { ... on OutboxMessage { toAddress status } } }",
        {"id": gid(failed)},
        token=token,
    )
    assert node["data"]["node"] == {"toAddress": "two@b.example", "status": "FAILED"}

    # a bad organisation ID is a typed error
    bad = await gql(LIST, {"filter": {"organisationId": gid(pending)}}, token=token)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_attempts_are_loaded_in_one_query_for_the_whole_page(gql, world, runtime, count_sql):
    token = world.tokens["platform"]
    for i in range(2):
        await add_message(runtime, f"m{i}@example.org", attempts=2, status=OutboxStatus.FAILED)
    with count_sql() as few:
        data = await gql(LIST, token=token)
    assert len(data["data"]["outboxMessages"]["nodes"]) == 2
    for i in range(2, 12):
        await add_message(runtime, f"m{i}@example.org", attempts=2, status=OutboxStatus.FAILED)
    with count_sql() as many:
        data = await gql(LIST, token=token)
    nodes = data["data"]["outboxMessages"]["nodes"]
    assert len(nodes) == 12 and all(len(n["deliveryAttempts"]) == 2 for n in nodes)
    assert many.count == few.count  # not one query per mail
    assert sum("delivery_attempt" in s for s in many.statements) == 1


async def test_only_platform_admins_see_and_resend(gql, world, runtime):
    pk = await add_message(runtime, "x@a.example", world.organisations["a"].id, OutboxStatus.UNCERTAIN, attempts=1)
    for key in ("admin_a", "user_a"):
        for document, variables in ((LIST, {}), (RETRY, {"id": gid(pk)})):
            body = await gql(document, variables, token=world.tokens[key])
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (key, body)
        node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid(pk)}, token=world.tokens[key])
        assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql(LIST)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with runtime.session_factory() as session:
        assert (await session.get(OutboxMessage, pk)).status == OutboxStatus.UNCERTAIN


async def test_a_granted_outbox_reader_sees_only_their_subtree_and_cannot_resend(gql, world, runtime):
    own = await add_message(runtime, "own@a1.example", world.organisations["a1"].id, OutboxStatus.FAILED, attempts=1)
    other = await add_message(runtime, "other@b.example", world.organisations["b"].id, OutboxStatus.FAILED, attempts=1)
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["user_a"].id, permission=m.Permission.OUTBOX_READ))
        token = await issue_token(session, await session.get(m.User, world.users["user_a"].id))
    data = (await gql(LIST, token=token))["data"]["outboxMessages"]
    assert [n["id"] for n in data["nodes"]] == [gid(own)] and data["totalCount"] == 1
    by_b = await gql(LIST, {"filter": {"organisationId": world.id("Organisation", "b")}}, token=token)
    unknown_org = await gql(LIST, {"filter": {"organisationId": to_global_id("Organisation", 999_999)}}, token=token)
    assert (
        by_b["data"]
        == unknown_org["data"]
        == {"outboxMessages": {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}
    )
    nodes = await gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [gid(own), gid(other), gid(999_999)]}, token=token
    )
    assert nodes["data"]["nodes"] == [{"id": gid(own)}, None, None]
    refused = await gql(RETRY, {"id": gid(own)}, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_resending_an_uncertain_mail_delivers_it_again_explicitly(gql, world, runtime):
    pk = await add_message(runtime, "again@example.org", status=OutboxStatus.UNCERTAIN, attempts=1)
    token = world.tokens["platform"]
    with smtp_server() as (controller, collector):
        settings = replace(runtime.settings, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_security="none")
        assert await deliver_due(runtime, settings=settings) == 0  # never automatically
        result = (await gql(RETRY, {"id": gid(pk)}, token=token))["data"]["outboxMessageRetry"]
        assert result == {
            "outboxMessage": {"id": gid(pk), "status": "PENDING", "attempts": 0, "lastError": ""},
            "errors": [],
        }
        assert await deliver_due(runtime, settings=settings) == 1
    assert [msg["To"] for msg in collector.messages] == ["again@example.org"]
    data = (await gql(LIST, token=token))["data"]["outboxMessages"]["nodes"][0]
    assert data["status"] == "SENT" and data["sentAt"] is not None
    assert [x["outcome"] for x in data["deliveryAttempts"]] == ["uncertain", "sent"]
    async with runtime.session_factory() as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "OutboxMessage"))
        ).all()
    assert actions == ["outbox_message.retried"]


async def test_resend_refuses_what_is_not_failed_or_uncertain_and_unknown_ids(gql, world, runtime):
    token = world.tokens["platform"]
    failed = await add_message(runtime, "f@example.org", status=OutboxStatus.FAILED, attempts=3)
    pending = await add_message(runtime, "p@example.org")
    sent = await add_message(runtime, "s@example.org", status=OutboxStatus.SENT, attempts=1)

    async def snapshot():
        async with runtime.session_factory() as session:
            return [
                (r.id, r.status, r.attempts, r.next_attempt_at)
                for r in (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
            ]

    before = await snapshot()
    for pk, code in ((pending, "NOT_ALLOWED"), (sent, "NOT_ALLOWED"), (999_999, "NOT_FOUND")):
        result = (await gql(RETRY, {"id": gid(pk)}, token=token))["data"]["outboxMessageRetry"]
        assert result["outboxMessage"] is None and [e["code"] for e in result["errors"]] == [code]
        assert result["errors"][0]["field"] == ["id"]
    for bad in ("!!!", to_global_id("User", failed), ""):
        result = (await gql(RETRY, {"id": bad}, token=token))["data"]["outboxMessageRetry"]
        assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    assert await snapshot() == before

    result = (await gql(RETRY, {"id": gid(failed)}, token=token))["data"]["outboxMessageRetry"]
    assert result["errors"] == [] and result["outboxMessage"]["status"] == "PENDING"
    again = (await gql(RETRY, {"id": gid(failed)}, token=token))["data"]["outboxMessageRetry"]
    assert [e["code"] for e in again["errors"]] == ["NOT_ALLOWED"]  # already PENDING


BODIES = "query { outboxMessages(first: 5) { nodes { toAddress bodyText bodyHtml } } }"


async def test_platform_admins_read_bodies_only_when_nothing_would_deliver_them(gql, world, runtime, monkeypatch):
    await add_message(runtime, "invited@a.example", world.organisations["a"].id)
    link = SAMPLE_VARIABLES[TemplateType.INVITE_USER]["link"]

    def with_settings(**values) -> None:
        monkeypatch.setattr(runtime, "settings", replace(runtime.settings, **values))

    def refusal(body: dict) -> str:
        assert body["data"] is None, body
        return body["errors"][0]["extensions"]["code"]

    # no SMTP server: the API is the only way to the mail, opened with the master key
    [mail] = (await gql(BODIES, token=world.tokens["platform"]))["data"]["outboxMessages"]["nodes"]
    assert mail["toAddress"] == "invited@a.example" and link in mail["bodyText"] and link in mail["bodyHtml"]

    # a reader granted the outbox sees the mail, never its body (its links act as passwords)
    async with runtime.session_factory() as session, session.begin():
        session.add(m.UserPermission(user_id=world.users["admin_a"].id, permission=m.Permission.OUTBOX_READ))
        reader = await issue_token(session, await session.get(m.User, world.users["admin_a"].id))
    assert (await gql("{ outboxMessages { nodes { toAddress } } }", token=reader))["data"]["outboxMessages"]["nodes"]
    assert refusal(await gql(BODIES, token=reader)) == "FORBIDDEN"

    with_settings(smtp_host="127.0.0.1")  # mails are delivered: their bodies stay sealed
    assert refusal(await gql(BODIES, token=world.tokens["platform"])) == "FORBIDDEN"
    with_settings(demo=True)  # a demo with SMTP still shows them
    [mail] = (await gql(BODIES, token=world.tokens["platform"]))["data"]["outboxMessages"]["nodes"]
    assert link in mail["bodyText"]
