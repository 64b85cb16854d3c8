"""Single use under concurrency in the catalogue: a key download link is served once and a pending batch
is decided once, however many requests arrive at the same moment; the losers get the answer of a late
request. Runs on SQLite and PostgreSQL alike (tests/burst.py checks that the requests overlapped)."""

from __future__ import annotations

from sqlalchemy import func, select

from models import catalogue as c
from models.audit import AuditEvent
from tests.burst import burst
from tests.catalogue import batch_helpers, download_helpers

N = 8


async def audit_count(runtime, action: str) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


async def test_parallel_fetches_of_one_key_download_link_serve_it_once(gql, client, world, runtime):
    ids, _ = await download_helpers.seed(runtime, world)
    token = world.tokens["admin_a"]
    created = await download_helpers.create(gql, token, deviceIds=[download_helpers.gid(ids["A-0001"])])
    path = download_helpers.path_of(created["url"])
    headers = {"Authorization": f"Bearer {token}"}

    responses = await burst(runtime, N, lambda i: client.get(path, headers=headers))

    served = [r for r in responses if r.status_code == 200]
    assert len(served) == 1, [r.status_code for r in responses]
    assert len(download_helpers.parse(served[0].text, ";")) == 3
    reused = await client.get(path, headers=headers)
    assert reused.status_code == 410 and "used" in reused.text
    assert [(r.status_code, r.text) for r in responses if r.status_code != 200] == [
        (reused.status_code, reused.text)
    ] * (N - 1)
    assert await audit_count(runtime, "keys.downloaded") == 1


async def test_parallel_take_ownership_of_one_batch_accepts_it_once(gql, world, runtime):
    await batch_helpers.seed(runtime, world)
    assert (await batch_helpers.create(gql, world, serials=["A-001", "A-002", "A-003"]))["errors"] == []
    take = {"input": {"reference": "REF-1", "label": "spring delivery"}}

    answers = await burst(runtime, N, lambda i: gql(batch_helpers.TAKE, take, token=world.tokens["admin_b"]))

    payloads = [a["data"]["batchTakeOwnership"] for a in answers]
    winners = [p for p in payloads if p["errors"] == []]
    assert len(winners) == 1, payloads
    assert winners[0]["batch"]["state"] == "ACCEPTED" and winners[0]["batch"]["devices"]["totalCount"] == 3
    late = (await gql(batch_helpers.TAKE, take, token=world.tokens["admin_b"]))["data"]["batchTakeOwnership"]
    assert late["errors"] == [
        {"code": "INVALID_STATE", "field": ["reference"], "message": "The batch was already accepted."}
    ]
    assert [p for p in payloads if p["errors"]] == [late] * (N - 1)
    assert await audit_count(runtime, "batch.accepted") == 2  # one event for each side, once
    async with runtime.session_factory() as session:
        moved = await session.scalar(
            select(func.count())
            .select_from(c.Device)
            .where(c.Device.organisation_id == world.organisations["b"].id, c.Device.serial_number.like("A-%"))
        )
    assert moved == 3


async def test_parallel_rejections_of_one_batch_reject_it_once(gql, world, runtime):
    await batch_helpers.seed(runtime, world)
    batch_id = (await batch_helpers.create(gql, world))["batch"]["id"]
    reject = {"input": {"id": batch_id}}

    answers = await burst(runtime, N, lambda i: gql(batch_helpers.REJECT, reject, token=world.tokens["admin_b"]))

    payloads = [a["data"]["batchReject"] for a in answers]
    assert len([p for p in payloads if p["errors"] == []]) == 1, payloads
    late = (await gql(batch_helpers.REJECT, reject, token=world.tokens["admin_b"]))["data"]["batchReject"]
    assert [e["code"] for e in late["errors"]] == ["INVALID_STATE"]
    assert [p for p in payloads if p["errors"]] == [late] * (N - 1)
    assert await audit_count(runtime, "batch.rejected") == 2
