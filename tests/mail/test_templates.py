"""E-mail templates over GraphQL: list, copy, edit, activate, delete, preview, test mail, tenancy, SQL budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from graph.relay import to_global_id
from models.audit import AuditEvent
from models.base import utcnow
from models.mail import LANGUAGES, EmailTemplate, OutboxMessage, OutboxStatus, TemplateType
from resolvers.mail.defaults import DEFAULTS
from tests.factories import snapshot
from tests.mail.opened import opened
from tests.mail.template_helpers import COPY, FIELDS, UPDATE, copy, mutation, system_default

LIST = f"""query($filter: EmailTemplateFilter, $first: Int, $after: String) {{
  emailTemplates(filter: $filter, first: $first, after: $after) {{
    totalCount nodes {{ {FIELDS} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


ACTIVATE = mutation("emailTemplateActivate", "EmailTemplateIdInput", "emailTemplate { id isActive }")
DEACTIVATE = mutation("emailTemplateDeactivate", "EmailTemplateIdInput", "emailTemplate { id isActive }")
DELETE = mutation("emailTemplateDelete", "EmailTemplateIdInput", "deletedId")
PREVIEW = mutation("emailTemplatePreview", "EmailTemplatePreviewInput", "preview { subject bodyHtml bodyText }")
SEND_TEST = mutation("emailTemplateSendTest", "EmailTemplateSendTestInput", "emailTemplate { id } messageId")


async def add_templates(runtime, organisation_id: int, count: int, **fields) -> list[int]:
    async with runtime.session_factory() as session, session.begin():
        rows = [
            EmailTemplate(
                organisation_id=organisation_id,
                name=f"Template {i:03d}",
                type=TemplateType.INVITE_USER,
                language=LANGUAGES[i % len(LANGUAGES)],
                subject="s",
                body_html="<p>h</p>",
                body_text="t",
                **fields,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def audit_actions(runtime) -> list[str]:
    async with runtime.session_factory() as session:
        return list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- list -------------------------------------------------------------------------------------------


async def test_list_shows_system_defaults_and_own_subtree_with_filters(gql, world, runtime):
    admin = world.tokens["admin_a"]
    defaults = len(TemplateType) * len(LANGUAGES)
    await add_templates(runtime, world.organisations["a"].id, 2)
    await add_templates(runtime, world.organisations["a1"].id, 1)  # a descendant: visible to A's admin
    await add_templates(runtime, world.organisations["b"].id, 3)  # another tenant: never

    everything = (await gql(LIST, {"first": 500}, token=admin))["data"]["emailTemplates"]
    assert everything["totalCount"] == len(everything["nodes"]) == defaults + 3
    assert {n["organisation"]["name"] for n in everything["nodes"] if n["organisation"]} == {"Tenant A", "Tenant A1"}

    async def total(**filter_) -> int:
        return (await gql(LIST, {"filter": filter_}, token=admin))["data"]["emailTemplates"]["totalCount"]

    assert await total(type="PASSWORD_RESET") == len(LANGUAGES)
    assert await total(type="INVITE_USER") == len(LANGUAGES) + 3
    assert await total(language="SV", type="CONFIRM_EMAIL") == 1
    assert await total(isActive=False) == 3  # copies and drafts start inactive; system defaults are always active
    assert await total(isActive=True) == defaults
    assert await total(isSystemDefault=False) == 3
    assert await total(name="template 00") == 3
    assert await total(name="%") == 0  # wildcards are taken literally

    # paging by name keeps every template exactly once
    seen, after = [], None
    while True:
        page = (await gql(LIST, {"first": 7, "after": after}, token=admin))["data"]["emailTemplates"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(n["id"] for n in everything["nodes"])

    # B's admin sees their own three and the defaults; the platform admin sees everyone's
    assert (await gql(LIST, {"filter": {"isSystemDefault": False}}, token=world.tokens["admin_b"]))["data"][
        "emailTemplates"
    ]["totalCount"] == 3
    assert (await gql(LIST, {"filter": {"isSystemDefault": False}}, token=world.tokens["platform"]))["data"][
        "emailTemplates"
    ]["totalCount"] == 6


async def test_list_and_mutations_need_the_permission(gql, world, runtime):
    result = await gql(LIST, token=world.tokens["user_a"])
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN" and result["data"] is None
    result = await gql(LIST)
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result = await gql(COPY, {"input": {"id": await system_default(runtime)}}, token=world.tokens["user_a"])
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with runtime.session_factory() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(EmailTemplate).where(EmailTemplate.organisation_id.is_not(None))
            )
            == 0
        )


async def test_node_lookup(gql, world, runtime):
    default_id = await system_default(runtime, TemplateType.PASSWORD_RESET, "it")
    (own_b,) = await add_templates(runtime, world.organisations["b"].id, 1)
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on EmailTemplate { name language isSystemDefault } } }"
    nodes = (
        await gql(query, {"ids": [default_id, to_global_id("EmailTemplate", own_b)]}, token=world.tokens["admin_a"])
    )["data"]["nodes"]
    assert nodes == [{"name": "System default PASSWORD_RESET (it)", "language": "IT", "isSystemDefault": True}, None]


# --- copy and edit ----------------------------------------------------------------------------------


async def test_copy_of_a_system_default_is_an_inactive_draft_of_the_callers_organisation(gql, world, runtime):
    source = await system_default(runtime, TemplateType.CONFIRM_EMAIL, "de")
    copied = await copy(gql, world.tokens["admin_a"], source)
    assert copied["name"] == "COPY OF System default CONFIRM_EMAIL (de)"
    assert copied["isActive"] is False and copied["isSystemDefault"] is False
    assert copied["organisation"] == {"name": "Tenant A"}
    assert (copied["type"], copied["language"]) == ("CONFIRM_EMAIL", "DE")
    assert (copied["subject"], copied["bodyHtml"], copied["bodyText"]) == DEFAULTS[TemplateType.CONFIRM_EMAIL]["de"]
    assert copied["id"] != source
    # copying the copy prefixes again
    assert (await copy(gql, world.tokens["admin_a"], copied["id"]))[
        "name"
    ] == "COPY OF COPY OF System default CONFIRM_EMAIL (de)"
    assert await audit_actions(runtime) == ["email_template.copied", "email_template.copied"]


async def test_edit_own_copy_and_system_defaults_are_read_only(gql, world, runtime):
    admin = world.tokens["admin_a"]
    source = await system_default(runtime, TemplateType.INVITE_USER, "fr")
    copied = await copy(gql, admin, source)
    changes = {
        "name": "Invitation maison",
        "subject": "{{ inviter_name }} vous attend",
        "bodyHtml": '<p>Bonjour {{ recipient_name }}</p>\n<p><a href="{{ link }}">Venez</a></p>',
        "bodyText": "Bonjour {{ recipient_name }}, venez : {{ link }}",
    }
    result = (await gql(UPDATE, {"input": {"id": copied["id"], **changes}}, token=admin))["data"]["emailTemplateUpdate"]
    assert result["errors"] == []
    assert {k: result["emailTemplate"][k] for k in changes} == changes
    assert result["emailTemplate"]["updatedAt"] >= copied["updatedAt"]
    assert (await audit_actions(runtime))[-1] == "email_template.updated"

    before = await snapshot(runtime)
    refused = (await gql(UPDATE, {"input": {"id": source, "subject": "Hijacked"}}, token=admin))["data"][
        "emailTemplateUpdate"
    ]
    assert refused["emailTemplate"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("SYSTEM_DEFAULT", ["id"])]
    # the platform admin cannot change them either
    refused = (await gql(UPDATE, {"input": {"id": source, "subject": "Hijacked"}}, token=world.tokens["platform"]))[
        "data"
    ]["emailTemplateUpdate"]
    assert [e["code"] for e in refused["errors"]] == ["SYSTEM_DEFAULT"]
    for bad, code, field in (({"name": "  "}, "REQUIRED", "name"), ({"subject": "x" * 501}, "TOO_LONG", "subject")):
        refused = (await gql(UPDATE, {"input": {"id": copied["id"], **bad}}, token=admin))["data"][
            "emailTemplateUpdate"
        ]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, [field])], bad
    # NUL in any text argument is refused before execution (graph/inputs.py)
    nul = await gql.raw(UPDATE, {"input": {"id": copied["id"], "bodyText": "a\x00b"}}, token=admin)
    assert nul.status_code == 400 and nul.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await snapshot(runtime) == before


# --- activation -------------------------------------------------------------------------------------


async def active_ids(runtime, organisation_id: int) -> set[int]:
    async with runtime.session_factory() as session:
        return set(
            await session.scalars(
                select(EmailTemplate.id).where(
                    EmailTemplate.organisation_id == organisation_id, EmailTemplate.is_active.is_(True)
                )
            )
        )


async def test_activate_keeps_exactly_one_active_per_type_and_language(gql, world, runtime):
    admin = world.tokens["admin_a"]
    a = world.organisations["a"].id
    de = await system_default(runtime, TemplateType.PASSWORD_RESET, "de")
    first, second = await copy(gql, admin, de), await copy(gql, admin, de)
    other_language = await copy(gql, admin, await system_default(runtime, TemplateType.PASSWORD_RESET, "en"))
    pk = lambda node: int(__import__("graph.relay", fromlist=["x"]).from_global_id(node["id"])[1])  # noqa: E731

    for template in (first, other_language):
        result = (await gql(ACTIVATE, {"input": {"id": template["id"]}}, token=admin))["data"]["emailTemplateActivate"]
        assert result == {"emailTemplate": {"id": template["id"], "isActive": True}, "errors": []}
    assert await active_ids(runtime, a) == {pk(first), pk(other_language)}

    await gql(ACTIVATE, {"input": {"id": second["id"]}}, token=admin)
    assert await active_ids(runtime, a) == {pk(second), pk(other_language)}  # first deactivated, English untouched
    # activating the active one again changes nothing
    await gql(ACTIVATE, {"input": {"id": second["id"]}}, token=admin)
    assert await active_ids(runtime, a) == {pk(second), pk(other_language)}

    # the child organisation A1 has its own active template of the same type and language
    (child,) = await add_templates(runtime, world.organisations["a1"].id, 1)
    child_id = to_global_id("EmailTemplate", child)
    await gql(ACTIVATE, {"input": {"id": child_id}}, token=admin)
    assert child in await active_ids(runtime, world.organisations["a1"].id)
    assert await active_ids(runtime, a) == {pk(second), pk(other_language)}

    refused = (await gql(ACTIVATE, {"input": {"id": de}}, token=admin))["data"]["emailTemplateActivate"]
    assert [e["code"] for e in refused["errors"]] == ["SYSTEM_DEFAULT"]

    result = (await gql(DEACTIVATE, {"input": {"id": second["id"]}}, token=admin))["data"]["emailTemplateDeactivate"]
    assert result["emailTemplate"]["isActive"] is False
    assert await active_ids(runtime, a) == {pk(other_language)}
    actions = await audit_actions(runtime)
    assert actions.count("email_template.activated") == 4 and actions[-1] == "email_template.deactivated"


# --- delete -----------------------------------------------------------------------------------------


async def test_delete_rules(gql, world, runtime):
    admin = world.tokens["admin_a"]
    source = await system_default(runtime)
    draft, active = await copy(gql, admin, source), await copy(gql, admin, source)
    await gql(ACTIVATE, {"input": {"id": active["id"]}}, token=admin)

    before = await snapshot(runtime)
    refused = (await gql(DELETE, {"input": {"id": active["id"]}}, token=admin))["data"]["emailTemplateDelete"]
    assert refused["deletedId"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [("ACTIVE", ["id"])]
    refused = (await gql(DELETE, {"input": {"id": source}}, token=world.tokens["platform"]))["data"][
        "emailTemplateDelete"
    ]
    assert [e["code"] for e in refused["errors"]] == ["SYSTEM_DEFAULT"]
    assert await snapshot(runtime) == before

    result = (await gql(DELETE, {"input": {"id": draft["id"]}}, token=admin))["data"]["emailTemplateDelete"]
    assert result == {"deletedId": draft["id"], "errors": []}
    again = (await gql(DELETE, {"input": {"id": draft["id"]}}, token=admin))["data"]["emailTemplateDelete"]
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]
    assert (await audit_actions(runtime))[-1] == "email_template.deleted"


# --- preview and test mail --------------------------------------------------------------------------


async def test_preview_is_for_the_caller_and_changes_nothing(gql, world, runtime):
    admin = world.tokens["admin_a"]
    source = await system_default(runtime, TemplateType.INVITE_USER, "sv")
    before = await snapshot(runtime)
    result = (await gql(PREVIEW, {"input": {"id": source}}, token=admin))["data"]["emailTemplatePreview"]
    assert result["errors"] == []
    preview = result["preview"]
    assert preview["subject"] == "Demo Integra bjuder in dig till Tenant A"
    assert preview["bodyText"].startswith("Hej Admin!") and "Tenant A" in preview["bodyText"]
    assert '<a href="https://fleetgraph.example/register?token=sample">Acceptera inbjudan</a>' in preview["bodyHtml"]
    # an unsaved draft, escaped in the HTML and not in the text
    draft = {
        "id": source,
        "bodyHtml": "<b>{{ organisation_name }}</b> {{ '<i>' }}",
        "bodyText": "{{ '<i>' }} {{ organisation_name }}",
    }
    preview = (await gql(PREVIEW, {"input": draft}, token=admin))["data"]["emailTemplatePreview"]["preview"]
    assert preview["bodyHtml"] == "<b>Tenant A</b> &lt;i&gt;" and preview["bodyText"] == "<i> Tenant A"
    refused = (await gql(PREVIEW, {"input": {"id": source, "subject": "{{ nope }}"}}, token=admin))["data"][
        "emailTemplatePreview"
    ]
    assert refused["preview"] is None
    assert [(e["code"], e["field"], e["line"]) for e in refused["errors"]] == [("TEMPLATE_INVALID", ["subject"], 1)]
    assert "'nope' is undefined" in refused["errors"][0]["message"]
    assert await snapshot(runtime) == before


async def test_send_test_writes_this_template_rendered_to_the_outbox(gql, world, runtime):
    admin = world.tokens["admin_a"]
    copied = await copy(gql, admin, await system_default(runtime, TemplateType.PASSWORD_RESET, "es"))
    await gql(
        UPDATE,
        {
            "input": {
                "id": copied["id"],
                "subject": "Prueba para {{ recipient_name }}",
                "bodyHtml": "<p>{{ recipient_name }} &amp; {{ '<x>' }}</p>",
            }
        },
        token=admin,
    )
    # not active: resolution would pick the system default, the test mail must still use this one
    result = await gql(SEND_TEST, {"input": {"id": copied["id"], "toAddress": " Tester@Example.org "}}, token=admin)
    payload = result["data"]["emailTemplateSendTest"]
    assert payload["errors"] == [] and payload["emailTemplate"] == {"id": copied["id"]}
    async with runtime.session_factory() as session:
        (message,) = [opened(runtime, row) for row in (await session.scalars(select(OutboxMessage))).all()]
    assert message.to_address == "tester@example.org"
    assert message.message_id == payload["messageId"]
    assert message.subject == "Prueba para Admin"
    assert message.body_html == "<p>Admin &amp; &lt;x&gt;</p>"
    assert message.body_text.startswith("Hola, Admin:") and "Tenant A" in message.body_text
    assert (message.template_type, message.language, message.status) == (
        TemplateType.PASSWORD_RESET,
        "es",
        OutboxStatus.PENDING,
    )
    assert message.organisation_id == world.organisations["a"].id
    assert (await audit_actions(runtime))[-1] == "email_template.test_sent"

    before = await snapshot(runtime)
    for bad in ("not an address", "a@b", "x\ny@example.org", "a" * 250 + "@example.org"):
        refused = (await gql(SEND_TEST, {"input": {"id": copied["id"], "toAddress": bad}}, token=admin))["data"][
            "emailTemplateSendTest"
        ]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", ["toAddress"])], bad
    assert await snapshot(runtime) == before


async def test_test_mails_are_limited_per_user_and_hour(gql, world, runtime):
    from resolvers.mail.templates.rules import SEND_TEST_PER_HOUR

    copied = await copy(gql, world.tokens["admin_a"], await system_default(runtime, TemplateType.PASSWORD_RESET, "en"))
    for n in range(SEND_TEST_PER_HOUR):
        sent = await gql(
            SEND_TEST, {"input": {"id": copied["id"], "toAddress": f"t{n}@example.org"}}, token=world.tokens["admin_a"]
        )
        assert sent["data"]["emailTemplateSendTest"]["errors"] == []
    before = await snapshot(runtime)
    refused = (
        await gql(
            SEND_TEST,
            {"input": {"id": copied["id"], "toAddress": "one-more@example.org"}},
            token=world.tokens["admin_a"],
        )
    )["data"]["emailTemplateSendTest"]
    assert [e["code"] for e in refused["errors"]] == ["RATE_LIMITED"]
    assert await snapshot(runtime) == before
    # the limit is the sender's: older test mails no longer count
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(AuditEvent)
            .where(AuditEvent.action == "email_template.test_sent")
            .values(created_at=utcnow() - timedelta(hours=2))
        )
    again = await gql(
        SEND_TEST, {"input": {"id": copied["id"], "toAddress": "one-more@example.org"}}, token=world.tokens["admin_a"]
    )
    assert again["data"]["emailTemplateSendTest"]["errors"] == []


# --- tenancy and SQL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document,name",
    [
        (COPY, "emailTemplateCopy"),
        (ACTIVATE, "emailTemplateActivate"),
        (DEACTIVATE, "emailTemplateDeactivate"),
        (DELETE, "emailTemplateDelete"),
        (PREVIEW, "emailTemplatePreview"),
    ],
)
async def test_another_tenants_template_reads_like_an_unknown_one(gql, world, runtime, document, name):
    (b_template,) = await add_templates(runtime, world.organisations["b"].id, 1)
    other, unknown = to_global_id("EmailTemplate", b_template), to_global_id("EmailTemplate", 999_999)
    before = await snapshot(runtime)
    with_other = (await gql(document, {"input": {"id": other}}, token=world.tokens["admin_a"]))["data"][name]
    with_unknown = (await gql(document, {"input": {"id": unknown}}, token=world.tokens["admin_a"]))["data"][name]
    assert with_other == with_unknown and [e["code"] for e in with_other["errors"]] == ["NOT_FOUND"]
    # a child organisation's admin cannot reach their parent's templates either
    (a_template,) = await add_templates(runtime, world.organisations["a"].id, 1)
    async with runtime.session_factory() as session, session.begin():
        from models import identity as m
        from tests.factories import add_user, issue_token

        a1 = await session.get(m.Organisation, world.organisations["a1"].id)
        child_admin = await issue_token(
            session, await add_user(session, a1, "admin@a1.example", [m.Role.ORGANISATION_ADMIN])
        )
    parent = (await gql(document, {"input": {"id": to_global_id("EmailTemplate", a_template)}}, token=child_admin))[
        "data"
    ][name]
    assert [e["code"] for e in parent["errors"]] == ["NOT_FOUND"]
    tables = await snapshot(runtime)
    assert tables["outbox_message"] == before["outbox_message"] and tables["audit_event"] == before["audit_event"]


@pytest.mark.parametrize("size", [10, 50])
async def test_templates_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql, size):
    await add_templates(runtime, world.organisations["a"].id, size)
    await add_templates(runtime, world.organisations["a1"].id, size)
    with count_sql() as counter:
        result = await gql(LIST, {"first": 500}, token=world.tokens["admin_a"])
    assert "errors" not in result, result
    assert result["data"]["emailTemplates"]["totalCount"] == len(TemplateType) * len(LANGUAGES) + 2 * size
    # authentication 1 (with the caller's own user and organisation) + page 1 + totalCount 1 + owner organisations 1
    assert counter.count == 4, counter.statements
