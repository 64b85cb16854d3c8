"""/metrics (Prometheus) and the request log line: counters move with requests, the SQL statements of a
request are counted, the request ID is echoed, and nothing a client sent in secret reaches the log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from graph.app import create_app
from graph.logs import JsonLines
from tests.environment import app_client, serve_demo
from tests.factories import PASSWORD

ME = "query Me { me { id name organisation { name } } }"


async def scrape(client, token: str | None = None) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_move_the_counters_and_their_sql_is_counted(client, gql, world):
    before = await scrape(client)
    for _ in range(3):
        result = await gql(ME, token=world.tokens["admin_a"])
        assert result["data"]["me"]["name"], result
    refused = await client.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    after = await scrape(client)

    assert (
        sample(after, "fleetgraph_requests_total", operation="Me", outcome="ok")
        - sample(before, "fleetgraph_requests_total", operation="Me", outcome="ok")
        == 3
    )
    assert (
        sample(after, "fleetgraph_requests_total", operation="anonymous", outcome="refused")
        - sample(before, "fleetgraph_requests_total", operation="anonymous", outcome="refused")
        == 1
    )
    assert (
        sample(after, "fleetgraph_request_seconds_count", operation="Me")
        - sample(before, "fleetgraph_request_seconds_count", operation="Me")
        == 3
    )
    # one statement each (authentication, which brings the caller's user and organisation); the refused request
    # never reached the database
    statements = sample(after, "fleetgraph_request_sql_statements_sum") - sample(
        before, "fleetgraph_request_sql_statements_sum"
    )
    assert statements == 3, statements
    assert sample(after, "fleetgraph_subscribers") == 0
    assert ("fleetgraph_event_bus_up", ()) in after


async def test_operation_names_cannot_grow_the_series_without_bound(client, gql, world, runtime):
    metrics = runtime.metrics
    names_before = len(metrics._names)
    for n in range(5):
        await gql(f"query Load{n} {{ me {{ id }} }}", token=world.tokens["admin_a"])
    assert metrics.operation_label("Load0") == "Load0"
    assert metrics.operation_label("not a name!") == "other"
    metrics._names.update(f"Filler{n}" for n in range(300))
    try:
        assert metrics.operation_label("NeverSeenBefore") == "other"
    finally:
        metrics._names.difference_update(f"Filler{n}" for n in range(300))
    assert len(metrics._names) >= names_before


async def test_metrics_can_require_a_token(runtime):
    settings = dataclasses.replace(runtime.settings, metrics_token="scrape-me-please")
    async with app_client(create_app(settings, runtime=runtime)) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert await scrape(client, "scrape-me-please")


async def test_one_json_log_line_per_request_with_its_id_and_no_password(client, gql, world, caplog):
    caplog.set_level(logging.INFO, logger="fleetgraph")
    login = "mutation LogIn($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
    response = await gql.raw(login, {"input": {"email": "admin@a.example", "password": PASSWORD}})
    assert response.status_code == 200 and response.json()["data"]["login"]["accessToken"]
    request_id = response.headers["X-Request-ID"]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "fleetgraph.requests"]
    [line] = [line for line in lines if line["requestId"] == request_id]
    assert line["operation"] == "LogIn" and line["status"] == 200 and line["outcome"] == "ok"
    assert line["statements"] > 0 and line["durationMs"] > 0
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)


async def test_a_sane_request_id_is_echoed_and_anything_else_replaced(client):
    ping = {"query": "{ __typename }"}
    echoed = await client.post("/graphql", json=ping, headers={"X-Request-ID": "edge-42.a"})
    assert echoed.headers["X-Request-ID"] == "edge-42.a"
    replaced = await client.post("/graphql", json=ping, headers={"X-Request-ID": 'evil" value'})
    assert replaced.headers["X-Request-ID"] != 'evil" value' and len(replaced.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_fields_as_keys():
    formatter = JsonLines()
    fields = {"requestId": "abc", "operation": "Me", "status": 200}
    record = logging.LogRecord("fleetgraph.requests", logging.INFO, __file__, 1, "%s", ("the line",), None)
    record.fields = fields
    line = json.loads(formatter.format(record))
    assert line["level"] == "INFO" and line["logger"] == "fleetgraph.requests" and line["message"] == "the line"
    assert {key: line[key] for key in fields} == fields
    assert line["time"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("fleetgraph", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(formatter.format(failed))["exception"]


def test_an_unknown_log_format_stops_the_server_at_start(runtime):
    with pytest.raises(ValueError, match="FLEETGRAPH_LOG_FORMAT"):
        dataclasses.replace(runtime.settings, log_format="xml")


def test_the_server_writes_one_json_line_per_request_without_the_password(tmp_path):
    """`fleetgraph serve` with FLEETGRAPH_LOG_FORMAT=json: the request's line is JSON with its ID and operation;
    the password of the login it carried is nowhere in the output."""
    password = "Heizung-Ablesen#93"  # the demo's Erika (graph/demo.py)
    login = "mutation LogIn($input: LoginInput!) { login(input: $input) { accessToken } }"
    body = {"query": login, "variables": {"input": {"email": "erika@integra-metering.com", "password": password}}}
    with serve_demo(tmp_path, {"FLEETGRAPH_LOG_FORMAT": "json"}) as served:
        response = httpx.post(served.base_url + "/graphql", json=body, timeout=30)
        assert response.status_code == 200 and response.json()["data"]["login"]["accessToken"]
        request_id = response.headers["X-Request-ID"]
    assert password not in served.output
    lines = [json.loads(text) for text in served.output.splitlines() if text.startswith("{")]
    [line] = [line for line in lines if line.get("requestId") == request_id]
    assert line["logger"] == "fleetgraph.requests" and line["operation"] == "LogIn" and line["status"] == 200


async def test_a_scrape_reads_each_database_gauge_with_one_statement_and_concurrent_scrapes_share_it(
    client, runtime, count_sql
):
    gauges = runtime.metrics.database.gauges
    assert {gauge.name for gauge in gauges} >= {"fleetgraph_mail_outbox_messages"}
    with count_sql() as sql:
        samples = await scrape(client)
    assert sql.count == len(gauges) and sql.checkouts == 1, sql.statements
    assert sample(samples, "fleetgraph_mail_outbox_messages", state="pending") == 0
    with count_sql() as sql:
        # the same event loop: the later scrapes wait for the first one's read instead of starting their own
        await asyncio.gather(*(runtime.metrics.response() for _ in range(3)))
    assert sql.count == len(gauges), sql.statements


async def test_a_failing_gauge_is_left_out_and_the_others_stay(client, runtime, monkeypatch, caplog):
    async def broken(session):
        raise RuntimeError("the database is away")

    [first, *others] = runtime.metrics.database.gauges
    monkeypatch.setattr(runtime.metrics.database, "gauges", (dataclasses.replace(first, read=broken), *others))
    samples = await scrape(client)
    assert not any(name == first.name for name, _ in samples)
    assert all(any(name.startswith(gauge.name) for name, _ in samples) for gauge in others)
    assert ("fleetgraph_event_bus_up", ()) in samples
    assert "could not be read" in caplog.text
