"""Checking incoming points, before anything is written: the one validation all three entry points (the batch
mutation, POST /telemetry, MQTT) share through rules.store_points."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from graph.errors import DomainError, DomainErrors
from graph.relay import decode_id
from resolvers.monitoring.errors import MonitoringErrorCode as Code

#: Points in one call (mutation, HTTP request or MQTT message).
MAX_POINTS = 10_000
MAX_KEY = 100
#: Letters, digits and a few separators: keys become column names and measurement fields downstream.
KEY = re.compile(r"[A-Za-z0-9_.:/\-]+")
#: Clocks of devices drift; a point further ahead than this is a wrong clock, not a forecast.
MAX_FUTURE = timedelta(minutes=5)
#: Problems listed one by one; beyond that only counted (a batch of 10,000 bad points stays cheap).
MAX_LISTED = 100


@dataclass(frozen=True, slots=True)
class PointIn:
    """A point as received; `device` is the global ID of a device of the location, or None."""

    key: object
    value: object
    at: datetime | None = None
    device: str | None = None


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a setattr call per field, 10,000 times
class CleanPoint:
    device_id: int | None
    key: str
    at: datetime
    value: float
    boolean: bool


class PointPaths:
    """Where a point came from in the caller's input, for its problems: here a flat list (points.<index>.<field>,
    "Point <index>: …"); the mutation's columnar series name theirs differently (schema.SeriesPaths)."""

    whole = "points"

    def locate(self, index: int, field: str) -> tuple[list[str], str]:
        """(field path, message prefix) of the point's field."""
        return ["points", str(index), field], f"Point {index}"


class Problems:
    """Per-point problems in index order, at the paths `paths` gives."""

    def __init__(self, paths: PointPaths) -> None:
        self.paths = paths
        self.kept: list[DomainError] = []
        self.count = 0

    def add(self, index: int, code: Code, field: str, reason: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_LISTED:
            path, label = self.paths.locate(index, field)
            self.kept.append(DomainError(code, f"{label}: {reason}", path))

    def raise_if_any(self) -> None:
        if not self.count:
            return
        errors = list(self.kept)
        if self.count > len(errors):
            more = f"… and {self.count - len(errors)} more problems."
            errors.append(DomainError(Code.TOO_MANY, more, self.paths.whole))
        raise DomainErrors(errors)


def clean_value(value: object) -> tuple[float, bool] | None:
    """(number, was a boolean), or None when not a finite number or a boolean."""
    if isinstance(value, bool):
        return (1.0 if value else 0.0), True
    if isinstance(value, int):
        number = float(value) if abs(value) < 2**63 else math.inf
    elif isinstance(value, float):
        number = value
    else:
        return None
    return (number, False) if math.isfinite(number) else None


def check_key(key: object) -> tuple[str, str] | None:
    """(code name, reason) of a bad key, or None."""
    if not isinstance(key, str) or not key:
        return "REQUIRED", "a key is required"
    if len(key) > MAX_KEY:
        return "TOO_LONG", f"a key has at most {MAX_KEY} characters"
    if not KEY.fullmatch(key):
        return "INVALID", "a key has letters, digits and _ . : / - only"
    return None


def clean_points(
    points: list[PointIn], now: datetime, late: timedelta, paths: PointPaths
) -> tuple[list[CleanPoint], set[int]]:
    """The checked points (time defaulted to `now`) and the device pks they name, or DomainErrors listing every
    bad point. Whether the devices belong to the location is checked by the caller (it needs the database).

    Long because it is the hot loop of ingest (10,000 points per call): keys are checked once per distinct key,
    a float value takes the first branch, and the problems are only collected on the slow path."""
    if len(points) > MAX_POINTS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_POINTS} points per call.", paths.whole)
    problems = Problems(paths)
    clean: list[CleanPoint] = []
    devices: set[int] = set()
    oldest, newest = now - late, now + MAX_FUTURE
    key_checks: dict[str, tuple[str, str] | None] = {}
    device_ids: dict[str, int | None] = {}
    for index, point in enumerate(points):
        key = point.key
        if type(key) is not str:  # e.g. a list from JSON: not hashable, and bad anyway
            bad_key = check_key(key)
        elif key in key_checks:
            bad_key = key_checks[key]
        else:
            bad_key = key_checks[key] = check_key(key)
        if bad_key is not None:
            problems.add(index, Code[bad_key[0]], "key", bad_key[1])
        value = point.value
        if type(value) is float and math.isfinite(value):
            number, boolean = value, False
        else:
            cleaned = clean_value(value)
            if cleaned is None:
                problems.add(index, Code.INVALID, "value", "a value is a finite number or a boolean")
                number, boolean = 0.0, False
            else:
                number, boolean = cleaned
        at = now if point.at is None else point.at
        if at < oldest:
            problems.add(index, Code.INVALID, "at", f"older than the late window ({late.days} days)")
        elif at > newest:
            problems.add(index, Code.INVALID, "at", "more than 5 minutes in the future")
        device_id = None
        if point.device is not None:
            if point.device not in device_ids:
                device_ids[point.device] = decode_id(point.device, "LocationDevice")
            device_id = device_ids[point.device]
            if device_id is None:
                problems.add(index, Code.NOT_FOUND, "deviceId", "no such device at this location")
            else:
                devices.add(device_id)
        if not problems.count:
            clean.append(CleanPoint(device_id, key, at, number, boolean))  # type: ignore[arg-type]
    problems.raise_if_any()
    return clean, devices


def check_devices(points: list[PointIn], known: set[int], paths: PointPaths) -> None:
    """DomainErrors for every point naming a device that is not one of the location's (`known`)."""
    problems = Problems(paths)
    for index, point in enumerate(points):
        if point.device is not None and decode_id(point.device, "LocationDevice") not in known:
            problems.add(index, Code.NOT_FOUND, "deviceId", "no such device at this location")
    problems.raise_if_any()


def last_wins(points: list[CleanPoint]) -> dict[tuple[int | None, str, datetime], CleanPoint]:
    """One point per series and time: the batch's last occurrence (a dict keeps the first key's position)."""
    latest: dict[tuple[int | None, str, datetime], CleanPoint] = {}
    for point in points:
        latest[(point.device_id, point.key, point.at)] = point
    return latest
