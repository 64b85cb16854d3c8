"""addressSearch: the embedded directory (the shipped sample and the addresses of the points one sees) and the
Nominatim adapter against a local stub server on 127.0.0.1 (Starlette on uvicorn), its failures included."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models import metering as mt
from resolvers.metering.addresses.directory import sample_addresses
from tests.burst import burst
from tests.environment import free_port
from tests.factories import snapshot
from tests.metering.helpers import CREATE, SEARCH

PLACE = {
    "place_id": 1234,
    "osm_type": "way",
    "osm_id": 104393803,
    "lat": "52.5170365",
    "lon": "13.3888599",
    "display_name": "Unter den Linden 77, Mitte, Berlin, 10117, Deutschland",
    "address": {
        "house_number": "77",
        "road": "Unter den Linden",
        "city": "Berlin",
        "postcode": "10117",
        "country": "Deutschland",
        "country_code": "de",
    },
}


@dataclass
class Nominatim:
    """The stub: answers PLACE, or fails as `mode` says ("ok", "error", "garbage", "slow")."""

    mode: str = "ok"
    requests: list[dict] = field(default_factory=list)

    async def answer(self, request: Request) -> Response:
        self.requests.append({"path": request.url.path, **request.query_params})
        if self.mode == "error":
            return Response("overloaded", status_code=503)
        if self.mode == "garbage":
            return Response("<html>not json</html>", media_type="text/html")
        if self.mode == "slow":
            await asyncio.sleep(3)
        return JSONResponse([PLACE, {"place_id": 9, "display_name": "no OSM identity"}])


@pytest.fixture
async def nominatim(runtime, monkeypatch) -> AsyncIterator[Nominatim]:
    stub = Nominatim()
    app = Starlette(routes=[Route("/search", stub.answer), Route("/lookup", stub.answer)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    settings = dataclasses.replace(
        runtime.settings,
        address_directory="nominatim",
        nominatim_url=f"http://127.0.0.1:{port}/",
        nominatim_timeout_seconds=1.0,
    )
    monkeypatch.setattr(runtime, "settings", settings)
    yield stub
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def search(gql, token: str, query: str, first: int = 10) -> dict:
    return (await gql(SEARCH, {"query": query, "first": first}, token=token))["data"]["addressSearch"]


def test_the_sample_has_a_few_hundred_addresses_in_moscow_and_berlin():
    sample = sample_addresses()
    assert len(sample) >= 200
    assert {address.city for address in sample.values()} == {"Москва", "Berlin"}
    assert all(address.house and address.postcode and address.latitude for address in sample.values())


async def test_the_embedded_directory_searches_the_sample(gql, consumers):
    found = await search(gql, consumers.tokens["olga"], "тверская москва", first=3)
    assert found["errors"] == [] and len(found["addresses"]) == 3
    assert all("Тверская" in a["displayName"] and a["source"] == "SAMPLE" for a in found["addresses"])
    found = await search(gql, consumers.tokens["olga"], "Friedrichstraße, Berlin")
    assert found["addresses"] and all(a["street"] == "Friedrichstraße" for a in found["addresses"])
    assert (await search(gql, consumers.tokens["olga"], "nowhere-street"))["addresses"] == []
    too_many = await search(gql, consumers.tokens["olga"], "Berlin", first=51)
    assert [e["code"] for e in too_many["errors"]] == ["INVALID"] and too_many["addresses"] is None


async def test_the_embedded_directory_finds_stored_addresses_only_of_points_one_sees(
    gql, runtime, nominatim, monkeypatch, consumers
):
    # olga binds a Nominatim address; then the server goes back to the embedded directory
    created = (
        await gql(
            CREATE,
            {
                "input": {
                    "resource": "COLD_WATER",
                    "roomName": "Flat 1",
                    "timeZone": "Europe/Berlin",
                    "addressHandle": "NOMINATIM:W104393803",
                }
            },
            token=consumers.tokens["olga"],
        )
    )["data"]["meteringPointCreate"]
    assert created["errors"] == [] and created["meteringPoint"]["address"]["house"] == "77"
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, address_directory="embedded"))
    olga_finds = await search(gql, consumers.tokens["olga"], "linden 77")
    assert [a["handle"] for a in olga_finds["addresses"]] == ["NOMINATIM:W104393803"]
    assert (await search(gql, consumers.tokens["ivan"], "linden 77"))["addresses"] == []


async def test_nominatim_search_gives_structured_addresses_with_handles(gql, nominatim, consumers):
    found = await search(gql, consumers.tokens["olga"], "Unter den Linden 77", first=5)
    assert found["errors"] == []
    assert found["addresses"] == [
        {
            "handle": "NOMINATIM:W104393803",
            "source": "NOMINATIM",
            "country": "Deutschland",
            "city": "Berlin",
            "street": "Unter den Linden",
            "house": "77",
            "postcode": "10117",
            "latitude": 52.5170365,
            "longitude": 13.3888599,
            "displayName": "Unter den Linden 77, Mitte, Berlin, 10117, Deutschland",
        }
    ]
    assert nominatim.requests == [
        {"path": "/search", "q": "Unter den Linden 77", "limit": "5", "format": "jsonv2", "addressdetails": "1"}
    ]


async def test_binding_a_nominatim_handle_looks_it_up_once(gql, runtime, nominatim, consumers):
    for token in (consumers.tokens["olga"], consumers.tokens["ivan"]):
        variables = {
            "input": {
                "resource": "HOT_WATER",
                "roomName": "Kitchen",
                "timeZone": "Europe/Berlin",
                "addressHandle": "NOMINATIM:W104393803",
            }
        }
        payload = (await gql(CREATE, variables, token=token))["data"]["meteringPointCreate"]
        assert payload["errors"] == [] and payload["meteringPoint"]["address"]["street"] == "Unter den Linden"
    assert [r["path"] for r in nominatim.requests] == ["/lookup"]
    assert nominatim.requests[0]["osm_ids"] == "W104393803"
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.Address)) == 1


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
async def test_a_failing_directory_is_a_typed_error_and_stores_nothing(gql, runtime, nominatim, consumers, mode):
    nominatim.mode = mode
    before = await snapshot(runtime)
    found = await search(gql, consumers.tokens["olga"], "Unter den Linden")
    assert found["addresses"] is None
    assert [(e["code"], e["field"]) for e in found["errors"]] == [("UNAVAILABLE", ["query"])]
    variables = {
        "input": {
            "resource": "COLD_WATER",
            "roomName": "Flat",
            "timeZone": "Europe/Berlin",
            "addressHandle": "NOMINATIM:W104393803",
        }
    }
    payload = (await gql(CREATE, variables, token=consumers.tokens["olga"]))["data"]["meteringPointCreate"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("UNAVAILABLE", ["addressHandle"])]
    assert await snapshot(runtime) == before
    # recovered: the same calls succeed
    nominatim.mode = "ok"
    assert (await search(gql, consumers.tokens["olga"], "Unter den Linden"))["addresses"]
    assert (await gql(CREATE, variables, token=consumers.tokens["olga"]))["data"]["meteringPointCreate"]["errors"] == []


async def test_parallel_binds_of_a_new_address_store_it_once(gql, runtime, nominatim, consumers):
    variables = {
        "input": {
            "resource": "COLD_WATER",
            "roomName": "Flat",
            "timeZone": "Europe/Berlin",
            "addressHandle": "NOMINATIM:W104393803",
        }
    }
    tokens = [consumers.tokens["olga"], consumers.tokens["ivan"]] * 4
    answers = await burst(runtime, 8, lambda i: gql(CREATE, variables, token=tokens[i]))
    assert all(answer["data"]["meteringPointCreate"]["errors"] == [] for answer in answers)
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(mt.Address)) == 1
        assert await session.scalar(select(func.count()).select_from(mt.MeteringPoint)) == 8
