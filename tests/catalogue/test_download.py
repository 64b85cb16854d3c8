"""Key downloads: every refusal, the CSV content, the one-time link, streaming of large downloads, the list."""

from __future__ import annotations

import logging
import secrets
import tracemalloc
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, insert, select, update

from graph.relay import to_global_id
from models import catalogue as c
from models import identity as m
from models.audit import AuditEvent
from models.base import utcnow
from resolvers.catalogue.downloads.serving import PAGE_SIZE
from resolvers.catalogue.keys import seal_device_key
from tests.catalogue.download_helpers import CREATE, HEADER, create, gid, parse, path_of, seed
from tests.factories import MANUFACTURER, add_devices, add_user, issue_token, product_type_ids, snapshot


async def download_count(runtime) -> int:
    async with runtime.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(c.KeyDownload))


# --- refusals of keyDownloadCreate -------------------------------------------------------------------------


async def test_needs_the_keys_download_permission(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    for key in ("user_a", "user_b"):  # USER holds DEVICES_READ, not KEYS_DOWNLOAD
        response = await gql(CREATE, {"input": {"deviceIds": [gid(ids["A-0001"])]}}, token=world.tokens[key])
        assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql(CREATE, {"input": {"filter": {}}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await download_count(runtime) == 0


async def test_stale_authentication_is_refused_until_reauthenticated(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(m.AuthToken)
            .where(m.AuthToken.user_id == world.users["admin_a"].id)
            .values(authenticated_at=utcnow() - timedelta(seconds=runtime.settings.key_download_reauth_seconds + 5))
        )
    token = world.tokens["admin_a"]
    refused = await create(gql, token, deviceIds=[gid(ids["A-0001"])])
    assert [e["code"] for e in refused["errors"]] == ["REAUTHENTICATION_REQUIRED"]
    assert refused["keyDownload"] is None and refused["url"] is None and await download_count(runtime) == 0

    from tests.factories import PASSWORD

    reauth = await gql(
        "mutation($p: String) { sessionReauthenticate(input: {password: $p}) { errors { code } } }",
        {"p": PASSWORD},
        token=token,
    )
    assert reauth["data"]["sessionReauthenticate"]["errors"] == []
    created = await create(gql, token, deviceIds=[gid(ids["A-0001"])])
    assert created["errors"] == [] and created["keyDownload"]["keyCount"] == 2


async def test_unclaimed_devices_refuse_the_whole_request_by_serial_number(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    before = await snapshot(runtime)
    refused = await create(gql, token, deviceIds=[gid(ids["A-0001"]), gid(ids["A-UNCLAIMED"])])
    assert refused["keyDownload"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("UNCLAIMED", ["deviceIds", "1"])]
    assert "A-UNCLAIMED" in refused["errors"][0]["message"]
    # "all my keys" with an unclaimed device among them is refused too
    everything = await create(gql, token, filter={})
    assert [(e["code"], e["field"]) for e in everything["errors"]] == [("UNCLAIMED", ["filter"])]
    assert "A-UNCLAIMED" in everything["errors"][0]["message"]
    assert await snapshot(runtime) == before
    # narrowed to the claimed ones, it works
    claimed = await create(gql, token, filter={"claimStatus": "CLAIMED"})
    assert claimed["errors"] == [] and claimed["keyDownload"]["deviceCount"] == 3


async def test_many_unclaimed_devices_are_named_up_to_a_limit_and_counted(gql, world, runtime):
    await add_devices(
        runtime, world.organisations["a"].id, [(f"U-{i:04d}", "TOPAS Lora W8", False, []) for i in range(105)]
    )
    refused = await create(gql, world.tokens["admin_a"], filter={"serialNumberPrefix": "U-"})
    errors = refused["errors"]
    assert [e["code"] for e in errors] == ["UNCLAIMED"] * 101
    assert [e["message"].split()[1] for e in errors[:100]] == [f"U-{i:04d}" for i in range(100)]
    assert "5 more" in errors[100]["message"] and "105 in all" in errors[100]["message"]


async def test_another_tenants_device_reads_like_an_unknown_one(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    other = await create(gql, token, deviceIds=[gid(ids["A-0001"]), gid(ids["B-0001"])])
    unknown = await create(gql, token, deviceIds=[gid(ids["A-0001"]), gid(999_999)])
    assert other == unknown
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("NOT_FOUND", ["deviceIds", "1"])]
    # by filter, B's serial number simply matches nothing of A's
    by_serial = await create(gql, token, filter={"serialNumber": "B-0001"})
    assert [e["code"] for e in by_serial["errors"]] == ["NOT_FOUND"]
    assert await download_count(runtime) == 0


async def test_empty_selections_and_devices_without_keys(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    no_keys = await add_devices(runtime, world.organisations["a"].id, [("A-NOKEYS", "TOPAS Lora W8", True, [])])
    token = world.tokens["admin_a"]
    assert [e["code"] for e in (await create(gql, token, deviceIds=[]))["errors"]] == ["REQUIRED"]
    assert [e["code"] for e in (await create(gql, token, filter={"serialNumberPrefix": "ZZZ"}))["errors"]] == [
        "NOT_FOUND"
    ]
    assert [e["code"] for e in (await create(gql, token, deviceIds=[gid(no_keys["A-NOKEYS"])]))["errors"]] == [
        "NOT_FOUND"
    ]
    too_many = await create(gql, token, deviceIds=[gid(ids["A-0001"])] * 1001)
    assert [e["code"] for e in too_many["errors"]] == ["TOO_MANY"]
    bad_filter = await create(gql, token, filter={"productTypeId": "nonsense"})
    assert [(e["code"], e["field"]) for e in bad_filter["errors"]] == [("INVALID", ["filter", "productTypeId"])]
    assert await download_count(runtime) == 0


async def test_exactly_one_of_device_ids_and_filter(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    both = await create(gql, token, deviceIds=[gid(ids["A-0001"])], filter={})
    neither = await create(gql, token)
    assert [e["code"] for e in both["errors"]] == ["INVALID"]
    assert [e["code"] for e in neither["errors"]] == ["REQUIRED"]
    assert await download_count(runtime) == 0


# --- a download, its content and its link ------------------------------------------------------------------


async def test_download_content_in_the_users_delimiter(gql, client, world, runtime, caplog):
    ids, keys = await seed(runtime, world)
    async with runtime.session_factory() as session, session.begin():
        (await session.get(m.User, world.users["admin_a"].id)).csv_delimiter = "\t"
    token = world.tokens["admin_a"]
    caplog.set_level(logging.DEBUG)

    created = await create(gql, token, filter={"claimStatus": "CLAIMED"})
    assert created["errors"] == []
    record = created["keyDownload"]
    # A-0001, A-0002, A1-0001; the revoked keys not counted
    assert (record["deviceCount"], record["keyCount"]) == (3, 6)
    assert record["csvDelimiter"] == "\t" and record["downloadedAt"] is None
    assert record["user"] == {"email": "admin@a.example"} and record["organisation"] == {"name": "Tenant A"}
    assert created["url"].startswith("http://testserver/downloads/")

    response = await client.get(path_of(created["url"]), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == f'attachment; filename="keys-{utcnow().date().isoformat()}.csv"'
    rows = parse(response.text, "\t")
    assert rows[0] == HEADER
    expected = sorted(
        [serial, product, kind, algorithm, key.hex().upper()]
        for serial, product in (
            ("A-0001", "CalecST III WM-Bus"),
            ("A-0002", "TOPAS Lora W8"),
            ("A1-0001", "aquastream LoRa"),
        )
        for kind, algorithm, key in keys[serial]
    )
    assert rows[1:] == expected  # ordered by serial number (then key), keys in upper-case hex
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])

    # the link worked once: the record shows when, the history has both events, free of key material
    async with runtime.session_factory() as session:
        download = await session.scalar(select(c.KeyDownload))
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action.startswith("keys.")).order_by(AuditEvent.id)
            )
        ).all()
        devices = (await session.scalars(select(c.KeyDownloadDevice.device_id))).all()
    assert download.downloaded_at is not None
    assert sorted(devices) == sorted(ids[s] for s in ("A-0001", "A-0002", "A1-0001"))
    assert [(e.action, e.details["deviceCount"], e.details["keyCount"]) for e in events] == [
        ("keys.download_created", 3, 6),
        ("keys.downloaded", 3, 6),
    ]
    assert all(e.target_type == "KeyDownload" and e.target_id == download.id for e in events)
    secrets_seen = [key.hex() for entries in keys.values() for _, _, key in entries]
    for text in [str(e.details) for e in events] + [caplog.text, str(created)]:
        for hex_key in secrets_seen:
            assert hex_key not in text.lower()
    # the link's token is not recorded by us (access logs may show the path: useless without the bearer, and once used)
    token_part = path_of(created["url"]).rsplit("/", 1)[1]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("fleetgraph"))
    assert token_part not in ours and all(token_part not in str(e.details) for e in events)


async def test_one_device_and_a_selection(gql, client, world, runtime):
    ids, keys = await seed(runtime, world)
    token = world.tokens["admin_a"]
    one = await create(gql, token, deviceIds=[gid(ids["A1-0001"])])
    assert (one["keyDownload"]["deviceCount"], one["keyDownload"]["keyCount"]) == (1, 2)
    body = (await client.get(path_of(one["url"]), headers={"Authorization": f"Bearer {token}"})).text
    rows = parse(body, ";")  # the default delimiter
    assert [r[0] for r in rows[1:]] == ["A1-0001", "A1-0001"]
    assert {bytes.fromhex(r[4]) for r in rows[1:]} == {key for _, _, key in keys["A1-0001"]}

    selection = await create(gql, token, deviceIds=[gid(ids["A-0002"]), gid(ids["A-0001"]), gid(ids["A-0002"])])
    assert (selection["keyDownload"]["deviceCount"], selection["keyDownload"]["keyCount"]) == (2, 4)


async def test_link_refusals(gql, client, world, runtime):
    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    created = await create(gql, token, deviceIds=[gid(ids["A-0001"])])
    path = path_of(created["url"])
    async with runtime.session_factory() as session, session.begin():
        other_admin = await add_user(
            session, world.organisations["a"], "second-admin@a.example", [m.Role.ORGANISATION_ADMIN]
        )
        other_admin_token = await issue_token(session, other_admin)

    no_bearer = await client.get(path)
    assert no_bearer.status_code == 401 and no_bearer.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get(path, headers={"Authorization": "Bearer fga_not-a-token"})).status_code == 401
    # another user's bearer, even an admin of the same organisation or a platform admin: like an unknown link
    unknown = await client.get("/downloads/not-a-download", headers={"Authorization": f"Bearer {token}"})
    assert unknown.status_code == 404
    for other in (other_admin_token, world.tokens["platform"], world.tokens["admin_b"]):
        response = await client.get(path, headers={"Authorization": f"Bearer {other}"})
        assert (response.status_code, response.text) == (unknown.status_code, unknown.text)
    assert (await client.get(path, headers={"Authorization": f"Bearer {world.tokens['user_a']}"})).status_code == 403

    # none of that used the link up
    first = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200 and len(parse(first.text, ";")) == 3
    again = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 410 and "serial_number" not in again.text
    async with runtime.session_factory() as session:
        served = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.downloaded"))).all()
    assert len(served) == 1


