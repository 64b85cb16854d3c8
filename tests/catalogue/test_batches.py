"""Batch references (the manuals' 10.5–10.7): create, take ownership, reject, list."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from graph.auth import authenticate
from graph.context import Context
from graph.errors import DomainError, DomainErrors
from graph.mutations import run_in_transaction
from graph.relay import to_global_id
from models import catalogue as c
from models.audit import AuditEvent
from models.mail import OutboxMessage, TemplateType
from resolvers.catalogue.batches import rules as batch_rules
from resolvers.catalogue.batches import schema as batch_schema
from resolvers.catalogue.batches import serials
from tests.catalogue.batch_helpers import CREATE, DEVICES, REJECT, TAKE, create, create_input, device_rows, seed
from tests.factories import snapshot
from tests.mail.opened import opened

LIST = """query($filter: BatchFilter, $orderBy: BatchOrder, $first: Int, $after: String) {
  batches(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount nodes { reference state } pageInfo { hasNextPage endCursor }
  }
}"""


async def visible_serials(gql, token) -> list[str]:
    result = await gql(DEVICES, token=token)
    return sorted(n["serialNumber"] for n in result["data"]["devices"]["nodes"])


async def test_create_from_typed_serials_is_pending_and_mails_the_receivers_admins(gql, world, runtime):
    await seed(runtime, world)
    # an entry may be comma-separated text; blanks, spaces and repeated serials count once
    result = await create(gql, world, serials=["A-001, A-002,", " A-001 "])
    assert result["errors"] == []
    batch = result["batch"]
    assert batch["state"] == "PENDING" and batch["confirmationRequired"] is True and batch["decidedAt"] is None
    assert batch["deviceCount"] == 2 and batch["label"] == "spring delivery"
    # B is a partner of A: its name shows, the organisation itself is not A's to see
    assert batch["organisationName"] == "Tenant B" and batch["organisation"] is None
    assert batch["senderOrganisation"] == {"name": "Tenant A"} and batch["createdBy"] == {"email": "admin@a.example"}
    # pending: the devices stay with the sender, in the batch, as they were (A-001 still claimed)
    assert batch["devices"]["totalCount"] == 2
    assert {n["serialNumber"]: n["claimStatus"] for n in batch["devices"]["nodes"]} == {
        "A-001": "CLAIMED",
        "A-002": "UNCLAIMED",
    }
    rows = await device_rows(runtime, "A-001", "A-002")
    batch_pk = rows["A-001"][1]
    assert {row[0] for row in rows.values()} == {world.organisations["a"].id} and {row[1] for row in rows.values()} == {
        batch_pk
    }

    async with runtime.session_factory() as session:
        mails = [
            opened(runtime, row)
            for row in (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.to_address))).all()
        ]
        stored = await session.get(c.Batch, batch_pk)
        members = (
            await session.scalars(select(c.BatchDevice.device_id).where(c.BatchDevice.batch_id == batch_pk))
        ).all()
        events = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.organisation_id)
                .where(AuditEvent.action.startswith("batch."))
                .order_by(AuditEvent.id)
            )
        ).all()
    # only the active admins of the receiving organisation, each in their language
    assert [(mail.to_address, mail.language, mail.template_type) for mail in mails] == [
        ("admin@b.example", "en", TemplateType.NEW_BATCH),
        ("chef@b.example", "de", TemplateType.NEW_BATCH),
    ]
    assert mails[0].subject == "New batch REF-1 for Tenant B" and mails[1].subject == "Neue Charge REF-1 für Tenant B"
    assert "Tenant A has handed the batch REF-1 with 2 devices to Tenant B" in mails[0].body_text
    assert to_global_id("Batch", batch_pk) in mails[0].body_text
    assert all(mail.organisation_id == world.organisations["b"].id for mail in mails)
    assert (
        stored.sender_organisation_id == world.organisations["a"].id
        and stored.created_by_id == world.users["admin_a"].id
    )
    assert len(members) == 2
    assert events == [("batch.created", world.organisations["a"].id), ("batch.received", world.organisations["b"].id)]


async def assert_only_the_receivers_admin_may_take(gql, world, runtime):
    """A wrong label or reference reads like an unknown batch; the sender cannot take its own batch addressed
    to B, a plain user of B may not: nothing changes."""
    before = await snapshot(runtime)
    not_found = {
        "batch": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": ["reference"],
                "message": "No batch with this reference and label for your organisation.",
            }
        ],
    }
    # a wrong label or reference reads like an unknown batch; the sender cannot take its own batch addressed to B
    for token, reference, label in (
        ("admin_b", "REF-1", "autumn delivery"),
        ("admin_b", "REF-9", "spring delivery"),
        ("admin_b", "REF-1", ""),
        ("admin_a", "REF-1", "spring delivery"),
    ):
        answer = await gql(TAKE, {"input": {"reference": reference, "label": label}}, token=world.tokens[token])
        assert answer["data"]["batchTakeOwnership"] == not_found, (token, reference, label)
    assert await snapshot(runtime) == before
    assert (
        await gql.raw(TAKE, {"input": {"reference": "REF-1", "label": "spring delivery"}}, token=world.tokens["user_b"])
    ).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_take_ownership_moves_every_device_at_once(gql, world, runtime):
    await seed(runtime, world)
    assert (await create(gql, world, serials=["A-001", "A-002", "A-003"]))["errors"] == []
    await assert_only_the_receivers_admin_may_take(gql, world, runtime)

    result = await gql(
        TAKE, {"input": {"reference": " REF-1 ", "label": "spring delivery"}}, token=world.tokens["admin_b"]
    )
    taken = result["data"]["batchTakeOwnership"]
    assert taken["errors"] == [] and taken["batch"]["state"] == "ACCEPTED" and taken["batch"]["decidedAt"] is not None
    assert taken["batch"]["organisation"] == {"name": "Tenant B"}
    # every device is B's now, unclaimed (also the one A had claimed), in this batch
    nodes = taken["batch"]["devices"]["nodes"]
    assert [n["serialNumber"] for n in nodes] == ["A-001", "A-002", "A-003"]
    assert all(
        n["claimStatus"] == "UNCLAIMED"
        and n["claimedAt"] is None
        and n["organisation"] == {"name": "Tenant B"}
        and n["batch"] == {"reference": "REF-1"}
        for n in nodes
    )
    rows = await device_rows(runtime, "A-001", "A-002", "A-003", "A-004")
    assert {serial: row[0] for serial, row in rows.items()} == {
        "A-001": world.organisations["b"].id,
        "A-002": world.organisations["b"].id,
        "A-003": world.organisations["b"].id,
        "A-004": world.organisations["a"].id,
    }
    # A no longer sees them; its view of the batch has no devices left, but the count stays
    assert await visible_serials(gql, world.tokens["admin_a"]) == ["A-004", "A1-001"]
    listed = await gql(
        "{ batches { nodes { reference state deviceCount devices { totalCount } } } }", token=world.tokens["admin_a"]
    )
    assert listed["data"]["batches"]["nodes"] == [
        {"reference": "REF-1", "state": "ACCEPTED", "deviceCount": 3, "devices": {"totalCount": 0}}
    ]
    # the new owner claims them itself
    claim = await gql(
        'mutation { deviceClaim(input: {serialNumber: "A-001"}) { errors { code } } }', token=world.tokens["admin_b"]
    )
    assert claim["data"]["deviceClaim"]["errors"] == []

    again = await gql(
        TAKE, {"input": {"reference": "REF-1", "label": "spring delivery"}}, token=world.tokens["admin_b"]
    )
    assert again["data"]["batchTakeOwnership"]["errors"] == [
        {"code": "INVALID_STATE", "field": ["reference"], "message": "The batch was already accepted."}
    ]
    async with runtime.session_factory() as session:
        events = (
            await session.execute(
                select(AuditEvent.organisation_id, AuditEvent.details)
                .where(AuditEvent.action == "batch.accepted")
                .order_by(AuditEvent.organisation_id)
            )
        ).all()
    assert [(org, details["deviceCount"]) for org, details in events] == [
        (world.organisations["a"].id, 3),
        (world.organisations["b"].id, 3),
    ]


async def test_taking_ownership_is_one_transaction(world, runtime, gql):
    """Moving the devices happens in the caller's transaction: refused after it, nothing has moved."""
    await seed(runtime, world)
    assert (await create(gql, world, serials=["A-001", "A-002"]))["errors"] == []
    principal, problem = await authenticate(runtime.session_factory, world.tokens["admin_b"])
    assert principal is not None, problem
    context = Context(runtime, principal=principal)
    before = await snapshot(runtime)

    async def take_then_fail(session):
        batch = await batch_rules.take_ownership(session, context, "REF-1", "spring delivery")
        moved = await session.scalar(
            select(func.count())
            .select_from(c.Device)
            .where(c.Device.organisation_id == world.organisations["b"].id, c.Device.batch_id == batch.id)
        )
        assert moved == 2  # inside the transaction they are B's
        raise DomainError("INVALID", "something after the move failed")

    assert isinstance(await run_in_transaction(context, take_then_fail), DomainError)
    assert await snapshot(runtime) == before


