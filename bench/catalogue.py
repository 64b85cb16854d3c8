"""The device catalogue at scale: a filtered page of 100 nested devices and a 10,000-key download
over HTTP, next to the same rows fetched with plain SQLAlchemy Core in the same run.

Seeds a scratch SQLite file under /tmp/bench-catalogue-* (or an empty database given with
--database-url) with 100,000 devices: a few organisations, 20 batches, the shipped product types,
labels on about a third of the devices and one or two keys per device, sealed for real with the
runtime's sealer. Then starts fleetgraph and a plain Starlette app as real uvicorn processes and
times, in alternating order so that machine noise hits every side alike:

- catalogue page (`devices(filter: {claimStatus: CLAIMED, productTypeId: …}, first: 100)` with
  totalCount, cursors, pageInfo and every device's product type, organisation, batch and labels):
    graphql     POST /graphql on fleetgraph, bearer token.
    plain_http  GET /catalogue on the plain app: token lookup + DEVICES_READ, then the page with
                SQLAlchemy Core (one joined select, one labels select, one count), orjson, the same
                JSON body. The fair baseline: same work, same HTTP stack.
    core        the same Core function called in this process on one connection, orjson: no HTTP,
                no auth. The floor.
- 10,000-key download (selected by a label on 5,000 devices with two keys each):
    graphql     keyDownloadCreate + GET of the one-time link, streaming the CSV (create + fetch).
                Skipped with "download API not available" while the schema lacks the mutation.
    plain_http  GET /keys on the plain app: token lookup + KEYS_DOWNLOAD, Core select of the keys
                joined with device and product type, open_device_key, csv module, one response.
    core        the same Core + decrypt + csv in this process.

    .venv/bin/python bench/catalogue.py                          # 100,000 devices, 100 page runs, 10 download runs
    .venv/bin/python bench/catalogue.py --devices 2000 --runs 3 --download-runs 2   # a quick check
    .venv/bin/python bench/catalogue.py --database-url postgresql+asyncpg://u:p@127.0.0.1/empty_db

Results go to bench/results/catalogue.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import csv
import io
import json
import random
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import common
from common import ROOT

PASSWORD = "Bench-Catalogue#Reader42"
PAGE_SIZE = 100
PAGE_PRODUCT_TYPE = "TOPAS Lora W8"  # the page filter: CLAIMED devices of this product type
DOWNLOAD_LABEL = "bench-download"
CSV_HEADER = ["serial_number", "product_type", "key_kind", "algorithm", "key"]
LABELS = ["building-a", "building-b", "north", "south", "leak-watch", "replace-2027", "pilot"]

PAGE_QUERY = """
query($filter: DeviceFilter, $first: Int) {
  devices(filter: $filter, first: $first) {
    totalCount
    edges {
      cursor
      node {
        id serialNumber manufacturer claimStatus createdAt claimedAt
        productType { id name radioTechnology }
        organisation { id name }
        batch { id reference label }
        labels
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""
MUTATIONS_QUERY = '{ __type(name: "Mutation") { fields { name } } }'
REAUTHENTICATE = "mutation($p: String) { sessionReauthenticate(input: {password: $p}) { errors { message } } }"
DOWNLOAD_CREATE = (
    "mutation($f: DeviceFilter) { keyDownloadCreate(input: {filter: $f}) "
    "{ url keyDownload { keyCount } errors { code message } } }"
)


# --------------------------------------------------------------------------------------------------
# The plain SQLAlchemy Core side (used in this process and by the plain server)


def to_global_id(type_name: str, pk: int) -> str:
    from graph.relay import to_global_id as encode

    return encode(type_name, pk)


def encode_cursor(values: list[Any]) -> str:
    """As graph.relay does: base64 of the sort key values (serial number, id)."""
    import orjson

    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def device_visible(org_path: str):
    """graph.tenancy by hand: devices owned within the caller's subtree."""
    from sqlalchemy import select

    from models import catalogue as c
    from models import identity as m

    return c.Device.__table__.c.organisation_id.in_(
        select(m.Organisation.__table__.c.id).where(
            m.Organisation.__table__.c.path.startswith(org_path, autoescape=True)
        )
    )


async def core_catalogue_page(
    connection, org_path: str, product_type_id: int, first: int = PAGE_SIZE
) -> dict[str, Any]:
    """The catalogue page with SQLAlchemy Core: page + labels + count, in the GraphQL answer's shape."""
    from sqlalchemy import func, select

    from models import catalogue as c
    from models import identity as m

    device, product_type, batch = c.Device.__table__, c.ProductType.__table__, c.Batch.__table__
    owner, label = m.Organisation.__table__.alias("owner"), c.DeviceLabel.__table__
    conditions = [
        device_visible(org_path),
        device.c.claim_status == c.ClaimStatus.CLAIMED,
        device.c.product_type_id == product_type_id,
    ]
    page = (
        await connection.execute(
            select(
                device.c.id,
                device.c.serial_number,
                device.c.manufacturer,
                device.c.claim_status,
                device.c.created_at,
                device.c.claimed_at,
                product_type.c.id.label("pt_id"),
                product_type.c.name.label("pt_name"),
                product_type.c.radio_technology,
                owner.c.id.label("org_id"),
                owner.c.name.label("org_name"),
                batch.c.id.label("batch_id"),
                batch.c.reference,
                batch.c.label,
            )
            .select_from(
                device.join(product_type, product_type.c.id == device.c.product_type_id)
                .outerjoin(owner, owner.c.id == device.c.organisation_id)
                .outerjoin(batch, batch.c.id == device.c.batch_id)
            )
            .where(*conditions)
            .order_by(device.c.serial_number, device.c.id)
            .limit(first + 1)
        )
    ).all()
    has_next, page = len(page) > first, page[:first]
    labels: dict[int, list[str]] = {row.id: [] for row in page}
    if page:
        for device_id, text in await connection.execute(
            select(label.c.device_id, label.c.label).where(label.c.device_id.in_(list(labels))).order_by(label.c.label)
        ):
            labels[device_id].append(text)
    total = (await connection.execute(select(func.count()).select_from(device).where(*conditions))).scalar_one()
    edges = [
        {
            "cursor": encode_cursor([row.serial_number, row.id]),
            "node": {
                "id": to_global_id("Device", row.id),
                "serialNumber": row.serial_number,
                "manufacturer": row.manufacturer,
                "claimStatus": row.claim_status.value,
                "createdAt": row.created_at,  # orjson writes aware datetimes as isoformat() does
                "claimedAt": row.claimed_at,
                "productType": {
                    "id": to_global_id("ProductType", row.pt_id),
                    "name": row.pt_name,
                    "radioTechnology": row.radio_technology.value,
                },
                "organisation": {"id": to_global_id("Organisation", row.org_id), "name": row.org_name},
                "batch": None
                if row.batch_id is None
                else {"id": to_global_id("Batch", row.batch_id), "reference": row.reference, "label": row.label},
                "labels": labels[row.id],
            },
        }
        for row in page
    ]
    return {
        "totalCount": total,
        "edges": edges,
        "pageInfo": {"hasNextPage": has_next, "endCursor": edges[-1]["cursor"] if edges else None},
    }


async def core_key_csv(connection, sealer, org_path: str, label_text: str, delimiter: str) -> bytes:
    """The keys of the devices with a label, opened and written as the download's CSV (in memory)."""
    from sqlalchemy import select

    from models import catalogue as c
    from resolvers.catalogue.keys import open_device_key

    device, product_type, key = c.Device.__table__, c.ProductType.__table__, c.DeviceKey.__table__
    label = c.DeviceLabel.__table__
    rows = (
        await connection.execute(
            select(
                key.c.device_id,
                key.c.kind,
                key.c.algorithm,
                key.c.sealed,
                device.c.serial_number,
                device.c.claim_status,
                product_type.c.name,
            )
            .select_from(
                key.join(device, device.c.id == key.c.device_id).join(
                    product_type, product_type.c.id == device.c.product_type_id
                )
            )
            .where(
                device_visible(org_path),
                key.c.state == c.KeyState.ACTIVE,
                device.c.id.in_(select(label.c.device_id).where(label.c.label == label_text)),
            )
            .order_by(device.c.serial_number, key.c.kind, key.c.id)
        )
    ).all()
    if any(row.claim_status != c.ClaimStatus.CLAIMED for row in rows):
        raise RuntimeError("the selection has UNCLAIMED devices")  # the API refuses those too
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                row.serial_number,
                row.name,
                row.kind.value,
                row.algorithm.value,
                open_device_key(sealer, row).hex().upper(),
            ]
        )
    return out.getvalue().encode()


def create_plain_app(settings):
    """The plain Starlette app: bearer token + permission check, then the Core functions above."""
    import orjson
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from graph.db import create_engine
    from graph.secrets import load_sealer
    from models import identity as m

    engine = create_engine(settings)  # same engine set-up as fleetgraph (SQLite pragmas, pool)
    sealer = load_sealer(settings)

    async def catalogue(request: Request) -> Response:
        async with engine.connect() as connection:
            caller = await common.authorise(connection, request, m.Permission.DEVICES_READ)
            if caller is None:
                return common.refused()
            page = await core_catalogue_page(
                connection,
                caller.path,
                int(request.query_params["productType"]),
                int(request.query_params.get("first", PAGE_SIZE)),
            )
        return Response(orjson.dumps({"data": {"devices": page}}), media_type="application/json")

    async def keys(request: Request) -> Response:
        async with engine.connect() as connection:
            caller = await common.authorise(connection, request, m.Permission.KEYS_DOWNLOAD)
            if caller is None:
                return common.refused()
            body = await core_key_csv(
                connection, sealer, caller.path, request.query_params["label"], caller.csv_delimiter
            )
        return Response(body, media_type="text/csv", headers={"cache-control": "no-store"})

    return common.plain_app(engine, [Route("/catalogue", catalogue), Route("/keys", keys)])


# --------------------------------------------------------------------------------------------------
# Seeding: Core bulk inserts, keys sealed for real


async def insert_returning_ids(connection, table, rows: list[dict[str, Any]], chunk: int = 5000) -> list[int]:
    from sqlalchemy import insert

    ids: list[int] = []
    for start in range(0, len(rows), chunk):
        result = await connection.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows[start : start + chunk]
        )
        ids.extend(result.scalars().all())
    return ids


async def insert_many(connection, table, rows: list[dict[str, Any]], chunk: int = 10000) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), chunk):
        await connection.execute(insert(table), rows[start : start + chunk])


