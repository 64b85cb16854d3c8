from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import DateTime, Enum, MetaData, Table
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def string_enum(cls: type[enum.Enum], name: str) -> Enum:
    """An enum column stored as a plain string (no native enum): adding a value needs no ALTER TYPE."""
    return Enum(cls, name=name, native_enum=False, length=40, validate_strings=True)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect, coltype):
        # Lists read thousands of these per request: the common cases in one step each, the rest as above.
        fallback = super().result_processor(dialect, coltype)
        assert fallback is not None  # process_result_value is defined
        if dialect.name == "sqlite":
            # SQLite keeps the naive UTC text it was given: parsed with its offset in one C call (7x faster
            # than the DateTime processor followed by replace(tzinfo=...))
            parse = datetime.fromisoformat

            def process_text(value: Any) -> datetime | None:
                if value is None:
                    return None
                try:
                    return parse(value + "+00:00")
                except (TypeError, ValueError):
                    return fallback(value)

            return process_text

        def process_aware(value: Any) -> datetime | None:
            return value if value is None or value.tzinfo is UTC else fallback(value)

        return process_aware


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


#: Table.info key of the tables whose rows decide who may see what (tokens, roles, grants): a commit that
#: writes one logs a rights event, and live subscriptions check their rights again (subscriptions.log).
#: The value says whether a new row counts too ("all") or only a change or deletion ("changes").
DECIDES_RIGHTS = "decides_rights"


def decides_rights(*models: type[Base], new_rows: bool = True) -> None:
    """Mark the models whose rows decide rights. `new_rows=False`: a new row changes nobody's rights (a new
    token, user or organisation has no live subscription yet), only changing or deleting one does."""
    for model in models:
        cast(Table, model.__table__).info[DECIDES_RIGHTS] = "all" if new_rows else "changes"
