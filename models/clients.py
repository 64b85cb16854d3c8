"""Remote clients paired by users, and their heartbeats (issue 18).

The desktop client (the program that holds a user's tunnel) announces itself without a login and gets a
client secret, which it keeps, and a short pairing key, which it shows. A user claims it by that key and
a name. Both are stored only as hashes. A client's heartbeats (authenticated by its secret) say whether
it is connected to the servers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class RemoteClient(Base):
    """One installed desktop client: pending (no user) until paired, then its user's."""

    __tablename__ = "remote_client"
    __table_args__ = (
        # a user's clients by name (the list's keyset)
        Index("ix_remote_client_user_name", "user_id", "name", "id"),
        Index("ix_remote_client_pairing_expires", "pairing_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None while pending; set once, by the pairing.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    #: SHA-256 (hex) of the client secret: the secret is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 (hex) of the normalised pairing key while pending; None once paired.
    pairing_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_expires_at: Mapped[datetime | None]
    #: What the client reports about itself (e.g. "RemoteClient/2.4 Windows"); may be empty.
    version: Mapped[str] = mapped_column(String(100), default="")
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    paired_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
