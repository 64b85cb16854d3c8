"""Throughput of `{ me { id name organisation { name } } }` under a wrk-like load of 32 keep-alive
connections: fleetgraph next to a plain Starlette endpoint doing the same auth lookup (issue 15).

Seeds one organisation, user and access token (single_object.prepare_database) in a fresh SQLite file
(or --database-url), starts fleetgraph and single_object's plain app as real uvicorn processes (one worker
each, uvloop, httptools, no access log) and drives them with bench/loadgen.py, a separate process standing
in for wrk (32 persistent connections, one request in flight on each, no pipelining, duration-based). In
every round each target gets the same load for --duration seconds, the order rotating every round:

    graphql  POST /graphql `{ me { id name organisation { name } } }` with the bearer token: fleetgraph as it ships
    raw      GET /me on the plain app: token lookup joined to user and organisation, roles and grants, orjson
    ping     GET /ping on the plain app: no database; the ceiling of the load generator and the HTTP stack

    .venv/bin/python bench/me_throughput.py                  # 5 rounds of 10 s per target
    .venv/bin/python bench/me_throughput.py --quick          # 2 rounds of 3 s
    .venv/bin/python bench/me_throughput.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_lists

Results go to bench/results/me_throughput_<database>.json; bench/README.md explains them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
import single_object
from common import ROOT

QUERY = "{ me { id name organisation { name } } }"
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"


def loadgen(target: dict[str, Any], connections: int, duration: float, warmup: float) -> dict[str, Any]:
    """One run of bench/loadgen.py in its own process; a failed response stops the benchmark."""
    command = [sys.executable, str(LOADGEN), "--url", target["url"], "--method", target["method"]]
    for header in target["headers"]:
        command += ["--header", header]
    if target.get("body"):
        command += ["--body", target["body"]]
    command += ["--expect", target["expect"], "--connections", str(connections)]
    command += ["--duration", str(duration), "--warmup", str(warmup)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + warmup + 120)
    if not done.stdout.strip():
        raise SystemExit(f"loadgen failed on {target['name']}: {done.stderr[-800:]}")
    result = json.loads(done.stdout)
    if result["failure"]:
        raise SystemExit(f"{target['name']}: a response failed: {result['failure']}")
    return result


def targets(servers: dict[str, common.Server], token: str) -> list[dict[str, Any]]:
    auth = f"Authorization: Bearer {token}"
    return [
        {
            "name": "graphql",
            "url": servers["graphql"].base_url + "/graphql",
            "method": "POST",
            "headers": [auth, "Content-Type: application/json", "Accept: application/graphql-response+json"],
            "body": json.dumps({"query": QUERY}),
            "expect": '"me"',
        },
        {
            "name": "raw",
            "url": servers["plain"].base_url + "/me",
            "method": "GET",
            "headers": [auth, "Accept: application/json"],
            "expect": '"me"',
        },
        {"name": "ping", "url": servers["plain"].base_url + "/ping", "method": "GET", "headers": [], "expect": "ok"},
    ]


async def same_answers(servers: dict[str, common.Server], token: str, seed: dict[str, Any]) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(timeout=30) as client:
        for name, server in servers.items():
            await server.wait_ready(client, "/health" if name == "graphql" else "/ping")
        graphql = await client.post(
            servers["graphql"].base_url + "/graphql", json={"query": QUERY}, headers=common.graphql_headers(token)
        )
        raw = await client.get(servers["plain"].base_url + "/me", headers={"authorization": f"Bearer {token}"})
    user = seed["expected"]
    expected = {"me": {"id": seed["global_id"], "name": user["name"], "organisation": user["organisation"]}}
    for name, response in (("graphql", graphql), ("raw", raw)):
        if response.status_code != 200 or response.json().get("data") != expected:
            raise SystemExit(f"{name} answered {response.status_code} {response.text[:300]}, expected data {expected}")
    return expected


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [run["requests_per_s"] for run in runs]
    return {
        "rounds": len(runs),
        "requests_per_s_median": round(statistics.median(rates), 1),
        "requests_per_s_min": min(rates),
        "requests_per_s_max": max(rates),
        "latency_ms_p50_median": round(statistics.median(run["latency_ms"]["p50"] for run in runs), 2),
        "latency_ms_p99_median": round(statistics.median(run["latency_ms"]["p99"] for run in runs), 2),
        "requests": sum(run["requests"] for run in runs),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from graph.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix="bench-me-", dir="/tmp"))
    master_key = secrets.token_hex(32)
    settings = Settings(data_dir=data_dir, database_url=args.database_url, master_key=master_key, log_level="WARNING")
    database = "sqlite" if settings.is_sqlite else make_url(settings.effective_database_url).get_backend_name()
    info = common.machine()
    seed = await single_object.prepare_database(settings)
    env = common.server_env(data_dir, args.database_url, master_key)
    servers = {kind: common.Server(__file__, kind, env) for kind in ("graphql", "plain")}
    rounds: list[dict[str, Any]] = []
    try:
        expected = await same_answers(servers, seed["token"], seed)
        print(f"both sides answer {json.dumps(expected)} ({database})")
        order = targets(servers, seed["token"])
        for number in range(args.rounds):
            measured = {t["name"]: loadgen(t, args.connections, args.duration, args.warmup) for t in order}
            rounds.append({"order": [t["name"] for t in order], "load_average": common.load_average(), **measured})
            print(
                f"round {number + 1}: "
                + ", ".join(f"{name} {measured[name]['requests_per_s']} req/s" for name in ("graphql", "raw", "ping"))
            )
            order = order[1:] + order[:1]  # rotate who goes first
    finally:
        for server in servers.values():
            server.stop()
        if args.database_url:  # not our temporary file: leave the database as it was
            await single_object.remove_seed(settings, seed)
        shutil.rmtree(data_dir, ignore_errors=True)
    info["load_average_at_end"] = common.load_average()
    sides = {name: summarise([r[name] for r in rounds]) for name in ("graphql", "raw", "ping")}
    graphql, raw = sides["graphql"]["requests_per_s_median"], sides["raw"]["requests_per_s_median"]
    return {
        "benchmark": "me_throughput",
        "query": QUERY,
        "database": database,
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "machine": info,
        "sides": sides,
        "graphql_share_of_raw": round(graphql / raw, 3),
        "graphql_share_of_raw_per_round": [
            round(r["graphql"]["requests_per_s"] / r["raw"]["requests_per_s"], 3) for r in rounds
        ],
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each target once per round (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per target and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32, as wrk -c32)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s")
    parser.add_argument(
        "--database-url", default="", help="default a temporary SQLite file; seeds one user there (removed)"
    )
    parser.add_argument("--output", help="default bench/results/me_throughput_<database>.json")
    parser.add_argument("--serve", choices=("graphql", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        common.serve(args.serve, args.port, single_object.create_plain_app)
        return
    if args.quick:
        args.rounds, args.duration, args.warmup = 2, 3.0, 1.0
    if not (1 <= args.rounds <= 50 and 1 <= args.duration <= 120 and 1 <= args.connections <= 256):
        parser.error("--rounds 1..50, --duration 1..120, --connections 1..256")
    report = asyncio.run(run(args))
    print(f"\n{report['connections']} connections, {report['database']}, medians of {args.rounds} rounds")
    print(f"{'side':<8} {'req/s':>9} {'min':>9} {'max':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, side in report["sides"].items():
        print(
            f"{name:<8} {side['requests_per_s_median']:>9.1f} {side['requests_per_s_min']:>9.1f}"
            f" {side['requests_per_s_max']:>9.1f} {side['latency_ms_p50_median']:>8.2f}"
            f" {side['latency_ms_p99_median']:>8.2f}"
        )
    print(f"graphql at {report['graphql_share_of_raw']:.0%} of raw's requests/s (target: at least 60 %)")
    common.write_report(
        report, args.output or str(ROOT / "bench" / "results" / f"me_throughput_{report['database']}.json")
    )


if __name__ == "__main__":
    main()
