"""The event history: who did what, when and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_created", "organisation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The organisation whose admins may read the event; None for platform-level events.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    #: Who acted, as shown at the time (an e-mail address or "system").
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(80), default="")
    target_id: Mapped[int | None]
    #: Non-secret facts about the action (never passwords, tokens or keys).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    #: The location the action was about (data monitoring's event history is filtered by location, manual
    #: §21.13); no foreign key: the history outlives the location.
    location_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
