"""Typed errors of the metering mutations."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import UserError


@strawberry.enum(description="Why a metering mutation refused its input.")
class MeteringErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    TOO_MANY = "TOO_MANY"
    NOT_ALLOWED = "NOT_ALLOWED"
    #: The meter is at another metering point (told only after its correct PIN).
    ALREADY_BOUND = "ALREADY_BOUND"
    #: A service the mutation needs did not answer (e.g. the address directory); nothing was stored.
    UNAVAILABLE = "UNAVAILABLE"
    #: An integration with a settlement centre needs the metering point's personal account number first.
    ACCOUNT_NUMBER_REQUIRED = "ACCOUNT_NUMBER_REQUIRED"


@strawberry.type(description="A problem with the input of a metering mutation.")
class MeteringError(UserError):
    code: MeteringErrorCode = strawberry.field(description="Machine-readable reason.")