async def test_expired_link_is_gone(gql, client, world, runtime):
    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    created = await create(gql, token, deviceIds=[gid(ids["A-0001"])])
    expires_at = created["keyDownload"]["expiresAt"]
    ttl = runtime.settings.key_download_ttl_seconds
    from datetime import datetime

    assert abs((datetime.fromisoformat(expires_at) - utcnow()).total_seconds() - ttl) < 30
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(c.KeyDownload).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = await client.get(path_of(created["url"]), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 410 and "expired" in response.text
    async with runtime.session_factory() as session:
        assert await session.scalar(select(c.KeyDownload.downloaded_at)) is None


async def test_devices_that_changed_hands_are_skipped_when_served(gql, client, world, runtime):
    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    created = await create(gql, token, deviceIds=[gid(ids["A-0001"]), gid(ids["A-0002"]), gid(ids["A1-0001"])])
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(c.Device).where(c.Device.id == ids["A-0002"]).values(organisation_id=world.organisations["b"].id)
        )
        await session.execute(
            update(c.Device).where(c.Device.id == ids["A1-0001"]).values(claim_status=c.ClaimStatus.UNCLAIMED)
        )
    response = await client.get(path_of(created["url"]), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert {row[0] for row in parse(response.text, ";")[1:]} == {"A-0001"}
    assert response.headers["x-skipped-devices"] == "2" and response.headers["x-key-count"] == "2"
    async with runtime.session_factory() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "keys.downloaded"))
    assert event.details == {"deviceCount": 1, "keyCount": 2, "skippedDevices": 2}