async def test_reject_leaves_the_devices_with_the_sender(gql, world, runtime):
    await seed(runtime, world)
    batch_id = (await create(gql, world))["batch"]["id"]
    # the sender cannot reject (only the receiver decides); B's plain user has no permission
    by_sender = await gql(REJECT, {"input": {"id": batch_id}}, token=world.tokens["admin_a"])
    assert by_sender["data"]["batchReject"]["errors"] == [
        {"code": "NOT_ALLOWED", "field": ["id"], "message": "Only the receiving organisation can reject a batch."}
    ]
    assert (await gql.raw(REJECT, {"input": {"id": batch_id}}, token=world.tokens["user_b"])).json()["errors"][0][
        "extensions"
    ]["code"] == "FORBIDDEN"

    rejected = (await gql(REJECT, {"input": {"id": batch_id}}, token=world.tokens["admin_b"]))["data"]["batchReject"]
    assert (
        rejected["errors"] == []
        and rejected["batch"]["state"] == "REJECTED"
        and rejected["batch"]["decidedAt"] is not None
    )
    assert rejected["batch"]["deviceCount"] == 2  # the record of what was sent stays
    rows = await device_rows(runtime, "A-001", "A-002")
    assert rows["A-001"][:3] == (world.organisations["a"].id, None, c.ClaimStatus.CLAIMED)
    assert rows["A-002"][:2] == (world.organisations["a"].id, None)
    again = (await gql(REJECT, {"input": {"id": batch_id}}, token=world.tokens["admin_b"]))["data"]["batchReject"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_STATE"]
    taken = await gql(
        TAKE, {"input": {"reference": "REF-1", "label": "spring delivery"}}, token=world.tokens["admin_b"]
    )
    assert [e["code"] for e in taken["data"]["batchTakeOwnership"]["errors"]] == ["INVALID_STATE"]
    # free again: the devices can go into a new batch
    assert (await create(gql, world, reference="REF-2"))["errors"] == []
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.action == "batch.rejected"))).all()
    assert len(actions) == 2  # the receiver's and the sender's history