async def make_organisation_admin(connection, user_id: int, now: datetime) -> str:
    """Makes the user an organisation admin (DEVICES_READ, KEYS_DOWNLOAD) with an access token; returns it."""
    from graph.auth import hash_token, new_token
    from models import identity as m

    await insert_many(connection, m.UserRole.__table__, [{"user_id": user_id, "role": m.Role.ORGANISATION_ADMIN}])
    token = new_token(m.TokenKind.ACCESS)
    token_row = {
        "user_id": user_id,
        "kind": m.TokenKind.ACCESS,
        "token_hash": hash_token(token),
        "session_id": str(uuid.uuid4()),
        "authenticated_at": now,
        "expires_at": now + timedelta(hours=12),
    }
    await insert_many(connection, m.AuthToken.__table__, [token_row])
    return token


async def seed(settings, devices: int, download_devices: int, seed_value: int) -> dict[str, Any]:
    """Migrate (Runtime.start(auto_migrate=True), which also installs the product types), then bulk-insert."""
    from sqlalchemy import func, select

    from graph.passwords import hash_password
    from graph.runtime import Runtime
    from models import catalogue as c
    from models import identity as m
    from models.base import utcnow
    from resolvers.catalogue.keys import seal_device_key
    from resolvers.catalogue.product_types.rules import MANUFACTURER, ensure_product_types

    rng = random.Random(seed_value)
    runtime = Runtime(settings)
    await runtime.start(auto_migrate=True)
    try:
        async with runtime.session_factory() as session, session.begin():
            await ensure_product_types(session)  # done by start() already; idempotent
        async with runtime.engine.begin() as connection:
            if (await connection.execute(select(func.count()).select_from(c.Device.__table__))).scalar_one():
                raise SystemExit(
                    "the database already has devices: use an empty database (or the default scratch file)"
                )
            org_t = m.Organisation.__table__
            now = utcnow()
            org_names = ["Bench Manufacturer", "Bench Utility", "Bench Utility North", "Bench Other Utility"]
            org_ids = await insert_returning_ids(
                connection,
                org_t,
                [{"name": name, "public_id": str(uuid.uuid4()), "path": "", "created_at": now} for name in org_names],
            )
            manufacturer, utility, north, other = org_ids
            paths = {
                manufacturer: f"/{manufacturer}/",
                utility: f"/{utility}/",
                north: f"/{utility}/{north}/",
                other: f"/{other}/",
            }
            for org_id, path_ in paths.items():
                await connection.execute(
                    org_t.update()
                    .where(org_t.c.id == org_id)
                    .values(path=path_, parent_id=utility if org_id == north else None)
                )
            # The reader: organisation admin of the utility (DEVICES_READ and KEYS_DOWNLOAD), known password.
            (user_id,) = await insert_returning_ids(
                connection,
                m.User.__table__,
                [
                    {
                        "organisation_id": utility,
                        "email": f"bench-{uuid.uuid4().hex[:8]}@bench.example",
                        "name": "Bench Reader",
                        "language": "en",
                        "csv_delimiter": ";",
                        "csv_thousands_separator": "",
                        "password_hash": hash_password(PASSWORD),
                        "password_changed_at": now,
                        "is_active": True,
                        "require_two_factor": False,
                        "totp_confirmed": False,
                        "totp_last_step": 0,
                        "created_at": now,
                    }
                ],
            )
            token = await make_organisation_admin(connection, user_id, now)

            product_types = (
                await connection.execute(
                    select(c.ProductType.id, c.ProductType.name, c.ProductType.key_kinds).order_by(c.ProductType.id)
                )
            ).all()
            two_keys = [row for row in product_types if len(row.key_kinds) == 2]

            # 20 batches from the manufacturer: 12 to the utility, 5 to its child, 3 to the other utility.
            batch_owner = [utility] * 12 + [north] * 5 + [other] * 3
            start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
            batch_ids = await insert_returning_ids(
                connection,
                c.Batch.__table__,
                [
                    {
                        "reference": f"LS-2025-{i + 1:03d}",
                        "label": f"Lot {i + 1} ({rng.choice(['spring', 'summer', 'autumn'])})",
                        "sender_organisation_id": manufacturer,
                        "organisation_id": owner,
                        "state": c.BatchState.ACCEPTED,
                        "confirmation_required": True,
                        "created_by_id": None,
                        "created_at": start + timedelta(days=14 * i),
                        "decided_at": start + timedelta(days=14 * i + 1),
                    }
                    for i, owner in enumerate(batch_owner)
                ],
            )
            batches_of = {
                owner: [b for b, o in zip(batch_ids, batch_owner, strict=True) if o == owner]
                for owner in set(batch_owner)
            }

            # Devices: the download set first (utility, CLAIMED, a two-key type, its own label), then the
            # rest (60 % utility, 20 % its child, 15 % the other utility, 5 % not handed over; 92 % of the
            # owned ones CLAIMED); shuffled before serial numbers are given so the sets interleave.
            specs: list[dict[str, Any]] = []
            for i in range(devices):
                if i < download_devices:
                    owner, pt, claimed, labels = utility, rng.choice(two_keys), True, [DOWNLOAD_LABEL]
                else:
                    owner = rng.choices([utility, north, other, None], weights=[60, 20, 15, 5])[0]
                    pt = rng.choice(product_types)
                    claimed = owner is not None and rng.random() < 0.92
                    labels = rng.sample(LABELS, rng.choice([1, 1, 2])) if rng.random() < 0.3 else []
                if i < download_devices and rng.random() < 0.3:
                    labels.append(rng.choice(LABELS))
                specs.append({"owner": owner, "pt": pt, "claimed": claimed, "labels": labels})
            rng.shuffle(specs)
            device_rows = []
            for i, spec in enumerate(specs):
                created = start + timedelta(minutes=5 * i)
                owner = spec["owner"]
                device_rows.append(
                    {
                        "manufacturer": MANUFACTURER,
                        "serial_number": f"{20_000_000 + i * 7:08d}",
                        "product_type_id": spec["pt"].id,
                        "organisation_id": owner,
                        "claim_status": c.ClaimStatus.CLAIMED if spec["claimed"] else c.ClaimStatus.UNCLAIMED,
                        "batch_id": rng.choice(batches_of[owner])
                        if owner is not None and rng.random() < 0.85
                        else None,
                        "created_at": created,
                        "claimed_at": created + timedelta(days=rng.randint(1, 60)) if spec["claimed"] else None,
                    }
                )
            device_ids = await insert_returning_ids(connection, c.Device.__table__, device_rows)
            await insert_many(
                connection,
                c.BatchDevice.__table__,
                [
                    {"batch_id": row["batch_id"], "device_id": device_id}
                    for device_id, row in zip(device_ids, device_rows, strict=True)
                    if row["batch_id"] is not None
                ],
            )
            await insert_many(
                connection,
                c.DeviceLabel.__table__,
                [
                    {"device_id": device_id, "label": text}
                    for device_id, spec in zip(device_ids, specs, strict=True)
                    for text in sorted(set(spec["labels"]))
                ],
            )

            # One key per key kind of the product type (1 or 2), sealed with the runtime's sealer.
            keys = []
            download_keys = 0
            for device_id, spec, row in zip(device_ids, specs, device_rows, strict=True):
                for kind in spec["pt"].key_kinds:
                    sealed, version = seal_device_key(
                        runtime.sealer, device_id, kind, c.KeyAlgorithm.AES_128, rng.randbytes(16)
                    )
                    keys.append(
                        {
                            "device_id": device_id,
                            "kind": kind,
                            "algorithm": c.KeyAlgorithm.AES_128,
                            "sealed": sealed,
                            "master_key_version": version,
                            "state": c.KeyState.ACTIVE,
                            "created_at": row["created_at"],
                        }
                    )
                    download_keys += DOWNLOAD_LABEL in spec["labels"]
            await insert_many(connection, c.DeviceKey.__table__, keys)
        if not settings.is_sqlite:
            async with runtime.engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
        page_type = next(row.id for row in product_types if row.name == PAGE_PRODUCT_TYPE)
        return {
            "token": token,
            "user_id": user_id,
            "org_path": paths[utility],
            "organisation_ids": org_ids,
            "page_product_type_id": page_type,
            "devices": devices,
            "keys": len(keys),
            "labelled": sum(bool(s["labels"]) for s in specs),
            "claimed": sum(s["claimed"] for s in specs),
            "download_devices": download_devices,
            "download_keys": download_keys,
        }
    finally:
        await runtime.stop()