# --- a large download streams ----------------------------------------------------------------------------


LARGE_DEVICES = 15_000  # two keys each: 30,000 keys


async def seed_large(runtime, organisation_id: int) -> None:
    types = await product_type_ids(runtime)
    async with runtime.session_factory() as session, session.begin():
        first_id = (await session.scalar(select(func.max(c.Device.id))) or 0) + 1
        device_rows = [
            dict(
                id=first_id + i,
                manufacturer=MANUFACTURER,
                serial_number=f"L{i:07d}",
                product_type_id=types["TOPAS Lora W8"],
                organisation_id=organisation_id,
                claim_status=c.ClaimStatus.CLAIMED,
                created_at=utcnow(),
            )
            for i in range(LARGE_DEVICES)
        ]
        await session.execute(insert(c.Device), device_rows)
        key_rows = []
        for row in device_rows:
            for kind in (c.KeyKind.LORAWAN_APP_KEY, c.KeyKind.LORAWAN_NWK_KEY):
                # a key derived from the device, so the test can check every row without keeping the keys
                key = row["serial_number"].encode().ljust(16, b"k")
                sealed, version = seal_device_key(runtime.sealer, row["id"], kind, c.KeyAlgorithm.AES_128, key)
                key_rows.append(
                    dict(
                        device_id=row["id"],
                        kind=kind,
                        algorithm=c.KeyAlgorithm.AES_128,
                        sealed=sealed,
                        master_key_version=version,
                        state=c.KeyState.ACTIVE,
                        created_at=utcnow(),
                    )
                )
        await session.execute(insert(c.DeviceKey), key_rows)


