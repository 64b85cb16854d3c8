"""InfluxDB v2 and Blockbax: one HTTP POST per delivery, with the delivery's `Idempotency-Key` header.

InfluxDB: line protocol to /api/v2/write?org=&bucket=&precision=ns with `Authorization: Token <token>`; a point
is `<measurement>,location=<id>[,device=<id>] <key>=<value> <ns>`, the field typed by the value's data type.
Writing the same series and timestamp again overwrites, so a repeat after a lost answer changes nothing.

Blockbax: POST <url>/v1/projects/<project>/inboundConnectors/<connector>/requests with `Authorization: ApiKey
<token>` and the body {"series": [{"ingestionId": …, "measurements": [{"date": ISO 8601, "number": …}]}]}: one
series per ingestion ID, its measurements oldest first. Blockbax keeps one measurement per ingestion ID and date.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import weakref
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from resolvers.monitoring.delivery.engine import Delivery, DeliveryError
from resolvers.monitoring.forwarding.adapters.target import check_address, load_target

#: Answers that no retry can change: the request itself is wrong.
PERMANENT = {400, 405, 413, 422}


def _escape(text: str, specials: str) -> str:
    for char in "\\" + specials:
        text = text.replace(char, "\\" + char)
    return text


def _field_value(value: float, data_type: str) -> str:
    if data_type == "INTEGER":
        return f"{round(value)}i"
    if data_type == "BOOLEAN":
        return "true" if value else "false"
    return repr(float(value))


def line_protocol(payload: dict[str, Any]) -> str:
    lines = []
    for point in payload["points"]:
        measurement = _escape(point.get("measurement") or point["key"], ", ")
        tags = f"location={payload['location']}" + (f",device={point['device']}" if point.get("device") else "")
        field = _escape(point["key"], ",= ")
        value = _field_value(point["value"], point.get("dataType") or "FLOAT")
        lines.append(f"{measurement},{tags} {field}={value} {point['at']}")
    return "\n".join(lines)


def blockbax_body(payload: dict[str, Any]) -> dict[str, Any]:
    series: dict[str, list[dict[str, Any]]] = {}
    for point in payload["points"]:
        at = datetime.fromtimestamp(point["at"] / 1e9, tz=UTC)
        series.setdefault(point["ingestionId"], []).append(
            {"date": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "number": point["value"]}
        )
    return {"series": [{"ingestionId": key, "measurements": values} for key, values in series.items()]}


#: One client per event loop: its connection pool and TLS context are reused (making a client loads the CA bundle,
#: which costs more than a request to a nearby receiver).
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _CLIENTS.get(loop)
    if client is None or client.is_closed:
        client = _CLIENTS[loop] = httpx.AsyncClient(follow_redirects=False)
    return client


async def _post(runtime: Any, platform: str, url: str, delivery: Delivery, **request: Any) -> None:
    timeout = runtime.settings.delivery_timeout_seconds
    await check_address(runtime, urllib.parse.urlsplit(url).hostname or "")
    try:
        response = await _client().post(url, timeout=timeout, **request)
    except httpx.TimeoutException:
        raise DeliveryError(f"{platform} did not answer within {timeout:g} s.") from None
    except httpx.TransportError as exc:
        raise DeliveryError(f"{platform} unreachable: {type(exc).__name__}.") from None
    if not response.is_success:
        # the platform's own words help the operator (they hold no secret of ours); the body stays short
        raise DeliveryError(
            f"{platform} answered {response.status_code}: {response.text[:200]}",
            permanent=response.status_code in PERMANENT,
        )


async def send_influxdb(runtime: Any, delivery: Delivery) -> None:
    target = await load_target(runtime, delivery)
    settings = target.settings
    query = urllib.parse.urlencode({"org": settings["organisation"], "bucket": settings["bucket"], "precision": "ns"})
    await _post(
        runtime,
        "InfluxDB",
        f"{settings['url']}/api/v2/write?{query}",
        delivery,
        content=line_protocol(delivery.payload).encode(),
        headers={
            "Authorization": f"Token {target.secrets.get('token', '')}",
            "Content-Type": "text/plain; charset=utf-8",
            "Idempotency-Key": delivery.idempotency_key,
        },
    )


async def send_blockbax(runtime: Any, delivery: Delivery) -> None:
    target = await load_target(runtime, delivery)
    settings = target.settings
    project = urllib.parse.quote(settings["projectId"], safe="")
    connector = urllib.parse.quote(settings["inboundConnectorId"], safe="")
    await _post(
        runtime,
        "Blockbax",
        f"{settings['url']}/v1/projects/{project}/inboundConnectors/{connector}/requests",
        delivery,
        content=orjson.dumps(blockbax_body(delivery.payload)),
        headers={
            "Authorization": f"ApiKey {target.secrets.get('token', '')}",
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.idempotency_key,
        },
    )