# --------------------------------------------------------------------------------------------------
# Measuring


@contextlib.contextmanager
def counting_sql(engine: Any) -> Iterator[dict[str, int]]:
    """Statements executed and connections checked out on `engine` (an AsyncEngine) while the block runs."""
    from sqlalchemy import event

    seen = {"statements": 0, "connections": 0}

    def statement(*_: Any) -> None:
        seen["statements"] += 1

    def checkout(*_: Any) -> None:
        seen["connections"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine.pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(engine.sync_engine.pool, "checkout", checkout)


async def in_process(settings, token: str, page_body: bytes, plain_path: str, profile_calls: int) -> dict[str, Any]:
    """SQL statements and connection check-outs of one catalogue page per side, in this process (ASGI
    transport), and cProfile's own time per package over `profile_calls` pages (breakdown.py's method)."""
    import breakdown
    import httpx

    from graph.app import create_app
    from graph.runtime import Runtime

    runtime = Runtime(settings)
    await runtime.start()
    plain_app = create_plain_app(settings)
    headers = common.graphql_headers(token)
    graphql_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, runtime=runtime)), base_url="http://bench"
    )
    plain_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=plain_app), base_url="http://bench")
    calls = {
        "graphql": (runtime.engine, lambda: graphql_client.post("/graphql", content=page_body, headers=headers)),
        "plain_http": (plain_app.state.engine, lambda: plain_client.get(plain_path, headers=headers)),
    }
    counts: dict[str, dict[str, int]] = {}
    profiles: dict[str, Any] = {}
    try:
        for name, (engine, call) in calls.items():
            await call()  # warm: the first request may do one-off work
            with counting_sql(engine) as seen:
                response = await call()
            if response.status_code != 200 or b'"errors"' in response.content:
                raise SystemExit(f"{name} page failed in process: {response.status_code} {response.text[:300]}")
            counts[name] = seen
            if profile_calls:
                profiles[name] = await breakdown.profile_by_package(call, profile_calls)
    finally:
        await graphql_client.aclose()
        await plain_client.aclose()
        await plain_app.state.engine.dispose()
        await runtime.stop()
    return {"sql_per_request": counts, "cprofile_ms_per_request_by_package": profiles, "profile_calls": profile_calls}


