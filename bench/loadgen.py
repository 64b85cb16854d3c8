"""A small closed-loop HTTP/1.1 load generator in the manner of wrk: N persistent keep-alive connections,
one request in flight on each (no pipelining), for a fixed duration; prints one JSON object with the
requests per second and latency percentiles.

wrk itself cannot be installed here (no network but PyPI), so this stands in for it: asyncio on uvloop
(if importable) with raw transports, the request's bytes built once, responses parsed with httptools (the
parser uvicorn uses). Every response must be 200, and its body must contain --expect and must not contain
`"errors"`; the first failure is reported and stops the run. Its own ceiling is what it reaches against a
trivial endpoint (me_throughput.py measures /ping for that).

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:8000/ping --connections 32 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from urllib.parse import urlsplit


class Load:
    """What the connections share: the request, the clock and the results."""

    def __init__(self, request: bytes, expect: bytes) -> None:
        self.request = request
        self.expect = expect
        self.recording = False
        self.stopping = False
        self.latencies: list[float] = []
        self.failure: str | None = None
        self.closed = 0


class Connection(asyncio.Protocol):
    """One keep-alive connection: send, read the whole response, send again at once."""

    def __init__(self, load: Load, done: asyncio.Future) -> None:
        import httptools

        self.load = load
        self.done = done
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        self.body.clear()
        self.started = time.perf_counter()
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # a malformed response is a failure of the run, not of this script
            self.fail(f"unparsable response: {exc}")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        finished = time.perf_counter()
        load = self.load
        status = self.parser.get_status_code()
        body = b"".join(self.body)
        if status != 200 or b'"errors"' in body or load.expect not in body:
            self.fail(f"{status} {body[:300]!r}")
            return
        if load.recording:
            load.latencies.append(finished - self.started)
        if load.stopping:
            self.finish()
        else:
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.fail(f"connection closed by the server ({exc})")

    def fail(self, why: str) -> None:
        if self.load.failure is None:
            self.load.failure = why
        self.finish()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


def http_request(url: str, method: str, headers: list[str], body: bytes) -> bytes:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {path or '/'} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run(args: argparse.Namespace) -> dict:
    loop = asyncio.get_running_loop()
    body = args.body.encode() if args.body else b""
    load = Load(http_request(args.url, args.method, args.header, body), args.expect.encode())
    parts = urlsplit(args.url)
    connections: list[tuple[asyncio.Transport, Connection]] = []
    futures: list[asyncio.Future] = []
    for _ in range(args.connections):
        done = loop.create_future()
        transport, protocol = await loop.create_connection(
            lambda done=done: Connection(load, done), parts.hostname, parts.port or 80
        )
        connections.append((transport, protocol))
        futures.append(done)
    for _, protocol in connections:  # connected first: set-up is not in the measurement
        protocol.send()
    await asyncio.sleep(args.warmup)
    load.recording = True
    started = time.perf_counter()
    await asyncio.sleep(args.duration)
    load.stopping = True  # each connection finishes the request it has in flight, recorded
    await asyncio.wait_for(asyncio.gather(*futures), timeout=60)
    elapsed = time.perf_counter() - started
    for transport, _ in connections:
        transport.close()
    ordered = sorted(load.latencies)
    count = len(ordered)

    def at(p: float) -> float:
        return round(ordered[min(count - 1, round(p / 100 * (count - 1)))] * 1000, 3) if count else 0.0

    return {
        "url": args.url,
        "connections": args.connections,
        "duration_s": round(elapsed, 3),
        "requests": count,
        "requests_per_s": round(count / elapsed, 1),
        "latency_ms": {
            "mean": round(statistics.fmean(ordered) * 1000, 3) if count else 0.0,
            "p50": at(50),
            "p90": at(90),
            "p99": at(99),
            "max": at(100),
        },
        "failure": load.failure,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET", choices=("GET", "POST"))
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--body", default="", help="request body (POST)")
    parser.add_argument("--expect", default="", help="every response body must contain this")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before the measurement")
    args = parser.parse_args()
    if not (1 <= args.connections <= 256 and 0.1 <= args.duration <= 600 and 0 <= args.warmup <= 60):
        parser.error("--connections 1..256, --duration 0.1..600, --warmup 0..60")
    try:
        import uvloop  # wrk's event loop is C: the client should cost as little as it can
    except ImportError:
        uvloop = None
    result = uvloop.run(run(args)) if uvloop is not None else asyncio.run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.exit(1 if result["failure"] else 0)


if __name__ == "__main__":
    main()
