"""GraphiQL in a real headless Debian chromium (driven by Playwright) against a real server: it
loads from this server alone (no CDN, no internet), runs queries typed into its editor and runs
subscriptions over the server's websocket."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

from tests.factories import PASSWORD
from tests.waiting import until
from tests.websocket import create_user

DEADLINE = 20.0


class IDE:
    """A GraphiQL page, with every request it makes and every error it reports recorded."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.requests: list[str] = []
        self.websockets: list[str] = []
        self.failed: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda websocket: self.websockets.append(websocket.url))
        page.on(
            "response",
            lambda response: (
                self.refused.append(f"{response.status} {response.url}") if response.status >= 400 else None
            ),
        )
        page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)

    async def open(self) -> None:
        response = await self.page.goto(f"{self.origin}/graphql", wait_until="load")
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        # GraphiQL has rendered its editor (React replaced the "Loading" placeholder).
        await self.page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=DEADLINE * 1000)

    async def type_query(self, query: str) -> None:
        editor = self.page.locator(".graphiql-query-editor .CodeMirror")
        await editor.click()
        await self.page.keyboard.press("Control+A")
        await self.page.keyboard.press("Delete")
        # insert_text puts the text in as typed input, without the editor's bracket auto-closing.
        await self.page.keyboard.insert_text(query)
        assert await self.editor_value(".graphiql-query-editor") == query

    async def editor_value(self, container: str) -> str:
        return await self.page.evaluate(
            "selector => document.querySelector(selector + ' .CodeMirror').CodeMirror.getValue()", container
        )

    async def put_headers(self, headers: dict[str, str]) -> None:
        """Type the request headers into the Headers tab, as a person would."""
        await self.page.get_by_role("button", name="Headers").click()
        editor = self.page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
        await editor.click()
        await self.page.keyboard.insert_text(json.dumps(headers))

    async def run(self) -> dict:
        """Run the query with Ctrl-Enter and read the result pane once a result is there."""
        await self.page.keyboard.press("Control+Enter")
        return await self.run_result()

    async def run_result(self) -> dict:
        """The result pane's JSON, once there is one."""
        end = time.monotonic() + DEADLINE
        while True:
            text = await self.editor_value(".graphiql-response")
            if text.strip().startswith("{"):
                return json.loads(text)
            assert time.monotonic() < end, f"no result appeared; result pane: {text!r}; errors: {self.errors}"
            await asyncio.sleep(0.05)

    def assert_local_only(self) -> None:
        assert self.requests, "no request was recorded"
        foreign = [url for url in self.requests if not url.startswith(self.origin + "/")]
        assert foreign == [], f"requests that left the server: {foreign}"
        assert self.failed == [], self.failed
        assert self.refused == [], self.refused
        assert self.errors == [], self.errors


async def open_ide(browser, live_server: str) -> IDE:
    context = await browser.new_context()
    ide = IDE(await context.new_page(), f"http://{live_server}")
    await ide.open()
    return ide


async def test_graphiql_runs_a_query_from_local_assets(browser, live_server):
    ide = await open_ide(browser, live_server)
    await ide.type_query("{ __typename }")
    result = await ide.run()
    assert "errors" not in result, result
    assert result["data"] == {"__typename": "Query"}

    paths = {urlsplit(url).path for url in ide.requests}
    # The page, its scripts and stylesheet came from /graphiql/, and the query went to /graphql.
    assert {
        "/graphql",
        "/graphiql/graphiql.min.js",
        "/graphiql/react.production.min.js",
        "/graphiql/react-dom.production.min.js",
        "/graphiql/graphiql.min.css",
        "/graphiql/init.js",
    } <= paths
    ide.assert_local_only()


async def test_graphiql_logs_in_and_asks_who_am_i(browser, live_server, world):
    ide = await open_ide(browser, live_server)
    await ide.type_query(
        f'mutation {{ login(input: {{email: "admin@a.example", password: "{PASSWORD}"}}) '
        "{ accessToken user { email } errors { code } } }"
    )
    login = (await ide.run())["data"]["login"]
    assert login["errors"] == [] and login["user"] == {"email": "admin@a.example"}, login
    token = login["accessToken"]
    assert token

    # Put the token in the headers editor, and ask who is logged in.
    await ide.put_headers({"Authorization": f"Bearer {token}"})
    await ide.type_query("{ me { email organisation { name } } }")
    result = await ide.run()
    assert "errors" not in result, result
    assert result["data"] == {"me": {"email": "admin@a.example", "organisation": {"name": "Tenant A"}}}
    ide.assert_local_only()


async def test_graphiql_runs_a_subscription_over_the_servers_websocket(browser, live_server, world, runtime):
    ide = await open_ide(browser, live_server)
    await ide.put_headers({"Authorization": f"Bearer {world.tokens['admin_a']}"})
    await ide.type_query("subscription { auditEventRecorded { action actor } }")
    # GraphiQL reads the operation from the editor after a short debounce: a run pressed before that
    # runs the previous text, so press again (bounded) until the subscription is listening.
    for _ in range(20):
        await ide.page.locator(".graphiql-query-editor .CodeMirror").click()
        await ide.page.keyboard.press("Control+Enter")
        try:
            await until(lambda: runtime.events.subscriber_count == 1, "GraphiQL's subscription", deadline=0.5)
            break
        except AssertionError:
            continue
    assert runtime.events.subscriber_count == 1, f"GraphiQL never subscribed; errors: {ide.errors}"

    created = await create_user(live_server, world.tokens["admin_a"], "watched@a.example")
    assert created["errors"] == [], created
    # The event arrives on the socket GraphiQL opened (the Headers tab's token went into connection_init).
    result = await ide.run_result()
    assert "errors" not in result, result
    assert result["data"] == {"auditEventRecorded": {"action": "user.created", "actor": "admin@a.example"}}
    assert ide.websockets == [f"ws://{live_server}/graphql"], ide.websockets
    ide.assert_local_only()
