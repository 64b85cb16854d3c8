"""The README's two commands are the ones CI and the tests rely on, and its Quick tour runs, block by block, against
a real `fleetgraph serve --demo` on a fresh database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection

from graph.demo import DEMO_USERS
from resolvers.metering.points.demo import DEMO_CONSUMER
from tests.environment import FLEETGRAPH, free_port, wait_until_healthy
from tests.graph.readme_tour import Block, global_ids, ids_in, payload_errors, readme_text, tour_blocks
from tests.waiting import DEADLINE
from tests.websocket import receive, subscribe, ws_connect

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {email: password for _, _, email, password, _ in DEMO_USERS}
PASSWORDS[DEMO_CONSUMER[1]] = DEMO_CONSUMER[2]  # the metering demo's consumer
LOGIN = """mutation ($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { accessToken errors { code message } }
}"""
#: What the tour says a mutation makes the open subscription show: (mutation field, result and event kind).
EVENTS = {"routerConnect": "CONNECTED", "routerDisconnect": "DISCONNECTED"}


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_opens_with_the_run_and_test_commands():
    run, test = readme_commands()
    assert run.endswith("fleetgraph serve --demo")
    assert test.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    _, test = readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text()


def test_every_id_in_the_tour_comes_from_an_answer_before_it():
    """No bare pasted IDs: a block that needs one takes it from the query above it (checked against the server
    in the next test), and says so."""
    blocks = [block for block in tour_blocks(readme_text()) if block.language == "graphql"]
    for block in blocks:
        assert sorted(global_ids(block.text)) == sorted(block.ids_from_above()), block.text
    assert sum(len(block.ids_from_above()) for block in blocks) >= 3


class Tour:
    """A demo server's answers to the tour, with a login per demo user."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.http = httpx.AsyncClient(timeout=DEADLINE)
        self.tokens: dict[str, str] = {}
        self.last_query: dict | None = None

    async def token(self, email: str) -> str:
        if email not in self.tokens:
            answer = await self.post(LOGIN, {"email": email, "password": PASSWORDS[email]})
            self.tokens[email] = answer["data"]["login"]["accessToken"]
        return self.tokens[email]

    async def post(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(self.url, json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert "errors" not in answer, answer
        assert payload_errors(answer) == [], answer
        return answer

    def check_ids(self, block: Block) -> None:
        """The IDs the block says come from the query above are in that query's answer."""
        for wanted in block.ids_from_above():
            assert self.last_query is not None and wanted in ids_in(self.last_query), (
                f"{wanted} is not in the answer of the query before:\n{self.last_query}\n{block.text}"
            )

    async def run(self, block: Block) -> dict:
        self.check_ids(block)
        answer = await self.post(block.text, token=await self.token(block.user))
        if block.operation == "query":
            self.last_query = answer
        return answer

    def curl_login(self, block: Block) -> dict:
        command = block.text.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        argv = shlex.split(command)
        assert argv[0] == "curl", command
        if shutil.which("curl"):
            output = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE, check=True).stdout
            return json.loads(output)
        body = argv[argv.index("-d") + 1]
        return httpx.post(self.url, content=body, headers={"Content-Type": "application/json"}, timeout=10).json()

    async def fetch_keys(self, answer: dict, email: str) -> None:
        """What the tour says of the download link: an HTTP GET with the bearer token, once."""
        created = answer["data"]["keyDownloadCreate"]
        headers = {"Authorization": f"Bearer {await self.token(email)}"}
        csv = await self.http.get(created["url"], headers=headers)
        assert csv.status_code == 200, csv.text
        header, *rows = csv.text.strip().split("\r\n")
        assert f"\n{header}\n" in readme_text(), f"the README does not show the CSV header {header!r}"
        assert len(rows) == created["keyDownload"]["keyCount"] > 0
        assert (await self.http.get(created["url"], headers=headers)).status_code == 410


async def next_event(ws: ClientConnection) -> dict:
    message = await receive(ws)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["routerConnectionState"]


async def open_subscription(ws: ClientConnection, tour: Tour, block: Block) -> None:
    tour.check_ids(block)
    await subscribe(ws, await tour.token(block.user), "tour", block.text)
    # graphql-transport-ws does not acknowledge a subscribe; the server handles the socket's messages in order,
    # so once the ping is answered the subscription has started, and it listens a moment later
    await ws.send(json.dumps({"type": "ping"}))
    assert (await receive(ws))["type"] == "pong"
    await asyncio.sleep(0.5)


async def check_event(ws: ClientConnection, block: Block, answer: dict) -> None:
    """The event the tour promises after a connect or disconnect, about the connection the mutation answered."""
    for field, kind in EVENTS.items():
        if field in answer["data"]:
            assert answer["data"][field]["result"] == kind, answer
            connection = answer["data"][field]["connection"]
            try:
                event = await next_event(ws)
            except TimeoutError:
                raise AssertionError(f"the subscription showed no {kind} event after {field}") from None
            assert event["kind"] == kind, event
            moment = "startedAt" if kind == "CONNECTED" else "endedAt"
            assert event["connection"][moment] == connection[moment], (event, connection)
            assert event["location"]["name"] and event["router"]["commonName"], event


def start_demo_server(data_dir: Path, port: int) -> subprocess.Popen:
    """The README's first command on a fresh data directory, without this process's FLEETGRAPH_* settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment["FLEETGRAPH_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [FLEETGRAPH, "serve", "--demo", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_the_quick_tour_runs_against_serve_demo(tmp_path):
    """Every block of the Quick tour, in order, as the user it names: no errors anywhere, the IDs it takes from
    an answer are in that answer, the curl login gives a token, the key link serves the CSV once, and the
    subscription shows the connect and the disconnect. The demo router goes offline 90 s after the start
    unless something sends heartbeats: the whole tour takes a few seconds."""
    blocks = tour_blocks(readme_text())
    assert [block.language for block in blocks].count("sh") == 1
    assert [block.operation for block in blocks if block.language == "graphql"].count("subscription") == 1
    port = free_port()
    process = start_demo_server(tmp_path, port)
    started = time.monotonic()
    tour = Tour(port)
    try:
        wait_until_healthy(process, port)
        async with ws_connect(f"127.0.0.1:{port}") as ws:
            subscribed = False
            for block in blocks:
                if block.language == "sh":
                    login = tour.curl_login(block)["data"]["login"]
                    assert login["accessToken"] and login["errors"] == [], login
                elif block.operation == "subscription":
                    await open_subscription(ws, tour, block)
                    subscribed = True
                else:
                    answer = await tour.run(block)
                    if "keyDownloadCreate" in block.text:
                        await tour.fetch_keys(answer, block.user)
                    if subscribed:
                        await check_event(ws, block, answer)
            assert subscribed
        assert time.monotonic() - started < 80, "the tour must finish before the demo router goes offline"
    finally:
        await tour.http.aclose()
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)
