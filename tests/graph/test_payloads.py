"""The one error path: a rule's DomainError becomes the payload's typed errors, codes mapped by name."""

from __future__ import annotations

import enum

import strawberry

from graph.errors import Code, DomainError, DomainErrors, RowProblems, UserError, as_payload, refused


@strawberry.enum
class ThingErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TOO_MANY = "TOO_MANY"
    NOT_FOUND = "NOT_FOUND"
    IN_USE = "IN_USE"


@strawberry.type
class ThingError(UserError):
    code: ThingErrorCode


@strawberry.type
class ThingPayload:
    name: str | None
    count: int
    errors: list[ThingError]


def test_a_result_goes_through_ok():
    payload = as_payload(ThingPayload, "lamp", lambda name: ThingPayload(name=name, count=1, errors=[]))
    assert (payload.name, payload.count, payload.errors) == ("lamp", 1, [])


def test_a_refusal_nulls_the_other_fields_and_maps_graph_codes_to_the_domain_enum():
    error = DomainErrors(
        [DomainError(Code.REQUIRED, "Required.", "name"), DomainError(ThingErrorCode.IN_USE, "In use.", ["ids", "2"])]
    )
    payload = refused(ThingPayload, error, count=0)
    assert payload.name is None and payload.count == 0
    assert [(e.code, e.field, e.message) for e in payload.errors] == [
        (ThingErrorCode.REQUIRED, ["name"], "Required."),
        (ThingErrorCode.IN_USE, ["ids", "2"], "In use."),
    ]


def test_row_problems_keep_a_cap_and_count_the_rest():
    problems = RowProblems("file", cap=2)
    problems.add(Code.INVALID, "bad MAC address.", line=3, column="mac_address")
    problems.add(Code.REQUIRED, "empty row.", line=4)
    problems.add(Code.INVALID, "bad serial.", line=9, column="serial_number")
    assert problems.count == 3
    assert [(e.code, e.field, e.message) for e in problems.errors()] == [
        (Code.INVALID, ["file", "3", "mac_address"], "Line 3: bad MAC address."),
        (Code.REQUIRED, ["file", "4"], "Line 4: empty row."),
        (Code.TOO_MANY, ["file"], "… and 1 more problems."),
    ]