def summarise(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "runs": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "min_ms": round(ordered[0] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "p90_ms": round(common.percentile(ordered, 90) * 1000, 2),
    }


def csv_rows(body: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode()), delimiter=delimiter))


async def interleaved(sides: dict[str, Any], runs: int, warmup: int) -> dict[str, list[float]]:
    """Warm-up calls first, then `runs` rounds calling every side once, the order rotating each round."""
    for call in sides.values():
        for _ in range(warmup):
            await call()
    timings: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for _ in range(runs):
        for name in order:
            timings[name].append(await sides[name]())
        order = order[1:] + order[:1]
    return timings


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import orjson
    from sqlalchemy.engine import make_url

    from graph.db import create_engine
    from graph.secrets import load_sealer
    from graph.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="bench-catalogue-", dir="/tmp"))
    master_key = secrets.token_hex(32)
    settings = Settings(data_dir=data_dir, database_url=args.database_url, master_key=master_key, log_level="WARNING")
    database = "sqlite" if settings.is_sqlite else make_url(settings.effective_database_url).get_backend_name()
    info = common.machine()
    print(f"database: {database} ({make_url(settings.effective_database_url).render_as_string(hide_password=True)})")
    download_devices = min(args.download_devices, args.devices // 4)
    started = time.perf_counter()
    seeded = await seed(settings, args.devices, download_devices, args.seed)
    seed_seconds = round(time.perf_counter() - started, 1)
    print(
        f"seeded {seeded['devices']} devices, {seeded['keys']} sealed keys, {seeded['labelled']} labelled, "
        f"{seeded['claimed']} claimed in {seed_seconds} s; download set: {download_devices} devices, "
        f"{seeded['download_keys']} keys"
    )

    env = common.server_env(data_dir, args.database_url, master_key)
    servers = {kind: common.Server(__file__, kind, env) for kind in ("graphql", "plain")}
    engine = create_engine(settings)  # the in-process Core side
    sealer = load_sealer(settings)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=8), timeout=300)
    token, org_path = seeded["token"], seeded["org_path"]
    auth = {"authorization": f"Bearer {token}"}
    graphql_url = servers["graphql"].base_url + "/graphql"
    graphql_headers = common.graphql_headers(token)

    async def graphql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(
            graphql_url, content=orjson.dumps({"query": query, "variables": variables or {}}), headers=graphql_headers
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"GraphQL request failed: {response.status_code} {response.text[:500]}")
        return body["data"]

    def plain_get(url: str, what: str):
        """A timed GET on the plain app (the check after the clock stops)."""

        async def call() -> float:
            began = time.perf_counter()
            response = await client.get(url, headers=auth)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"{what} failed: {response.status_code} {response.text[:300]}")
            return elapsed

        return call

    results: dict[str, Any] = {}
    try:
        await servers["graphql"].wait_ready(client, "/health")
        await servers["plain"].wait_ready(client, "/ping")

        # ---- the catalogue page
        page_type = seeded["page_product_type_id"]
        page_filter = {"claimStatus": "CLAIMED", "productTypeId": to_global_id("ProductType", page_type)}
        page_body = orjson.dumps({"query": PAGE_QUERY, "variables": {"filter": page_filter, "first": PAGE_SIZE}})
        plain_page_url = f"{servers['plain'].base_url}/catalogue?productType={page_type}&first={PAGE_SIZE}"

        async def page_graphql() -> float:
            began = time.perf_counter()
            response = await client.post(graphql_url, content=page_body, headers=graphql_headers)
            elapsed = time.perf_counter() - began
            if response.status_code != 200 or b'"errors"' in response.content:
                raise SystemExit(f"graphql page failed: {response.status_code} {response.text[:300]}")
            return elapsed

        page_plain_http = plain_get(plain_page_url, "plain page")

        async def page_core_body() -> bytes:
            async with engine.connect() as connection:
                return orjson.dumps({"data": {"devices": await core_catalogue_page(connection, org_path, page_type)}})

        async def page_core() -> float:
            began = time.perf_counter()
            await page_core_body()
            return time.perf_counter() - began

        # The same answer from every side before anything is timed.
        expected = (await client.post(graphql_url, content=page_body, headers=graphql_headers)).json()
        if expected.get("errors"):
            raise SystemExit(f"graphql page failed: {expected['errors']}")
        plain_answer = (await client.get(plain_page_url, headers=auth)).json()
        core_answer = orjson.loads(await page_core_body())
        for name, answer in (("plain_http", plain_answer), ("core", core_answer)):
            if answer.get("data") != expected["data"]:
                raise SystemExit(
                    f"{name} answers differently from GraphQL:\n{json.dumps(answer)[:800]}\n"
                    f"{json.dumps(expected)[:800]}"
                )
        devices_page = expected["data"]["devices"]
        print(
            f"catalogue page: every side answers the same {len(devices_page['edges'])} devices of "
            f"{devices_page['totalCount']} ({len(orjson.dumps(expected['data']))} bytes of data)"
        )
        timings = await interleaved(
            {"graphql": page_graphql, "plain_http": page_plain_http, "core": page_core}, args.runs, args.warmup
        )
        sides = {name: summarise(values) for name, values in timings.items()}
        measured = await in_process(
            settings, token, page_body, f"/catalogue?productType={page_type}&first={PAGE_SIZE}", args.profile_calls
        )
        results["catalogue_page"] = {
            "query": PAGE_QUERY.strip(),
            "variables": {
                "filter": {**page_filter, "productTypeId": f"{PAGE_PRODUCT_TYPE} ({page_filter['productTypeId']})"},
                "first": PAGE_SIZE,
            },
            "total_count": devices_page["totalCount"],
            "response_bytes": len(orjson.dumps(expected)),
            "sides": sides,
            "ratio_median_vs_plain_http": round(sides["graphql"]["median_ms"] / sides["plain_http"]["median_ms"], 2),
            "ratio_median_vs_core": round(sides["graphql"]["median_ms"] / sides["core"]["median_ms"], 2),
            **measured,
        }

        # ---- the key download
        mutations = {field["name"] for field in (await graphql(MUTATIONS_QUERY))["__type"]["fields"]}
        download_filter = {"labels": [DOWNLOAD_LABEL]}
        plain_keys_url = f"{servers['plain'].base_url}/keys?label={DOWNLOAD_LABEL}"
        delimiter = ";"  # the seeded user's CSV delimiter

        async def keys_core_body() -> bytes:
            async with engine.connect() as connection:
                return await core_key_csv(connection, sealer, org_path, DOWNLOAD_LABEL, delimiter)

        async def keys_core() -> float:
            began = time.perf_counter()
            await keys_core_body()
            return time.perf_counter() - began

        keys_plain_http = plain_get(plain_keys_url, "plain keys")

        reauthenticated_at = [float("-inf")]

        async def keys_graphql_once() -> tuple[float, float, bytes]:
            # A recent authentication is required (5 minutes): renewed untimed, well before it lapses.
            if time.monotonic() - reauthenticated_at[0] > 120:
                errors = (await graphql(REAUTHENTICATE, {"p": PASSWORD}))["sessionReauthenticate"]["errors"]
                if errors:
                    raise SystemExit(f"sessionReauthenticate refused: {errors}")
                reauthenticated_at[0] = time.monotonic()
            began = time.perf_counter()
            created = (await graphql(DOWNLOAD_CREATE, {"f": download_filter}))["keyDownloadCreate"]
            made = time.perf_counter()
            if created["errors"] or not created["url"]:
                raise SystemExit(f"keyDownloadCreate refused: {created['errors']}")
            chunks = []
            async with client.stream(
                "GET", urljoin(servers["graphql"].base_url, created["url"]), headers=auth
            ) as response:
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
            fetched = time.perf_counter()
            if response.status_code != 200 or not response.headers.get("content-type", "").startswith("text/csv"):
                raise SystemExit(f"download link failed: {response.status_code} {response.headers.get('content-type')}")
            if created["keyDownload"]["keyCount"] != seeded["download_keys"]:
                raise SystemExit(
                    f"keyDownloadCreate counted {created['keyDownload']['keyCount']} keys, "
                    f"expected {seeded['download_keys']}"
                )
            return made - began, fetched - made, b"".join(chunks)

        create_fetch: list[tuple[float, float]] = []

        async def keys_graphql() -> float:
            create, fetch, _ = await keys_graphql_once()
            create_fetch.append((create, fetch))
            return create + fetch

        core_csv = await keys_core_body()
        expected_rows = csv_rows(core_csv, delimiter)
        if expected_rows[1:] != csv_rows((await client.get(plain_keys_url, headers=auth)).content, delimiter)[1:]:
            raise SystemExit("plain_http answers a different CSV from core")
        if len(expected_rows) - 1 != seeded["download_keys"]:
            raise SystemExit(f"core wrote {len(expected_rows) - 1} keys, expected {seeded['download_keys']}")
        download_sides: dict[str, Any] = {"plain_http": keys_plain_http, "core": keys_core}
        if "keyDownloadCreate" in mutations and "sessionReauthenticate" in mutations:
            _, _, body = await keys_graphql_once()
            rows = csv_rows(body, delimiter)
            if rows[0] != CSV_HEADER or sorted(rows[1:]) != sorted(expected_rows[1:]):
                raise SystemExit(
                    f"the GraphQL download's CSV differs from the Core one (header {rows[0]}, "
                    f"{len(rows) - 1} rows, expected {len(expected_rows) - 1})"
                )
            print(f"key download: every side answers the same {len(rows) - 1} keys ({len(body)} bytes)")
            download_sides = {"graphql": keys_graphql, **download_sides}
            create_fetch.clear()  # the check above is not a timed run
        else:
            missing = sorted({"keyDownloadCreate", "sessionReauthenticate"} - mutations)
            print(
                f"download API not available (the schema has no {', '.join(missing)}): timing only plain_http and core"
            )
        timings = await interleaved(download_sides, args.download_runs, 1)
        sides = {name: summarise(values) for name, values in timings.items()}
        download: dict[str, Any] = {
            "keys": seeded["download_keys"],
            "devices": download_devices,
            "filter": download_filter,
            "csv_bytes": len(core_csv),
            "sides": sides,
        }
        if "graphql" in sides:
            download["graphql_create_median_ms"] = round(statistics.median(c for c, _ in create_fetch) * 1000, 2)
            download["graphql_fetch_median_ms"] = round(statistics.median(f for _, f in create_fetch) * 1000, 2)
            download["ratio_median_vs_plain_http"] = round(
                sides["graphql"]["median_ms"] / sides["plain_http"]["median_ms"], 2
            )
            download["ratio_median_vs_core"] = round(sides["graphql"]["median_ms"] / sides["core"]["median_ms"], 2)
        else:
            download["graphql"] = "download API not available"
        results["key_download"] = download
    finally:
        await client.aclose()
        await engine.dispose()
        for server in servers.values():
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    info["load_average_at_end"] = common.load_average()
    return {
        "benchmark": "catalogue",
        "database": database,
        "seed": {key: value for key, value in seeded.items() if key not in ("token", "user_id", "organisation_ids")}
        | {"seed": args.seed, "seconds": seed_seconds},
        "runs": args.runs,
        "warmup": args.warmup,
        "download_runs": args.download_runs,
        "machine": info,
        "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    for title, key in (("catalogue page (100 devices, nested)", "catalogue_page"), ("key download", "key_download")):
        result = report["results"][key]
        extra = f", {result['keys']} keys" if key == "key_download" else f", totalCount {result['total_count']}"
        print(f"\n{title} ({report['database']}, {report['seed']['devices']} devices{extra})")
        print(f"{'side':<12} {'median ms':>10} {'p90 ms':>9} {'min ms':>9} {'runs':>5}")
        for name, side in result["sides"].items():
            print(
                f"{name:<12} {side['median_ms']:>10.2f} {side['p90_ms']:>9.2f} {side['min_ms']:>9.2f} {side['runs']:>5}"
            )
        if "ratio_median_vs_plain_http" in result:
            print(
                f"ratio GraphQL/plain_http (median): {result['ratio_median_vs_plain_http']}x, "
                f"GraphQL/core: {result['ratio_median_vs_core']}x"
            )
        if "sql_per_request" in result:
            print(
                "SQL per request: "
                + ", ".join(
                    f"{name} {count['statements']} statements in {count['connections']} connection check-outs"
                    for name, count in result["sql_per_request"].items()
                )
            )
        for name, profile in result.get("cprofile_ms_per_request_by_package", {}).items():
            print(
                f"{name} in process under cProfile: {profile['total_ms']} ms/page: "
                + ", ".join(f"{package} {share['share']}" for package, share in list(profile["packages"].items())[:6])
            )
        if key == "key_download":
            if "graphql_create_median_ms" in result:
                print(
                    f"graphql: create {result['graphql_create_median_ms']} ms"
                    f" + fetch {result['graphql_fetch_median_ms']} ms (medians)"
                )
            else:
                print("graphql: download API not available")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000, help="devices to seed (default 100000)")
    parser.add_argument(
        "--download-devices",
        type=int,
        default=5000,
        help="devices with two keys each in the download selection (default 5000 = 10,000 keys; "
        "at most a quarter of --devices)",
    )
    parser.add_argument("--runs", type=int, default=100, help="timed catalogue pages per side (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed catalogue pages per side first (default 10)")
    parser.add_argument(
        "--download-runs", type=int, default=10, help="timed downloads per side (default 10; one warm-up)"
    )
    parser.add_argument(
        "--profile-calls",
        type=int,
        default=20,
        help="pages per side under cProfile, in process, after the timing (default 20; 0: none)",
    )
    parser.add_argument("--seed", type=int, default=4, help="random seed of the catalogue (default 4)")
    parser.add_argument(
        "--database-url",
        default="",
        help="SQLAlchemy async URL of an EMPTY database of your own; "
        "default a scratch SQLite file under /tmp. The seeded rows stay there: drop it afterwards.",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "catalogue.json"))
    parser.add_argument("--serve", choices=("graphql", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        common.serve(args.serve, args.port, create_plain_app)
        return
    if not (
        100 <= args.devices <= 1_000_000
        and 1 <= args.download_devices <= 100_000
        and 1 <= args.runs <= 10_000
        and 0 <= args.warmup <= 1000
        and 1 <= args.download_runs <= 100
        and 0 <= args.profile_calls <= 1000
    ):
        parser.error(
            "--devices 100..1000000, --download-devices 1..100000, --runs 1..10000, --warmup 0..1000, "
            "--download-runs 1..100, --profile-calls 0..1000"
        )
    report = asyncio.run(run(args))
    print_table(report)
    common.write_report(report, args.output)


if __name__ == "__main__":
    main()
