"""What devices send to POST /telemetry and over MQTT, read into points (checked afterwards by the one rule):

- JSON `{"points": [{"key": …, "value": …, "at": …, "deviceId": …}]}` (the mutation's shape);
- JSON ThingsBoard style `{"ts": 1733500000000, "values": {"temperature": 21.5}}` (ts in epoch milliseconds,
  optional; an optional `deviceId`), or a list of such objects;
- InfluxDB line protocol (text/plain): `measurement[,deviceId=<ID>] key=value[,key=value] [timestamp]`; the
  field keys are the telemetry keys, the measurement is ignored, timestamps in the request's `precision`
  (ns, us, ms or s; default ns).
A body that is not one of these is refused as a whole (BadBody); a bad value or time range is a per-point error
of the rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson

from resolvers.monitoring.telemetry.points import MAX_POINTS, PointIn

PRECISION = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1.0}


class BadBody(ValueError):
    """Why a body could not be read (safe to show: never quotes the body)."""


def moment(value: object, where: str, per_second: float = 1e3) -> datetime | None:
    """An ISO 8601 time with offset, or epoch time as a number (milliseconds by default)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadBody(f"{where}: not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadBody(f"{where}: not a time")
        try:
            return datetime.fromtimestamp(value / per_second, UTC)
        except (OverflowError, OSError, ValueError):
            raise BadBody(f"{where}: time out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadBody(f"{where}: not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise BadBody(f"{where}: a time needs a UTC offset")
        return parsed.astimezone(UTC)
    raise BadBody(f"{where}: not a time")


def _device(value: object, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadBody(f"{where}: deviceId is a string")
    return value


def _ts_object(item: object, where: str) -> list[PointIn]:
    if not isinstance(item, dict) or not isinstance(item.get("values"), dict):
        raise BadBody(f"{where}: expected an object with `values`")
    at = moment(item.get("ts"), f"{where}.ts")
    device = _device(item.get("deviceId"), where)
    return [PointIn(key, value, at, device) for key, value in item["values"].items()]


def _point(item: object, where: str) -> PointIn:
    if not isinstance(item, dict):
        raise BadBody(f"{where}: a point is an object")
    return PointIn(
        item.get("key"), item.get("value"), moment(item.get("at"), f"{where}.at"), _device(item.get("deviceId"), where)
    )


def json_points(body: bytes) -> list[PointIn]:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadBody("the body is not JSON") from None
    if isinstance(data, dict) and "points" in data:
        points = data["points"]
        if not isinstance(points, list):
            raise BadBody("`points` is a list")
        if len(points) > MAX_POINTS:
            return [PointIn(None, None)] * (MAX_POINTS + 1)  # the rule refuses it with TOO_MANY
        return [_point(item, f"points[{i}]") for i, item in enumerate(points)]
    if isinstance(data, dict):
        return _ts_object(data, "body")
    if isinstance(data, list):
        found: list[PointIn] = []
        for i, item in enumerate(data):
            found.extend(_ts_object(item, f"[{i}]"))
            if len(found) > MAX_POINTS:
                break  # the rule refuses it with TOO_MANY
        return found
    raise BadBody("expected an object with `points` or `values`, or a list of objects with `values`")


def _split(text: str, separator: str) -> list[str]:
    """Split at separators that are not escaped with a backslash nor inside double quotes (kept as written)."""
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise BadBody("an unterminated string")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return text.replace("\\,", ",").replace("\\=", "=").replace("\\ ", " ").replace('\\"', '"').replace("\\\\", "\\")


def field_value(raw: str) -> object:
    """A line protocol field value: float, integer (i/u suffix), boolean, or a string (refused by the rule)."""
    if raw.startswith('"'):
        return _unescape(raw[1:-1])
    if raw in ("t", "T", "true", "True", "TRUE"):
        return True
    if raw in ("f", "F", "false", "False", "FALSE"):
        return False
    try:
        return int(raw[:-1]) if raw[-1:] in ("i", "u") else float(raw)
    except ValueError:
        return raw


def _line(line: str, number: int, per_second: float) -> list[PointIn]:
    parts = [part for part in _split(line, " ") if part]
    if len(parts) not in (2, 3):
        raise BadBody(f"line {number}: expected `measurement[,tags] fields [timestamp]`")
    series, fields = _split(parts[0], ","), _split(parts[1], ",")
    tags = dict(_unescape(tag).split("=", 1) for tag in series[1:] if "=" in tag)
    at = None
    if len(parts) == 3:
        try:
            at = moment(int(parts[2]), f"line {number}", per_second)
        except ValueError:
            raise BadBody(f"line {number}: the timestamp is not an integer") from None
    points = []
    for field in fields:
        key, separator, raw = field.partition("=")
        if not separator or not raw:
            raise BadBody(f"line {number}: a field is key=value")
        points.append(PointIn(_unescape(key), field_value(raw), at, tags.get("deviceId") or tags.get("device")))
    return points


def line_protocol_points(body: bytes, precision: str = "ns") -> list[PointIn]:
    if precision not in PRECISION:
        raise BadBody("precision is ns, us, ms or s")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise BadBody("the body is not UTF-8") from None
    points: list[PointIn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            points.extend(_line(line, number, PRECISION[precision]))
        if len(points) > MAX_POINTS:
            break  # the rule refuses it with TOO_MANY; no need to read further
    return points
