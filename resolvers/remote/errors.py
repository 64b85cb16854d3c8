"""Typed errors of the remote access mutations."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import UserError


@strawberry.enum(description="Why a remote access mutation refused its input.")
class RemoteErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    #: The router is already at a location.
    ROUTER_IN_USE = "ROUTER_IN_USE"
    #: The router belongs to another organisation than the location (or to none yet).
    WRONG_ORGANISATION = "WRONG_ORGANISATION"
    #: More items than allowed (e.g. remote access services of a device).
    TOO_MANY = "TOO_MANY"
    #: The device template is inactive: kept, but not applied to locations.
    TEMPLATE_INACTIVE = "TEMPLATE_INACTIVE"
    #: Seen but not yours to decide (an organisation accepting its own external user invitation).
    NOT_ALLOWED = "NOT_ALLOWED"
    #: The case is in a status that closes it: no longer editable, no new calls.
    CASE_CLOSED = "CASE_CLOSED"
    #: Still used (a case status or activity type that cases or calls have): not deleted.
    IN_USE = "IN_USE"
    #: The router is in another configuration group (a router is in at most one): remove it there first.
    ROUTER_IN_OTHER_GROUP = "ROUTER_IN_OTHER_GROUP"
    #: The router is not in this configuration group.
    ROUTER_NOT_IN_GROUP = "ROUTER_NOT_IN_GROUP"
    #: The device follows a linked device template: copy it as the location's own setting first.
    TEMPLATE_LINKED = "TEMPLATE_LINKED"
    #: The device is not linked to a device template.
    TEMPLATE_NOT_LINKED = "TEMPLATE_NOT_LINKED"
    #: A reseller gives more connection licences than it has free (issue 18).
    NOT_ENOUGH_LICENCES = "NOT_ENOUGH_LICENCES"
    #: Licences taken back from a customer would be fewer than its active connections (issue 18).
    LICENCES_IN_USE = "LICENCES_IN_USE"


@strawberry.type(description="A problem with the input of a remote access mutation.")
class RemoteError(UserError):
    code: RemoteErrorCode = strawberry.field(description="Machine-readable reason.")