async def test_without_confirmation_the_devices_move_at_once(gql, world, runtime):
    await seed(runtime, world)
    result = await create(gql, world, serials=["A-001", "A-003"], receiver="a1", confirmationRequired=False)
    assert result["errors"] == []
    batch = result["batch"]
    assert batch["state"] == "ACCEPTED" and batch["decidedAt"] is not None and batch["confirmationRequired"] is False
    assert batch["organisation"] == {"name": "Tenant A1"}
    assert {(n["serialNumber"], n["claimStatus"], n["organisation"]["name"]) for n in batch["devices"]["nodes"]} == {
        ("A-001", "UNCLAIMED", "Tenant A1"),
        ("A-003", "UNCLAIMED", "Tenant A1"),
    }
    rows = await device_rows(runtime, "A-001", "A-003")
    assert {row[0] for row in rows.values()} == {world.organisations["a1"].id}
    assert all(row[2] == c.ClaimStatus.UNCLAIMED and row[3] is None for row in rows.values())
    # the devices are in an accepted batch, not a pending one: they may go on in a new batch
    assert (await create(gql, world, reference="REF-2", serials=["A-001"], receiver="a"))["errors"] == []


async def test_platform_admin_hands_out_devices_nobody_owns(gql, world, runtime):
    await seed(runtime, world)
    result = await create(
        gql, world, token="platform", reference="KMS-1", serials=["FREE-001", "FREE-002"], receiver="a"
    )
    assert result["errors"] == [] and result["batch"]["senderOrganisation"] == {"name": "Platform"}
    assert (await device_rows(runtime, "FREE-001"))["FREE-001"][0] is None  # pending: nobody owns it yet
    assert await visible_serials(gql, world.tokens["admin_a"]) == ["A-001", "A-002", "A-003", "A-004", "A1-001"]
    taken = await gql(
        TAKE, {"input": {"reference": "KMS-1", "label": "spring delivery"}}, token=world.tokens["admin_a"]
    )
    assert taken["data"]["batchTakeOwnership"]["errors"] == []
    assert "FREE-001" in await visible_serials(gql, world.tokens["admin_a"])


