"""OpenTelemetry tracing (FLEETGRAPH_TRACING=otlp, issue 15): spans reach a real OTLP/HTTP receiver on 127.0.0.1,
one per request, DataLoader batch and SQL statement, linked as parent and child, and no secret is in them."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from graph.app import create_app
from graph.runtime import Runtime
from graph.settings import SettingsError
from graph.tracing import MISSING_PACKAGES
from tests.environment import app_client, run_fleetgraph
from tests.factories import PASSWORD

LOGIN = "mutation LogIn($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
TEAM = "query Team { users(first: 5) { nodes { email roles } } }"
UPSTREAM_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
UPSTREAM_SPAN = "00f067aa0ba902b7"


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps each POST /v1/traces body and answers with an empty response."""

    bodies: list[bytes]

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf":
            self.bodies.append(body)
            status, answer = 200, ExportTraceServiceResponse().SerializeToString()
        else:
            status, answer = 404, b""
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_) -> None:
        pass


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[bytes]]]:
    bodies: list[bytes] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Receiver,), {"bodies": bodies}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def decoded(bodies: list[bytes]) -> tuple[list, dict[str, str]]:
    """The spans of every export, and the resource's attributes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    spans, resource = [], {}
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource.update({a.key: a.value.string_value for a in resource_spans.resource.attributes})
            spans += [span for scope in resource_spans.scope_spans for span in scope.spans]
    return spans, resource


def attributes(span) -> dict:
    values = {}
    for attribute in span.attributes:
        value = attribute.value
        values[attribute.key] = getattr(value, value.WhichOneof("value"))
    return values


async def test_requests_batches_and_statements_are_exported_as_linked_spans_without_secrets(
    runtime, world, monkeypatch
):
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed: pip install '.[otel]'")
    with otlp_receiver() as (endpoint, bodies):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "fleetgraph-under-test")
        settings = dataclasses.replace(runtime.settings, tracing="otlp")
        traced = Runtime(settings)
        await traced.start()
        try:
            async with app_client(create_app(settings, runtime=traced)) as http:
                login = await http.post(
                    "/graphql",
                    json={"query": LOGIN, "variables": {"input": {"email": "admin@a.example", "password": PASSWORD}}},
                )
                fresh_token = login.json()["data"]["login"]["accessToken"]
                team = await http.post(
                    "/graphql",
                    json={"query": TEAM},
                    headers={
                        "Authorization": f"Bearer {world.tokens['admin_a']}",
                        "X-Request-ID": "team-1",
                        "traceparent": f"00-{UPSTREAM_TRACE}-{UPSTREAM_SPAN}-01",
                    },
                )
                assert team.json()["data"]["users"]["nodes"], team.text
        finally:
            await traced.stop()  # flushes the spans to the receiver
    exported = b"".join(bodies)
    for secret in (PASSWORD, fresh_token, world.tokens["admin_a"]):
        assert secret.encode() not in exported
    assert b"admin@a.example" not in exported  # a variable's value, and a bound parameter of the login's statements

    spans, resource = decoded(bodies)
    assert resource["service.name"] == "fleetgraph-under-test"
    by_id = {span.span_id: span for span in spans}
    [request] = [span for span in spans if span.name == "query Team"]
    assert attributes(request) | {"fleetgraph.request_id": "team-1"} == attributes(request)
    assert attributes(request)["graphql.operation.name"] == "Team"
    assert attributes(request)["fleetgraph.outcome"] == "ok"
    # joined the caller's trace
    assert request.trace_id.hex() == UPSTREAM_TRACE and request.parent_span_id.hex() == UPSTREAM_SPAN
    children = [span for span in spans if span.parent_span_id == request.span_id]
    batches = [span for span in children if span.name.startswith("batch ")]
    assert [span.name for span in batches] == ["batch graph.loaders.related_rows(UserRole.role)"], children
    assert attributes(batches[0])["fleetgraph.batch.size"] >= 1
    statements = [span for span in spans if span.name == "SELECT" and span.trace_id == request.trace_id]
    # the token's check and the page are the request's own; the roles are the batch's
    assert {by_id[span.parent_span_id].name for span in statements} == {"query Team", batches[0].name}
    assert all(
        "user_role" in attributes(s)["db.query.text"] for s in statements if s.parent_span_id == batches[0].span_id
    )
    assert [span.name for span in spans if span.name.startswith("mutation")] == ["mutation LogIn"]


def test_tracing_without_the_otel_packages_stops_the_start_with_a_clear_message(runtime, tmp_path, monkeypatch):
    # a package named opentelemetry that fails to import stands in for a missing extra
    shadow = tmp_path / "shadow" / "opentelemetry"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('the otel extra is not installed')\n")
    served = run_fleetgraph(
        tmp_path / "data", "serve", env={"FLEETGRAPH_TRACING": "otlp", "PYTHONPATH": str(shadow.parent)}, timeout=60
    )
    assert served.returncode == 1 and MISSING_PACKAGES in served.stderr, served.stderr
    # in the process: a module set to None in sys.modules fails to import
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(SettingsError, match=r"fleetgraph\[otel\]"):
        Runtime(dataclasses.replace(runtime.settings, tracing="otlp"))


def test_an_unknown_tracing_mode_is_refused(runtime):
    with pytest.raises(SettingsError, match="FLEETGRAPH_TRACING"):
        dataclasses.replace(runtime.settings, tracing="zipkin")
