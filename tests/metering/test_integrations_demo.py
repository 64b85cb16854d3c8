"""The demo: `fleetgraph serve --demo` gives the demo consumer a webhook (to the server's own demo receiver, signed)
and an e-mail integration, and the demo transfer worker fills their run history with delivered runs."""

from __future__ import annotations

import time

import httpx

from resolvers.metering.points.demo import DEMO_CONSUMER
from tests.environment import serve_demo

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
POINTS = "{ meteringPoints { nodes { id } } }"
INTEGRATIONS = "query($id: ID!) { integrations(meteringPointId: $id) { nodes { id kind webhook { url } } } }"
RUNS = "query($id: ID!) { integrationRuns(integrationId: $id) { nodes { status trigger payloadDigest } } }"


def test_the_demo_consumers_integrations_fill_their_history(tmp_path):
    env = {"FLEETGRAPH_METERING_DEMO_TRANSFER_SECONDS": "1", "FLEETGRAPH_DELIVERY_POLL_SECONDS": "0.5"}
    with serve_demo(tmp_path, env) as served, httpx.Client(base_url=served.base_url, timeout=10) as http:

        def query(document: str, variables: dict | None = None, token: str | None = None) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = http.post("/graphql", json={"query": document, "variables": variables or {}}, headers=headers)
            return answer.json()["data"]

        _, email, password = DEMO_CONSUMER
        token = query(LOGIN, {"input": {"email": email, "password": password}})["login"]["accessToken"]
        points = query(POINTS, token=token)["meteringPoints"]["nodes"]
        integrations = [i for p in points for i in query(INTEGRATIONS, {"id": p["id"]}, token)["integrations"]["nodes"]]
        assert sorted(i["kind"] for i in integrations) == ["EMAIL", "WEBHOOK"]
        webhook = next(i for i in integrations if i["kind"] == "WEBHOOK")
        assert webhook["webhook"]["url"] == f"{served.base_url}/demo/integrations/webhook"
        deadline = time.monotonic() + 30
        while True:
            histories = [query(RUNS, {"id": i["id"]}, token)["integrationRuns"]["nodes"] for i in integrations]
            if all(any(run["status"] == "DELIVERED" for run in runs) for runs in histories):
                break
            assert time.monotonic() < deadline, histories
            time.sleep(0.5)
    assert "signature valid" in served.output and "INVALID" not in served.output
    assert "demo-webhook-secret" not in served.output
