"""Engine, session factory and migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CursorResult, Table, event, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from graph.settings import Settings
from subscriptions import log as event_log

if TYPE_CHECKING:
    from graph.secrets import Sealer
    from models.base import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"


class DatabaseNotMigrated(RuntimeError):
    pass


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: For every engine: SQLAlchemy puts bound parameters into its error messages ("[parameters: …]"),
#: which end up in logs with whatever the user sent (passwords, 200 KB uploads). The SQL stays.
#: JSON columns read with orjson (lists read them on every row; the standard library's decoder is ~4x slower).
ENGINE_OPTIONS = {"hide_parameters": True, "json_deserializer": orjson.loads}


def prepare_sqlite_file(settings: Settings) -> None:
    """The data dir made 0700 and the database file 0600 before SQLite opens it: SQLite would create it
    0644 (world-readable next to the 0600 master key), and it gives its -wal, -shm and -journal files the
    database file's mode, so they follow. Files an earlier release made readable by others are tightened.
    (Not a umask: that is process-wide, would change every other file the process writes, and does
    nothing for the files that already exist.)"""
    from graph.secrets import ensure_private_dir, private_file

    ensure_private_dir(settings.data_dir)
    database = make_url(settings.effective_database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.resolve() != settings.data_dir.resolve():  # a database elsewhere (FLEETGRAPH_DATABASE_URL)
        ensure_private_dir(path.parent)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.is_sqlite:
        prepare_sqlite_file(settings)
        engine = create_async_engine(url, **ENGINE_OPTIONS)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **ENGINE_OPTIONS)


class EventLoggingSession(Session):
    """A session whose commit writes the events queued on it to the event log (subscriptions.log), whatever
    code commits it, and hands them to its publisher afterwards."""


event.listen(EventLoggingSession, "before_flush", event_log.note_rights_flush)
event.listen(EventLoggingSession, "do_orm_execute", event_log.note_rights_statement)
event.listen(EventLoggingSession, "before_commit", event_log.write_queued)
event.listen(EventLoggingSession, "after_commit", event_log.hand_over_logged)
event.listen(EventLoggingSession, "after_rollback", event_log.forget_queued)


def create_session_factory(
    engine: AsyncEngine,
    sealer: Sealer | None = None,
    publish_logged: Callable[[Session, list[event_log.LoggedEvent]], None] | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Sessions for `engine`. With `sealer` (the runtime's master key), each session carries it in
    `session.info["sealer"]`, so domain code that stores sealed values (the mail outbox) needs no extra argument;
    with `publish_logged` (the runtime's EventStream), committed events go out over the bus."""
    info: dict[str, Any] = {"sealer": sealer} if sealer is not None else {}
    if publish_logged is not None:
        info["publish_logged"] = publish_logged
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, info=info, sync_session_class=EventLoggingSession
    )


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade to `revision` in one transaction. On SQLite, foreign keys are off meanwhile (SQLite's documented
    procedure for schema changes, sqlite.org/lang_altertable.html): Alembic's batch mode rebuilds a table by
    copying it and dropping the old one, which with foreign keys on would fail, or cascade deletes into the
    tables that reference it (users' tokens and roles, locations' routers). The keys are checked before commit."""

    def upgrade(connection) -> None:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # outside a transaction: SQLite ignores this pragma inside one
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(upgrade)
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                await connection.commit()


async def pending_migrations(engine: AsyncEngine) -> list[str]:
    """Revisions between the database's current one and head (empty when up to date)."""
    script = ScriptDirectory.from_config(_alembic_config())

    def current(connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        heads = await connection.run_sync(current)
    return [
        revision.revision
        for revision in script.walk_revisions()
        if revision.revision not in heads
        and not any(script.get_revision(head) and _is_ancestor(script, revision.revision, head) for head in heads)
    ]


def _is_ancestor(script: ScriptDirectory, candidate: str, head: str) -> bool:
    return any(rev.revision == candidate for rev in script.iterate_revisions(head, "base"))


async def ensure_migrated(engine: AsyncEngine) -> None:
    pending = await pending_migrations(engine)
    if pending:
        raise DatabaseNotMigrated(
            f"the database is not migrated ({len(pending)} pending revision(s)); "
            "run `fleetgraph migrate` first (or `fleetgraph serve --demo`)"
        )


async def insert_or_ignore(session: AsyncSession, model: type[Base], **values: object) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the primary key, on SQLite and PostgreSQL alike: True if it inserted."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return cast(CursorResult[Any], result).rowcount == 1


async def lock_row(session: AsyncSession, model: type[Base], pk: object) -> bool:
    """Lock one row for the rest of the transaction before reading it, on SQLite and PostgreSQL alike.

    A no-op UPDATE: PostgreSQL takes the row lock (waiting for a concurrent writer of that row to end),
    SQLite, which ignores FOR UPDATE, its database write lock (a transaction's first write takes it).
    Either way what the transaction reads afterwards is current and stays so until it ends.
    True if the row exists.
    """
    table = cast(Table, model.__table__)
    [column] = table.primary_key.columns
    result = await session.execute(update(table).where(column == pk).values({column.name: column}))
    return cast(CursorResult[Any], result).rowcount == 1