async def test_refusals_report_every_problem_and_store_nothing(gql, world, runtime):
    await seed(runtime, world)
    assert (await create(gql, world, reference="REF-OLD", serials=["A-004"]))["errors"] == []
    before = await snapshot(runtime)
    result = await create(
        gql,
        world,
        reference="REF-OLD",
        serials=["A-001", "NO-SUCH-1", "B-001", "FREE-001", "A-004", "bad serial", "X" * 65],
    )
    assert result["batch"] is None
    assert result["errors"] == [
        {"code": "DUPLICATE", "field": ["reference"], "message": "Your organisation already has a batch REF-OLD."},
        {"code": "INVALID", "field": ["serialNumbers", "5"], "message": "'bad serial' is not a serial number."},
        {"code": "INVALID", "field": ["serialNumbers", "6"], "message": f"{'X' * 64!r} is not a serial number."},
        {"code": "NOT_FOUND", "field": ["serialNumbers", "1"], "message": "No device with serial number NO-SUCH-1."},
        # another tenant's device and one not handed over read exactly like an unknown serial number
        {"code": "NOT_FOUND", "field": ["serialNumbers", "2"], "message": "No device with serial number B-001."},
        {"code": "NOT_FOUND", "field": ["serialNumbers", "3"], "message": "No device with serial number FREE-001."},
        {
            "code": "INVALID_STATE",
            "field": ["serialNumbers", "4"],
            "message": "Device A-004 is already in a pending batch.",
        },
    ]
    assert await snapshot(runtime) == before

    async def errors(token="admin_a", **kwargs):
        answer = await create(gql, world, token=token, **kwargs)
        assert answer["batch"] is None
        return [(e["code"], e["field"]) for e in answer["errors"]]

    # A is neither B's organisation nor a partner of B (the link goes from A to B): refused like an unknown one
    assert await errors(token="admin_b", serials=["B-001"], receiver="a") == [("NOT_FOUND", ["organisationId"])]
    assert await errors(serials=["A-001"], receiver="platform") == [("NOT_FOUND", ["organisationId"])]
    too_many = [f"S{i:05d}" for i in range(serials.MAX_BATCH_SERIALS + 1)]
    assert await errors(serials=too_many) == [("TOO_MANY", ["serialNumbers"])]
    assert await errors(serials=[" ", ","]) == [("REQUIRED", ["serialNumbers"])]
    long_reference = await create(gql, world, reference="R" * 101, serials=["A-001"])
    assert [(e["code"], e["field"]) for e in long_reference["errors"]] == [("TOO_LONG", ["reference"])]
    blank = await gql(
        CREATE,
        {"input": {**create_input(world)["input"], "reference": "a\x01b", "label": "  "}},
        token=world.tokens["admin_a"],
    )
    assert [(e["code"], e["field"]) for e in blank["data"]["batchCreate"]["errors"]] == [
        ("INVALID", ["reference"]),
        ("REQUIRED", ["label"]),
    ]
    assert await snapshot(runtime) == before

    # no permission: plain users; not logged in
    refused = await gql.raw(CREATE, create_input(world), token=world.tokens["user_a"])
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql.raw(CREATE, create_input(world))
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await snapshot(runtime) == before


