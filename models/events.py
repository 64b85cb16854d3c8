"""The event log (transactional outbox): every live event, written in the transaction of the change it
describes, numbered in commit order. Its id is the cursor a subscription resumes from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

#: BIGINT on PostgreSQL; SQLite's rowid alias must be declared INTEGER to autoincrement.
EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")


class EventLogEntry(Base):
    __tablename__ = "event_log"
    # SQLite would otherwise reuse the ids of deleted (pruned) rows: cursors must never go back.
    __table_args__ = ({"sqlite_autoincrement": True},)

    #: The cursor: ids grow in commit order (writers take a lock for the insert and the commit).
    id: Mapped[int] = mapped_column(EVENT_ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(40))
    #: The event's JSON object, as published.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class EventLogHorizon(Base):
    """One row: the highest id the retention job has deleted (a cursor below it may have missed events), and the
    log's identity."""

    __tablename__ = "event_log_horizon"

    id: Mapped[int] = mapped_column(primary_key=True)
    pruned_through: Mapped[int] = mapped_column(EVENT_ID, default=0)
    #: Random, made with the database: names its bus channel, so that deployments (or test runs) sharing one
    #: Redis never take each other's cursors.
    stream_id: Mapped[str] = mapped_column(String(32))
