"""Typed errors of the data monitoring mutations."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import UserError


@strawberry.enum(description="Why a data monitoring mutation refused its input.")
class MonitoringErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    #: More items than allowed (e.g. points in one batch).
    TOO_MANY = "TOO_MANY"
    #: Seen but not yours to change (e.g. a system alarm profile).
    NOT_ALLOWED = "NOT_ALLOWED"
    #: The location's router is offline, it has none, or no router link is configured (datalog upload, discovery).
    ROUTER_OFFLINE = "ROUTER_OFFLINE"
    #: The router did not answer in time (datalog discovery).
    TIMED_OUT = "TIMED_OUT"
    #: The router answered that it could not do it, or its answer was malformed (datalog discovery).
    ROUTER_FAILED = "ROUTER_FAILED"
    #: A location or location group of another organisation than the alarm profile's.
    WRONG_ORGANISATION = "WRONG_ORGANISATION"
    #: The alarm was acknowledged already (by someone else, perhaps a moment ago).
    ALREADY_ACKNOWLEDGED = "ALREADY_ACKNOWLEDGED"
    #: The alarm was cleared already.
    ALREADY_CLEARED = "ALREADY_CLEARED"


@strawberry.type(description="A problem with the input of a data monitoring mutation.")
class MonitoringError(UserError):
    code: MonitoringErrorCode = strawberry.field(description="Machine-readable reason.")