async def test_serial_numbers_from_a_file():
    data = '\ufeffA-001,A-002;A-003\r\n"A-004"\n\n A-001 ,\n'.encode()
    assert serials.serial_numbers_from_file(data) == ["A-001", "A-002", "A-003", "A-004", "A-001"]
    assert serials.serial_numbers_from_file(b"21N001052") == ["21N001052"]
    refusals = {
        b"A-001,\xff\xfe": ("INVALID", "The file is not UTF-8 text (byte 7)."),
        b"A-001\x00": ("INVALID", "The file contains NUL characters: it is not a text file."),
        b" ,;\n": ("REQUIRED", "The file contains no serial number."),
    }
    for data, (code, message) in refusals.items():
        with pytest.raises(DomainError) as raised:
            serials.serial_numbers_from_file(data)
        assert (raised.value.code.value, raised.value.message, raised.value.field) == (code, message, ["file"])


async def test_create_from_file_bytes_through_the_service(world, runtime):
    await seed(runtime, world)
    principal, problem = await authenticate(runtime.session_factory, world.tokens["admin_a"])
    assert principal is not None, problem
    context = Context(runtime, principal=principal)

    def creation(reference, data: bytes, typed=None):
        return batch_rules.BatchCreation(
            reference=reference,
            label="from file",
            organisation_id=to_global_id("Organisation", world.organisations["a1"].id),
            serial_numbers=typed,
            file_serial_numbers=serials.serial_numbers_from_file(data),
        )

    result = await run_in_transaction(
        context,
        lambda s: batch_rules.create_batch(
            s, context, creation("FILE-1", b"\xef\xbb\xbfA-001;A-002\r\nA-003\r\n", typed=["A-002"])
        ),
    )
    assert not isinstance(result, DomainError), result
    rows = await device_rows(runtime, "A-001", "A-002", "A-003")
    assert {row[1] for row in rows.values()} == {result.id}
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).where(c.BatchDevice.batch_id == result.id)) == 3

    # a bad serial in the file is named, with the file as the field; nothing is stored
    before = await snapshot(runtime)
    refused = await run_in_transaction(
        context, lambda s: batch_rules.create_batch(s, context, creation("FILE-2", b"A-004,B-001"))
    )
    assert isinstance(refused, DomainErrors)
    assert [(e.code.value, e.field, e.message) for e in refused.errors] == [
        ("NOT_FOUND", ["file"], "No device with serial number B-001.")
    ]
    assert await snapshot(runtime) == before


@pytest.fixture
async def sent_batches(gql, world, runtime) -> None:
    """REF-1 (A to partner B, pending), REF-2 (A to A1, accepted), KMS-3 (platform to B) and B-4 (B to itself)."""
    await seed(runtime, world)
    assert (await create(gql, world, reference="REF-1", serials=["A-001"]))["errors"] == []  # A → partner B, pending
    assert (await create(gql, world, reference="REF-2", serials=["A-002"], receiver="a1", confirmationRequired=False))[
        "errors"
    ] == []
    assert (await create(gql, world, token="platform", reference="KMS-3", serials=["FREE-001"], receiver="b"))[
        "errors"
    ] == []
    assert (await create(gql, world, token="admin_b", reference="B-4", serials=["B-001"], receiver="b"))["errors"] == []


def batch_references(gql, world):
    """references(token, **variables): the references the batches query lists, in order."""

    async def references(token, **variables):
        result = await gql(LIST, variables, token=world.tokens[token])
        assert "errors" not in result, result
        connection = result["data"]["batches"]
        assert connection["totalCount"] == len(connection["nodes"]) or "after" in variables
        return [n["reference"] for n in connection["nodes"]]

    return references