async def test_a_large_download_is_streamed_in_chunks(gql, world, runtime, live_server, count_sql):
    await seed_large(runtime, world.organisations["a"].id)
    token = world.tokens["admin_a"]
    created = await create(gql, token, filter={})
    assert created["errors"] == [] and created["keyDownload"]["keyCount"] == 2 * LARGE_DEVICES

    async with runtime.session_factory() as session:
        few = (await session.scalars(select(c.Device.id).order_by(c.Device.id).limit(3))).all()
    warm_up = await create(gql, token, deviceIds=[gid(pk) for pk in few])

    chunks, size, rows, previous = 0, 0, 0, ""
    async with httpx.AsyncClient(base_url=f"http://{live_server}", timeout=120) as http:
        # a small download first: what is made once per process (compiled SQL, connections) is not counted below
        small = await http.get(path_of(warm_up["url"]), headers={"Authorization": f"Bearer {token}"})
        assert small.status_code == 200 and len(parse(small.text, ";")) == 7
        tracemalloc.start()
        try:
            with count_sql() as counter:
                async with http.stream(
                    "GET", path_of(created["url"]), headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    assert response.status_code == 200
                    assert "content-length" not in response.headers  # sent as it is made, not as one body
                    pending = ""
                    async for text in response.aiter_text():
                        chunks += 1
                        size += len(text)
                        lines = (pending + text).split("\r\n")
                        pending = lines.pop()
                        for line in lines:
                            if line.startswith("serial_number"):
                                continue
                            serial, _product, _kind, _algorithm, key = line.split(";")
                            assert bytes.fromhex(key) == serial.encode().ljust(16, b"k") and serial >= previous
                            previous, rows = serial, rows + 1
                    assert pending == ""
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert rows == 2 * LARGE_DEVICES
    # one key query, read through a cursor (no query per device or per page), few statements in all
    assert len([s for s in counter.statements if "device_key.sealed" in s]) == 1
    assert counter.count < 15, counter.statements
    # sent as separate chunks, and the server never held as much as the CSV at once (the rows of one page take
    # about 1 MB; building the whole CSV first peaks at twice its size, about 5 MB here)
    assert chunks >= LARGE_DEVICES // PAGE_SIZE
    assert peak < size, (peak, size)


# --- the list of downloads ---------------------------------------------------------------------------------

LIST = """query($first: Int, $devicesFirst: Int, $after: String) { keyDownloads(first: $first) {
  totalCount
  nodes { id deviceCount keyCount downloadedAt user { email } organisation { name }
          devices(first: $devicesFirst, after: $after) { totalCount nodes { serialNumber } pageInfo {
            hasNextPage endCursor } } }
} }"""


async def add_download_row(runtime, user_key: str, organisation_key: str, world, device_ids: list[int]) -> int:
    """A download made earlier by someone else (e.g. in a child organisation), straight into the database."""
    async with runtime.session_factory() as session, session.begin():
        download = c.KeyDownload(
            user_id=world.users[user_key].id,
            organisation_id=world.organisations[organisation_key].id,
            device_count=len(device_ids),
            key_count=2 * len(device_ids),
            token_hash=secrets.token_hex(32),
            expires_at=utcnow() + timedelta(minutes=5),
            created_at=utcnow() - timedelta(hours=1),
        )
        session.add(download)
        await session.flush()
        session.add_all(c.KeyDownloadDevice(key_download_id=download.id, device_id=pk) for pk in device_ids)
    return download.id


async def test_key_downloads_list_by_organisation_subtree(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    in_a1 = await add_download_row(runtime, "user_a1", "a1", world, [ids["A1-0001"]])
    first = await create(gql, world.tokens["admin_a"], deviceIds=[gid(ids["A-0002"]), gid(ids["A-0001"])])
    second = await create(gql, world.tokens["admin_a"], deviceIds=[gid(ids["A-0001"])])
    in_b = await create(gql, world.tokens["admin_b"], filter={})

    seen_by_a = (await gql(LIST, {"first": 10, "devicesFirst": 1}, token=world.tokens["admin_a"]))["data"][
        "keyDownloads"
    ]
    assert seen_by_a["totalCount"] == 3
    # newest first; A's admin sees the downloads of A and of its child A1, never B's
    assert [n["id"] for n in seen_by_a["nodes"]] == [
        second["keyDownload"]["id"],
        first["keyDownload"]["id"],
        to_global_id("KeyDownload", in_a1),
    ]
    newest, older, child = seen_by_a["nodes"]
    assert (older["deviceCount"], older["keyCount"], older["user"], older["organisation"]) == (
        2,
        4,
        {"email": "admin@a.example"},
        {"name": "Tenant A"},
    )
    assert child["user"] == {"email": "user@a1.example"} and child["organisation"] == {"name": "Tenant A1"}
    # the devices of a download, by serial number, a page at a time
    assert older["devices"]["totalCount"] == 2 and [d["serialNumber"] for d in older["devices"]["nodes"]] == ["A-0001"]
    assert older["devices"]["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        """query($id: ID!, $after: String) { node(id: $id) { ... on KeyDownload {
        devices(first: 5, after: $after) { nodes { serialNumber } pageInfo { hasNextPage } } } } }""",
        {"id": older["id"], "after": older["devices"]["pageInfo"]["endCursor"]},
        token=world.tokens["admin_a"],
    )
    assert rest["data"]["node"]["devices"] == {
        "nodes": [{"serialNumber": "A-0002"}],
        "pageInfo": {"hasNextPage": False},
    }
    assert newest["devices"]["pageInfo"]["hasNextPage"] is False

    seen_by_b = (await gql(LIST, {"first": 10}, token=world.tokens["admin_b"]))["data"]["keyDownloads"]
    assert [n["id"] for n in seen_by_b["nodes"]] == [in_b["keyDownload"]["id"]]
    other = await gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": first["keyDownload"]["id"]}, token=world.tokens["admin_b"]
    )
    assert other["data"]["node"] is None
    assert (await gql(LIST, {"first": 10}, token=world.tokens["platform"]))["data"]["keyDownloads"]["totalCount"] == 4
    forbidden = await gql(LIST, {"first": 10}, token=world.tokens["user_a"])
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_device_given_away_is_no_longer_listed_in_a_download(gql, world, runtime):
    ids, _ = await seed(runtime, world)
    created = await create(gql, world.tokens["admin_a"], deviceIds=[gid(ids["A-0002"]), gid(ids["A-0001"])])
    async with runtime.session_factory() as session, session.begin():
        await session.execute(
            update(c.Device).where(c.Device.id == ids["A-0002"]).values(organisation_id=world.organisations["b"].id)
        )
    listed = (await gql(LIST, {"first": 10}, token=world.tokens["admin_a"]))["data"]["keyDownloads"]["nodes"][0]
    assert listed["deviceCount"] == 2  # the record keeps what was selected then
    assert [d["serialNumber"] for d in listed["devices"]["nodes"]] == ["A-0001"] and listed["devices"][
        "totalCount"
    ] == 1
    assert listed["id"] == created["keyDownload"]["id"]


async def test_two_simultaneous_fetches_get_the_keys_once(gql, client, world, runtime):
    import asyncio

    ids, _ = await seed(runtime, world)
    token = world.tokens["admin_a"]
    created = await create(gql, token, deviceIds=[gid(ids["A-0001"])])
    responses = await asyncio.gather(
        *(client.get(path_of(created["url"]), headers={"Authorization": f"Bearer {token}"}) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 410, 410, 410]


async def test_a_key_that_does_not_open_aborts_the_stream_without_revealing_keys(
    gql, world, runtime, live_server, caplog
):
    ids, keys = await seed(runtime, world)
    token = world.tokens["admin_a"]
    created = await create(gql, token, deviceIds=[gid(ids["A-0001"]), gid(ids["A-0002"])])
    async with runtime.session_factory() as session, session.begin():
        # A-0002's keys swapped for A-0001's ciphertexts: bound to another device, they must not open
        sealed = (
            await session.scalars(
                select(c.DeviceKey.sealed)
                .where(c.DeviceKey.device_id == ids["A-0001"], c.DeviceKey.state == c.KeyState.ACTIVE)
                .order_by(c.DeviceKey.id)
            )
        ).all()
        targets = (
            await session.scalars(
                select(c.DeviceKey).where(c.DeviceKey.device_id == ids["A-0002"]).order_by(c.DeviceKey.id)
            )
        ).all()
        for row, copied in zip(targets, sealed, strict=True):
            row.sealed = copied
    caplog.set_level(logging.INFO)
    received = b""
    async with httpx.AsyncClient(base_url=f"http://{live_server}", timeout=30) as http:
        with pytest.raises(httpx.HTTPError):  # the response ends without its last chunk: visibly incomplete
            async with http.stream(
                "GET", path_of(created["url"]), headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert response.status_code == 200
                async for chunk in response.aiter_bytes():
                    received += chunk
    assert b"A-0002" not in received
    assert any("did not open" in r.getMessage() for r in caplog.records if r.name.startswith("fleetgraph"))
    for entries in keys.values():
        for _, _, key in entries:
            assert key.hex() not in caplog.text.lower()
