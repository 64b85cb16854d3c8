"""Engine, session factory and migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from graph.settings import Settings

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


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    def upgrade(connection) -> None:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


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


async def insert_or_ignore(session: AsyncSession, model: type, **values: object) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the primary key, on SQLite and PostgreSQL alike: True if it inserted."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = await session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


async def lock_row(session: AsyncSession, model: type, pk: object) -> bool:
    """Lock one row for the rest of the transaction before reading it, on SQLite and PostgreSQL alike.

    A no-op UPDATE: PostgreSQL takes the row lock (waiting for a concurrent writer of that row to end),
    SQLite, which ignores FOR UPDATE, its database write lock (a transaction's first write takes it).
    Either way what the transaction reads afterwards is current and stays so until it ends.
    True if the row exists.
    """
    [column] = model.__table__.primary_key.columns
    result = await session.execute(update(model.__table__).where(column == pk).values({column.name: column}))
    return result.rowcount == 1
