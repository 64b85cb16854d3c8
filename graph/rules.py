"""Small input rules every domain's `rules.py` uses: text, partial updates and lists of IDs.

They raise `DomainError` with `graph.errors.Code`; the payload maps the code by name to the domain's enum.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

import strawberry
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.errors import Code, DomainError
from graph.relay import decode_id

Value = TypeVar("Value")

#: A field of a partial update that the client left out: the rule keeps what is stored.
UNSET: Any = strawberry.UNSET
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(
    value: str | None,
    field: str | list[str],
    *,
    max_length: int,
    required: bool = True,
    strip: bool = True,
    single_line: bool = False,
) -> str:
    """The text, stripped unless told not to (a template body keeps its whitespace).

    NUL is refused everywhere (PostgreSQL cannot store it); `single_line` refuses every control character.
    """
    text = value or ""
    if strip:
        text = text.strip()
    if "\x00" in text or (single_line and _CONTROL.search(text)):
        raise DomainError(Code.INVALID, "Control characters are not allowed.", field)
    if required and not text.strip():
        raise DomainError(Code.REQUIRED, "Required.", field)
    if len(text) > max_length:
        raise DomainError(Code.TOO_LONG, f"At most {max_length} characters.", field)
    return text


def unset_if_null(value: Value | None) -> Value:
    """For partial-update inputs whose fields cannot be cleared (they default to null): null keeps the value.

    Rules see one convention: `UNSET` means "not given"; None (where a field can be cleared) means "clear".
    """
    return UNSET if value is None else value


def decode_ids(values: Sequence[str] | None, type_name: str, field: str, *, limit: int) -> list[tuple[int, int]]:
    """(position, pk) of each distinct ID of a list argument, in the given order.

    A malformed ID reads like an unknown one (NOT_FOUND at its position); more than `limit` IDs are TOO_MANY.
    """
    values = list(values or [])
    if len(values) > limit:
        raise DomainError(Code.TOO_MANY, f"At most {limit} IDs.", field)
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower()
    first: dict[int, int] = {}
    for index, value in enumerate(values):
        pk = decode_id(value, type_name)
        if pk is None:
            raise DomainError(Code.NOT_FOUND, f"No such {words}.", [field, str(index)])
        first.setdefault(pk, index)
    return [(index, pk) for pk, index in first.items()]


async def flush_unique(session: AsyncSession, refusal: DomainError) -> None:
    """Flush in a savepoint: a unique constraint that a concurrent writer took first becomes `refusal`.

    The check before the write answers the common case; this answers the race, and the savepoint keeps the
    transaction usable (PostgreSQL aborts a transaction whose statement failed).
    """
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise refusal from exc


async def ensure_name_free(
    session: AsyncSession, model: Any, organisation_id: int, name: str, refusal: DomainError, except_id: int = 0
) -> None:
    """Refuse a name another row of `model` of the organisation already has (renaming a row keeps its own)."""
    taken = exists().where(model.organisation_id == organisation_id, model.name == name, model.id != except_id)
    if await session.scalar(select(taken)):
        raise refusal