async def test_batch_list_filters_and_visibility(gql, world, sent_batches):
    references = batch_references(gql, world)
    # newest first; each side sees what it sent or received, an unrelated tenant nothing of it
    assert await references("admin_a") == ["REF-2", "REF-1"]
    assert await references("user_a") == ["REF-2", "REF-1"]  # reading needs DEVICES_READ only
    assert await references("user_a1") == ["REF-2"]
    assert await references("admin_b") == ["B-4", "KMS-3", "REF-1"]
    assert await references("platform") == ["B-4", "KMS-3", "REF-2", "REF-1"]

    assert await references("admin_a", filter={"direction": "SENT"}) == ["REF-2", "REF-1"]
    assert await references("admin_a", filter={"direction": "RECEIVED"}) == ["REF-2"]  # A1 is A's
    assert await references("admin_b", filter={"direction": "RECEIVED"}) == ["B-4", "KMS-3", "REF-1"]
    assert await references("admin_b", filter={"direction": "SENT"}) == ["B-4"]
    assert await references("admin_a", filter={"organisationId": world.id("Organisation", "a1")}) == ["REF-2"]
    assert (
        await references("admin_a", filter={"organisationId": world.id("Organisation", "a1"), "direction": "SENT"})
        == []
    )
    # B is A's partner, not A's organisation: as a filter it reads like an unknown one
    assert await references("admin_a", filter={"organisationId": world.id("Organisation", "b")}) == []
    assert await references("admin_b", filter={"state": "PENDING"}) == ["B-4", "KMS-3", "REF-1"]
    assert await references("admin_a", filter={"state": "ACCEPTED"}) == ["REF-2"]
    assert await references("platform", filter={"referencePrefix": "REF-"}) == ["REF-2", "REF-1"]
    assert await references("platform", filter={"reference": "KMS-3", "label": "spring delivery"}) == ["KMS-3"]
    assert await references("platform", filter={"label": "other"}) == []
    assert await references("platform", orderBy={"field": "REFERENCE", "direction": "ASC"}) == [
        "B-4",
        "KMS-3",
        "REF-1",
        "REF-2",
    ]


async def test_batch_list_pages_refuses_bad_input_and_shows_devices_to_their_holder(gql, world, sent_batches):
    references = batch_references(gql, world)
    first = await gql(
        LIST, {"first": 1, "orderBy": {"field": "REFERENCE", "direction": "ASC"}}, token=world.tokens["admin_b"]
    )
    page = first["data"]["batches"]
    assert (
        [n["reference"] for n in page["nodes"]] == ["B-4"]
        and page["pageInfo"]["hasNextPage"]
        and page["totalCount"] == 3
    )
    rest = await references(
        "admin_b", first=5, after=page["pageInfo"]["endCursor"], orderBy={"field": "REFERENCE", "direction": "ASC"}
    )
    assert rest == ["KMS-3", "REF-1"]

    bad = await gql.raw(LIST, {"filter": {"organisationId": "nonsense"}}, token=world.tokens["admin_a"])
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    external = await gql.raw(LIST, {}, token=None)
    assert external.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    # a batch's devices: the sender's while pending; the receiver sees none of them until it takes ownership
    query = (
        '{ batches(filter: {reference: "REF-1"}) { nodes { deviceCount devices { totalCount nodes { '
        "serialNumber } } } } }"
    )
    seen_by_a = (await gql(query, token=world.tokens["admin_a"]))["data"]["batches"]["nodes"][0]
    seen_by_b = (await gql(query, token=world.tokens["admin_b"]))["data"]["batches"]["nodes"][0]
    assert seen_by_a == {"deviceCount": 1, "devices": {"totalCount": 1, "nodes": [{"serialNumber": "A-001"}]}}
    assert seen_by_b == {"deviceCount": 1, "devices": {"totalCount": 0, "nodes": []}}


async def test_batch_devices_page_forward(gql, world, runtime):
    await seed(runtime, world)
    assert (await create(gql, world, serials=["A-004", "A-002", "A-001", "A-003"], receiver="a1"))["errors"] == []
    query = """query($after: String) { batches { nodes { devices(first: 3, after: $after) {
      totalCount nodes { serialNumber } pageInfo { hasNextPage hasPreviousPage endCursor } } } } }"""
    page = (await gql(query, token=world.tokens["admin_a"]))["data"]["batches"]["nodes"][0]["devices"]
    assert [n["serialNumber"] for n in page["nodes"]] == ["A-001", "A-002", "A-003"] and page["totalCount"] == 4
    assert page["pageInfo"]["hasNextPage"] and not page["pageInfo"]["hasPreviousPage"]
    after = page["pageInfo"]["endCursor"]
    rest = (await gql(query, {"after": after}, token=world.tokens["admin_a"]))["data"]["batches"]["nodes"][0]["devices"]
    assert [n["serialNumber"] for n in rest["nodes"]] == ["A-004"] and not rest["pageInfo"]["hasNextPage"]
    bad = await gql.raw(query, {"after": "garbage"}, token=world.tokens["admin_a"])
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_create_from_an_uploaded_file(client, world, runtime):
    """batchCreate with a .txt/.csv file sent as a GraphQL multipart request, under the size cap."""
    await seed(runtime, world)

    async def run(reference: str, filename: str, data: bytes, serials=None) -> dict:
        variables = create_input(world, reference=reference, receiver="a1", serials=serials or [])
        variables["input"]["file"] = None
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": CREATE, "variables": variables}),
                "map": json.dumps({"0": ["variables.input.file"]}),
            },
            files={"0": (filename, data, "text/plain")},
            headers={"Authorization": f"Bearer {world.tokens['admin_a']}"},
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert "errors" not in result, result
        return result["data"]["batchCreate"]

    created = await run("UP-1", "serials.txt", b"\xef\xbb\xbfA-001\nA-002\n", serials=["A-003"])
    assert created["errors"] == [] and created["batch"]["deviceCount"] == 3
    before = await snapshot(runtime)
    too_big = await run("UP-2", "serials.csv", b"A-004," * (batch_schema.MAX_FILE_BYTES // 6 + 1))
    assert too_big == {
        "batch": None,
        "errors": [
            {
                "code": "TOO_LONG",
                "field": ["file"],
                "message": f"The file is larger than {batch_schema.MAX_FILE_BYTES} bytes.",
            }
        ],
    }
    # a file problem is reported together with the other problems of the input
    wrong_type = await run("UP-1", "serials.pdf", b"A-004", serials=["NO-SUCH"])
    assert [(e["code"], e["field"]) for e in wrong_type["errors"]] == [
        ("INVALID", ["file"]),
        ("DUPLICATE", ["reference"]),
        ("NOT_FOUND", ["serialNumbers", "0"]),
    ]
    assert await snapshot(runtime) == before


async def test_a_device_taken_by_another_batch_meanwhile_refuses_the_creation(gql, world, runtime):
    """The join is guarded by each device's batch as it was checked: a concurrent batch wins, this one is refused."""
    await seed(runtime, world)
    async with runtime.session_factory() as session:
        devices = (await session.scalars(select(c.Device).where(c.Device.serial_number.in_(["A-001", "A-002"])))).all()
    # meanwhile another batch took A-002
    assert (await create(gql, world, reference="FAST", serials=["A-002"]))["errors"] == []
    async with runtime.session_factory() as session, session.begin():
        slow = c.Batch(
            reference="SLOW",
            label="x",
            sender_organisation_id=world.organisations["a"].id,
            organisation_id=world.organisations["b"].id,
        )
        session.add(slow)
        await session.flush()
        with pytest.raises(DomainError) as raised:
            await batch_rules._join_batch(session, slow, list(devices))
        assert raised.value.code.value == "INVALID_STATE"
        await session.rollback()
    rows = await device_rows(runtime, "A-001", "A-002")
    async with runtime.session_factory() as session:
        fast = await session.scalar(select(c.Batch.id).where(c.Batch.reference == "FAST"))
    assert rows["A-001"][1] is None and rows["A-002"][1] == fast
